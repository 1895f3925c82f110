"""`pre-eval dev`: the Dagster UI with its daemon (sensors running), a local OpenID Connect provider
with one demo account per role, and the dashboard; `pre-eval dashboard`: the dashboard alone.

The dashboard's sign-in is configured by the `PRE_OIDC_*` and `PRE_COOKIE_SECRET` variables; the
launcher turns them into Streamlit's `[auth]` secrets, in a file of its own (owner-only, removed at
exit), given to Streamlit with `--secrets.files`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from pipelines import settings
from pipelines.common.datahome import DataHome
from pipelines.process import dagster_home, dagster_instance

# The dashboard is run from the source checkout (`dashboards/` is not part of the wheel).
CHECKOUT = Path(__file__).resolve().parents[1]
DASHBOARD_APP = CHECKOUT / "dashboards" / "app.py"


def _wait_http(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def start_services(home: DataHome, *, dagster_port: int, dashboard_port: int, host: str,
                   provider_port: int = 9400, runtime: Path | None = None) -> list[subprocess.Popen]:
    """Start the services, each in its own session so that it can be stopped as a group."""
    home.ensure()
    dagster_instance(home)
    env = dict(os.environ, PRE_HOME=str(home.root), DAGSTER_HOME=dagster_home(home))
    provider = None
    if "PRE_OIDC_METADATA_URL" not in env:  # no provider configured: the local one, with demo accounts
        provider = start_identity_provider(provider_port)
        env = dev_sign_in_env(env, provider_port=provider_port, host=host, dashboard_port=dashboard_port)
    write_demo_authorisations(home)
    secrets_file = auth_secrets(env, runtime or Path(tempfile.mkdtemp(prefix="pre-tableau-")))
    # On a workstation a dropped file should show on the dashboard within a minute or so.
    env.setdefault("PRE_INTERVALLE_PUBLICATION_MIN", "1")
    bin_dir = Path(sys.executable).parent
    dagster = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-m", "pipelines.definitions", "-h", host, "-p", str(dagster_port)],
        cwd=home.root, env=env, start_new_session=True)
    dashboard = subprocess.Popen(dashboard_command(host, dashboard_port, secrets_file), cwd=DASHBOARD_APP.parent,
                                 env=env, start_new_session=True)
    return [p for p in (dagster, dashboard, provider) if p is not None]


def dashboard_command(host: str, port: int, secrets_file: Path | None = None) -> list[str]:
    """The Streamlit server of the dashboard (run from `dashboards/`)."""
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "streamlit"), "run", DASHBOARD_APP.name, "--server.address", host,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    if secrets_file is not None:
        command += ["--secrets.files", str(secrets_file)]
    return command


def auth_secrets(env: Mapping[str, str], folder: Path) -> Path | None:
    """Streamlit's `[auth]` section from the `PRE_OIDC_*` variables of `env` (None when one is missing:
    the dashboard then says which). The values were validated by `pipelines.settings`."""
    config = settings.Settings(**{field: env[settings.PREFIX + field] for field in settings.SIGN_IN_FIELDS
                                  if settings.PREFIX + field in env})
    values = {"server_metadata_url": config.OIDC_METADATA_URL, "client_id": config.OIDC_CLIENT_ID,
              "client_secret": config.OIDC_CLIENT_SECRET and config.OIDC_CLIENT_SECRET.get_secret_value(),
              "redirect_uri": config.OIDC_REDIRECT_URI,
              "cookie_secret": config.COOKIE_SECRET and config.COOKIE_SECRET.get_secret_value()}
    if not all(values.values()):
        return None
    path = folder / "secrets.toml"
    # JSON strings are valid TOML basic strings (same escapes).
    text = "[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def run_dashboard(home: DataHome, *, port: int, host: str) -> int:
    """`pre-eval dashboard`: the dashboard alone, in the foreground, as a production service runs it."""
    if not DASHBOARD_APP.is_file():
        print("Le tableau de bord se lance depuis le dépôt du projet (dossier dashboards/ introuvable).",
              file=sys.stderr)
        return 2
    env = dict(os.environ, PRE_HOME=str(home.root))
    folder = Path(tempfile.mkdtemp(prefix="pre-tableau-"))
    try:
        secrets_file = auth_secrets(env, folder)
        if secrets_file is None:
            print("Connexion non configurée (variables PRE_OIDC_* et PRE_COOKIE_SECRET) : le tableau de bord "
                  "ne montrera aucun chiffre.", file=sys.stderr, flush=True)
        print(f"Tableau de bord : http://{host}:{port}/ (données : {home.root}) ; Ctrl+C pour arrêter.", flush=True)
        return subprocess.call(dashboard_command(host, port, secrets_file), cwd=DASHBOARD_APP.parent, env=env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- local sign-in (development)

DEMO_ACCOUNTS = (  # email, role, perimeter, name: one per role, on the shipped referential
    ("anct@demo.pre-eval.fr", "national", "FR", "ANCT (démonstration)"),
    ("dreets-grand-est@demo.pre-eval.fr", "region", "44", "DREETS Grand Est (démonstration)"),
    ("ddets-marne@demo.pre-eval.fr", "departement", "51", "DDETS de la Marne (démonstration)"),
    ("coordination-reims@demo.pre-eval.fr", "site", "PRE51454", "PRE de Reims (démonstration)"),
    ("exploitation@demo.pre-eval.fr", "exploitant", "FR", "Exploitation (démonstration)"),
)


def write_demo_authorisations(home: DataHome) -> bool:
    """Write the demo accounts' authorisations when there is no authorisations file (True if written)."""
    from pipelines.access.authorisations import FILE_NAME, HEADER

    path = home.access / FILE_NAME
    if path.exists():
        return False
    home.access.mkdir(parents=True, exist_ok=True)
    lines = [",".join(HEADER)] + [",".join(account) for account in DEMO_ACCOUNTS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


def start_identity_provider(port: int) -> subprocess.Popen:
    """A real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock, development only), with a
    button per demo account on its sign-in form."""
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "oidc-provider-mock"), "--host", "127.0.0.1", "--port", str(port)]
    for email, _, _, name in DEMO_ACCOUNTS:
        command += ["--user-claims", json.dumps({"sub": email, "email": email, "name": name})]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def dev_sign_in_env(env: Mapping[str, str], *, provider_port: int, host: str, dashboard_port: int) -> dict[str, str]:
    """The sign-in variables for `pre-eval dev`, pointing at the local provider (kept when already set)."""
    out = dict(env)
    out.setdefault("PRE_OIDC_METADATA_URL", f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration")
    out.setdefault("PRE_OIDC_CLIENT_ID", "pre-eval-dev")
    out.setdefault("PRE_OIDC_CLIENT_SECRET", secrets.token_urlsafe(24))
    out.setdefault("PRE_OIDC_REDIRECT_URI", f"http://{host}:{dashboard_port}/oauth2callback")
    out.setdefault("PRE_COOKIE_SECRET", secrets.token_urlsafe(32))
    return out


def stop_services(processes: list[subprocess.Popen], timeout: float = 20) -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in processes:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_dev(home: DataHome, *, dagster_port: int, dashboard_port: int, host: str, provider_port: int = 9400) -> int:
    if not DASHBOARD_APP.is_file():
        print("Le tableau de bord n'est pas installé avec le paquet : lancez « pre-eval dev » depuis le dépôt "
              "source (git clone), après « bash scripts/setup.sh ».", file=sys.stderr)
        return 2
    runtime = Path(tempfile.mkdtemp(prefix="pre-tableau-"))
    local_provider = "PRE_OIDC_METADATA_URL" not in os.environ
    processes = start_services(home, dagster_port=dagster_port, dashboard_port=dashboard_port, host=host,
                               provider_port=provider_port, runtime=runtime)
    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        ok_dagster = _wait_http(f"http://{host}:{dagster_port}/server_info", 90)
        ok_dashboard = _wait_http(f"http://{host}:{dashboard_port}/_stcore/health", 60)
        print(f"Interface Dagster (démon et capteurs actifs) : http://{host}:{dagster_port}"
              + ("" if ok_dagster else " — ne répond pas encore"), flush=True)
        print(f"Tableau de bord : http://{host}:{dashboard_port}" + ("" if ok_dashboard else " — ne répond pas encore"),
              flush=True)
        print(f"Boîte de dépôt : {home.inbox} (déposez-y un fichier, il sera traité automatiquement)", flush=True)
        if local_provider:
            print(f"Connexion : fournisseur d'identité local http://127.0.0.1:{provider_port} (développement "
                  "seulement). Cliquez sur « Se connecter », puis sur le compte de votre choix :", flush=True)
            for email, role, perimeter, _ in DEMO_ACCOUNTS:
                print(f"  - {email} : rôle {role}, périmètre {perimeter}", flush=True)
            print(f"Habilitations : {home.access / 'habilitations.csv'}", flush=True)
        print("Ctrl+C pour tout arrêter.", flush=True)
        while not stop["now"] and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        stop_services(processes)
        shutil.rmtree(runtime, ignore_errors=True)
    return 0

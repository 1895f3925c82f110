"""`pre-eval dev`: the Dagster UI with its daemon (sensors running), a local OpenID Connect provider
with one demo account per role, and the dashboard; `pre-eval dashboard`: the dashboard alone.

The dashboard's sign-in is configured by the `PRE_OIDC_*` and `PRE_COOKIE_SECRET` variables; the
launcher turns them into Streamlit's `[auth]` secrets, in a file of its own (owner-only, removed at
exit), given to Streamlit with `--secrets.files`.

While `pre-eval dev` runs, the terminal shows one French line per event (a file received, its verdict
with its report, a publication), read from what the platform writes in the data home (`EventWatcher`);
the services' own logs go to owner-only files under `journal/`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO

from pipelines import settings
from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.ingest.inbox import is_being_written
from pipelines.ingest.lifecycle import UNKNOWN_SITE
from pipelines.process import InstanceUnavailable, dagster_home, dagster_instance, release_interrupted_runs

# The dashboard is run from the source checkout (`dashboards/` is not part of the wheel).
CHECKOUT = Path(__file__).resolve().parents[1]
DASHBOARD_APP = CHECKOUT / "dashboards" / "app.py"
# The services' own output, under the data home's `journal/` (owner-only; the previous session's kept as `.1`).
DAGSTER_LOG = "dagster-dev.log"
DASHBOARD_LOG = "tableau-de-bord-dev.log"
# Only `dagster dev` and the runs it launches need the instance's database (and its password).
INSTANCE_SECRET = "PRE_DAGSTER_POSTGRES_URL"


def wait_http(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def start_services(home: DataHome, *, dagster_port: int, dashboard_port: int, host: str,
                   provider_port: int = 9400, runtime: Path | None = None,
                   logs: tuple[IO, IO] | None = None) -> list[subprocess.Popen]:
    """Start the services, each in its own session so that it can be stopped as a group.

    `logs`: the files that receive the output of `dagster dev` (with the runs it launches) and of the
    dashboard; without them, the terminal does."""
    home.ensure()
    release_interrupted_runs(dagster_instance(home))  # else a run killed with its service holds the queue
    dagster_env = dict(os.environ, PRE_HOME=str(home.root), DAGSTER_HOME=dagster_home(home))
    provider = None
    if "PRE_OIDC_METADATA_URL" not in dagster_env:  # no provider configured: the local one, with demo accounts
        provider = start_identity_provider(provider_port, env=without_instance_secret(os.environ))
        dagster_env = dev_sign_in_env(dagster_env, provider_port=provider_port, host=host,
                                      dashboard_port=dashboard_port)
    write_demo_authorisations(home)
    secrets_file = auth_secrets(dagster_env, runtime or Path(tempfile.mkdtemp(prefix="pre-tableau-")))
    # On a workstation a dropped file should show on the dashboard within a minute or so.
    dagster_env.setdefault("PRE_INTERVALLE_PUBLICATION_MIN", "1")
    dagster_out, dashboard_out = logs or (None, None)
    bin_dir = Path(sys.executable).parent
    dagster = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-m", "pipelines.definitions", "-h", host, "-p", str(dagster_port),
         "--log-level", "debug"],
        cwd=home.root, env=dagster_env, start_new_session=True, stdin=subprocess.DEVNULL,
        stdout=dagster_out, stderr=subprocess.STDOUT if dagster_out else None)
    dashboard = subprocess.Popen(dashboard_command(host, dashboard_port, secrets_file), cwd=DASHBOARD_APP.parent,
                                 env=without_instance_secret(dagster_env), start_new_session=True,
                                 stdin=subprocess.DEVNULL, stdout=dashboard_out,
                                 stderr=subprocess.STDOUT if dashboard_out else None)
    return [p for p in (dagster, dashboard, provider) if p is not None]


def without_instance_secret(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the Dagster instance's database URL (the dashboard and the provider never need it)."""
    return {name: value for name, value in env.items() if name != INSTANCE_SECRET}


def open_log(home: DataHome, name: str) -> tuple[Path, IO]:
    """A new owner-only log file `journal/<name>` (the previous one kept as `<name>.1`), open for writing."""
    home.journal.mkdir(parents=True, exist_ok=True)
    path = home.journal / name
    if path.exists():
        os.replace(path, path.with_name(name + ".1"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return path, os.fdopen(fd, "w", encoding="utf-8", buffering=1)


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


def start_identity_provider(port: int, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """A real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock, development only), with a
    button per demo account on its sign-in form."""
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "oidc-provider-mock"), "--host", "127.0.0.1", "--port", str(port)]
    for email, _, _, name in DEMO_ACCOUNTS:
        command += ["--user-claims", json.dumps({"sub": email, "email": email, "name": name})]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=None if env is None else dict(env))


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
    watcher = EventWatcher(home)  # what is already there is not news
    dagster_log, dagster_out = open_log(home, DAGSTER_LOG)
    dashboard_log, dashboard_out = open_log(home, DASHBOARD_LOG)
    print(f"Journaux des services : Dagster {dagster_log} ; tableau de bord {dashboard_log}", flush=True)
    try:
        processes = start_services(home, dagster_port=dagster_port, dashboard_port=dashboard_port, host=host,
                                   provider_port=provider_port, runtime=runtime, logs=(dagster_out, dashboard_out))
    except InstanceUnavailable as exc:
        print(str(exc), file=sys.stderr, flush=True)
        dagster_out.close()
        dashboard_out.close()
        shutil.rmtree(runtime, ignore_errors=True)
        return 2
    stop = {"now": False}

    def _stop(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        ok_dagster = wait_http(f"http://{host}:{dagster_port}/server_info", 90)
        ok_dashboard = wait_http(f"http://{host}:{dashboard_port}/_stcore/health", 60)
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
            for line in watcher.poll():
                print(line, flush=True)
            time.sleep(1)
        services = [("de Dagster", f" : voir {dagster_log}"), ("du tableau de bord", f" : voir {dashboard_log}"),
                    ("du fournisseur d'identité", f" : le port {provider_port} est-il pris par un autre programme "
                                                  "(un pre-eval dev précédent) ?")]
        for (name, hint), proc in zip(services, processes, strict=False):
            if not stop["now"] and proc.poll() is not None:
                print(f"{_clock()}  Arrêt inattendu {name} (code {proc.returncode}){hint}", file=sys.stderr,
                      flush=True)
    finally:
        stop_services(processes)
        shutil.rmtree(runtime, ignore_errors=True)
        dagster_out.close()
        dashboard_out.close()
    return 0


# --------------------------------------------------------------------------- event lines


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


def printable(text: object, limit: int = 120) -> str:
    """`text` as it may be shown on a terminal: no control, format or unpaired-surrogate character
    (escape sequences, bidirectional overrides, undecodable bytes of a file name), at most `limit`
    characters."""
    cleaned = "".join(c for c in str(text) if c.isprintable())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


class EventWatcher:
    """French lines for what happens in the data home, read from what the platform writes there:

    - a file ready in `inbox/` (not one still being written): « Fichier reçu » ;
    - a new ledger entry `registre/<sha256>.json` (`statut`, `chemin`, `fichier`): the verdict, with the
      site's folder and the report beside it (`reports/<site>/<name>.md`, named like the file's
      `archive/` or `quarantine/` copy) and, for a refusal, the report's count of blocking findings;
    - a « doublon » line of the arrivals journal (`journal/arrivees.jsonl`): a content already received;
    - the published copy replaced (`published/entrepot.duckdb`, a new file each time): « Publication
      terminée ».

    What exists when the watcher is created is not reported, except the files waiting in the inbox
    (they are about to be handled). Every value shown goes through `printable`.
    """

    def __init__(self, home: DataHome):
        self.home = home
        self._inbox: set[tuple[str, int]] = set()
        self._ledger = set(self._ledger_names())
        journal = self._journal_path()
        self._journal_offset = journal.stat().st_size if journal.exists() else 0
        self._published = self._published_version()

    # -- sources

    def _ledger_names(self) -> list[str]:
        try:
            return [e.name for e in os.scandir(self.home.ledger) if e.name.endswith(".json")]
        except OSError:
            return []

    def _journal_path(self) -> Path:
        return self.home.journal / "arrivees.jsonl"

    def _published_version(self) -> tuple[int, int] | None:
        try:
            stat = (self.home.published / "entrepot.duckdb").stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    # -- polling

    def poll(self) -> list[str]:
        """The events since the last call, one French line each (« HH:MM:SS  … »)."""
        texts: list[str] = []
        for step in (self._received, self._duplicates, self._verdicts, self._publication):
            try:
                texts += step()
            except OSError:
                continue  # a file moved while being read: seen at the next poll
        clock = _clock()
        return [f"{clock}  {text}" for text in texts]

    def _received(self) -> list[str]:
        try:
            entries = [e for e in os.scandir(self.home.inbox)
                       if not is_being_written(e.name) and e.is_file(follow_symlinks=False)]
        except FileNotFoundError:
            entries = []
        current = {(e.name, e.inode()) for e in entries}
        new = sorted(current - self._inbox)
        self._inbox = current
        return [f"Fichier reçu : {printable(name)}" for name, _ in new]

    def _duplicates(self) -> list[str]:
        path = self._journal_path()
        if not path.exists():
            return []
        if path.stat().st_size < self._journal_offset:  # a new journal
            self._journal_offset = 0
        with path.open("rb") as handle:
            handle.seek(self._journal_offset)
            data = handle.read()
        complete = data[:data.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self._journal_offset += len(complete)
        lines = []
        for raw in complete.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("issue") == "doublon":
                lines.append(f"Doublon : {printable(record.get('fichier', '?'))} — contenu identique à "
                             f"{printable(record.get('identique_a') or 'un dépôt déjà reçu')}, retiré de la boîte "
                             "de dépôt")
        return lines

    def _verdicts(self) -> list[str]:
        names = self._ledger_names()
        new = [n for n in names if n not in self._ledger]
        self._ledger.update(new)
        lines = []
        for name in sorted(new, key=lambda n: (self.home.ledger / n).stat().st_mtime_ns):
            try:
                entry = json.loads((self.home.ledger / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(entry, dict):
                line = verdict_line(self.home, entry)
                if line:
                    lines.append(line)
        return lines

    def _publication(self) -> list[str]:
        version = self._published_version()
        changed = version is not None and version != self._published
        self._published = version
        return ["Publication terminée"] if changed else []


STATUS_WORDS = {"accepte": "Accepté", "refuse": "Refusé", "ignore": "Ignoré"}


def verdict_line(home: DataHome, entry: dict) -> str | None:
    """The French line of one ledger entry (None when it is not a verdict)."""
    statut, chemin = entry.get("statut"), entry.get("chemin")
    if statut not in STATUS_WORDS or not isinstance(chemin, str):
        return None
    parts = PurePosixPath(chemin).parts
    # `archive/<site>/<stem>` or `quarantine/<site>/<stem>`, the stem ending with the file's name.
    folder, stem = (parts[1], parts[2]) if len(parts) == 3 else (None, parts[-1] if parts else "")
    name = entry.get("fichier") if isinstance(entry.get("fichier"), str) else stem.split("_", 2)[-1]
    site = "site non lu" if folder in (None, UNKNOWN_SITE) else printable(folder, 20)
    text = f"{STATUS_WORDS[statut]} : {printable(name)} ({site})"
    report = home.reports / folder / f"{stem}.md" if folder and _plain(folder) and _plain(stem) else None
    if statut == "refuse" and report is not None:
        blocking = _blocking_count(report.with_suffix(".json"))
        if blocking is not None:
            text += " — " + formats.plural(blocking, "anomalie bloquante", "anomalies bloquantes")
    elif statut == "ignore":
        text += " — plus ancien que les données en vigueur du site"
    if report is not None and report.is_file():
        text += f" — rapport : {printable(report.relative_to(home.root).as_posix(), 200)}"
    return text


_PLAIN = re.compile(r"[A-Za-z0-9._-]+")


def _plain(part: str) -> bool:
    """A single, ordinary path component (never `..`): what pre-eval itself names folders and files."""
    return bool(_PLAIN.fullmatch(part)) and part not in (".", "..")


def _blocking_count(path: Path) -> int | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("nb_bloquants")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

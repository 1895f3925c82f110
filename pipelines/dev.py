"""`pre-eval dev`: the Dagster UI with its daemon (sensors running) and the dashboard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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


def start_services(home: DataHome, *, dagster_port: int, dashboard_port: int, host: str) -> list[subprocess.Popen]:
    """Start both services, each in its own session so that it can be stopped as a group."""
    home.ensure()
    dagster_instance(home)
    env = dict(os.environ, PRE_HOME=str(home.root), DAGSTER_HOME=dagster_home(home))
    # On a workstation a dropped file should show on the dashboard within a minute or so.
    env.setdefault("PRE_INTERVALLE_PUBLICATION_MIN", "1")
    bin_dir = Path(sys.executable).parent
    dagster = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-m", "pipelines.definitions", "-h", host, "-p", str(dagster_port)],
        cwd=home.root, env=env, start_new_session=True)
    dashboard = subprocess.Popen(dashboard_command(host, dashboard_port), cwd=DASHBOARD_APP.parent, env=env,
                                 start_new_session=True)
    return [dagster, dashboard]


def dashboard_command(host: str, port: int) -> list[str]:
    """The Streamlit server of the dashboard (run from `dashboards/`)."""
    bin_dir = Path(sys.executable).parent
    return [str(bin_dir / "streamlit"), "run", DASHBOARD_APP.name, "--server.address", host,
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]


def run_dashboard(home: DataHome, *, port: int, host: str) -> int:
    """`pre-eval dashboard`: the dashboard alone, in the foreground, as a production service runs it."""
    if not DASHBOARD_APP.is_file():
        print("Le tableau de bord se lance depuis le dépôt du projet (dossier dashboards/ introuvable).",
              file=sys.stderr)
        return 2
    env = dict(os.environ, PRE_HOME=str(home.root))
    print(f"Tableau de bord : http://{host}:{port}/ (données : {home.root}) ; Ctrl+C pour arrêter.", flush=True)
    return subprocess.call(dashboard_command(host, port), cwd=DASHBOARD_APP.parent, env=env)


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


def run_dev(home: DataHome, *, dagster_port: int, dashboard_port: int, host: str) -> int:
    if not DASHBOARD_APP.is_file():
        print("Le tableau de bord n'est pas installé avec le paquet : lancez « pre-eval dev » depuis le dépôt "
              "source (git clone), après « bash scripts/setup.sh ».", file=sys.stderr)
        return 2
    processes = start_services(home, dagster_port=dagster_port, dashboard_port=dashboard_port, host=host)
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
        print("Ctrl+C pour tout arrêter.", flush=True)
        while not stop["now"] and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        stop_services(processes)
    return 0

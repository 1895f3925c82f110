"""The whole chain with the real services: `pre-eval dev` starts the Dagster webserver and daemon
(sensors running by default) and the dashboard; a file dropped into the inbox reaches the
published copy by itself, and a refused file shows up there too."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import duckdb
import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import BIN, PRE_EVAL, isolated_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _published_depots(home: DataHome) -> dict[str, str]:
    path = home.published / "entrepot.duckdb"
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("select fichier, statut from marts.depots").fetchall())
    finally:
        con.close()


@pytest.fixture
def services(tmp_path):
    home = DataHome(tmp_path / "data")
    dagster_port, dashboard_port, provider_port = _free_port(), _free_port(), _free_port()
    env = isolated_env(home.root, tmp_path, PRE_DELAI_STABILITE_S="1", PRE_INTERVALLE_PUBLICATION_MIN="0")
    env["PATH"] = f"{BIN}:{env['PATH']}"
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen([PRE_EVAL, "dev", "--dagster-port", str(dagster_port), "--dashboard-port",
                             str(dashboard_port), "--provider-port", str(provider_port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    yield home, dagster_port, dashboard_port, tmp_path / "dev.log"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def test_dropped_files_flow_through_sensor_daemon_and_publication(services, tmp_path):
    home, dagster_port, dashboard_port, log = services
    files = generate(tmp_path / "gen", seed=5, sites=["PRE51454"], with_errors=True, home=DataHome(tmp_path / "g"))
    valid = next(f for f in files if f.expected_rule is None)
    refused = next(f for f in files if f.expected_rule == "bilans.note_sante.echelle")

    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and "Tableau de bord" not in log.read_text():
        time.sleep(1)
    text = log.read_text()
    assert f"http://127.0.0.1:{dagster_port}" in text and f"http://127.0.0.1:{dashboard_port}" in text, text[-3000:]
    with urllib.request.urlopen(f"http://127.0.0.1:{dagster_port}/server_info", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=10) as response:
        assert response.status == 200

    # Uploaders write under a temporary name, then rename.
    for file in (valid, refused):
        part = home.inbox / (file.path.name + ".part")
        shutil.copy(file.path, part)
        part.rename(home.inbox / file.path.name)

    deadline = time.monotonic() + 240
    seen = {}
    while time.monotonic() < deadline:
        seen = _published_depots(home)
        if len(seen) == 2:
            break
        time.sleep(2)
    assert seen == {valid.path.name: "accepte", refused.path.name: "refuse"}, log.read_text()[-4000:]
    assert list(home.inbox.iterdir()) == []

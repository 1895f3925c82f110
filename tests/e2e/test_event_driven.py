"""The whole chain with the real services: `pre-eval dev` starts the Dagster webserver and daemon
(sensors running by default) and the dashboard, on a Dagster instance kept in a real PostgreSQL
server (`PRE_DAGSTER_POSTGRES_URL`); a file dropped into the inbox reaches the published copy by
itself, and a refused file shows up there too. The terminal shows French event lines; Dagster's own
logs go to a file of the data home."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import duckdb
import psycopg2
import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import BIN, PRE_EVAL, free_port, isolated_env

pytestmark = pytest.mark.slow


def _published_depots(home: DataHome) -> dict[str, str]:
    path = home.published / "entrepot.duckdb"
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("select fichier, statut from marts.depots").fetchall())
    finally:
        con.close()


def _runs(url: str) -> list[tuple[str, str, str | None]]:
    """(job, status, sha256 tag) of every run of the instance, read from its PostgreSQL database."""
    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute("select r.pipeline_name, r.status, t.value from runs r left join run_tags t "
                        "on t.run_id = r.run_id and t.key = 'sha256' order by r.create_timestamp")
            return cur.fetchall()
    finally:
        con.close()


@pytest.fixture
def services(tmp_path, postgres_url):
    home = DataHome(tmp_path / "data")
    dagster_port, dashboard_port, provider_port = free_port(), free_port(), free_port()
    env = isolated_env(home.root, tmp_path, PRE_DELAI_STABILITE_S="1", PRE_INTERVALLE_PUBLICATION_MIN="0",
                       PRE_DAGSTER_POSTGRES_URL=postgres_url)
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


def test_dropped_files_flow_through_sensor_daemon_and_publication(services, tmp_path, postgres_url, postgres_server):
    home, dagster_port, dashboard_port, log = services
    dagster_log = home.journal / "dagster-dev.log"

    def tails() -> str:
        return log.read_text()[-3000:] + "\n--- dagster-dev.log ---\n" + dagster_log.read_text()[-4000:]
    files = generate(tmp_path / "gen", seed=5, sites=["PRE51454"], with_errors=True, from_year=2024, to_year=2024,
                     home=DataHome(tmp_path / "g"))
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
    assert seen == {valid.path.name: "accepte", refused.path.name: "refuse"}, tails()
    assert list(home.inbox.iterdir()) == []

    # The runs are in PostgreSQL: the valid file's run succeeded, the refused file's run stopped at its
    # blocking contract check, and a publication succeeded.
    sha = {f.path.name: hashlib.sha256(f.path.read_bytes()).hexdigest() for f in (valid, refused)}
    wanted = {("ingestion", "SUCCESS", sha[valid.path.name]), ("ingestion", "FAILURE", sha[refused.path.name]),
              ("publication", "SUCCESS", None)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not wanted <= set(_runs(postgres_url)):
        time.sleep(1)
    runs = _runs(postgres_url)
    assert wanted <= set(runs), (runs, tails())
    assert {job for job, _, _ in runs} == {"ingestion", "publication"}
    assert [tag for job, _, tag in runs if job == "ingestion"].count(sha[valid.path.name]) == 1
    assert list(home.dagster.rglob("*.db")) == []  # no SQLite run or event storage
    assert "env: PRE_DAGSTER_POSTGRES_URL" in (home.dagster / "dagster.yaml").read_text(encoding="utf-8")

    # The terminal: French event lines, each with its time; Dagster's own lines are in the log file.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "Publication terminée" not in log.read_text():
        time.sleep(1)
    text = log.read_text()
    events = [line for line in text.splitlines() if re.match(r"^\d\d:\d\d:\d\d  ", line)]
    expected = [f"Fichier reçu : {valid.path.name}", f"Fichier reçu : {refused.path.name}",
                f"Accepté : {valid.path.name} (PRE51454) — rapport : reports/PRE51454/",
                f"Refusé : {refused.path.name} (PRE51454) — ", "Publication terminée"]
    for start in expected:
        assert any(line[10:].startswith(start) for line in events), (start, text[-3000:])
    for line in events:
        if " — rapport : " in line:
            assert (home.root / line.split(" — rapport : ")[1]).is_file(), line
    refusal = next(line for line in events if "Refusé" in line)
    assert re.search(r" — \d+ anomalies? bloquantes? — rapport : reports/PRE51454/", refusal), refusal
    assert f"Journaux des services : Dagster {dagster_log}" in text
    assert "dagster.daemon" not in text and "RUN_SUCCESS" not in text
    dagster_text = dagster_log.read_text()
    assert "dagster.daemon" in dagster_text and "RUN_SUCCESS" in dagster_text and " - DEBUG - " in dagster_text
    assert oct(dagster_log.stat().st_mode & 0o777) == oct(0o600)
    # The database password reached no file of the data home, Dagster's debug log included.
    secret = postgres_server.password.encode()
    assert [p for p in home.root.rglob("*") if p.is_file() and secret in p.read_bytes()] == []

"""The production layout: the code served by a gRPC code server (`dagster code-server start`), the
daemon reading `deploy/workspace.yaml` and the instance `deploy/dagster.yaml` on a real PostgreSQL
server. A file dropped into the inbox is picked up by the sensor (evaluated in the code server) and
its run, launched through the code server, files it as accepted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import psycopg2
import pytest
import yaml

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import BIN, REPO_ROOT, free_port, isolated_env

pytestmark = pytest.mark.slow


def _runs_of(url: str, sha256: str) -> list[tuple[str, str]]:
    """(job, status) of the runs tagged with this content's hash, read from the instance's database."""
    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute("select r.pipeline_name, r.status from runs r join run_tags t on t.run_id = r.run_id "
                        "where t.key = 'sha256' and t.value = %s", [sha256])
            return cur.fetchall()
    finally:
        con.close()


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in processes:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_daemon_and_grpc_code_server_file_a_dropped_submission(tmp_path, postgres_url, postgres_server):
    home = DataHome(tmp_path / "data").ensure()
    instance_home = tmp_path / "dagster"
    instance_home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", instance_home / "dagster.yaml")
    workspace = yaml.safe_load((REPO_ROOT / "deploy" / "workspace.yaml").read_text(encoding="utf-8"))
    assert workspace == {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": 4266,
                                                        "location_name": "pre_eval"}}]}
    port = free_port()  # the documented file, on a port of this test's own
    workspace["load_from"][0]["grpc_server"]["port"] = port
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")

    env = isolated_env(home.root, tmp_path, DAGSTER_HOME=str(instance_home), PRE_DAGSTER_POSTGRES_URL=postgres_url,
                       PRE_DELAI_STABILITE_S="1", PRE_INTERVALLE_PUBLICATION_MIN="0")
    env["PATH"] = f"{BIN}:{env['PATH']}"
    log = (tmp_path / "services.log").open("w")
    processes = []
    try:
        processes.append(subprocess.Popen(
            [str(BIN / "dagster"), "code-server", "start", "-m", "pipelines.definitions", "-h", "127.0.0.1",
             "-p", str(port), "--location-name", "pre_eval"],
            cwd=home.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60  # as the daemon's unit comes after the code server's
        while time.monotonic() < deadline and not _answers(port):
            time.sleep(0.5)
        processes.append(subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
            cwd=home.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

        valid = next(f for f in generate(tmp_path / "gen", seed=8, sites=["PRE51454"], from_year=2024, to_year=2024,
                                         home=DataHome(tmp_path / "g"))
                     if f.expected_rule is None)
        sha256 = hashlib.sha256(valid.path.read_bytes()).hexdigest()
        part = home.inbox / (valid.path.name + ".part")
        shutil.copy(valid.path, part)
        part.rename(home.inbox / valid.path.name)

        ledger = home.ledger / f"{sha256}.json"
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not ledger.exists():
            assert all(p.poll() is None for p in processes), (tmp_path / "services.log").read_text()[-4000:]
            time.sleep(1)
        assert ledger.exists(), (tmp_path / "services.log").read_text()[-4000:]
        entry = json.loads(ledger.read_text(encoding="utf-8"))
        assert entry["statut"] == "accepte" and entry["fichier"] == valid.path.name
        assert (home.root / entry["chemin"]).is_file()
        # The file is filed before its run ends: wait for the run's end, recorded in PostgreSQL.
        while time.monotonic() < deadline and _runs_of(postgres_url, sha256) == [("ingestion", "STARTED")]:
            time.sleep(1)
    finally:
        _stop(processes)
        log.close()
    assert _runs_of(postgres_url, sha256) == [("ingestion", "SUCCESS")]
    assert list(instance_home.rglob("*.db")) == []
    assert not any(postgres_server.password.encode() in p.read_bytes()
                   for p in tmp_path.rglob("*") if p.is_file())

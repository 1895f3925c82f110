"""The production Dagster instance on a real PostgreSQL server (tests/postgres.py): the documented
`deploy/dagster.yaml`, and the instance `pre-eval` writes itself when `PRE_DAGSTER_POSTGRES_URL` is
set, back to SQLite when it is not, without ever writing the password to disk."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from pipelines.process import InstanceUnavailable, dagster_instance, open_instance_folder
from support import PRE_EVAL, REPO_ROOT, isolated_env

PRODUCTION_YAML = REPO_ROOT / "deploy" / "dagster.yaml"


@dg.op
def _hello() -> int:
    return 1


@dg.job
def essai_postgres():
    _hello()


def _rows(url: str, query: str, params=()) -> list[tuple]:
    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()
    finally:
        con.close()


def _files_holding(root: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture
def no_dagster_home(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def test_the_documented_production_instance_runs_on_postgres(tmp_path, monkeypatch, postgres_url, postgres_server):
    folder = tmp_path / "dagster"
    folder.mkdir()
    shutil.copy(PRODUCTION_YAML, folder / "dagster.yaml")
    monkeypatch.setenv("PRE_DAGSTER_POSTGRES_URL", postgres_url)
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.scheduler.instigation import TickStatus
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance = open_instance_folder(str(folder))  # as pre-eval opens an instance, the file left as it is
    assert (folder / "dagster.yaml").read_bytes() == PRODUCTION_YAML.read_bytes()
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        # What the file says, read back from Dagster (values written by hand here).
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 180
        assert instance.run_monitoring_cancel_timeout_seconds == 180
        assert instance.run_monitoring_max_runtime_seconds == 14400
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        for kind in (InstigatorType.SENSOR, InstigatorType.SCHEDULE):
            retention = instance.get_tick_retention_settings(kind)
            assert (retention[TickStatus.SKIPPED], retention[TickStatus.SUCCESS], retention[TickStatus.FAILURE]) \
                == (7, 90, 365)
        assert instance.telemetry_enabled is False

        result = essai_postgres.execute_in_process(instance=instance)
        assert result.success
    finally:
        instance.dispose()
    assert _rows(postgres_url, "select run_id, pipeline_name, status from runs") == \
        [(result.run_id, "essai_postgres", "SUCCESS")]
    # The password is in the environment only.
    assert postgres_server.password not in PRODUCTION_YAML.read_text(encoding="utf-8")
    assert _files_holding(tmp_path, postgres_server.password) == []
    assert list(folder.rglob("*.db")) == []


def test_the_instance_pre_eval_writes_follows_the_setting_and_keeps_no_password(
        tmp_path, monkeypatch, postgres_url, postgres_server, no_dagster_home):
    home = DataHome(tmp_path / "data").ensure()
    config = home.dagster / "dagster.yaml"

    monkeypatch.setenv("PRE_DAGSTER_POSTGRES_URL", postgres_url)
    instance = dagster_instance(home)
    try:
        run = essai_postgres.execute_in_process(instance=instance)
    finally:
        instance.dispose()
    text = config.read_text(encoding="utf-8")
    assert "env: PRE_DAGSTER_POSTGRES_URL" in text and "postgresql://" not in text
    assert _rows(postgres_url, "select run_id, pipeline_name, status from runs") == \
        [(run.run_id, "essai_postgres", "SUCCESS")]
    assert list(home.dagster.rglob("*.db")) == []  # no SQLite storage beside it
    assert _files_holding(tmp_path, postgres_server.password) == []

    # Unset: back to the embedded SQLite storage (the PostgreSQL history stays where it is).
    monkeypatch.delenv("PRE_DAGSTER_POSTGRES_URL")
    instance = dagster_instance(home)
    try:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert instance.get_runs() == []
        essai_postgres.execute_in_process(instance=instance)
    finally:
        instance.dispose()
    assert "postgres" not in config.read_text(encoding="utf-8")
    assert (home.dagster / "history" / "runs.db").is_file()
    assert len(_rows(postgres_url, "select run_id from runs")) == 1

    # Set again: PostgreSQL again, with its history.
    monkeypatch.setenv("PRE_DAGSTER_POSTGRES_URL", postgres_url)
    instance = dagster_instance(home)
    try:
        assert [r.run_id for r in instance.get_runs()] == [run.run_id]
    finally:
        instance.dispose()
    assert config.read_text(encoding="utf-8") == text


EARLIER_GENERATED = """\
# Written by pre-eval on first use. Runs launched by the daemon are queued and run one at a
# time (the warehouse has a single writer; writers also take a file lock).
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""


def test_an_operators_own_dagster_yaml_is_left_alone(tmp_path, monkeypatch, capsys, postgres_url, no_dagster_home):
    home = DataHome(tmp_path / "data").ensure()
    config = home.dagster / "dagster.yaml"
    # pre-eval's file of an earlier version is still its own: replaced by the current one.
    config.write_text(EARLIER_GENERATED, encoding="utf-8")
    monkeypatch.setenv("PRE_DAGSTER_POSTGRES_URL", postgres_url)
    dagster_instance(home).dispose()
    assert "env: PRE_DAGSTER_POSTGRES_URL" in config.read_text(encoding="utf-8")

    # A file written by hand (here: pre-eval's own, with one comment added) is never rewritten,
    # whatever the setting says; when the setting asks for PostgreSQL, a French warning says so.
    own = "# réglé à la main\n" + EARLIER_GENERATED
    config.write_text(own, encoding="utf-8")
    for value in (postgres_url, None):
        if value is None:
            monkeypatch.delenv("PRE_DAGSTER_POSTGRES_URL")
        capsys.readouterr()
        instance = dagster_instance(home)
        try:
            assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        finally:
            instance.dispose()
        assert config.read_text(encoding="utf-8") == own
        warning = capsys.readouterr().err
        assert ("PRE_DAGSTER_POSTGRES_URL est défini" in warning and str(config) in warning) == (value is not None)


def test_an_unreachable_database_is_a_french_error_without_the_password(tmp_path, monkeypatch, postgres_url,
                                                                        no_dagster_home):
    home = DataHome(tmp_path / "data").ensure()
    wrong = "MotDePasseFaux" + "x" * 10
    url = postgres_url.replace(postgres_url.split(":")[2].split("@")[0], wrong)
    assert wrong in url
    monkeypatch.setenv("PRE_DAGSTER_POSTGRES_URL", url)
    with pytest.raises(InstanceUnavailable) as caught:
        dagster_instance(home)
    message = str(caught.value)
    assert message.startswith("Instance Dagster : base PostgreSQL injoignable (PRE_DAGSTER_POSTGRES_URL, serveur "
                              "127.0.0.1:")
    assert "password authentication failed" in message
    assert wrong not in message and caught.value.__cause__ is None



def test_pre_eval_process_says_so_in_french_when_the_database_is_down(tmp_path):
    """Nothing listens on the port: exit 3, the French message last, no traceback, no password."""
    import socket

    with socket.socket() as s:  # a port that was free a moment ago and has nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    password = "MotDePasse" + "y" * 12
    env = isolated_env(tmp_path / "data", tmp_path,
                       PRE_DAGSTER_POSTGRES_URL=f"postgresql://pre:{password}@127.0.0.1:{port}/pre_dagster")
    done = subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"Instance Dagster : base PostgreSQL injoignable (PRE_DAGSTER_POSTGRES_URL, serveur 127.0.0.1:{port}")
    assert password not in done.stderr + done.stdout

@pytest.mark.slow
def test_pre_eval_process_keeps_its_runs_in_postgres(tmp_path, postgres_url, postgres_server):
    """The command itself, in a child process: the environment variable alone moves its runs."""
    home = DataHome(tmp_path / "data").ensure()
    files = generate(tmp_path / "gen", seed=3, sites=["PRE51454"], from_year=2024, to_year=2024,
                     home=DataHome(tmp_path / "g"))
    shutil.copy(files[0].path, home.inbox / files[0].path.name)
    env = isolated_env(home.root, tmp_path, PRE_DAGSTER_POSTGRES_URL=postgres_url)
    result = subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "ACCEPTÉ" in result.stdout
    assert sorted(_rows(postgres_url, "select pipeline_name, status from runs")) == \
        [("ingestion", "SUCCESS"), ("publication", "SUCCESS")]
    assert list(home.dagster.rglob("*.db")) == []
    assert _files_holding(tmp_path, postgres_server.password) == []

"""The ingestion job launched with a hostile configuration, as from the Dagster UI's launchpad."""

from __future__ import annotations

import hashlib

import dagster as dg

from pipelines.common.datahome import DataHome
from pipelines.definitions import defs
from pipelines.defs.ingestion import sites

KEY = b"la-cle-secrete"


def _launch(home: DataHome, files: list[dict], root: str = "") -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(sites.name, ["PRE51454"])
    config = {"ops": {"depot": {"config": {"files": files}}},
              "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if root:
        config["resources"] = {"data_home": {"config": {"root": root}}}
    return defs.resolve_job_def("ingestion").execute_in_process(
        run_config=config, instance=instance, partition_key="PRE51454", raise_on_error=False)


def _failure(run: dg.ExecuteInProcessResult) -> str:
    [event] = [e for e in run.all_events if e.is_step_failure]
    return event.step_failure_data.error.message


def _untouched(home: DataHome) -> None:
    assert (home.secret / "cle_pseudonymisation").read_bytes() == KEY
    assert not any(home.archive.iterdir()) and not any(home.quarantine.iterdir())
    assert not (home.root / "registre").exists()


def test_a_path_as_a_file_name_moves_nothing(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    (home.secret / "cle_pseudonymisation").write_bytes(KEY)
    digest = hashlib.sha256(KEY).hexdigest()
    run = _launch(home, [{"name": "../secret/cle_pseudonymisation", "size": len(KEY), "mtime": 0.0,
                          "sha256": digest}])
    assert not run.success
    assert "Configuration d'exécution refusée" in _failure(run)
    _untouched(home)


def test_another_data_home_is_refused(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    (home.secret / "cle_pseudonymisation").write_bytes(KEY)
    elsewhere = DataHome(tmp_path / "ailleurs").ensure()
    (elsewhere.inbox / "depot.zip").write_bytes(b"PK")
    run = _launch(home, [{"name": "depot.zip", "size": 2, "mtime": 0.0, "sha256": hashlib.sha256(b"PK").hexdigest()}],
                  root=str(elsewhere.root))
    assert not run.success
    assert "fixé par PRE_HOME" in _failure(run)
    assert (elsewhere.inbox / "depot.zip").exists()
    _untouched(home)


def test_a_replay_with_a_forged_reason_or_site_is_refused_unechoed(tmp_path, monkeypatch):
    """No file: a replay. Its reason goes to the replays' journal: control characters are refused, and so is a
    partition that is not a site code; nothing is journaled, nothing echoed."""
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    (home.secret / "cle_pseudonymisation").write_bytes(KEY)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(sites.name, ["PRE51454", "../../etc"])
    for partition, config in (("PRE51454", {"files": [], "motif": "ok\x1b[2J\x1b[Hfaux rejeu"}),
                              ("../../etc", {"files": []})):
        run = defs.resolve_job_def("ingestion").execute_in_process(
            run_config={"ops": {"depot": {"config": config}},
                        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            instance=instance, partition_key=partition, raise_on_error=False)
        assert not run.success
        message = _failure(run)
        assert ("caractères de contrôle" in message or "code de site invalide" in message), message
        assert "\x1b" not in message and "etc" not in message
    assert not (home.journal / "rejeux.jsonl").exists()
    _untouched(home)

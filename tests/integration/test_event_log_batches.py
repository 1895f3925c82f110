"""The instance's SQLite event log writes Dagster's batches of events in one transaction per database,
with the same rows as Dagster's own SQLite event log (pipelines/defs/event_log.py)."""

import json
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.event_log import SqliteEventLogBatches
from pipelines.process import DAGSTER_YAML, open_instance_folder

SITES = [f"PRE{n:05d}" for n in range(1, 41)]
partitions = dg.DynamicPartitionsDefinition(name="sites_essai")


@dg.asset(partitions_def=partitions, backfill_policy=dg.BackfillPolicy.single_run())
def lu(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"sites": len(context.partition_keys)})


@dg.asset_check(asset=lu, blocking=True)
def lu_conforme() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset(partitions_def=partitions, deps=[lu], backfill_policy=dg.BackfillPolicy.single_run())
def charge(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"sites": len(context.partition_keys)})


job = dg.Definitions(assets=[lu, charge], asset_checks=[lu_conforme],
                     jobs=[dg.define_asset_job("essai", selection=[lu, charge])]).resolve_job_def("essai")


def _run(instance: dg.DagsterInstance) -> str:
    instance.add_dynamic_partitions(partitions.name, SITES)
    result = job.execute_in_process(instance=instance, tags={
        "dagster/asset_partition_range_start": SITES[0], "dagster/asset_partition_range_end": SITES[-1]})
    assert result.success
    return result.run_id


def _rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as con:
        return con.execute(sql).fetchall()


def _content(folder: Path, run_id: str) -> dict[str, list[tuple]]:
    """What both storages must hold, read with plain SQL (ids and timestamps aside)."""
    runs = folder / "history" / "runs"
    events = "select dagster_event_type, asset_key, partition from event_logs order by id"
    return {
        "run": _rows(runs / f"{run_id}.db", events),
        "index": _rows(runs / "index.db", events),
        # A data version is drawn for each run (these assets have no code version): its value aside.
        "tags": sorted(_rows(runs / "index.db", "select asset_key, key, iif(key = 'dagster/data_version', "
                             "'(tirée au hasard)', value) from asset_event_tags")),
        # Each asset's record names the run, its last materialisation and its last event's time.
        "assets": sorted(_rows(runs / "index.db", """
            select k.asset_key, k.last_run_id = (select max(run_id) from event_logs),
                   json_extract(k.last_materialization, '$.storage_id') = (select max(id) from event_logs e
                       where e.asset_key = k.asset_key and dagster_event_type = 'ASSET_MATERIALIZATION'),
                   k.last_materialization_timestamp = (select max(timestamp) from event_logs e
                       where e.asset_key = k.asset_key),
                   k.asset_details, k.tags, k.wipe_timestamp, k.cached_status_data
            from asset_keys k""")),
    }


@pytest.fixture
def connections(monkeypatch):
    """How many connections each storage class opened (Dagster's SQLite storage opens one per write)."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    counts: dict[str, int] = {}
    real = SqliteEventLogStorage._connect

    def counted(self, shard):
        counts[type(self).__name__] = counts.get(type(self).__name__, 0) + 1
        return real(self, shard)

    monkeypatch.setattr(SqliteEventLogStorage, "_connect", counted)
    return counts


def test_a_run_over_many_partitions_writes_the_same_rows_in_a_few_transactions(tmp_path, monkeypatch, connections):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")  # so that the variable is restored after the test
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")
    # Dagster's own SQLite storage (its default dagster.yaml: nothing in it), one event at a time.
    plain_folder = tmp_path / "dagster_par_defaut"
    plain_folder.mkdir()
    (plain_folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    plain = dg.DagsterInstance.from_config(str(plain_folder))
    assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
    plain_run = _run(plain)
    plain_connections = connections.pop("SqliteEventLogStorage")

    # pre-eval's: the same rows, the asset events of each batch written together.
    ours_folder = tmp_path / "dossier « d'essai » \"x\""
    instance = open_instance_folder(str(ours_folder), DAGSTER_YAML)
    assert isinstance(instance.event_log_storage, SqliteEventLogBatches)
    run_id = _run(instance)
    ours_connections = connections.pop("SqliteEventLogBatches")

    expected, got = _content(plain_folder, plain_run), _content(ours_folder, run_id)
    planned = [r for r in got["index"] if r[0] == "ASSET_MATERIALIZATION_PLANNED"]
    done = [r for r in got["index"] if r[0] == "ASSET_MATERIALIZATION"]
    assert len(planned) == len(done) == 2 * len(SITES)  # one per site and asset, as before
    assert {r[2] for r in done} == set(SITES)
    assert got == expected
    assert all(row[1:4] == (1, 1, 1) for row in got["assets"]), got["assets"]
    assert instance.get_materialized_partitions(dg.AssetKey("charge")) == set(SITES)
    for key in (dg.AssetKey("lu"), dg.AssetKey("charge")):  # the asset's record: its last event, as before
        latest = [i.get_latest_materialization_event(key).dagster_event.partition for i in (instance, plain)]
        assert latest[0] == latest[1] and latest[0] in SITES
    # Two connections per asset event before (160 events); a few per batch now.
    assert plain_connections >= 4 * len(SITES)
    assert ours_connections <= plain_connections / 4, (ours_connections, plain_connections)


def test_the_file_names_the_folder_and_follows_it(tmp_path):
    folder = tmp_path / "dagster"
    open_instance_folder(str(folder), DAGSTER_YAML).dispose()
    config = folder / "dagster.yaml"
    text = config.read_text(encoding="utf-8")
    assert f"base_dir: {json.dumps(str(folder.resolve() / 'history' / 'runs'))}\n" in text
    assert "<<" not in text

    # A data home moved (or restored elsewhere): its file is pre-eval's, rewritten with the new folder.
    moved = tmp_path / "ailleurs"
    folder.rename(moved)
    instance = open_instance_folder(str(moved), DAGSTER_YAML)
    try:
        assert instance.event_log_storage._base_dir == str(moved.resolve() / "history" / "runs")
    finally:
        instance.dispose()
    assert str(folder) not in (moved / "dagster.yaml").read_text(encoding="utf-8")

    # The file pre-eval wrote before this storage: its own, replaced.
    from pipelines.process import _COMMON, _GENERATED_HEADER

    (moved / "dagster.yaml").write_text(_GENERATED_HEADER + _COMMON, encoding="utf-8")
    open_instance_folder(str(moved), DAGSTER_YAML).dispose()
    assert "SqliteEventLogBatches" in (moved / "dagster.yaml").read_text(encoding="utf-8")

    # An operator's file (here pre-eval's of another folder, with a line added by hand) is left alone.
    own = "# réglé à la main\n" + text
    (moved / "dagster.yaml").write_text(own, encoding="utf-8")
    open_instance_folder(str(moved), DAGSTER_YAML).dispose()
    assert (moved / "dagster.yaml").read_text(encoding="utf-8") == own

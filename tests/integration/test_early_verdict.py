"""The early verdict: the inbox sensor checks a new file in its own process, writes its report and notice
before any run, and the run keeps that verdict when the snapshot in force has not changed since
(`pipelines.ingest.precheck`)."""

from __future__ import annotations

import json
import os
import shutil
import time

import dagster as dg
import duckdb
import pytest

from pipelines.common.datahome import DataHome
from pipelines.contracts import notices
from pipelines.defs.ingestion import boite_de_depot
from pipelines.defs.resources import DataHomeResource
from pipelines.demo.generate import generate
from pipelines.ingest import precheck, retention
from pipelines.ingest.inbox import sha256_of
from pipelines.process import process


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("avis")
    generated = generate(root / "depots", seed=5, with_errors=True, sites_count=3, from_year=2024,
                         home=DataHome(root / "home"))
    valid = [f for f in generated if f.expected_rule is None]
    # A file refused for a rule of the table rows (not one that stops the reading).
    flawed = next(f for f in generated if f.expected_rule and f.expected_rule.startswith("parcours."))
    return valid, flawed


def _drop(home: DataHome, *paths) -> None:
    home.inbox.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = home.inbox / path.name
        shutil.copy(path, target)
        old = time.time() - 60  # stable for the sensor
        os.utime(target, (old, old))


def _tick(home: DataHome, instance, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"data_home": DataHomeResource(root=str(home.root))})
    return boite_de_depot(context)


def _checked(home: DataHome, file) -> bool:
    return (precheck.folder(home, sha256_of(file.path)) / "verdict.json").is_file()


def _report_json(home: DataHome, notice: dict) -> dict:
    return json.loads((home.root / notice["rapport"]).with_suffix(".json").read_text(encoding="utf-8"))


def test_the_sensor_gives_the_verdict_and_the_run_keeps_it_unless_the_snapshot_in_force_changed(
        tmp_path, files, monkeypatch):
    valid, flawed = files
    a, b = valid[:2]
    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    # What the sensor believes of the snapshot in force: site a far bigger than its new file (a stale belief:
    # the warehouse does not even exist).
    precheck.write_in_force(home, {a.code_pre: 1_000_000})
    _drop(home, a.path, b.path, flawed.path)
    shas = {f.path.name: sha256_of(f.path) for f in (a, b, flawed)}

    instance = dg.DagsterInstance.ephemeral()
    first = _tick(home, instance)
    assert sorted(r.run_key for r in first.run_requests) == sorted(shas.values())
    # Before any run: a report and a notice for each file; nothing filed, no warehouse.
    early = {name: notices.read(home, sha) for name, sha in shas.items()}
    assert {n: v["statut"] for n, v in early.items()} == {
        a.path.name: "accepte", b.path.name: "accepte", flawed.path.name: "refuse"}
    assert all((home.root / v["rapport"]).is_file() for v in early.values())
    assert not home.warehouse.exists() and not list(home.ledger.glob("*.json"))
    assert sorted(p.name for p in home.inbox.iterdir()) == sorted(shas)
    assert flawed.expected_rule in {f["regle"] for f in _report_json(home, early[flawed.path.name])["constats"]}
    # The stale belief gave site a the warning of a sharp drop in pathways.
    assert early[a.path.name]["nb_avertissements"] >= 1
    assert "parcours.volume_en_baisse" in json.dumps(_report_json(home, early[a.path.name]))
    stamps = {n: (home.root / v["rapport"]).stat().st_mtime_ns for n, v in early.items()}

    # A second tick checks nothing again: the runs are requested, the files are theirs now.
    second = _tick(home, instance, first.cursor)
    assert sorted(r.run_key for r in second.run_requests) == sorted(shas.values())
    assert {n: (home.root / v["rapport"]).stat().st_mtime_ns for n, v in early.items()} == stamps

    result = process(home)
    assert result.ok, (result.errors, result.left_in_inbox)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        filed = dict(con.execute("select fichier, statut from ingestion.depots").fetchall())
        reports = dict(con.execute("select fichier, rapport from ingestion.depots").fetchall())
    finally:
        con.close()
    assert filed == {a.path.name: "accepte", b.path.name: "accepte", flawed.path.name: "refuse"}
    assert reports == {n: v["rapport"] for n, v in early.items()}
    final = {name: notices.read(home, sha) for name, sha in shas.items()}
    # b and the flawed file: the run kept the sensor's verdict (their reports were not written again).
    for name in (b.path.name, flawed.path.name):
        assert (home.root / final[name]["rapport"]).stat().st_mtime_ns == stamps[name]
        assert final[name] == early[name]
    # a: checked again against the warehouse (nothing in force), its report rewritten without the warning.
    assert (home.root / final[a.path.name]["rapport"]).stat().st_mtime_ns != stamps[a.path.name]
    assert final[a.path.name]["nb_avertissements"] == early[a.path.name]["nb_avertissements"] - 1
    assert "parcours.volume_en_baisse" not in json.dumps(_report_json(home, final[a.path.name]))
    # Nothing of the sensor's left, and the runs told the next checks what is in force now.
    assert not [p for p in precheck.root(home).iterdir() if p.is_dir()]
    assert precheck.read_in_force(home) == {a.code_pre: a.rows["parcours"], b.code_pre: b.rows["parcours"]}


def test_a_check_no_run_will_take_over_is_purged_and_journaled(tmp_path, files, monkeypatch):
    valid, _ = files
    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    kept, gone = valid[:2]
    _drop(home, kept.path, gone.path)
    instance = dg.DagsterInstance.ephemeral()
    _tick(home, instance)
    assert _checked(home, kept) and _checked(home, gone)
    (home.inbox / gone.path.name).unlink()  # removed from the inbox before its run (by an operator)
    partial = precheck.root(home) / ("0" * 64)
    partial.mkdir()  # an interrupted tick's folder
    (partial / "parcours.parquet").write_bytes(b"...")
    result = retention.remove_leftover_staging(home, instance)
    assert sorted(d.chemin for d in result.deletions) == sorted(
        [f"staging/controle/{sha256_of(gone.path)}", f"staging/controle/{'0' * 64}"])
    assert _checked(home, kept) and not precheck.folder(home, sha256_of(gone.path)).exists()
    journal = [json.loads(line) for line in (home.journal / "purges.jsonl").read_text().splitlines()]
    assert sorted(e["chemin"] for e in journal) == sorted(d.chemin for d in result.deletions)
    # A file replaced in place by another content of the same name: its old check goes too.
    (home.inbox / kept.path.name).write_bytes(gone.path.read_bytes())
    assert precheck.leftovers(home) == [precheck.folder(home, sha256_of(kept.path))]


@pytest.mark.parametrize("first", ["capteur", "lecture_anticipee"])
def test_two_readers_of_one_file_never_show_a_half_written_folder(tmp_path, files, monkeypatch, first):
    """The sensor and `pre-eval process` reading ahead may read the same new file at the same moment. Each
    writes its own private folder and puts it in place whole: whenever the file's folder exists, it is a
    whole reading of the file (what a run takes over), even while the other reader writes. Here one reader
    runs whole in the middle of the other's writing; then the run takes the folder over and loads the file."""
    import polars as pl

    from pipelines.ingest import lifecycle
    from pipelines.ingest.inbox import ready_files

    valid, _ = files
    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    _drop(home, valid[0].path)
    (file,) = ready_files(home, stable_seconds=0)
    target = precheck.folder(home, file.sha256)

    def sensor():
        return lifecycle.check_early(home, [file])

    def ahead():
        return lifecycle.read_ahead(lifecycle.read_job(home, file, target))

    outer, inner = (sensor, ahead) if first == "capteur" else (ahead, sensor)
    seen, nested = [], []
    real_write = pl.DataFrame.write_parquet

    def write_parquet(frame, path, *args, **kwargs):
        # At every table written by either reader: the folder in place is absent or whole.
        seen.append(not target.exists() or (precheck.matches(target, file) and all(
            (target / f"{t}.parquet").is_file() for t in json.loads((target / "lecture.json").read_text())["tables"])))
        if not nested:
            nested.append(None)
            nested[0] = inner()  # the other reader, whole, in the middle of this one's writing
        return real_write(frame, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", write_parquet)
    result = outer()
    monkeypatch.setattr(pl.DataFrame, "write_parquet", real_write)
    assert len(seen) >= 10 and all(seen)  # both readers' five tables
    assert precheck.matches(target, file)
    assert [p.name for p in precheck.root(home).iterdir() if p.is_dir()] == [file.sha256]  # no private folder left
    code = result[0] if first == "lecture_anticipee" else nested[0][0]
    assert code == valid[0].code_pre  # the reading ahead routes the file by its manifest
    assert notices.read(home, file.sha256)["statut"] == "accepte"  # the sensor's verdict, told at once

    done = process(home)
    assert done.ok, (done.errors, done.left_in_inbox)
    assert [d["statut"] for d in [notices.read(home, file.sha256)]] == ["accepte"]
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert con.execute("select fichier, statut from ingestion.depots").fetchall() == [(file.name, "accepte")]
    finally:
        con.close()


def test_a_reading_being_written_is_left_to_its_writer_until_it_is_long_gone(tmp_path):
    home = DataHome(tmp_path / "data").ensure()
    target = precheck.folder(home, "a" * 64)
    target.parent.mkdir(parents=True)
    writing = precheck.temporary(target)
    writing.mkdir()
    (writing / "parcours.parquet").write_bytes(b"...")
    assert precheck.leftovers(home) == []  # being written: not a leftover
    old = time.time() - precheck.WRITING_GRACE_S - 60
    os.utime(writing, (old, old))
    assert precheck.leftovers(home) == [writing]  # its writer died long ago

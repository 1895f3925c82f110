"""Ingestion end to end: the real sensor evaluation, `pre-eval process` on generator output,
refusals that change nothing, resubmissions, older snapshots, duplicates, and privacy."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pytest

from pipelines.common.datahome import DataHome
from pipelines.contracts.model import DATA_TABLES
from pipelines.defs.ingestion import boite_de_depot
from pipelines.defs.resources import DataHomeResource
from pipelines.demo.generate import generate
from pipelines.ingest.inbox import sha256_of
from pipelines.process import process
from support import PRE_EVAL, isolated_env

# --------------------------------------------------------------------------- helpers (independent of the reader)


def _csv_tables(path: Path) -> dict[str, list[dict]]:
    """Read a generated submission with the csv module or openpyxl (not with the platform's reader)."""
    tables = {}
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            rows = [[("" if v is None else str(v)) for v in r] for r in sheet.iter_rows(values_only=True)]
            rows = [r for r in rows if any(r)]
            tables[sheet.title.lower()] = [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
        return tables
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            delimiter = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
            tables[name.removesuffix(".csv").lower()] = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    return tables


def _rewrite_zip(source: Path, target: Path, *, days: int, motif: str | None = None) -> None:
    """A new version of a ZIP submission: extraction date moved by `days`, optionally all referral reasons changed."""
    tables = _csv_tables(source)
    out = {}
    for name, rows in tables.items():
        if name == "manifeste":
            for row in rows:
                if row["cle"] == "date_extraction":
                    value = row["valeur"]
                    parsed = date.fromisoformat(value) if "-" in value else date(
                        int(value[6:10]), int(value[3:5]), int(value[0:2]))
                    row["valeur"] = (parsed + timedelta(days=days)).isoformat()
        if name == "parcours" and motif:
            for row in rows:
                row["motif_orientation"] = motif
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        out[name] = buffer.getvalue()
    with zipfile.ZipFile(target, "w") as archive:
        for name, text in out.items():
            archive.writestr(f"{name}.csv", text)


def _snapshot(db: Path, where: str = "true", params: list | None = None) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        # where-clauses below are written by the tests themselves, values passed as parameters.
        return {t: con.execute(f"select * from marts.{t} where {where} order by all", params or []).fetchall()
                for t in DATA_TABLES}
    finally:
        con.close()


def _published_indicators(home: DataHome) -> list[tuple]:
    con = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        return con.execute("select * from marts.indicateurs order by all").fetchall()
    finally:
        con.close()


def _depots(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("select * from marts.depots order by recu_le, fichier")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def _drop(home: DataHome, *files: Path, names: list[str] | None = None) -> None:
    home.inbox.mkdir(parents=True, exist_ok=True)
    for i, file in enumerate(files):
        target = home.inbox / (names[i] if names else file.name)
        shutil.copy(file, target)
        old = time.time() - 60  # arrived a minute ago: stable for the sensor
        os.utime(target, (old, old))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("generes")
    # 6 demo sites over 2023-2024 (the generator's default is the 15 sites from 2021): every rule and path here
    # is about files, not volumes; 6 sites still cover every file kind (ZIP in UTF-8 and in Windows-1252, XLSX)
    # and several départements, and two school years give calendar and school periods at every level.
    files = generate(root / "depots", seed=11, with_errors=True, sites_count=6, from_year=2023,
                     home=DataHome(root / "home"))
    return files


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, generated):
    """A data home where the valid generated submissions (one per site) were processed."""
    root = tmp_path_factory.mktemp("entrepot")
    home = DataHome(root / "data").ensure()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRE_HOME", str(home.root))
        mp.setenv("DAGSTER_HOME", str(root / "dagster"))
        valid = [f for f in generated if f.expected_rule is None]
        _drop(home, *[f.path for f in valid])
        result = process(home)
        assert result.ok, (result.errors, result.left_in_inbox)
        yield home, valid, result


@pytest.fixture
def env(loaded, monkeypatch, tmp_path):
    home = loaded[0]
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(home.root.parent / "dagster"))
    return home


# --------------------------------------------------------------------------- the sensor


def test_sensor_requests_one_run_per_new_content(tmp_path, generated, monkeypatch):
    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    # Files dropped by `_drop` arrived a minute ago; the one written below must still count as being written
    # when the sensor looks, however loaded the machine (the default 2 s once elapsed before it looked).
    monkeypatch.setenv("PRE_DELAI_STABILITE_S", "30")
    a, b = [f for f in generated if f.expected_rule is None][:2]
    _drop(home, a.path, b.path)
    _drop(home, a.path, names=["copie renommée.zip"])  # same content, another name
    (home.inbox / "en_cours.zip.part").write_bytes(a.path.read_bytes()[:100])
    (home.inbox / ".televersement").write_bytes(b"...")
    fresh = home.inbox / "tout_juste_arrive.zip"
    fresh.write_bytes(b.path.read_bytes() + b"\n")  # new content, still being written in place

    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance, resources={"data_home": DataHomeResource(root=str(home.root))})
    result = boite_de_depot(context)
    requests = result.run_requests
    assert sorted(r.run_key for r in requests) == sorted([sha256_of(a.path), sha256_of(b.path)])
    assert {r.partition_key for r in requests} == {a.code_pre, b.code_pre}
    added = {k for req in result.dynamic_partitions_requests for k in req.partition_keys}
    assert added == {a.code_pre, b.code_pre}
    # The renamed duplicate is removed from the inbox and logged; files being written stay.
    remaining = sorted(p.name for p in home.inbox.iterdir())
    assert remaining == sorted([".televersement", a.path.name, b.path.name, "en_cours.zip.part", fresh.name])
    journal = [json.loads(line) for line in (home.root / "journal" / "arrivees.jsonl").read_text().splitlines()]
    assert [(e["fichier"], e["issue"]) for e in journal] == [("copie renommée.zip", "doublon")]

    # Once a content is handled (ledger), dropping it again under any name requests nothing.
    (home.root / "registre").mkdir(exist_ok=True)
    (home.root / "registre" / f"{sha256_of(a.path)}.json").write_text(json.dumps({"chemin": "archive/x"}))
    (home.inbox / a.path.name).unlink()
    _drop(home, a.path, names=["encore.zip"])
    again = boite_de_depot(context)
    assert sorted(r.run_key for r in again.run_requests) == sorted([sha256_of(b.path)])
    assert not (home.inbox / "encore.zip").exists()


def test_many_files_are_routed_by_their_manifest_in_worker_processes(tmp_path, generated, monkeypatch):
    """A batch from `PRE_PARALLELE_DES` files up peeks at the manifests in worker processes: each file still
    goes to the site its manifest names (as the generator wrote it), an unreadable one to the unknown site,
    and the sensor's memory keeps every code so that the next tick reads nothing again."""
    from pipelines.defs.ingestion import pending_requests
    from pipelines.ingest.lifecycle import UNKNOWN_SITE

    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("PRE_PARALLELE_DES", "2")
    monkeypatch.setenv("PRE_PROCESSUS", "2")
    valid = [f for f in generated if f.expected_rule is None]
    kinds = {f.variant for f in valid}
    assert "xlsx" in kinds and len(kinds) >= 2  # workbooks and archives both peeked
    _drop(home, *[f.path for f in valid])
    (home.inbox / "illisible.zip").write_bytes(b"PK\x03\x04 not an archive")
    old = time.time() - 60
    os.utime(home.inbox / "illisible.zip", (old, old))
    memory: dict = {}
    pending, _ = pending_requests(home, stable_seconds=0, memory=memory)
    routed = {file.name: site for site, file in pending}
    assert routed == {**{f.path.name: f.code_pre for f in valid}, "illisible.zip": UNKNOWN_SITE}
    assert sorted(memory["sites"].values(), key=str) == sorted([f.code_pre for f in valid] + [None], key=str)
    # The next tick routes from memory: a peek now fails the test, and the routing is the same.
    monkeypatch.setattr("pipelines.defs.ingestion.peek_site", lambda path: pytest.fail(f"relu : {path}"))
    again, _ = pending_requests(home, stable_seconds=0, memory=memory)
    assert {file.name: site for site, file in again} == routed


def _checked(home: DataHome, files: list[Path], when: float) -> tuple[dict[str, tuple], dict[str, dict], bool]:
    """Stage `files` (arrived at `when`) and check them: each file's (accepted, rules), its JSON report, and
    whether worker processes ran the checks."""
    from pipelines.common import workers
    from pipelines.defs.ingestion import pending_requests
    from pipelines.ingest import lifecycle

    home.inbox.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copy(file, home.inbox / file.name)
        os.utime(home.inbox / file.name, (when, when))
    pending, _ = pending_requests(home, stable_seconds=0)
    lifecycle.stage(home, "essai", [f for _, f in pending])
    workers.peak_worker_kb = 0  # set by worker processes only
    verdicts = lifecycle.check(home, "essai")
    outcome = {v.file.name: (v.accepted, tuple(v.rules)) for v in verdicts}
    reports = {v.file.name: json.loads((home.root / v.report_path).with_suffix(".json").read_text(encoding="utf-8"))
               for v in verdicts}
    return outcome, reports, workers.peak_worker_kb > 0


def test_batches_checked_in_worker_processes_give_each_file_the_verdict_it_has_alone(tmp_path, generated,
                                                                                        monkeypatch):
    """With several batches, each batch is checked in a worker process (`lifecycle.check`): every file keeps
    the verdict the generator planned for it (its flaw's rule), and the very report it gets when all files are
    checked together in one batch in the run's process."""
    # Three valid files (every kind), the file whose parcours table is unusable (missing column), and one flaw
    # of each other table: every file of a batch is then a batch of its own, in two workers.
    chosen = list({f.variant: f for f in generated if f.expected_rule is None}.values())
    tables = {}
    for f in generated:
        if f.expected_rule is not None:
            tables.setdefault(f.expected_rule.split(".")[0], f)
    chosen += [f for f in generated if f.expected_rule == "depot.colonne_manquante"][:1] + [
        f for table, f in tables.items() if table != "depot"]
    files = [f.path for f in chosen]
    planned = {f.path.name: f.expected_rule for f in chosen}
    assert "depot.colonne_manquante" in planned.values() and len(files) <= 12
    flawed = sum(rule is not None for rule in planned.values())
    assert flawed >= 2 and len(planned) - flawed >= 2
    when = time.time() - 60
    monkeypatch.setenv("PRE_PROCESSUS", "2")

    monkeypatch.setenv("PRE_HOME", str(tmp_path / "seul"))
    one_batch, one_batch_reports, in_workers = _checked(DataHome(tmp_path / "seul").ensure(), files, when)
    assert not in_workers  # one batch: checked in this process

    monkeypatch.setenv("PRE_HOME", str(tmp_path / "lots"))
    monkeypatch.setenv("PRE_LOT_LIGNES", "1")  # every file is a batch of its own
    batches, batches_reports, in_workers = _checked(DataHome(tmp_path / "lots").ensure(), files, when)
    assert in_workers

    for name, rule in planned.items():
        accepted, rules = batches[name]
        if rule is None:
            assert accepted, (name, rules)
        else:
            assert rule in rules and not accepted, (name, rule, rules)
    assert batches == one_batch
    assert batches_reports == one_batch_reports


def test_a_content_whose_run_was_interrupted_is_requested_again(tmp_path, generated, monkeypatch):
    """Dagster requests a run key once, whatever became of its run: a file whose run was killed with the
    service (marked failed by `fail_interrupted_runs`) gets a new key; one whose run failed on its own
    does not (its failure is for an operator)."""
    import uuid

    from pipelines.process import DAGSTER_YAML, START_TIMEOUT_S, fail_interrupted_runs, open_instance_folder

    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    a, b = [f for f in generated if f.expected_rule is None][:2]
    _drop(home, a.path, b.path)
    sha_a, sha_b = sha256_of(a.path), sha256_of(b.path)
    (tmp_path / "dagster").mkdir()
    instance = open_instance_folder(str(tmp_path / "dagster"), DAGSTER_YAML)
    killed = instance.add_run(dg.DagsterRun(job_name="ingestion", run_id=str(uuid.uuid4()), tags={"sha256": sha_b},
                                            status=dg.DagsterRunStatus.STARTING))
    own_failure = instance.add_run(dg.DagsterRun(job_name="ingestion", run_id=str(uuid.uuid4()),
                                                 tags={"sha256": sha_a}, status=dg.DagsterRunStatus.STARTING))
    instance.report_run_failed(own_failure, "échec de l'étape")
    assert fail_interrupted_runs(instance, now=time.time() + START_TIMEOUT_S + 5) == [killed.run_id]

    context = dg.build_sensor_context(instance=instance, resources={"data_home": DataHomeResource(root=str(home.root))})
    keys = sorted(r.run_key for r in boite_de_depot(context).run_requests)
    assert keys == sorted([sha_a, f"{sha_b}-reprise1"])


# --------------------------------------------------------------------------- pre-eval process


def test_process_reads_each_file_once_before_its_run(tmp_path, generated, monkeypatch):
    """`pre-eval process` reads each file whole before the run, to route it by its manifest, and the run
    takes that reading over: no file is read twice, no manifest peeked at. A file whose reading ahead could
    not be written is routed by its manifest alone and read by its run; every file gets its verdict."""
    from pipelines.ingest import lifecycle

    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("PRE_PROCESSUS", "1")  # every reading in this process, where it is counted
    valid = [f for f in generated if f.expected_rule is None][:3]
    flawed = next(f for f in generated if f.expected_rule == "parcours.sexe.liste")
    _drop(home, *[f.path for f in [*valid, flawed]])
    reads, peeks, failed = [], [], []
    real_read, real_peek, real_stage = lifecycle.read_submission, lifecycle.peek_site, lifecycle._read_to_staging
    unlucky = valid[0].path.name

    def counted_read(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real_read(path, *args, **kwargs)

    def counted_peek(path):
        peeks.append(Path(path).name)
        return real_peek(path)

    def stage_or_fail(job):
        if Path(job[0]).name == unlucky and not failed:  # its first reading: the one ahead of the run
            failed.append(job[2])
            Path(job[2]).mkdir(parents=True)
            raise PermissionError("dossier de contrôle anticipé non inscriptible")
        return real_stage(job)

    monkeypatch.setattr(lifecycle, "read_submission", counted_read)
    monkeypatch.setattr(lifecycle, "peek_site", counted_peek)
    monkeypatch.setattr(lifecycle, "_read_to_staging", stage_or_fail)
    result = process(home)
    assert result.ok, (result.errors, result.left_in_inbox)
    assert sorted(reads) == sorted(f.path.name for f in [*valid, flawed])
    assert peeks == [unlucky]
    assert "controle" in failed[0] and not Path(failed[0]).exists()  # the partial folder removed
    depots = {d["fichier"]: d for d in _depots(home.warehouse)}
    assert {name: d["statut"] for name, d in depots.items()} == {
        **{f.path.name: "accepte" for f in valid}, flawed.path.name: "refuse"}
    assert {name: d["code_pre"] for name, d in depots.items()} == {f.path.name: f.code_pre for f in [*valid, flawed]}
    assert [p.name for p in (home.root / "staging" / "controle").iterdir()] == ["en_vigueur.json"]


def _two_per_transaction(tmp_path: Path, generated, monkeypatch, count: int):
    """A new data home loading two files per transaction, all in this process (where the tests inject their
    failures), and `count` valid files of distinct sites in site order."""
    from pipelines.ingest import lifecycle

    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("PRE_PROCESSUS", "1")
    monkeypatch.setattr(lifecycle, "LOAD_GROUP", 2)
    return home, sorted((f for f in generated if f.expected_rule is None), key=lambda f: f.code_pre)[:count]


def test_a_failed_load_undoes_its_transaction_and_loses_no_file(tmp_path, generated, monkeypatch):
    """Submissions are loaded in transactions of `LOAD_GROUP`: a failure while loading one undoes every
    submission of its transaction (rows and ledger rows), whose files stay in the inbox, while the
    transactions committed before it stand, their files archived. The next run loads the rest."""
    from pipelines.ingest import lifecycle

    home, valid = _two_per_transaction(tmp_path, generated, monkeypatch, 4)
    assert len({f.code_pre for f in valid}) == 4
    _drop(home, *[f.path for f in valid])
    real = lifecycle.insert_rows
    fourth = sha256_of(valid[3].path)

    def fails_for_the_fourth(con, table, sources):
        real(con, table, sources)  # the transaction's rows written, then the failure: all must be undone
        if table == "actions" and any(fourth in str(source) for source in sources):
            raise OSError("disque plein (simulé)")

    monkeypatch.setattr(lifecycle, "insert_rows", fails_for_the_fourth)
    first = process(home)
    assert first.errors and sorted(first.left_in_inbox) == sorted(f.path.name for f in valid[2:])
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        loaded = {t: sorted(r[0] for r in con.execute(f"select distinct code_pre from ingestion.{t}").fetchall())
                  for t in DATA_TABLES}
        ledger = sorted(r[0] for r in con.execute("select fichier from ingestion.depots").fetchall())
    finally:
        con.close()
    assert loaded == {t: sorted(f.code_pre for f in valid[:2]) for t in DATA_TABLES}
    assert ledger == sorted(f.path.name for f in valid[:2])
    assert sorted(p.name.split("_", 2)[2] for p in home.archive.rglob("*") if p.is_file()) == ledger

    monkeypatch.setattr(lifecycle, "insert_rows", real)
    second = process(home)
    assert second.ok, (second.errors, second.left_in_inbox)
    assert sorted(d["fichier"] for d in _depots(home.warehouse) if d["statut"] == "accepte") == sorted(
        f.path.name for f in valid)


def test_a_failure_while_filing_a_committed_transaction_is_finished_by_the_next_run(tmp_path, generated,
                                                                                     monkeypatch):
    """Files are moved once their transaction has committed. A failure while moving one is raised as itself
    (not hidden behind a failed rollback); the content is recorded, so the next run files it where the
    ledger says, without loading it again, and loads the rest."""
    from pipelines.ingest import lifecycle

    home, valid = _two_per_transaction(tmp_path, generated, monkeypatch, 3)
    outcome, _, _ = _checked(home, [f.path for f in valid], time.time() - 60)  # staged and checked, run « essai »
    assert all(accepted for accepted, _ in outcome.values())
    real = lifecycle._move

    def refuses_the_first(home_, item, destination):
        if item.file.name == valid[0].path.name:
            raise PermissionError("archive non inscriptible (simulé)")
        return real(home_, item, destination)

    monkeypatch.setattr(lifecycle, "_move", refuses_the_first)
    with pytest.raises(PermissionError, match="simulé"):
        lifecycle.apply(home, "essai")
    assert sorted(p.name for p in home.inbox.iterdir()) == sorted(f.path.name for f in valid)  # none moved yet
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        recorded = sorted(r[0] for r in con.execute("select fichier from ingestion.depots").fetchall())
    finally:
        con.close()
    assert recorded == sorted(f.path.name for f in valid[:2])  # the first transaction committed

    monkeypatch.setattr(lifecycle, "_move", real)
    second = process(home)
    assert second.ok, (second.errors, second.left_in_inbox)
    depots = _depots(home.warehouse)
    assert sorted((d["fichier"], d["statut"]) for d in depots) == sorted((f.path.name, "accepte") for f in valid)
    assert all((home.root / d["chemin"]).is_file() for d in depots) and list(home.inbox.iterdir()) == []


def test_two_versions_of_a_site_in_one_run_leave_the_newer_in_force(tmp_path, generated, monkeypatch):
    """Two files of one site dropped together are loaded in order in one transaction: the newer one's rows
    alone stay (the older one's rows, inserted first, are deleted before the newer one's go in)."""
    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    site = next(f for f in generated if f.expected_rule is None and f.path.suffix == ".zip")
    other = next(f for f in generated if f.expected_rule is None and f.code_pre != site.code_pre)
    newer = tmp_path / "nouvelle_version.zip"
    _rewrite_zip(site.path, newer, days=1, motif="AUTRE")
    _drop(home, site.path, newer, other.path)
    result = process(home)
    assert result.ok, (result.errors, result.left_in_inbox)
    expected = {t: len(rows) for t, rows in _csv_tables(newer).items() if t != "manifeste"}
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        counts = {t: con.execute(f"select count(*) from ingestion.{t} where code_pre = ?",
                                 [site.code_pre]).fetchone()[0] for t in DATA_TABLES}
        motifs = con.execute("select distinct motif_orientation from ingestion.parcours where code_pre = ?",
                             [site.code_pre]).fetchall()
        in_force = con.execute("select fichier from ingestion.depots where code_pre = ? and en_vigueur",
                               [site.code_pre]).fetchall()
    finally:
        con.close()
    assert counts == expected
    assert motifs == [("AUTRE",)] and in_force == [("nouvelle_version.zip",)]
    assert {d["fichier"]: d["statut"] for d in _depots(home.warehouse)} == {
        site.path.name: "accepte", "nouvelle_version.zip": "accepte", other.path.name: "accepte"}


def test_process_loads_every_valid_submission(loaded):
    home, valid, result = loaded
    assert len(valid) == 6
    assert len(result.lines) == 6 and all("ACCEPTÉ" in line for line in result.lines)
    assert list(home.inbox.iterdir()) == []
    depots = _depots(home.warehouse)
    assert len(depots) == 6
    by_name = {d["fichier"]: d for d in depots}
    for file in valid:
        row = by_name[file.path.name]
        assert row["statut"] == "accepte" and row["code_pre"] == file.code_pre
        assert row["sha256"] == sha256_of(home.root / row["chemin"])
        assert row["chemin"].startswith(f"archive/{file.code_pre}/")
        assert (home.root / row["rapport"]).is_file()
        assert row["nb_bloquants"] == 0
        # Row counts as the generator wrote them (an independent count).
        assert [row[f"nb_{t}"] for t in DATA_TABLES] == [file.rows[t] for t in DATA_TABLES]
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        for table in DATA_TABLES:
            counts = dict(con.execute(f"select code_pre, count(*) from marts.{table} group by 1").fetchall())
            assert counts == {f.code_pre: f.rows[table] for f in valid}
        assert con.execute("select count(*) from marts.sites").fetchone()[0] >= 15  # the referential
    finally:
        con.close()
    # The dashboard's copy holds aggregates only, and the indicators it shows are the warehouse's.
    published = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        tables = {t for (t,) in published.execute("select table_name from duckdb_tables()").fetchall()}
        assert not tables & set(DATA_TABLES)
        shown = published.execute("select indicateur, categorie, niveau, territoire, periode, valeur, effectif "
                                  "from marts.indicateurs where not masque order by all").fetchall()
    finally:
        published.close()
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        everything = {r[:5]: r[5:] for r in con.execute(
            "select indicateur, categorie, niveau, territoire, periode, valeur, effectif from marts.indicateurs"
        ).fetchall()}
    finally:
        con.close()
    assert shown and all(everything[r[:5]] == r[5:] for r in shown)


@pytest.mark.slow
def test_process_command_line(tmp_path, generated):
    """The console script itself: French lines, exit 0, and a half-written file left alone."""
    home = DataHome(tmp_path / "data").ensure()
    valid = next(f for f in generated if f.expected_rule is None)
    flawed = next(f for f in generated if f.expected_rule == "parcours.sexe.liste")
    _drop(home, valid.path, flawed.path)
    (home.inbox / "arrive.zip.part").write_bytes(b"...")
    env = isolated_env(home.root, tmp_path)
    run = subprocess.run([PRE_EVAL, "process"], capture_output=True,
                         text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    assert any(line.startswith(valid.path.name + " : ACCEPTÉ") for line in lines), lines
    assert any(line.startswith(flawed.path.name + " : REFUSÉ") for line in lines), lines
    assert sorted(p.name for p in home.inbox.iterdir()) == ["arrive.zip.part"]
    assert (home.dagster / "dagster.yaml").is_file()  # the default DAGSTER_HOME is in the data home


def test_flawed_submissions_are_refused_and_change_nothing(env, generated):
    home = env
    before = _snapshot(home.warehouse)
    published_before = _published_indicators(home)
    flawed = [f for f in generated if f.expected_rule is not None]
    _drop(home, *[f.path for f in flawed])
    result = process(home)
    assert result.ok, (result.errors, result.left_in_inbox)
    assert _snapshot(home.warehouse) == before
    assert _published_indicators(home) == published_before
    depots = {d["fichier"]: d for d in _depots(home.warehouse)}
    for file in flawed:
        row = depots[file.path.name]
        assert row["statut"] == "refuse", file.path.name
        assert row["chemin"].startswith("quarantine/") and (home.root / row["chemin"]).is_file()
        report = json.loads((home.root / row["rapport"]).with_suffix(".json").read_text(encoding="utf-8"))
        assert file.expected_rule in {c["regle"] for c in report["constats"]}, file.path.name
        assert row["nb_bloquants"] >= 1
    assert list(home.inbox.iterdir()) == []


@pytest.mark.slow
def test_resubmission_replaces_one_site_only_and_older_is_ignored(env, generated, tmp_path):
    home = env
    site = next(f for f in generated if f.expected_rule is None and f.path.suffix == ".zip")
    others_before = _snapshot(home.warehouse, "code_pre <> ?", [site.code_pre])
    newer = tmp_path / "nouvelle_version.zip"
    _rewrite_zip(site.path, newer, days=1, motif="AUTRE")
    _drop(home, newer)
    assert process(home).ok
    assert _snapshot(home.warehouse, "code_pre <> ?", [site.code_pre]) == others_before
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        motifs = con.execute("select distinct motif_orientation from marts.parcours where code_pre = ?",
                             [site.code_pre]).fetchall()
        in_force = con.execute("select fichier from marts.depots where code_pre = ? and en_vigueur",
                               [site.code_pre]).fetchall()
    finally:
        con.close()
    assert motifs == [("AUTRE",)]
    assert in_force == [("nouvelle_version.zip",)]

    everything = _snapshot(home.warehouse)
    older = tmp_path / "ancienne_version.zip"
    _rewrite_zip(site.path, older, days=0, motif="SANTE")  # valid, but older than the one in force
    _drop(home, older)
    assert process(home).ok
    assert _snapshot(home.warehouse) == everything
    row = next(d for d in _depots(home.warehouse) if d["fichier"] == "ancienne_version.zip")
    assert row["statut"] == "ignore" and row["chemin"].startswith("archive/") and not row["en_vigueur"]


def test_identical_content_is_logged_once_and_removed(env, generated):
    home = env
    file = next(f for f in generated if f.expected_rule is None)
    count = len(_depots(home.warehouse))
    _drop(home, file.path, names=["le_meme_fichier_renomme.zip"])
    result = process(home)
    assert result.ok and len(result.duplicates) == 1
    assert len(_depots(home.warehouse)) == count
    assert list(home.inbox.iterdir()) == []
    journal = (home.root / "journal" / "arrivees.jsonl").read_text(encoding="utf-8")
    assert '"fichier": "le_meme_fichier_renomme.zip"' in journal and '"issue": "doublon"' in journal


@pytest.mark.slow
def test_same_content_dropped_many_times_is_applied_once(env, generated):
    """Several copies in one batch (its own name, renamed, touched), then once more later:
    one record, one application, every copy logged as a duplicate."""
    home = env
    file = next(f for f in generated if f.expected_rule is None)
    before = {d["sha256"]: d for d in _depots(home.warehouse)}
    record = before[sha256_of(file.path)]
    names = [file.path.name, "copie 1.zip", "COPIE-2.ZIP", "re-envoi.zip"]
    _drop(home, *[file.path] * len(names), names=names)
    touched = home.inbox / "re-envoi.zip"
    os.utime(touched, (time.time() - 30, time.time() - 30))  # touched: new date, same bytes
    first = process(home)
    _drop(home, file.path, names=["encore une fois.zip"])
    second = process(home)
    assert first.ok and second.ok
    assert (len(first.duplicates), len(second.duplicates)) == (4, 1)
    after = {d["sha256"]: d for d in _depots(home.warehouse)}
    assert after == before  # no new record, and the one in force was not applied again
    assert after[sha256_of(file.path)]["traite_le"] == record["traite_le"]
    assert list(home.inbox.iterdir()) == []
    journal = [json.loads(line) for line in (home.root / "journal" / "arrivees.jsonl").read_text().splitlines()]
    logged = [e["fichier"] for e in journal if e["issue"] == "doublon"]
    assert {*names, "encore une fois.zip"} <= set(logged)


def test_every_file_received_is_accounted_for(env):
    home = env
    depots = _depots(home.warehouse)
    on_disk = {str(p.relative_to(home.root)) for folder in (home.archive, home.quarantine)
               for p in folder.rglob("*") if p.is_file()}
    assert on_disk == {d["chemin"] for d in depots}
    assert {p.stem for p in (home.root / "registre").glob("*.json")} == {d["sha256"] for d in depots}


def test_no_identifier_from_the_inputs_reaches_the_warehouse(env, generated):
    home = env
    identifiers = set()
    for file in generated:
        if file.expected_rule is None:
            for rows in _csv_tables(file.path).values():
                for row in rows:
                    identifiers |= {v for k, v in row.items() if k and k.strip().lower().startswith("id_") and v}
    assert len(identifiers) > 1000
    for db in (home.warehouse, home.published / "entrepot.duckdb"):
        con = duckdb.connect(str(db), read_only=True)
        try:
            columns = con.execute(
                "select schema_name, table_name, column_name from duckdb_columns() "
                "where data_type = 'VARCHAR' and database_name = current_database()").fetchall()
            for schema, table, column in columns:
                values = {v for (v,) in con.execute(f'select distinct "{column}" from {schema}.{table}').fetchall()}
                leaked = values & identifiers
                assert not leaked, (db.name, schema, table, column, sorted(leaked)[:5])
        finally:
            con.close()
    key_file = home.secret / "cle_pseudonymisation"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.secret.stat().st_mode) == 0o700
    key = key_file.read_text().strip()
    assert key.encode() not in (home.published / "entrepot.duckdb").read_bytes()


def _school_year(d: date) -> int:
    return d.year if d.month >= 9 else d.year - 1


def test_indicators_cover_every_period_and_level(env):
    """marts.indicateurs: every period from the earliest entry to the latest extraction, all four levels."""
    from pipelines.warehouse.catalogue import catalogue

    home = env
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        first = con.execute("select min(date_entree) from marts.parcours").fetchone()[0]
        last = con.execute("select max(date_extraction) from marts.depots where en_vigueur").fetchone()[0]
        sites = con.execute("select d.code_pre, s.departement, s.region from marts.depots d "
                            "join marts.sites s using (code_pre) where d.en_vigueur").fetchall()
        rows = con.execute("select indicateur, categorie, niveau, territoire, periode "
                           "from marts.indicateurs").fetchall()
    finally:
        con.close()
    periods = {str(y) for y in range(first.year, last.year + 1)}
    periods |= {f"{y}-{y + 1}" for y in range(_school_year(first), _school_year(last) + 1)}
    territories = {("pre", c) for c, _, _ in sites} | {("departement", d) for _, d, _ in sites}
    territories |= {("region", r) for _, _, r in sites} | {("national", "FR")}
    assert {(n, t) for _, _, n, t, _ in rows} == territories
    assert {p for *_, p in rows} == periods
    by_indicator: dict[tuple, set] = {}
    for ind, cat, niveau, territoire, periode in rows:
        by_indicator.setdefault((ind, cat), set()).add((niveau, territoire, periode))
    full = {(n, t, p) for n, t in territories for p in periods}
    for ind in catalogue():
        for cat in ind.category_values():
            got = by_indicator[(ind.code, cat)]
            if ind.code == "en_attente_fin_periode":
                assert got < full  # periods ending after an extraction date are left out
            else:
                assert got == full, (ind.code, cat)


def test_indicators_command(env):
    home = env
    environ = isolated_env(home.root, home.root)
    out = subprocess.run([PRE_EVAL, "indicators", "-i", "part_filles", "-n", "national"], capture_output=True,
                         text=True, timeout=120, env=environ)
    assert out.returncode == 0, out.stderr
    assert "Part des filles" in out.stdout and " %" in out.stdout and "," in out.stdout
    hostile = subprocess.run([PRE_EVAL, "indicators", "-t", "FR' or 1=1 --", "-p", "2023; drop table x"],
                             capture_output=True, text=True, timeout=120, env=environ)
    assert hostile.returncode == 0 and "Aucun indicateur" in hostile.stdout

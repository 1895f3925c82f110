"""Readers of the published copy never see a lock error or a half-built file while submissions
are processed; two `pre-eval process` started at once do not corrupt anything."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import PRE_EVAL, isolated_env

pytestmark = pytest.mark.slow

READER = textwrap.dedent("""
    import json, sys, time, duckdb
    from pathlib import Path
    published, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    ok = errors = missing = 0
    messages = []
    while not stop.exists():
        if not published.exists():
            missing += 1
            time.sleep(0.05)
            continue
        try:
            con = duckdb.connect(str(published), read_only=True)
            try:
                depots = con.execute("select count(*) from marts.depots").fetchone()[0]
                rows = con.execute("select count(*) from marts.indicateurs").fetchone()[0]
                sites = con.execute("select count(distinct territoire) from marts.indicateurs "
                                    "where niveau = 'pre'").fetchone()[0]
                assert depots >= sites
            finally:
                con.close()
            ok += 1
            time.sleep(0.05)  # a reader, not a spinning core taken from the processing under test
        except Exception as exc:
            errors += 1
            messages.append(repr(exc)[:300])
    out.write_text(json.dumps({"ok": ok, "errors": errors, "missing": missing, "messages": messages[:5]}))
""")


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    root = tmp_path_factory.mktemp("conc")
    # 6 sites over 2023-2024: two processing runs of one file each create the published copy, then replace it
    # under the reader; more sites, years or runs only lengthen the test (it once had 15 sites over 2021-2024
    # and three runs). The two-process test takes 4 of them.
    return generate(root / "gen", seed=13, sites_count=6, from_year=2023, to_year=2024, home=DataHome(root / "g"))


def _env(home: DataHome, tmp_path: Path) -> dict:
    return isolated_env(home.root, tmp_path, DAGSTER_HOME=str(tmp_path / "dagster"))


def test_readers_see_no_error_while_submissions_are_processed(submissions, tmp_path):
    home = DataHome(tmp_path / "data").ensure()
    env = _env(home, tmp_path)
    stop, report = tmp_path / "stop", tmp_path / "lecteur.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home.published / "entrepot.duckdb"),
                               str(stop), str(report)])
    try:
        # Two processing runs while the reader keeps querying: the first creates the copy, the second replaces
        # it under the reader (a third run, as before, replaced it once more and cost CI 45 s).
        batches = [submissions[0:1], submissions[1:2]]
        for batch in batches:
            for file in batch:
                shutil.copy(file.path, home.inbox / file.path.name)
            run = subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, run.stderr[-2000:]
    finally:
        stop.touch()
        reader.wait(60)
    result = json.loads(report.read_text())
    assert result["errors"] == 0, result["messages"]
    assert result["ok"] > 20, result
    con = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from marts.depots where statut = 'accepte'").fetchone()[0] == 2
    finally:
        con.close()


def test_two_process_commands_at_once(submissions, tmp_path):
    home = DataHome(tmp_path / "data").ensure()
    env = _env(home, tmp_path)
    for file in submissions[:4]:
        shutil.copy(file.path, home.inbox / file.path.name)
    first = subprocess.Popen([PRE_EVAL, "process"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen([PRE_EVAL, "process"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    _, err1 = first.communicate(timeout=600)
    _, err2 = second.communicate(timeout=600)
    assert first.returncode == 0, err1[-2000:]
    assert second.returncode == 0, err2[-2000:]
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("select fichier, statut, chemin from ingestion.depots").fetchall()
        per_site = con.execute("select code_pre, count(*) from ingestion.depots where en_vigueur group by 1").fetchall()
    finally:
        con.close()
    assert sorted(r[0] for r in rows) == sorted(f.path.name for f in submissions[:4])  # each file once
    assert all(status == "accepte" for _, status, _ in rows)
    assert all(n == 1 for _, n in per_site)
    assert list(home.inbox.iterdir()) == []
    kept = {str(p.relative_to(home.root)) for p in home.archive.rglob("*") if p.is_file()}
    assert kept == {chemin for *_, chemin in rows}


FIRST_OPEN = textwrap.dedent("""
    from pipelines.common.datahome import DataHome
    from pipelines.process import dagster_instance
    dagster_instance(DataHome.from_settings().ensure()).get_runs(limit=1)
""")


def test_first_open_of_the_dagster_instance_by_several_processes(tmp_path):
    """Dagster's SQLite storages create their tables on first open; without the lock in
    `dagster_instance`, four processes opening a new data home together fail most of the time
    ("table ... already exists"), which is how two `pre-eval process` once failed in CI."""
    failures = []
    for trial in range(3):
        home = tmp_path / f"essai{trial}"
        env = {**_env(DataHome(home).ensure(), tmp_path), "DAGSTER_HOME": str(home / "dagster")}
        procs = [subprocess.Popen([sys.executable, "-c", FIRST_OPEN], env=env, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            if proc.returncode:
                failures.append(err[-500:])
    assert failures == []

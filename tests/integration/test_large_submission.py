"""A valid submission whose actions table has one million rows is accepted and loaded whole,
through the real `pre-eval process`; the same file with one bad line at its very end is refused
for that line, and the data in force stays as it was.

The file is written with plain string formatting and `zipfile`, not by the platform.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.common.datahome import DataHome
from submission_builder import ACTIONS_COLS, COLUMNS, base_tables, csv_text
from support import PRE_EVAL, isolated_env

pytestmark = pytest.mark.slow

N = 1_000_000

# One valid action pattern per pathway of the base submission (dates within each pathway).
PATTERNS = [
    "P1,SCOLARITE,ACCOMPAGNEMENT_SCOLARITE,INDIVIDUELLE,EDUCATION_NATIONALE,2022-10-01,2023-06-15,10,8,150.50",
    "P2,SANTE,ORTHOPHONIE,INDIVIDUELLE,PROFESSIONNEL_LIBERAL,2023-02-01,2023-12-31,20,15,800",
    "P3,EDUCATIF,ACTIVITE_SPORTIVE,COLLECTIVE,ASSOCIATION,2023-09-10,2024-06-15,30,25,120",
]
# Rows i = 0, 3, 6, … use pattern 0: 333 334 rows; patterns 1 and 2: 333 333 rows each.
EXPECTED_SESSIONS = 333_334 * 8 + 333_333 * 15 + 333_333 * 25  # 15 999 992
EXPECTED_PER_PATHWAY = {"P1": 333_334, "P2": 333_333, "P3": 333_333}


def _write(path: Path, last_line: str | None = None) -> Path:
    lines = [",".join(ACTIONS_COLS)]
    lines += [f"A{i},{PATTERNS[i % 3]}" for i in range(N)]
    if last_line is not None:
        lines[-1] = last_line
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in base_tables().items():
            if name == "actions":
                archive.writestr("actions.csv", "\n".join(lines) + "\n")
            else:
                archive.writestr(f"{name}.csv",
                                 csv_text(rows, ["cle", "valeur"] if name == "manifeste" else COLUMNS[name]))
    return path


def _process(home: DataHome, tmp_path: Path) -> subprocess.CompletedProcess:
    env = isolated_env(home.root, tmp_path, DAGSTER_HOME=str(home.root / "dagster"))
    return subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("million")
    home = DataHome(root / "data").ensure()
    _write(home.inbox / "million.zip")
    run = _process(home, root)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "million.zip : ACCEPTÉ" in run.stdout, run.stdout
    return home


def test_a_million_actions_are_accepted_and_loaded_whole(home):
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows, sessions = con.execute(
            "select count(*), sum(seances_realisees) from marts.actions where code_pre = 'PRE51454'").fetchone()
        # identifiers are pseudonymised: compare the sizes of the three groups
        per_pathway = sorted(n for (n,) in con.execute(
            "select count(*) from marts.actions where code_pre = 'PRE51454' group by id_parcours").fetchall())
        status, = con.execute("select statut from marts.depots where fichier = 'million.zip'").fetchone()
    finally:
        con.close()
    assert (rows, sessions, status) == (N, EXPECTED_SESSIONS, "accepte")
    assert per_pathway == sorted(EXPECTED_PER_PATHWAY.values())
    assert list(home.inbox.iterdir()) == []


def test_one_bad_line_at_the_end_refuses_the_file_and_keeps_the_data_in_force(home, tmp_path):
    bad = "A999999,P3,EDUCATIF,ACTIVITE_SPORTIVE,COLLECTIVE,ASSOCIATION,2023-09-10,2024-06-15,30,25,cent"
    _write(home.inbox / "million_corrige.zip", last_line=bad)
    # Same extraction date as the snapshot in force: accepted, it would replace it.
    run = _process(home, tmp_path)
    assert "million_corrige.zip : REFUSÉ" in run.stdout, run.stdout
    report = next(home.reports.rglob("*million_corrige.zip.md")).read_text(encoding="utf-8")
    assert "actions" in report and "cout_euros" in report
    assert "ligne 1000001 : La valeur « valeur non reproduite »" in report
    # Only short upper-case codes are quoted back (issue 13): a word written by hand is not repeated.
    assert "« cent »" not in report
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("select count(*) from ingestion.actions where code_pre = 'PRE51454'").fetchone()[0]
    finally:
        con.close()
    assert rows == N
    quarantined = [p.name for p in home.quarantine.rglob("*.zip")]
    assert len(quarantined) == 1 and quarantined[0].endswith("_million_corrige.zip")

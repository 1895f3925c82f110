"""`benchmarks/memoire_protection.py` on three processed sites: both ways of masking the warehouse's
indicators (whole frame, period by period) recall every period from the memory of masks, write the same
rows, and leave the data home as it was."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import duckdb
import pytest

from support import REPO_ROOT, THREE_SITES


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow  # a processed home (shared with other tests) and two protections in their own processes
def test_both_ways_recall_every_period_and_write_the_same_rows(processed_homes, tmp_path):
    home = processed_homes.get(**THREE_SITES).copy(tmp_path / "donnees")
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows, periods = con.execute("select count(*), count(distinct periode) from marts.indicateurs").fetchall()[0]
    finally:
        con.close()
    before = _digest(home.warehouse)
    run = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "memoire_protection.py"), str(home.root)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    count, _, rest = lines[0].partition(" lignes")
    assert int("".join(ch for ch in count if ch.isdigit())) == rows and rest.startswith(" d'indicateurs")
    table = [line.split("|") for line in lines if line.startswith("| ") and " Mo " in line]
    assert len(table) == 2
    for cells in table:
        assert int(cells[4]) == periods  # every period recalled, none solved again
        assert float(cells[2].strip().removesuffix(" s").replace(",", ".")) > 0
    assert lines[-1] == "lignes différentes entre les deux : 0"
    assert _digest(home.warehouse) == before

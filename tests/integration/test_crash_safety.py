"""Crash safety: `pre-eval process` killed with SIGKILL at points spread over its run.

After each kill the warehouse holds either the old or the new snapshot of the site (all four
tables from the same submission), never a mix; the next `pre-eval process` completes the work;
every file is in exactly one of inbox / archive / quarantine, and the ledger agrees.

Trials: `--crash-trials N` (default 3 in CI; run with `--crash-trials 20` or more on demand), their kill
points spread evenly over a full run.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.common.datahome import DataHome
from pipelines.contracts.model import DATA_TABLES as TABLES
from pipelines.demo.generate import generate
from support import PRE_EVAL, isolated_env

pytestmark = pytest.mark.slow


def _smaller_version(source: Path, target: Path, drop: int) -> None:
    """The same submission minus its last `drop` pathways (and what hangs on them), one day later."""
    with zipfile.ZipFile(source) as archive:
        texts = {}
        for name in archive.namelist():
            raw = archive.read(name)
            try:
                texts[name] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                texts[name] = raw.decode("cp1252")
    tables = {}
    for name, text in texts.items():
        first = text.splitlines()[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        tables[name] = (list(csv.DictReader(io.StringIO(text), delimiter=delimiter)), delimiter)
    parcours, _ = tables["parcours.csv"]
    removed = {row["id_parcours"] for row in parcours[-drop:]}
    for name in ("parcours.csv", "actions.csv", "bilans.csv", "attentes.csv"):
        rows, delimiter = tables[name]
        tables[name] = ([r for r in rows if r.get("id_parcours") not in removed], delimiter)
    manifest, _ = tables["manifeste.csv"]
    for row in manifest:
        if row["cle"] == "date_extraction":
            value = row["valeur"]
            day = int(value[8:10]) if "-" in value else int(value[0:2])
            row["valeur"] = (value[:8] + f"{day + 1:02d}") if "-" in value else f"{day + 1:02d}" + value[2:]
    with zipfile.ZipFile(target, "w") as archive:
        for name, (rows, delimiter) in tables.items():
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            archive.writestr(name, buffer.getvalue().encode("utf-8"))


def _run(home: DataHome, env: dict, kill_after: float | None = None) -> int | None:
    proc = subprocess.Popen([PRE_EVAL, "process"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    if kill_after is None:
        return proc.wait(600)
    try:
        return proc.wait(kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def _state(home: DataHome, code: str) -> tuple[tuple, tuple | None]:
    """(rows of the site's four tables, nb_* of the ledger row in force)."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = tuple(con.execute(f"select count(*) from ingestion.{t} where code_pre = ?", [code]).fetchone()[0]
                     for t in TABLES)
        ledger = con.execute("select nb_parcours, nb_actions, nb_bilans, nb_attentes from ingestion.depots "
                             "where code_pre = ? and en_vigueur", [code]).fetchone()
    finally:
        con.close()
    return rows, ledger


def _accounting(home: DataHome) -> None:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        recorded = dict(con.execute("select sha256, chemin from ingestion.depots").fetchall())
    finally:
        con.close()
    kept = {str(p.relative_to(home.root)) for d in (home.archive, home.quarantine) for p in d.rglob("*") if p.is_file()}
    assert kept == set(recorded.values())
    assert list(home.inbox.iterdir()) == []
    assert {p.stem for p in (home.root / "registre").glob("*.json")} == set(recorded)


def _env(root: Path) -> dict:
    return isolated_env(root / "data", root, DAGSTER_HOME=str(root / "dagster"), PRE_ATTENTE_VERROU_S="120")


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """One site's submission (v1), processed once into a data home that each trial copies."""
    root = tmp_path_factory.mktemp("crash")
    # 2023-2024: kill points are spread over the run whatever its length; more years only lengthen it.
    files = generate(root / "gen", seed=21, sites=["PRE51454"], from_year=2023, to_year=2024,
                     home=DataHome(root / "g"))
    base = files[0].path
    assert base.suffix == ".zip"
    first = root / "v1"
    home = DataHome(first / "data").ensure()
    shutil.copy(base, home.inbox / "v1.zip")
    started = time.monotonic()
    assert _run(home, _env(first)) == 0
    duration = time.monotonic() - started  # a full run here: kill points are drawn within it
    old_rows, old_ledger = _state(home, "PRE51454")
    assert old_rows == old_ledger
    return base, first, duration, old_rows


def test_sigkill_leaves_old_or_new_snapshot_and_recovers(material, tmp_path, trial, request):
    base, first, duration, old_rows = material
    for folder in ("data", "dagster"):  # the data home and its Dagster instance after v1's run
        shutil.copytree(first / folder, tmp_path / folder, symlinks=True)
    home, env = DataHome(tmp_path / "data"), _env(tmp_path)
    assert _state(home, "PRE51454") == (old_rows, old_rows)

    newer = tmp_path / "v2.zip"
    _smaller_version(base, newer, drop=3 + trial)
    shutil.copy(newer, home.inbox / "v2.zip")
    # The n trials' kill points are spread evenly over the run (trial k at the middle of its k-th n-th),
    # so that they fall in every phase: start-up, reading and checking, loading, publication. (Six draws
    # at random left 38 % of the run untried; four evenly spaced points leave no gap over 25 %.)
    trials = request.config.getoption("--crash-trials")
    kill_after = 0.2 + (duration - 0.2) * (trial + 0.5) / trials
    killed = _run(home, env, kill_after=kill_after) is None

    rows, ledger = _state(home, "PRE51454")
    assert rows == ledger, f"mélange : tables {rows}, dépôt en vigueur {ledger}"
    assert rows == old_rows or rows[0] == old_rows[0] - (3 + trial)
    files = [p for d in (home.inbox, home.archive, home.quarantine) for p in d.rglob("v2.zip*")]
    files += [p for d in (home.archive,) for p in d.rglob("*_v2.zip")]
    assert len({p.name for p in files}) == 1, files  # the new file is in exactly one place

    assert _run(home, env) == 0  # the next run completes the work
    rows, ledger = _state(home, "PRE51454")
    assert rows == ledger and rows[0] == old_rows[0] - (3 + trial)
    _accounting(home)
    published = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        assert published.execute("select nb_parcours from marts.depots where code_pre = 'PRE51454' and en_vigueur"
                                 ).fetchone()[0] == rows[0]
    finally:
        published.close()
    print(f"essai {trial} : {'tué' if killed else 'terminé avant le signal'}")

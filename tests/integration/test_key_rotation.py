"""Rotation of the pseudonymisation key (`pre-eval cle rotation`), through the installed command on a real
data home: every pseudonym re-made with the new key, the indicators unchanged, the old key gone, later
loads on the new key, a wrong key refused; a rotation killed before or after its commit is rolled back
or completed by the next start.

Expected pseudonyms are computed here from the archived files, read with the csv module and openpyxl
(not the platform's reader), with `hmac` as the exchange format defines it: HMAC-SHA256 keyed with the
platform's key over `code_pre + 0x1F + identifier`, hexadecimal, first 32 characters."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import PRE_EVAL, REPO_ROOT, THREE_SITES, isolated_env

SITES = ["PRE51454", "PRE51108", "PRE10387"]  # THREE_SITES's: one submission each, zip UTF-8 or cp1252, xlsx
assert sorted(SITES) == THREE_SITES["sites"]
IDS = {"parcours": ["id_parcours", "id_enfant", "id_famille", "id_referent"], "actions": ["id_action", "id_parcours"],
       "bilans": ["id_bilan", "id_parcours"], "attentes": ["id_demande", "id_enfant", "id_parcours"]}
LABEL = b"pre-eval/empreinte-cle-pseudonymisation/v1"
MISMATCH = "La clé de pseudonymisation ne correspond pas à celle de l'entrepôt"
NULLS = {"", "NULL", "null", "NaN", "nan", "#N/A", "N/A"}
PSEUDONYM = re.compile(r"^[0-9a-f]{32}$")


def pre_eval(home: DataHome, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([PRE_EVAL, *args], capture_output=True, text=True, timeout=900,
                          env=isolated_env(home.root, home.root.parent, **env))


def key_of(home: DataHome) -> bytes:
    return (home.secret / "cle_pseudonymisation").read_text(encoding="utf-8").strip().encode()


# --------------------------------------------------------------------------- an independent reading


def raw_tables(path: Path) -> dict[str, list[dict[str, str]]]:
    """The tables of a submission file, headers lower-cased, with the standard library and openpyxl."""
    tables = {}
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            rows = [[_cell(v) for v in r] for r in sheet.iter_rows(values_only=True)]
            rows = [r for r in rows if any(r)]
            header = [h.strip().lower() for h in rows[0]]
            tables[sheet.title.strip().lower()] = [dict(zip(header, r, strict=False)) for r in rows[1:]]
        return tables
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            first = text.splitlines()[0]
            reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
            rows = [r for r in reader if any(c.strip() for c in r)]
            header = [h.strip().lower() for h in rows[0]]
            tables[Path(name).stem.strip().lower()] = [dict(zip(header, r, strict=False)) for r in rows[1:]]
    return tables


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def expected_pseudonyms(path: Path, code: str, key: bytes) -> dict[tuple[str, str], Counter]:
    """Per (table, column): the multiset of pseudonyms the warehouse must hold for this file."""
    tables = raw_tables(path)
    out = {}
    for table, columns in IDS.items():
        for column in columns:
            values = []
            for row in tables[table]:
                value = (row.get(column) or "").strip()
                value = re.sub(r"^([0-9]+)\.0+$", r"\1", value)
                values.append(None if value in NULLS else
                              hmac.new(key, f"{code}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32])
            out[(table, column)] = Counter(values)
    return out


# --------------------------------------------------------------------------- what the warehouse holds


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def held_pseudonyms(home: DataHome, code: str) -> dict[tuple[str, str], Counter]:
    return {(table, column): Counter(v for (v,) in query(
        home.warehouse, f"select {column} from ingestion.{table} where code_pre = ?", [code]))
            for table, columns in IDS.items() for column in columns}


def every_pseudonym(db: Path) -> set[str]:
    """Every 32-hex value in any text column of any table of the warehouse (intermediate tables too)."""
    found = set()
    for schema, table, column in query(db, "select schema_name, table_name, column_name from duckdb_columns() "
                                            "where data_type = 'VARCHAR' and database_name = current_database()"):
        found |= {v for (v,) in query(db, f'select distinct "{column}" from "{schema}"."{table}"')
                  if v and PSEUDONYM.match(v)}
    return found


def snapshots(home: DataHome) -> dict[str, Path]:
    return {code: home.root / chemin for code, chemin in query(
        home.warehouse, "select code_pre, chemin from marts.depots where en_vigueur and statut = 'accepte'")}


def figures(home: DataHome) -> dict[str, list]:
    return {
        "indicateurs": sorted(query(home.warehouse, "select * from marts.indicateurs"), key=repr),
        "publies": sorted(query(home.published / "entrepot.duckdb", "select * from marts.indicateurs"), key=repr),
        "depots": sorted(query(home.warehouse, "select * from ingestion.depots"), key=repr),
    }


@pytest.fixture
def home(processed_homes, tmp_path) -> DataHome:
    """This test's copy of the three sites generated and processed by `pre-eval process` (each accepted)."""
    return processed_homes.get(**THREE_SITES).copy(tmp_path / "donnees")


def all_bytes_under(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


# --------------------------------------------------------------------------- the tests


@pytest.mark.slow
def test_rotation_remakes_every_pseudonym_and_keeps_every_figure(home, tmp_path):
    old_key = key_of(home)
    files = snapshots(home)
    assert sorted(files) == sorted(SITES) and {p.suffix for p in files.values()} == {".zip", ".xlsx"}
    for code, path in files.items():  # the independent computation agrees with the load, on the old key
        assert held_pseudonyms(home, code) == expected_pseudonyms(path, code, old_key), code
    before, old_pseudonyms = figures(home), every_pseudonym(home.warehouse)
    assert len(old_pseudonyms) > 1000

    rotated = pre_eval(home, "cle", "rotation")
    assert rotated.returncode == 0, rotated.stderr
    assert "Nouvelle clé en place : 3 sites" in rotated.stdout and "entrepôt republié" in rotated.stdout

    new_key = key_of(home)
    assert new_key != old_key and len(new_key) >= 32
    for code, path in files.items():
        assert held_pseudonyms(home, code) == expected_pseudonyms(path, code, new_key), code
    assert figures(home) == before  # indicators (warehouse and published copy) and ledger, recu_le included
    new_pseudonyms = every_pseudonym(home.warehouse)
    assert len(new_pseudonyms) == len(old_pseudonyms) and not new_pseudonyms & old_pseudonyms
    assert query(home.warehouse, "select empreinte from ingestion.cle_pseudonymisation") == [
        (hmac.new(new_key, LABEL, hashlib.sha256).hexdigest(),)]
    assert sorted(p.name for p in home.secret.iterdir()) == ["cle_pseudonymisation", "graine_secret_statistique",
                                                             "masques"]
    leaks = [p for p, data in all_bytes_under(home.root) if old_key in data]
    assert not leaks, leaks  # the old key is gone from the data home
    verified = pre_eval(home, "cle", "verifier")
    assert verified.returncode == 0 and "conforme" in verified.stdout

    # The old key put back (a wrong backup restored): refused in French, nothing loaded, never replaced.
    [later] = generate(tmp_path / "suivant", seed=29, sites=SITES[:1], from_year=2025, to_year=2025,
                       home=DataHome(tmp_path / "autre"))
    (home.secret / "cle_pseudonymisation").write_bytes(old_key)
    ledger = query(home.warehouse, "select count(*) from ingestion.depots")
    (home.inbox / later.path.name).write_bytes(later.path.read_bytes())
    reports = sorted(p.name for p in (home.root / "reports").rglob("*"))
    refused = pre_eval(home, "process")
    assert refused.returncode == 2
    assert sorted(p.name for p in (home.root / "reports").rglob("*")) == reports  # stopped before any check
    assert MISMATCH in refused.stderr and "rotation" in refused.stderr
    assert old_key.decode() not in refused.stderr + refused.stdout
    assert (home.inbox / later.path.name).exists()
    assert query(home.warehouse, "select count(*) from ingestion.depots") == ledger
    assert key_of(home) == old_key
    assert pre_eval(home, "cle", "verifier").returncode != 0
    assert pre_eval(home, "cle", "rotation").returncode == 2  # nor rotated from the wrong key
    # The same key from the environment is refused the same way.
    (home.secret / "cle_pseudonymisation").write_bytes(new_key)
    env_refused = pre_eval(home, "process", PRE_CLE_PSEUDONYMISATION=old_key.decode())
    assert env_refused.returncode == 2 and MISMATCH in env_refused.stderr
    # The right key back: the waiting file, a later submission of a site, loads on the new key.
    run = pre_eval(home, "process")
    assert run.returncode == 0, run.stderr
    assert "ACCEPTÉ" in run.stdout and not (home.inbox / later.path.name).exists()
    assert held_pseudonyms(home, SITES[0]) == expected_pseudonyms(later.path, SITES[0], new_key)
    assert query(home.warehouse, "select count(*) from ingestion.depots")[0][0] == ledger[0][0] + 1


CRASH = """
import os, sys
from pipelines.common.datahome import DataHome
from pipelines.ingest import pseudonym, rotation

point = sys.argv[1]
if point == "avant_validation":  # the re-keying's transaction complete but not committed
    real = pseudonym.replace_fingerprint
    def crash(con, key):
        real(con, key)
        os._exit(9)
    pseudonym.replace_fingerprint = crash
else:  # committed; the new key not yet moved into place
    os.replace = lambda *args: os._exit(9)
rotation.rotate(DataHome.from_settings())
"""


@pytest.mark.slow
def test_a_rotation_killed_before_its_commit_is_rolled_back_and_after_it_completed(home, tmp_path):
    old_key = key_of(home)
    files = snapshots(home)
    before = figures(home)

    def killed_at(point: str) -> bytes:
        crash = subprocess.run([sys.executable, "-c", CRASH, point], capture_output=True, text=True, timeout=900,
                               cwd=REPO_ROOT, env=isolated_env(home.root, home.root.parent))
        assert crash.returncode == 9, crash.stderr
        pending = home.secret / "cle_pseudonymisation.nouvelle"
        assert pending.is_file()  # the crash left the new key waiting
        return pending.read_text().strip().encode()

    pending_key = killed_at("avant_validation")
    verified = pre_eval(home, "cle", "verifier")  # the next start rolls back
    assert verified.returncode == 0, verified.stderr
    assert key_of(home) == old_key and not (home.secret / "cle_pseudonymisation.nouvelle").exists()
    for code, path in files.items():
        assert held_pseudonyms(home, code) == expected_pseudonyms(path, code, old_key), code
    assert figures(home) == before

    pending_key = killed_at("apres_validation")
    assert key_of(home) == old_key  # still the old key in place, beside the new pseudonyms
    [later] = generate(tmp_path / "suivant", seed=37, sites=SITES[2:], from_year=2025, to_year=2025,
                       home=DataHome(tmp_path / "autre"))
    (home.inbox / later.path.name).write_bytes(later.path.read_bytes())
    run = pre_eval(home, "process")  # the next start completes the rotation, then loads on the new key
    assert run.returncode == 0, run.stderr
    assert key_of(home) == pending_key and not (home.secret / "cle_pseudonymisation.nouvelle").exists()
    for code, path in files.items():
        path = later.path if code == SITES[2] else path
        assert held_pseudonyms(home, code) == expected_pseudonyms(path, code, pending_key), code
    assert sorted(query(home.published / "entrepot.duckdb", "select * from marts.indicateurs"), key=repr) != []

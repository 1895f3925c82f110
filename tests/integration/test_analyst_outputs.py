"""Analysts' outputs (operations.md: `pre-eval indicators [filters] [--format csv|xlsx|parquet --out FICHIER]`,
and `pre-eval copie-analyse`): the unmasked indicators written to a file marked for internal use, and a
read-only copy of the warehouse. Expected values are read from the warehouse by a plain DuckDB query here."""

from __future__ import annotations

import csv
import stat

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

from pipelines import cli
from pipelines.common.datahome import DataHome
from support import THREE_SITES

INTERNAL = "usage interne — non diffusable"


@pytest.fixture(scope="module")
def home(processed_homes, tmp_path_factory) -> DataHome:
    return processed_homes.get(**THREE_SITES).copy(tmp_path_factory.mktemp("analystes") / "donnees")


@pytest.fixture(autouse=True)
def _env(home, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(home.root))


def warehouse_rows(home: DataHome, code: str) -> dict[tuple, tuple]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return {r[:5]: r[5:] for r in con.execute(
            "select indicateur, categorie, niveau, territoire, periode, valeur, effectif from marts.indicateurs "
            "where indicateur = ?", [code]).fetchall()}
    finally:
        con.close()


def masked_in_published(home: DataHome, code: str) -> set[tuple]:
    con = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        return {r for r in con.execute("select indicateur, categorie, niveau, territoire, periode from "
                                       "marts.indicateurs where masque and indicateur = ?", [code]).fetchall()}
    finally:
        con.close()


def test_the_three_formats_hold_the_unmasked_indicators_marked_for_internal_use(home, tmp_path, capsys):
    expected = warehouse_rows(home, "part_age")
    masked = masked_in_published(home, "part_age")
    assert masked, "aucune ligne masquée : le test ne montrerait rien"
    for fmt in ("csv", "xlsx", "parquet"):
        out = tmp_path / f"indicateurs.{fmt}"
        assert cli.main(["indicators", "-i", "part_age", "--format", fmt, "--out", str(out)]) == 0
        assert f"{len(expected)} lignes écrites dans {out}" in capsys.readouterr().out.replace("\u202f", "")
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        if fmt == "csv":
            with out.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
            got = {(r["indicateur"], r["categorie"], r["niveau"], r["territoire"], r["periode"]):
                   (float(r["valeur"]) if r["valeur"] else None, int(r["effectif"])) for r in rows}
            assert {r["diffusion"] for r in rows} == {INTERNAL}
        elif fmt == "xlsx":
            sheet = openpyxl.load_workbook(out, read_only=True)["indicateurs"]
            lines = list(sheet.iter_rows(values_only=True))
            assert lines[0][0].startswith("Usage interne — non diffusable : indicateurs NON MASQUÉS")
            header = list(lines[1])
            got = {tuple(dict(zip(header, line, strict=True))[k] or "" for k in
                         ("indicateur", "categorie", "niveau", "territoire", "periode")):
                   (dict(zip(header, line, strict=True))["valeur"], dict(zip(header, line, strict=True))["effectif"])
                   for line in lines[2:]}
        else:
            table = pq.read_table(out)
            assert table.schema.metadata[b"diffusion"].decode() == INTERNAL
            got = {(r["indicateur"], r["categorie"], r["niveau"], r["territoire"], r["periode"]):
                   (r["valeur"], r["effectif"]) for r in table.to_pylist()}
            assert {r["diffusion"] for r in table.to_pylist()} == {INTERNAL}
        assert got.keys() == expected.keys(), fmt
        for key, (valeur, effectif) in expected.items():
            assert got[key][1] == effectif, (fmt, key)
            assert got[key][0] == pytest.approx(valeur) if valeur is not None else got[key][0] is None, (fmt, key)
        # What the published copy hides is in the file: these files are not for publication.
        assert all(got[key][1] == expected[key][1] for key in masked)


def test_printing_says_internal_use_and_a_bad_request_writes_nothing(home, tmp_path, capsys):
    assert cli.main(["indicators", "-i", "part_filles", "-n", "national"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage interne — non diffusable") and "Part des filles" in out
    assert cli.main(["indicators", "--format", "csv"]) == 2
    assert "--format et --out vont ensemble" in capsys.readouterr().err
    assert cli.main(["indicators", "--format", "csv", "--out", str(tmp_path / "absent" / "x.csv")]) == 2
    assert "dossier de --out n'existe pas" in capsys.readouterr().err
    assert cli.main(["indicators", "-i", "=cmd|' /C calc'!A0", "--format", "csv", "--out",
                     str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "Indicateur inconnu" in err and "calc" not in err  # never echoed
    assert not list(tmp_path.iterdir())


def test_no_cell_of_a_csv_starts_a_formula():
    from pipelines.publication.analysts import _cell

    assert _cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [_cell(v) for v in ("+1", "-2", "@A1", "PRE51454", 0.5, None, True)] == \
        ["'+1", "'-2", "'@A1", "PRE51454", "0.5", "", "true"]


def test_the_analysis_copy_is_a_fresh_read_only_warehouse(home, tmp_path, capsys):
    assert cli.main(["copie-analyse"]) == 0
    first = next((home.root / "analyse").glob("entrepot_*.duckdb"))
    assert f"duckdb -readonly {first}" in capsys.readouterr().out
    assert stat.S_IMODE(first.stat().st_mode) == 0o400
    con = duckdb.connect(str(first), read_only=True)
    try:
        copied = con.execute("select count(*), sum(effectif) from marts.indicateurs").fetchone()
        pathways = con.execute("select count(*) from staging.parcours").fetchone()  # views work in the copy
    finally:
        con.close()
    source = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert copied == source.execute("select count(*), sum(effectif) from marts.indicateurs").fetchone()
        assert pathways == source.execute("select count(*) from ingestion.parcours").fetchone()
    finally:
        source.close()
    # A named copy never overwrites a file; the default folder keeps the latest copy only.
    named = tmp_path / "ma_copie.duckdb"
    assert cli.main(["copie-analyse", "--out", str(named)]) == 0 and named.is_file()
    assert cli.main(["copie-analyse", "--out", str(named)]) == 2
    assert "existe déjà" in capsys.readouterr().err
    import time

    time.sleep(1.1)  # copies are named by the second
    assert cli.main(["copie-analyse"]) == 0
    left = list((home.root / "analyse").glob("entrepot_*.duckdb"))
    assert len(left) == 1 and left[0] != first

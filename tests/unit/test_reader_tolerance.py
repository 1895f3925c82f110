"""Reading tolerance (exchange format §3) and the envelope part of §4, variant by variant.

Every file here is written by another route than the reader's: the standard csv module (with the
encoding under test) and zipfile for ZIP submissions, openpyxl for workbooks. Each test asserts
the typed values the reader makes of the file and its findings (rule, table, line, column,
severity). Line numbers are physical: CSV header = line 1, a record spanning several lines is at
its first; XLSX: the sheet's row number.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.styles import PatternFill
from polars.testing import assert_frame_equal

from pipelines.contracts.model import load_contracts
from pipelines.contracts.reader import LINE, close_table, read_submission
from pipelines.contracts.validator import Context, validate_many
from submission_builder import COLUMNS, base_tables

CONTRACTS = load_contracts()
SITE = "PRE51454"
TABLE_NAMES = ("manifeste", "parcours", "actions", "bilans", "attentes")
AVERT, BLOQ = "avertissement", "bloquant"
POLARS_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64, "date": pl.Date}

# --------------------------------------------------------------------------- writing files


def grids(tables: dict | None = None) -> dict[str, list[list]]:
    """The tables as grids (header row first) that a test damages cell by cell."""
    tables = tables or base_tables()
    out = {}
    for name, rows in tables.items():
        cols = ["cle", "valeur"] if name == "manifeste" else list(COLUMNS[name])
        out[name] = [cols] + [[row[c] for c in cols] for row in rows]
    return out


def cell(grid: list[list], row: int, column: str, value) -> None:
    """Set a cell by data-row index (0 = first record) and column name."""
    grid[row + 1][grid[0].index(column)] = value


def manifest_value(grid: list[list], key: str, value) -> None:
    next(r for r in grid[1:] if r[0] == key)[1] = value


def drop_column(grid: list[list], column: str) -> None:
    i = grid[0].index(column)
    for row in grid:
        del row[i]


def csv_bytes(grid: list[list], *, encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n",
              quoting: int = csv.QUOTE_MINIMAL, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerows(["" if v is None else v for v in row] for row in grid)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zip_of(path: Path, g: dict[str, list[list]], *, raw: dict[str, bytes] | None = None, **csv_options) -> Path:
    """One CSV member per table, written with `csv_options`; `raw` members are written as they are."""
    members = {f"{name}.csv": csv_bytes(grid, **csv_options) for name, grid in g.items()}
    members.update(raw or {})
    return write_zip(path, members)


def write_xlsx(path: Path, g: dict[str, list[list]], *, sheet_names: dict[str, str] | None = None,
               first_row: int = 1, formatted_blank_first_row: bool = False) -> Path:
    """One sheet per table, the header on `first_row`; None cells are left absent."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, grid in g.items():
        sheet = book.create_sheet((sheet_names or {}).get(name, name))
        if formatted_blank_first_row:  # a coloured, empty row 1: the sheet's dimension starts at A1
            for col in range(1, 6):
                sheet.cell(row=1, column=col).fill = PatternFill("solid", fgColor="FFFF00")
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value is not None:
                    sheet.cell(row=first_row + i, column=j + 1, value=value)
    book.save(path)
    return path


# --------------------------------------------------------------------------- what is expected


def expected(name: str, tables: dict | None = None, *, first_line: int = 2) -> pl.DataFrame:
    """The typed frame of a table of the base submission, typed here in plain Python."""
    table = CONTRACTS.tables[name]
    rows = (tables or base_tables())[name]

    def typed(value: str, logical_type: str):
        if value == "":
            return None
        if logical_type == "integer":
            return int(value)
        if logical_type == "number":
            return float(value)
        if logical_type == "date":
            return date.fromisoformat(value)
        return value

    data = {c.name: [typed(r[c.name], c.logical_type) for r in rows] for c in table.columns}
    data[LINE] = list(range(first_line, first_line + len(rows)))
    schema = {c.name: POLARS_TYPES[c.logical_type] for c in table.columns} | {LINE: pl.Int64}
    return pl.DataFrame(data, schema=schema)


BASE_MANIFEST = {"code_pre": SITE, "date_extraction": date(2024, 12, 15), "date_debut_donnees": date(2020, 1, 1),
                 "version_format": "1", "logiciel": "Tableur"}


def manifest(sub) -> dict:
    return {k: v for k, v in sub.manifest.items() if k != LINE}


def found(sub) -> set[tuple]:
    return {(f.rule, f.table, f.line, f.column, f.severity) for f in sub.findings}


def assert_base_tables(sub, *, skip: tuple[str, ...] = (), first_line: int = 2) -> None:
    for name in ("parcours", "actions", "bilans", "attentes"):
        if name not in skip:
            assert_frame_equal(sub.tables[name], expected(name, first_line=first_line))


def col(sub, table: str, column: str) -> list:
    return sub.tables[table][column].to_list()


# --------------------------------------------------------------------------- CSV: encodings, delimiters


def test_reference_zip_reads_clean(tmp_path):
    sub = read_submission(zip_of(tmp_path / "d.zip", grids()))
    assert sub.kind == "zip"
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
def test_utf8_with_or_without_bom(tmp_path, bom):
    g = grids()
    manifest_value(g["manifeste"], "logiciel", "Logiciel Élan")
    sub = read_submission(zip_of(tmp_path / "d.zip", g, bom=bom))
    # With a BOM, the first header is still `cle` / `id_parcours` (the BOM is not part of it).
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST | {"logiciel": "Logiciel Élan"}
    assert_base_tables(sub)


def test_windows_1252_with_semicolons(tmp_path):
    g = grids()
    manifest_value(g["manifeste"], "logiciel", "Logiciel Élan – édition « été »")
    g["parcours"][0][g["parcours"][0].index("date_entree")] = "Date_Entrée"
    data = csv_bytes(g["manifeste"], encoding="cp1252", delimiter=";")
    assert "É".encode("cp1252") in data and "É".encode() not in data  # really Windows-1252
    sub = read_submission(zip_of(tmp_path / "d.zip", g, encoding="cp1252", delimiter=";"))
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub)["logiciel"] == "Logiciel Élan – édition « été »"
    assert_base_tables(sub)


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL], ids=["bare", "all-quoted"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("delimiter", [",", ";"], ids=["comma", "semicolon"])
def test_delimiters_line_endings_and_quoting(tmp_path, delimiter, newline, quoting):
    path = zip_of(tmp_path / "d.zip", grids(), delimiter=delimiter, newline=newline, quoting=quoting)
    sub = read_submission(path)
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)  # no stray "\r" on the last column, no quote kept


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_quoted_delimiter_and_newline(tmp_path, newline):
    g = grids()
    cell(g["actions"], 0, "cout_euros", "150,50")  # quoted by the csv module: it holds the delimiter
    manifest_value(g["manifeste"], "logiciel", f"Logiciel Élan{newline}version 3, « été »")
    cell(g["parcours"], 0, "origine_orientation", f"ecole{newline}")  # record 1 spans lines 2-3
    cell(g["parcours"], 1, "code_commune", "8105")  # a finding on record 2, now on line 4
    path = zip_of(tmp_path / "d.zip", g, newline=newline)
    member = zipfile.ZipFile(path).read("parcours.csv").decode()
    assert member.split(newline)[3].startswith("P2,")  # physical line 4 (header = line 1)

    sub = read_submission(path)
    assert col(sub, "actions", "cout_euros") == [150.5, 800.0, 120.0]
    assert manifest(sub)["logiciel"] == f"Logiciel Élan{newline}version 3, « été »"
    assert sub.manifest_lines == {"code_pre": 2, "date_extraction": 3, "date_debut_donnees": 4, "version_format": 5,
                                  "logiciel": 6}
    assert col(sub, "parcours", "origine_orientation") == ["ECOLE", "FAMILLE", "ECOLE"]
    assert col(sub, "parcours", "id_parcours") == ["P1", "P2", "P3"]
    assert col(sub, "parcours", LINE) == [2, 4, 5]
    assert col(sub, "parcours", "code_commune") == ["51454", "08105", "51454"]
    assert found(sub) == {("depot.code_insee_repare", "parcours", 4, "code_commune", AVERT)}


def test_quoted_newline_in_manifest_keeps_later_key_lines(tmp_path):
    g = grids()
    # logiciel first, on lines 2-3; the keys after it are one line further down.
    rows = g["manifeste"]
    rows[1:] = [["logiciel", "Logiciel Élan\nversion 3"]] + [r for r in rows[1:] if r[0] != "logiciel"]
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";"))
    assert found(sub) == set()
    assert sub.manifest_lines == {"logiciel": 2, "code_pre": 4, "date_extraction": 5, "date_debut_donnees": 6,
                                  "version_format": 7}
    assert manifest(sub)["logiciel"] == "Logiciel Élan\nversion 3"


# --------------------------------------------------------------------------- headers, values


def test_header_names_normalised(tmp_path):
    g = grids()
    header = g["parcours"][0]
    header[header.index("id_parcours")] = " ID_Parcours "
    header[header.index("date_entree")] = "Date_Entrée"
    header[header.index("annee_naissance")] = "ANNÉE_NAISSANCE"
    header[header.index("niveau_scolaire")] = "Niveau_Scolaire "
    g["manifeste"][0] = [" Clé", "VALEUR "]
    g["actions"][0][g["actions"][0].index("cout_euros")] = "Coût_Euros"
    sub = read_submission(zip_of(tmp_path / "d.zip", g, encoding="cp1252", delimiter=";"))
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


def test_dates_iso_and_french_mixed(tmp_path):
    g = grids()
    manifest_value(g["manifeste"], "date_extraction", "15/12/2024")
    cell(g["parcours"], 0, "date_orientation", "01/09/2022")
    cell(g["parcours"], 0, "date_entree", "15/09/2022")
    cell(g["parcours"], 2, "date_sortie", "28/06/2024")
    cell(g["actions"], 1, "date_fin", "31/12/2023")
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";"))
    assert found(sub) == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)  # same dates as the all-ISO reference


def test_decimals_with_comma_point_and_thousands_separators(tmp_path):
    tables = base_tables()
    variants = ["150.50", "150,50", "1 250,50", "1\u00a0250,50", "1\u202f250,50", "1 250.50", " 800 ", "0,5", ""]
    template = tables["actions"][0]
    tables["actions"] = [template | {"id_action": f"A{i}", "cout_euros": v} for i, v in enumerate(variants)]
    path = zip_of(tmp_path / "d.zip", grids(tables), delimiter=";", encoding="utf-8")
    sub = read_submission(path)
    assert found(sub) == set()
    assert col(sub, "actions", "cout_euros") == [150.5, 150.5, 1250.5, 1250.5, 1250.5, 1250.5, 800.0, 0.5, None]
    assert sub.tables["actions"].schema["cout_euros"] == pl.Float64


def test_decimal_nbsp_in_windows_1252(tmp_path):
    g = grids()
    cell(g["actions"], 0, "cout_euros", "1\u00a0250,50")  # NBSP exists in Windows-1252 (0xA0)
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";", encoding="cp1252"))
    assert found(sub) == set()
    assert col(sub, "actions", "cout_euros") == [1250.5, 800.0, 120.0]


def test_codes_case_insensitive_trimmed_and_empty_cells_null(tmp_path):
    g = grids()
    cell(g["parcours"], 0, "origine_orientation", " ecole ")
    cell(g["parcours"], 0, "sexe", "f")
    cell(g["parcours"], 0, "niveau_scolaire", " Ce2")
    cell(g["parcours"], 0, "code_qpv", "qn05101m ")
    cell(g["parcours"], 1, "motif_orientation", "\u00a0sante\u00a0")
    cell(g["actions"], 0, "modalite", "individuelle")
    cell(g["actions"], 0, "volet", "Scolarite")
    manifest_value(g["manifeste"], "code_pre", " pre51454 ")
    cell(g["parcours"], 0, "id_parcours", " P1 ")
    # empty cells: nothing, only spaces
    cell(g["parcours"], 0, "id_famille", "   ")
    cell(g["actions"], 0, "date_fin", "")
    cell(g["actions"], 0, "seances_prevues", " ")
    cell(g["actions"], 0, "cout_euros", "")
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";"))
    assert found(sub) == set()
    assert manifest(sub)["code_pre"] == SITE
    parcours = sub.tables["parcours"]
    assert parcours.row(0, named=True) == expected("parcours").row(0, named=True) | {"id_famille": None}
    assert parcours["motif_orientation"][1] == "SANTE"
    first = sub.tables["actions"].row(0, named=True)
    assert (first["volet"], first["modalite"]) == ("SCOLARITE", "INDIVIDUELLE")
    assert (first["date_fin"], first["seances_prevues"], first["cout_euros"]) == (None, None, None)


def test_missing_optional_column_is_null_with_warning(tmp_path):
    g = grids()
    drop_column(g["parcours"], "id_famille")
    drop_column(g["parcours"], "code_qpv")
    drop_column(g["actions"], "cout_euros")
    sub = read_submission(zip_of(tmp_path / "d.zip", g))
    assert sub.unusable == set()
    assert found(sub) == {
        ("depot.colonne_facultative_absente", "parcours", 1, "id_famille", AVERT),
        ("depot.colonne_facultative_absente", "parcours", 1, "code_qpv", AVERT),
        ("depot.colonne_facultative_absente", "actions", 1, "cout_euros", AVERT),
    }
    parcours = sub.tables["parcours"]
    assert parcours["id_famille"].to_list() == [None] * 3 and parcours["code_qpv"].to_list() == [None] * 3
    assert sub.tables["actions"].schema["cout_euros"] == pl.Float64
    assert col(sub, "actions", "cout_euros") == [None] * 3
    expected_parcours = expected("parcours").with_columns(pl.lit(None, pl.String).alias(c)
                                                          for c in ("id_famille", "code_qpv"))
    assert_frame_equal(parcours, expected_parcours)


def test_missing_required_column_is_blocking(tmp_path):
    g = grids()
    drop_column(g["parcours"], "sexe")
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";"))
    assert found(sub) == {("depot.colonne_manquante", "parcours", 1, "sexe", BLOQ)}
    assert sub.unusable == {"parcours"}
    assert sub.findings.blocking


# --------------------------------------------------------------------------- empty trailing rows and columns


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL], ids=["bare", "all-quoted"])
def test_csv_empty_trailing_rows_and_columns_ignored(tmp_path, quoting):
    g = grids()
    for grid in g.values():
        width = len(grid[0])
        for i, row in enumerate(grid):
            row.extend(["", " " if i == 2 else ""])  # trailing separators under an empty header, a blank
        grid.extend([[""] * (width + 2), [""] * 4, [""] * (width + 2)])  # `;;;;` lines
    raw = {name: csv_bytes(grid, delimiter=";", quoting=quoting) + b"\n\n" for name, grid in g.items()}
    assert raw["parcours"].decode().split("\n")[4].startswith('"";""' if quoting == csv.QUOTE_ALL else ";;;")
    sub = read_submission(write_zip(tmp_path / "d.zip", {f"{n}.csv": b for n, b in raw.items()}))
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


def test_csv_empty_row_inside_keeps_physical_lines(tmp_path):
    g = grids()
    g["parcours"].insert(2, [""] * len(g["parcours"][0]))  # `;;;…` between P1 and P2
    cell(g["parcours"], 2, "code_commune", "8105")  # P2, now on line 4
    data = csv_bytes(g["parcours"], delimiter=";")
    data = data.replace(b"\nP3;", b"\n\nP3;")  # a blank line too: P3 on line 6
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";", raw={"parcours.csv": data}))
    assert col(sub, "parcours", "id_parcours") == ["P1", "P2", "P3"]
    assert col(sub, "parcours", LINE) == [2, 4, 6]
    assert found(sub) == {("depot.code_insee_repare", "parcours", 4, "code_commune", AVERT)}


def test_xlsx_empty_trailing_rows_and_columns_ignored(tmp_path):
    path = write_xlsx(tmp_path / "d.xlsx", grids())
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        last_row, last_col = sheet.max_row, sheet.max_column
        fill = PatternFill("solid", fgColor="FFFF00")
        for r in range(1, last_row + 6):  # formatted, empty cells to the right and below
            sheet.cell(row=r, column=last_col + 3).fill = fill
        for c in range(1, last_col + 3):
            sheet.cell(row=last_row + 4, column=c).fill = fill
        sheet.cell(row=last_row + 2, column=2, value=" ")  # a blank (space) cell below the data
        sheet.cell(row=2, column=last_col + 2, value=" ")  # and one right of it, under no header
    book.save(path)
    sub = read_submission(path)
    assert sub.kind == "xlsx"
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


# --------------------------------------------------------------------------- ZIP members added by macOS


def test_macos_zip_members_ignored(tmp_path):
    raw = {
        "__MACOSX/": b"",
        "__MACOSX/._parcours.csv": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02",
        "__MACOSX/._manifeste.csv": b"\x00\x05\x16\x07junk;;;,,,\xff\xfe",
        ".DS_Store": b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00",
        "sous-dossier/.DS_Store": b"\x00\x00\x00\x01Bud1",
    }
    sub = read_submission(zip_of(tmp_path / "d.zip", grids(), raw=raw))
    assert found(sub) == set() and sub.unusable == set()
    assert_base_tables(sub)


# --------------------------------------------------------------------------- XLSX


def test_xlsx_sheet_names_case_insensitive(tmp_path):
    names = {"manifeste": "Manifeste", "parcours": "Parcours", "actions": "ACTIONS", "bilans": "BILANS",
             "attentes": "Attentes "}
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", grids(), sheet_names=names))
    assert sub.kind == "xlsx"
    assert found(sub) == set() and sub.unusable == set()
    assert set(sub.tables) == set(TABLE_NAMES)
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


def test_xlsx_date_cells_and_text_dates(tmp_path):
    g = grids()
    manifest_value(g["manifeste"], "date_extraction", datetime(2024, 12, 15))
    manifest_value(g["manifeste"], "date_debut_donnees", date(2020, 1, 1))
    cell(g["parcours"], 0, "date_orientation", datetime(2022, 9, 1))  # date cells
    cell(g["parcours"], 0, "date_entree", date(2022, 9, 15))
    cell(g["parcours"], 1, "date_entree", "20/01/2023")  # French text date
    cell(g["parcours"], 2, "date_sortie", datetime(2024, 6, 28))  # other dates: ISO text cells
    cell(g["actions"], 0, "date_debut", "01/10/2022")
    path = write_xlsx(tmp_path / "d.xlsx", g)
    sheet = openpyxl.load_workbook(path)["parcours"]
    assert sheet.cell(row=2, column=9).is_date and sheet.cell(row=3, column=13).data_type == "s"
    sub = read_submission(path)
    assert found(sub) == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


def test_xlsx_numbers_in_number_cells(tmp_path):
    g = grids()
    for grid, columns in ((g["parcours"], ("annee_naissance",)),
                          (g["actions"], ("seances_prevues", "seances_realisees", "cout_euros")),
                          (g["bilans"], ("objectifs_fixes", "objectifs_atteints", "note_scolarite"))):
        for row in grid[1:]:
            for c in columns:
                i = grid[0].index(c)
                row[i] = float(row[i]) if c == "cout_euros" else int(row[i])
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", g))
    assert found(sub) == set()
    assert_base_tables(sub)


@pytest.mark.parametrize("layout", ["row1", "leading-empty-rows", "formatted-empty-row1"])
def test_xlsx_line_is_sheet_row(tmp_path, layout):
    g = grids()
    cell(g["parcours"], 1, "code_commune", "8105")  # text cell: repaired, on P2's row
    cell(g["actions"], 2, "volet", "")  # refused later, not here; the cell is simply empty
    first_row = 1 if layout == "row1" else 4
    path = write_xlsx(tmp_path / "d.xlsx", g, first_row=first_row,
                      formatted_blank_first_row=layout == "formatted-empty-row1")
    sub = read_submission(path)
    header = first_row
    assert col(sub, "parcours", LINE) == [header + 1, header + 2, header + 3]
    assert col(sub, "actions", LINE) == [header + 1, header + 2, header + 3]
    assert sub.manifest_lines["code_pre"] == header + 1
    assert col(sub, "parcours", "code_commune") == ["51454", "08105", "51454"]
    assert col(sub, "actions", "volet") == ["SCOLARITE", "SANTE", None]
    assert found(sub) == {("depot.code_insee_repare", "parcours", header + 2, "code_commune", AVERT)}


def test_xlsx_missing_optional_column_header_line_is_its_row(tmp_path):
    g = grids()
    drop_column(g["attentes"], "date_abandon")
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", g, first_row=3))
    assert found(sub) == {("depot.colonne_facultative_absente", "attentes", 3, "date_abandon", AVERT)}
    assert col(sub, "attentes", "date_abandon") == [None] * 3


# --------------------------------------------------------------------------- spreadsheet damage


def test_csv_insee_code_without_leading_zero_repaired(tmp_path):
    g = grids()
    cell(g["parcours"], 2, "code_commune", "8105")
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";"))
    assert col(sub, "parcours", "code_commune") == ["51454", "51454", "08105"]
    assert found(sub) == {("depot.code_insee_repare", "parcours", 4, "code_commune", AVERT)}
    message = next(f.message for f in sub.findings)
    assert "« 8105 »" in message and "« 08105 »" in message


def test_xlsx_insee_code_number_cell_repaired(tmp_path):
    g = grids()
    cell(g["parcours"], 0, "code_commune", 8105)  # number cells
    cell(g["parcours"], 1, "code_commune", 51454)
    path = write_xlsx(tmp_path / "d.xlsx", g)
    assert openpyxl.load_workbook(path)["parcours"].cell(row=2, column=7).data_type == "n"
    sub = read_submission(path)
    assert col(sub, "parcours", "code_commune") == ["08105", "51454", "51454"]
    assert found(sub) == {
        ("depot.code_insee_repare", "parcours", 2, "code_commune", AVERT),
        # A number cell in a code column is a repair of its own (as "8105.0" would be in a CSV).
        ("depot.nombre_repare", "parcours", 2, "code_commune", AVERT),
        ("depot.nombre_repare", "parcours", 3, "code_commune", AVERT),
    }


def test_number_cell_message_says_a_number_where_text_was_expected(tmp_path):
    """Issue 17, point 6: « 55545 » is a whole number, not « un nombre décimal »."""
    g = grids()
    cell(g["parcours"], 0, "code_commune", 55545)
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", g))
    assert col(sub, "parcours", "code_commune") == ["55545", "51454", "51454"]
    [group] = sub.findings.by_rule("depot.nombre_repare")
    assert group.rule.title == "Nombre au lieu d'un texte"
    assert group.examples == [(2, "La cellule contient un nombre là où un texte est attendu (identifiant ou code) : "
                                  "elle est lue comme texte, chiffres inchangés et sans décimale. Dans le tableur, "
                                  "mettez la colonne au format Texte.")]


def test_xlsx_identifier_number_cells_read_as_integer_text(tmp_path):
    tables = base_tables()
    renamed = {"P1": "100234", "P2": "100235", "P3": "P3"}
    for name in ("parcours", "actions", "bilans", "attentes"):
        for row in tables[name]:
            if row.get("id_parcours"):
                row["id_parcours"] = renamed[row["id_parcours"]]
    g = grids(tables)
    cell(g["parcours"], 0, "id_parcours", 100234)  # a number cell in a column of text cells
    cell(g["parcours"], 1, "id_parcours", 100235.0)  # a float number cell
    for i in range(3):  # a whole column of number cells
        cell(g["parcours"], i, "id_referent", 700 + i)
    for i in range(3):  # the references stay text cells: they must still match
        cell(g["actions"], i, "id_parcours", tables["actions"][i]["id_parcours"])
    cell(g["bilans"], 0, "id_bilan", 42)
    path = write_xlsx(tmp_path / "d.xlsx", g)
    sub = read_submission(path)
    assert col(sub, "parcours", "id_parcours") == ["100234", "100235", "P3"]
    assert col(sub, "parcours", "id_referent") == ["700", "701", "702"]
    assert col(sub, "actions", "id_parcours") == ["100234", "100235", "P3"]
    assert col(sub, "bilans", "id_bilan") == ["42", "B2", "B3"]
    assert found(sub) == {
        ("depot.nombre_repare", "parcours", 2, "id_parcours", AVERT),
        ("depot.nombre_repare", "parcours", 3, "id_parcours", AVERT),
        ("depot.nombre_repare", "parcours", 2, "id_referent", AVERT),
        ("depot.nombre_repare", "parcours", 3, "id_referent", AVERT),
        ("depot.nombre_repare", "parcours", 4, "id_referent", AVERT),
        ("depot.nombre_repare", "bilans", 2, "id_bilan", AVERT),
    }
    assert sub.findings.count() == 6


def test_xlsx_text_cells_looking_like_numbers_are_not_reported(tmp_path):
    g = grids()
    cell(g["parcours"], 0, "id_referent", "100234")  # text cell: nothing to repair
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", g))
    assert col(sub, "parcours", "id_referent") == ["100234", "R2", "R1"]
    assert found(sub) == set()


def test_csv_identifier_decimal_text_repaired(tmp_path):
    g = grids()
    cell(g["parcours"], 1, "id_referent", "100234.0")
    cell(g["parcours"], 2, "code_commune", "51454.00")
    cell(g["attentes"], 0, "id_demande", "77.0")
    sub = read_submission(zip_of(tmp_path / "d.zip", g))
    assert col(sub, "parcours", "id_referent") == ["R1", "100234", "R1"]
    assert col(sub, "parcours", "code_commune") == ["51454", "51454", "51454"]
    assert col(sub, "attentes", "id_demande") == ["77", "D2", "D3"]
    assert found(sub) == {
        ("depot.nombre_repare", "parcours", 3, "id_referent", AVERT),
        ("depot.nombre_repare", "parcours", 4, "code_commune", AVERT),
        ("depot.nombre_repare", "attentes", 2, "id_demande", AVERT),
    }


# --------------------------------------------------------------------------- §4: what is not in the format


def test_personal_data_column_refused(tmp_path):
    g = grids()
    header = g["parcours"][0]
    header.insert(1, "Nom")
    for row, name in zip(g["parcours"][1:], ("Dupont", "Martin", "Durand"), strict=True):
        row.insert(1, name)
    sub = read_submission(zip_of(tmp_path / "d.zip", g, delimiter=";"))
    assert found(sub) == {("depot.colonne_personnelle", "parcours", 1, "nom", BLOQ)}
    assert sub.findings.blocking
    assert "nom" not in sub.tables["parcours"].columns
    assert "Dupont" not in str(sub.tables["parcours"].rows())
    message = next(f.message for f in sub.findings)
    assert "« Nom »" in message and "personnelles" in message


def messages(sub, rule: str) -> list[str]:
    return [f.message for f in sub.findings if f.rule == rule]


def test_unknown_zip_member_refused(tmp_path):
    sub = read_submission(zip_of(tmp_path / "d.zip", grids(), raw={"notes.txt": b"a voir"}))
    assert found(sub) == {("depot.membre_inconnu", None, None, None, BLOQ)}
    assert messages(sub, "depot.membre_inconnu") == [
        "Le fichier « notes.txt » n'est pas reconnu : retirez-le du dépôt (seules les tables manifeste, parcours, "
        "actions, bilans et attentes sont admises)."]
    assert_base_tables(sub)


def test_unknown_xlsx_sheet_refused(tmp_path):
    g = grids() | {"Feuil1": [["x"], ["1"]]}
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", g))
    assert found(sub) == {("depot.membre_inconnu", None, None, None, BLOQ)}
    assert messages(sub, "depot.membre_inconnu") == [
        "L'onglet « Feuil1 » n'est pas reconnu : retirez-le du classeur (seuls les onglets manifeste, parcours, "
        "actions, bilans et attentes sont admis)."]


# --------------------------------------------------------------------------- folders, near names, empty sheets
# Issue 17, point 1: no pair of contradictory messages (« retirez-le » beside « la table est absente »).


def test_zip_members_all_in_one_folder_are_read(tmp_path):
    """A ZIP made by zipping the export's folder: every member in `export_PRE51454/`."""
    members = {f"export_PRE51454/{name}.csv": csv_bytes(grid) for name, grid in grids().items()}
    members |= {"export_PRE51454/": b"", "__MACOSX/export_PRE51454/._parcours.csv": b"\x00\x05",
                "export_PRE51454/.DS_Store": b"\x00"}
    sub = read_submission(write_zip(tmp_path / "d.zip", members))
    assert found(sub) == set() and sub.unusable == set()
    assert manifest(sub) == BASE_MANIFEST
    assert_base_tables(sub)


def test_zip_member_left_in_a_folder_is_told_where_to_go(tmp_path):
    """Four tables at the root, parcours.csv in a folder: one message says to move it, none to remove it."""
    g = grids()
    members = {f"{name}.csv": csv_bytes(grid) for name, grid in g.items() if name != "parcours"}
    members["export/parcours.csv"] = csv_bytes(g["parcours"])
    sub = read_submission(write_zip(tmp_path / "d.zip", members))
    assert found(sub) == {("depot.membre_inconnu", None, None, None, BLOQ),
                          ("depot.table_manquante", "parcours", None, None, BLOQ)}
    assert messages(sub, "depot.membre_inconnu") == [
        "Le fichier « parcours.csv (dans un dossier de l'archive) » n'est pas reconnu : placez-le à la racine de "
        "l'archive, sous le nom « parcours.csv »."]


@pytest.mark.parametrize(("member", "advice"), [
    ("Actions_2024.csv", "renommez-le « actions.csv »"),
    ("actions.xlsx", "enregistrez-le au format CSV sous le nom « actions.csv »"),
])
def test_zip_member_with_a_near_name_is_told_its_name(tmp_path, member, advice):
    g = grids()
    members = {f"{name}.csv": csv_bytes(grid) for name, grid in g.items() if name != "actions"}
    members[member] = csv_bytes(g["actions"])
    sub = read_submission(write_zip(tmp_path / "d.zip", members))
    assert messages(sub, "depot.membre_inconnu") == [f"Le fichier « {member} » n'est pas reconnu : {advice}."]
    assert messages(sub, "depot.table_manquante") == [
        "La table actions est absente du dépôt : le fichier doit contenir manifeste, parcours, actions, bilans et "
        "attentes."]


def test_near_name_of_a_table_already_there_is_to_be_removed(tmp_path):
    sub = read_submission(zip_of(tmp_path / "d.zip", grids(), raw={"parcours_ancien.csv": b"a,b\n"}))
    assert messages(sub, "depot.membre_inconnu") == [
        "Le fichier « parcours_ancien.csv » n'est pas reconnu : retirez-le du dépôt (seules les tables manifeste, "
        "parcours, actions, bilans et attentes sont admises)."]


def test_sheet_with_a_near_name_is_told_its_name(tmp_path):
    sub = read_submission(write_xlsx(tmp_path / "d.xlsx", grids(), sheet_names={"parcours": "Parcours 2024"}))
    assert found(sub) == {("depot.membre_inconnu", None, None, None, BLOQ),
                          ("depot.table_manquante", "parcours", None, None, BLOQ)}
    assert messages(sub, "depot.membre_inconnu") == [
        "L'onglet « Parcours 2024 » n'est pas reconnu : renommez-le « parcours »."]


@pytest.mark.parametrize(("name", "table"), [
    ("Parcours 2024", "parcours"), ("action", "actions"), ("export_parcours.csv", "parcours"),
    ("Manifest", "manifeste"), ("BILAN", "bilans"), ("liste d'attente", "attentes"),
    ("Feuil1", None), ("notes.txt", None), ("parcours_actions", None), ("", None),
])
def test_which_names_are_close_to_a_table(name, table):
    assert close_table(name) == table


def test_empty_extra_sheet_is_ignored_with_a_warning(tmp_path):
    """« Feuil1 » left empty by the spreadsheet (and one with blank cells only) refuses nothing."""
    path = write_xlsx(tmp_path / "d.xlsx", grids() | {"Feuil1": [], "Feuil2": [["  ", None], [None, " "]]})
    sub = read_submission(path)
    assert found(sub) == {("depot.onglet_vide", None, None, None, AVERT)}
    assert not sub.findings.blocking and sub.unusable == set()
    assert sorted(messages(sub, "depot.onglet_vide")) == [
        f"L'onglet « {name} » est vide : il ne fait pas partie du format d'échange et il est ignoré. Vous pouvez "
        "le supprimer du classeur." for name in ("Feuil1", "Feuil2")]
    assert_base_tables(sub)


@pytest.mark.parametrize("content", [b"code_pre;PRE51454\n", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b""],
                         ids=["text", "pdf", "empty"])
def test_not_a_spreadsheet_renamed_xlsx_unreadable(tmp_path, content):
    path = tmp_path / "depot.xlsx"
    path.write_bytes(content)
    sub = read_submission(path)
    assert sub.kind == "inconnu"
    assert found(sub) == {("depot.illisible", None, None, None, BLOQ)}
    assert sub.tables == {}


def test_truncated_xlsx_unreadable(tmp_path):
    data = write_xlsx(tmp_path / "ok.xlsx", grids()).read_bytes()
    path = tmp_path / "depot.xlsx"
    path.write_bytes(data[: len(data) // 2])
    sub = read_submission(path)
    assert found(sub) == {("depot.illisible", None, None, None, BLOQ)}


# --------------------------------------------------------------------------- verdicts (one GX run)


def test_verdicts(tmp_path):
    """The tolerated variants are accepted (warnings only); §3's missing column and §4's refusals are not."""
    cp = grids()
    manifest_value(cp["manifeste"], "logiciel", "Logiciel Élan")
    cell(cp["parcours"], 0, "origine_orientation", " ecole ")
    cell(cp["parcours"], 1, "date_entree", "20/01/2023")
    cp["parcours"][0][cp["parcours"][0].index("date_entree")] = " Date_Entrée "
    cell(cp["parcours"], 2, "code_commune", "8105")
    cell(cp["actions"], 0, "cout_euros", "1\u00a0250,50")
    drop_column(cp["attentes"], "date_abandon")

    xl = grids()
    cell(xl["parcours"], 0, "code_commune", 8105)
    cell(xl["parcours"], 0, "id_referent", 100234)
    cell(xl["parcours"], 0, "date_entree", datetime(2022, 9, 15))

    missing = grids()
    drop_column(missing["bilans"], "type_bilan")
    personal = grids()
    personal["attentes"][0].append("telephone")
    for row in personal["attentes"][1:]:
        row.append("0601020304")

    files = {
        "cp1252": zip_of(tmp_path / "cp1252.zip", cp, encoding="cp1252", delimiter=";", newline="\r\n", bom=False),
        "xlsx": write_xlsx(tmp_path / "d.xlsx", xl, first_row=2,
                           sheet_names={"parcours": "Parcours", "bilans": "BILANS"}),
        "macos": zip_of(tmp_path / "macos.zip", grids(), raw={"__MACOSX/._parcours.csv": b"\x00\x05",
                                                                  ".DS_Store": b"\x00"}),
        "missing": zip_of(tmp_path / "missing.zip", missing),
        "personal": zip_of(tmp_path / "personal.zip", personal),
        "member": zip_of(tmp_path / "member.zip", grids(), raw={"lisez-moi.txt": b"x"}),
        "folder": write_zip(tmp_path / "folder.zip", {f"export/{n}.csv": csv_bytes(x) for n, x in grids().items()}),
        "empty-sheet": write_xlsx(tmp_path / "feuil1.xlsx", grids() | {"Feuil1": []}),
        "not-xlsx": tmp_path / "faux.xlsx",
    }
    files["not-xlsx"].write_text("ceci n'est pas un classeur", encoding="utf-8")
    subs = [read_submission(p) for p in files.values()]
    reports = dict(zip(files, validate_many(subs, [Context(known_sites={SITE}) for _ in subs], CONTRACTS),
                       strict=True))

    def rules(report, severity):
        return {f.rule for f in report.findings if f.severity == severity}

    assert reports["cp1252"].accepted, list(reports["cp1252"].findings)
    assert rules(reports["cp1252"], AVERT) == {"depot.code_insee_repare", "depot.colonne_facultative_absente"}
    assert reports["cp1252"].rows == {"parcours": 3, "actions": 3, "bilans": 3, "attentes": 3}
    assert reports["xlsx"].accepted, list(reports["xlsx"].findings)
    assert rules(reports["xlsx"], AVERT) == {"depot.code_insee_repare", "depot.nombre_repare"}
    assert reports["macos"].accepted and not list(reports["macos"].findings)
    assert reports["folder"].accepted and not list(reports["folder"].findings)
    assert reports["folder"].rows == {"parcours": 3, "actions": 3, "bilans": 3, "attentes": 3}
    assert reports["empty-sheet"].accepted
    assert rules(reports["empty-sheet"], AVERT) == {"depot.onglet_vide"}

    refused = {"missing": "depot.colonne_manquante", "personal": "depot.colonne_personnelle",
               "member": "depot.membre_inconnu", "not-xlsx": "depot.illisible"}
    for name, rule in refused.items():
        assert not reports[name].accepted, name
        assert rules(reports[name], BLOQ) == {rule}, (name, list(reports[name].findings))

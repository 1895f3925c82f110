"""Writing a submission as a site would send it: a ZIP of CSV files or an XLSX workbook.

Three variants: CSV in UTF-8 with commas and ISO dates, CSV as Excel saves it on a French
Windows (Windows-1252, semicolons, decimal commas, dd/mm/yyyy), and a workbook with real date
cells. Files carry no wall-clock time (fixed ZIP entry times, fixed workbook properties), so
the same data give byte-identical files. Also here: file names, descriptions and the list of
expected outcomes (`attendus.csv`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from pipelines.common import formats

VARIANTS = ("zip-utf8", "zip-cp1252", "xlsx")
EXPECTED_FILE = "attendus.csv"
_EXCEL_EPOCH_OFFSET = 25569  # Excel serial number of 1970-01-01


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    code_pre: str
    variant: str  # "zip-utf8", "zip-cp1252" or "xlsx"
    expected_rule: str | None  # None for a valid submission
    description: str  # French, short
    rows: dict[str, int] = field(default_factory=dict, compare=False)  # rows per data table


@dataclass
class Submission:
    """What goes into one file; the hooks let a flawed submission break what typed frames cannot."""

    manifest: list[tuple[str, str | date | None]]
    tables: dict[str, pl.DataFrame]
    variant: str
    members_hook: Callable[[dict[str, bytes]], dict[str, bytes]] | None = None  # ZIP members
    damage: Callable[[bytes], bytes] | None = None  # the file's bytes


def file_name(code_pre: str, extraction: date, variant: str, prefix: str = "") -> str:
    suffix = ".xlsx" if variant == "xlsx" else ".zip"
    return f"{prefix}{code_pre}_{extraction.isoformat()}{suffix}"


def write_submission(path: Path, sub: Submission, extraction: date) -> None:
    stamp = datetime.combine(extraction, datetime.min.time()).replace(hour=17, minute=30)
    if sub.variant == "xlsx":
        data = _xlsx_bytes(sub, stamp)
    else:
        members = {f"{name}.csv": _csv_bytes(frame, sub.variant)
                   for name, frame in _frames(sub).items()}
        if sub.members_hook:
            members = sub.members_hook(members)
        data = _zip_bytes(members, stamp)
    if sub.damage:
        data = sub.damage(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _frames(sub: Submission) -> dict[str, pl.DataFrame]:
    """All tables to write, the manifest as a `cle,valeur` frame first."""
    cp1252 = sub.variant == "zip-cp1252"

    def text(value: str | date | None) -> str | None:
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y") if cp1252 else value.isoformat()
        return value

    manifest = pl.DataFrame({"cle": [k for k, _ in sub.manifest],
                             "valeur": [text(v) for _, v in sub.manifest]},
                            schema={"cle": pl.String, "valeur": pl.String})
    return {"manifeste": manifest, **sub.tables}


def _csv_bytes(frame: pl.DataFrame, variant: str) -> bytes:
    if variant == "zip-cp1252":
        # What Excel's "CSV (séparateur : point-virgule)" gives on a French Windows.
        text = frame.write_csv(separator=";", date_format="%d/%m/%Y", decimal_comma=True,
                               float_precision=2, line_terminator="\r\n", null_value="")
        return text.encode("cp1252")
    return frame.write_csv(date_format="%Y-%m-%d", float_precision=2, null_value="").encode()


def _zip_bytes(members: dict[str, bytes], stamp: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def _xlsx_bytes(sub: Submission, stamp: datetime) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    book.set_properties({"title": "Export PRE (données synthétiques)", "author": "pre-eval",
                         "created": stamp})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    money = book.add_format({"num_format": "0.00"})
    manifest = [(k, v) for k, v in sub.manifest]
    sheets = {"manifeste": None, **sub.tables}
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        if frame is None:  # manifest: real date cells for dates, text for the rest
            sheet.write_row(0, 0, ["cle", "valeur"], bold)
            sheet.set_column(0, 1, 20)
            for r, (key, value) in enumerate(manifest, start=1):
                sheet.write_string(r, 0, key)
                if isinstance(value, date):
                    sheet.write_datetime(r, 1, datetime.combine(value, datetime.min.time()), day)
                elif value is not None:
                    sheet.write_string(r, 1, value)
            continue
        sheet.write_row(0, 0, frame.columns, bold)
        sheet.set_column(0, max(frame.width - 1, 0), 16)
        for c, series in enumerate(frame.get_columns()):
            if series.dtype == pl.Date:
                # Excel's serial day number (what write_datetime stores), computed at once.
                serials = (series.cast(pl.Int32) + _EXCEL_EPOCH_OFFSET).to_list()
                for r, v in enumerate(serials, start=1):
                    if v is not None:
                        sheet.write_number(r, c, v, day)
            elif series.dtype.is_numeric():
                fmt = money if series.dtype.is_float() else None
                for r, v in enumerate(series.to_list(), start=1):
                    if v is not None:
                        sheet.write_number(r, c, v, fmt)
            else:
                for r, v in enumerate(series.to_list(), start=1):
                    if v is not None:
                        sheet.write_string(r, c, v)
    book.close()
    return buffer.getvalue()


def _variant_label(variant: str) -> str:
    return {"zip-utf8": "ZIP de CSV UTF-8 « , »", "zip-cp1252": "ZIP de CSV Windows-1252 « ; »",
            "xlsx": "classeur XLSX"}[variant]


def valid_description(counts: dict[str, int], variant: str) -> str:
    return (f"Dépôt valide ({_variant_label(variant)}) : {formats.number(counts['parcours'])} parcours, "
            f"{formats.number(counts['actions'])} actions, {formats.number(counts['bilans'])} bilans, "
            f"{formats.number(counts['attentes'])} demandes")


def write_expected(out_dir: Path, files: list[GeneratedFile]) -> None:
    """`attendus.csv`: each file written, with the rule it is built to break (empty if valid)."""
    rows = [{"fichier": f.path.relative_to(out_dir).as_posix(), "code_pre": f.code_pre,
             "variante": f.variant, "regle_attendue": f.expected_rule,
             "description": f.description} for f in files]
    schema = dict.fromkeys(rows[0], pl.String)
    pl.DataFrame(rows, schema=schema).write_csv(out_dir / EXPECTED_FILE)  # None → empty cell

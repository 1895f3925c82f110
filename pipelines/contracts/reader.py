"""Read a submission (ZIP of CSV files or XLSX workbook) into typed polars frames.

Tolerance follows the exchange format (§3): encodings, delimiters, header spelling, date and
decimal formats, code case, and repaired spreadsheet damage. What cannot be read becomes a
finding of the envelope contract (`depot.*`) or a `type` finding of the column's contract, with
the physical line of the record (CSV: header = line 1; XLSX: the sheet's row number).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines import settings
from pipelines.contracts.findings import Findings, shown_value
from pipelines.contracts.model import TABLES, Column, Contracts, Table, load_contracts

LINE = "_ligne"  # physical line (CSV) or row number (XLSX) of each record

IGNORED_MEMBERS = ("__macosx/",)
IGNORED_NAMES = (".ds_store", "thumbs.db", "desktop.ini")
# Sheets the platform's own template adds (instructions, code lists): not data, ignored.
TEMPLATE_SHEETS = ("lisez-moi", "listes")

# Column-name tokens that suggest personal data (§4): the message says so.
PERSONAL_TOKENS = {
    "nom", "noms", "prenom", "prenoms", "adresse", "adresses", "rue", "telephone", "tel",
    "portable", "mobile", "courriel", "email", "mail", "nir", "secu", "securite", "ine",
    "commentaire", "commentaires", "observation", "observations", "remarque", "remarques",
    "naissance", "ddn", "photo", "ville_naissance",
}
NULL_TOKENS = {"", "NULL", "null", "NaN", "nan", "#N/A", "N/A"}

def archive_problem(archive: zipfile.ZipFile, compressed_size: int, limits: settings.Settings) -> str | None:
    """Why an archive must not be opened (too many members, too large once unpacked), if so.

    The declared sizes are checked before anything is decompressed; a member that lies about
    its size fails its CRC check when read, and the file is refused as damaged.
    """
    infos = archive.infolist()
    if len(infos) > limits.MAX_MEMBRES:
        return f"l'archive contient {len(infos)} éléments (limite : {limits.MAX_MEMBRES})."
    total = sum(i.file_size for i in infos)
    if total > limits.MAX_DECOMPRESSE_OCTETS:
        return (f"l'archive décompressée ferait {total / 1e6:.0f} Mo "
                f"(limite : {limits.MAX_DECOMPRESSE_OCTETS / 1e6:.0f} Mo).")
    if total > 50_000_000 and total > limits.MAX_RATIO_COMPRESSION * max(compressed_size, 1):
        return "l'archive est anormalement compressée (possible bombe de décompression) : elle n'est pas ouverte."
    return None


_DAMAGED_INT = re.compile(r"^[0-9]+\.0+$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


@dataclass
class Submission:
    """What the reader made of one file: typed tables and the findings met on the way."""

    source: str
    kind: str  # "zip" | "xlsx" | "inconnu"
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)
    # Tables whose structure is broken (missing required column…): not checked row by row.
    unusable: set[str] = field(default_factory=set)
    manifest_lines: dict[str, int] = field(default_factory=dict)
    raw_rows: dict[str, int] = field(default_factory=dict)
    # Cells whose value could not be typed, per table and column (their `_ligne`): the
    # validator does not judge them again (one bad cell, one finding).
    type_refused: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    @property
    def manifest(self) -> dict:
        frame = self.tables.get("manifeste")
        if frame is None or frame.height == 0:
            return {}
        return frame.row(0, named=True)


def normalise_header(name: str | None) -> str:
    if name is None:
        return ""
    text = unicodedata.normalize("NFKD", str(name).replace("\ufeff", "").strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s\-]+", "_", text)


def _is_personal_column(name: str) -> bool:
    tokens = set(name.split("_"))
    return bool(tokens & PERSONAL_TOKENS) or name in PERSONAL_TOKENS


# --------------------------------------------------------------------------- opening files


def read_submission(path: Path | str, contracts: Contracts | None = None,
                    *, name: str | None = None, only: tuple[str, ...] = TABLES) -> Submission:
    """Read a submission file. `only` restricts reading to some tables (e.g. the manifest)."""
    contracts = contracts or load_contracts()
    path = Path(path)
    sub = Submission(source=name or path.name, kind="inconnu")
    env = contracts.envelope_rule
    limits = settings.load()  # against oversized files and archive bombs
    try:
        size = path.stat().st_size
        if size > limits.MAX_FICHIER_OCTETS:
            sub.findings.add(env("file_readable"), table=None, detail=(
                f"le fichier fait {size / 1e6:.0f} Mo, au-delà de la limite de "
                f"{limits.MAX_FICHIER_OCTETS / 1e6:.0f} Mo ; contactez l'équipe de la plateforme."))
            return sub
        data = path.read_bytes()
    except OSError as exc:
        sub.findings.add(env("file_readable"), table=None, detail=f"lecture impossible ({exc.strerror}).")
        return sub
    raw: dict[str, pl.DataFrame] = {}  # cells as text, columns c0, c1, … in file order
    lines: dict[str, list[int]] = {}
    try:
        if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                problem = archive_problem(archive, len(data), limits)
                if problem:
                    sub.findings.add(env("file_readable"), table=None, detail=problem)
                    return sub
                names = {i.filename for i in archive.infolist()}
                if "xl/workbook.xml" in names:
                    sub.kind = "xlsx"
                    _read_xlsx(data, contracts, sub, raw, lines, only)
                else:
                    sub.kind = "zip"
                    _read_zip(archive, contracts, sub, raw, lines, only)
        elif data[:8] == bytes.fromhex("D0CF11E0A1B11AE1"):
            sub.findings.add(env("file_readable"), table=None, detail=(
                "c'est un classeur Excel ancien (.xls) ou protégé par mot de passe : "
                "enregistrez-le au format .xlsx sans mot de passe."))
            return sub
        else:
            sub.findings.add(env("file_readable"), table=None, detail=(
                "ce n'est ni une archive ZIP ni un classeur XLSX. Envoyez un ZIP contenant les "
                "cinq fichiers CSV, ou un classeur XLSX à cinq onglets."))
            return sub
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
        sub.findings.add(env("file_readable"), table=None,
                         detail=f"l'archive ou le classeur est endommagé ({type(exc).__name__}).")
        return sub
    except Exception as exc:  # calamine raises its own exception types
        sub.findings.add(env("file_readable"), table=None,
                         detail=f"le classeur est endommagé ou illisible ({type(exc).__name__}).")
        return sub

    for table_name in only:
        if table_name not in raw:
            sub.findings.add(env("table_present"), table=table_name, valeur=table_name)
            sub.unusable.add(table_name)
            continue
        table = contracts.tables[table_name]
        rows, row_lines = raw[table_name], lines[table_name]
        if table.key_value:
            _build_manifest(table, rows, row_lines, contracts, sub)
        else:
            _build_table(table, rows, row_lines, contracts, sub)
    return sub


def peek_site(path: Path | str) -> str | None:
    """The site code of a submission, reading only its manifest (for routing, not for checking)."""
    try:
        code = read_submission(path, only=("manifeste",)).manifest.get("code_pre")
    except Exception:  # an unreadable file is routed to the unknown site and refused there
        return None
    return code if isinstance(code, str) else None


def _read_zip(archive: zipfile.ZipFile, contracts: Contracts, sub: Submission,
              raw: dict, lines: dict, only: tuple[str, ...]) -> None:
    env = contracts.envelope_rule
    for info in archive.infolist():
        lower = info.filename.lower()
        base = lower.rsplit("/", 1)[-1]
        if info.is_dir() or lower.startswith(IGNORED_MEMBERS) or base in IGNORED_NAMES:
            continue
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        table_name = lower.removesuffix(".csv") if lower.endswith(".csv") and not is_link else None
        if table_name not in TABLES:
            sub.findings.add(env("no_extra_table"), table=None, valeur=info.filename)
            continue
        if table_name in raw:
            sub.findings.add(env("table_once"), table=table_name, valeur=table_name)
            continue
        if table_name not in only:
            continue
        text = _decode(archive.read(info), table_name, contracts, sub)
        if text is None:
            sub.unusable.add(table_name)
            raw[table_name], lines[table_name] = pl.DataFrame(), []
            continue
        raw[table_name], lines[table_name] = _parse_csv(text, table_name, contracts, sub)


def _decode(data: bytes, table: str, contracts: Contracts, sub: Submission) -> str | None:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        sub.findings.add(contracts.envelope_rule("file_readable"), table=table, detail=(
            f"le fichier {table}.csv est encodé en UTF-16 : enregistrez-le en UTF-8 "
            "(ou « CSV (séparateur : point-virgule) » d'Excel)."))
        return None
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _positional(frame: pl.DataFrame) -> pl.DataFrame:
    """Name the columns c0, c1, … by position, all as text."""
    return frame.select(pl.col(c).cast(pl.String).alias(f"c{i}") for i, c in enumerate(frame.columns))


def _parse_csv(text: str, table: str, contracts: Contracts,
               sub: Submission) -> tuple[pl.DataFrame, list[int]]:
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    if '"' not in text:
        # Fast path: one record per physical line.
        try:
            frame = pl.read_csv(io.StringIO(text), separator=sep, has_header=False,
                                infer_schema=False, quote_char=None, raise_if_empty=False,
                                truncate_ragged_lines=False)
            return _positional(frame), list(range(1, frame.height + 1))
        except pl.exceptions.PolarsError:
            pass  # ragged lines: the csv module below says which
    rows: list[list[str | None]] = []
    row_lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"')
    start = 1
    width = None
    bad = []
    try:
        for record in reader:
            if width is None:
                width = len(record)
            if record and len(record) > width and any(x.strip() for x in record[width:]):
                bad.append((start, f"{len(record)} valeurs pour {width} colonnes"))
            rows.append(record[:width] + [None] * max(0, width - len(record)))
            row_lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        bad.append((start, f"erreur de lecture : {exc}"))
    if bad:
        rule = contracts.envelope_rule("row_shape")
        sub.findings.add_many(rule, table=table, column=None, lines=[b[0] for b in bad],
                              values=[{"detail": b[1]} for b in bad])
        sub.unusable.add(table)
    if width is None:
        return pl.DataFrame(), row_lines
    return pl.DataFrame(rows, schema=[(f"c{i}", pl.String) for i in range(width)], orient="row"), row_lines


def _read_xlsx(data: bytes, contracts: Contracts, sub: Submission, raw: dict, lines: dict,
               only: tuple[str, ...]) -> None:
    import fastexcel

    env = contracts.envelope_rule
    reader = fastexcel.read_excel(data)
    for sheet_name in reader.sheet_names:
        key = sheet_name.strip().lower()
        if key in TEMPLATE_SHEETS:
            continue
        if key not in TABLES:
            sub.findings.add(env("no_extra_table"), table=None, valeur=f"onglet {sheet_name}")
            continue
        if key in raw:
            sub.findings.add(env("table_once"), table=key, valeur=key)
            continue
        if key not in only:
            continue
        # skip_rows=0 keeps the leading empty rows, so row i of the frame is sheet row i + 1
        # (the sheet's dimension is no guide: it counts formatted empty cells, calamine does not).
        sheet = reader.load_sheet(sheet_name, header_row=None, skip_rows=0, dtypes="string")
        frame = _positional(sheet.to_polars())
        filled = (frame.select(~pl.all_horizontal(pl.all().is_null())).to_series()
                  if frame.width else pl.Series([], dtype=pl.Boolean))
        first = int(filled.arg_true()[0]) if filled.any() else frame.height
        raw[key] = frame.slice(first)
        lines[key] = list(range(first + 1, frame.height + 1))
        _note_numeric_cells(reader, sheet_name, key, raw[key], lines[key], contracts, sub)


def _note_numeric_cells(reader, sheet_name: str, table: str, rows: pl.DataFrame, row_lines: list,
                        contracts: Contracts, sub: Submission) -> None:
    """Warn when identifier or code columns were stored as numbers by the spreadsheet."""
    if rows.height == 0 or table not in contracts.tables:
        return
    contract = contracts.tables[table]
    header = [normalise_header(h) for h in rows.row(0)]
    watched = [i for i, h in enumerate(header)
               if h in contract.column_names and contract.column(h).nature in ("identifiant", "code")
               and contract.column(h).logical_type == "string"]
    if not watched or rows.height < 2:
        return
    # Cast to boolean, fastexcel turns number (and boolean) cells into True/False and every
    # other cell, text "100234" included, into null: this finds number cells one by one, also
    # in a column that mixes numbers and text (whose inferred type would be text).
    cast = reader.load_sheet(sheet_name, header_row=0, use_columns=watched, dtypes="boolean").to_polars()
    rule = contracts.envelope_rule("integer_text_repair")
    for position, name in zip(watched, cast.columns, strict=True):
        number = cast[name].is_not_null().to_list()
        cells = rows[f"c{position}"].to_list()
        idx = [i for i, is_number in enumerate(number)
               if is_number and i + 1 < len(cells) and re.fullmatch(r"-?[0-9]+", str(cells[i + 1]))]
        sub.findings.add_many(rule, table=table, column=header[position],
                              lines=[row_lines[i + 1] for i in idx], values=None)


# --------------------------------------------------------------------------- building tables


def _header(table: Table, rows: pl.DataFrame, row_lines: list, contracts: Contracts,
            sub: Submission) -> tuple[dict[str, int], list[str]] | None:
    env = contracts.envelope_rule
    if rows.height == 0:
        sub.findings.add(env("required_column"), table=table.name, line=1, valeur="(en-tête)")
        sub.unusable.add(table.name)
        return None
    titles = rows.row(0)
    header = [normalise_header(h) for h in titles]
    # A blank cell (spaces only) is empty, as everywhere else: it does not make a column.
    present = rows.slice(1).select((pl.col(c).str.strip_chars().fill_null("") != "").any() for c in rows.columns)
    data_present = list(present.row(0)) if present.height else [False] * len(header)
    positions: dict[str, int] = {}
    line = row_lines[0]
    for i, name in enumerate(header):
        if not name:
            if data_present[i]:
                sub.findings.add(env("no_extra_column"), table=table.name, line=line,
                                 valeur=f"(sans nom, colonne {i + 1})")
            continue
        if name in positions:
            sub.findings.add(env("column_once"), table=table.name, line=line, column=name, valeur=name)
            sub.unusable.add(table.name)
            continue
        if name not in table.column_names:
            rule = env("no_personal_column") if _is_personal_column(name) else env("no_extra_column")
            sub.findings.add(rule, table=table.name, line=line, column=name, valeur=titles[i].strip())
            continue
        positions[name] = i
    missing_required = []
    for column in table.columns:
        if column.name not in positions:
            if column.required:
                missing_required.append(column.name)
                sub.findings.add(env("required_column"), table=table.name, line=line,
                                 column=column.name, valeur=column.name)
            else:
                sub.findings.add(env("optional_column"), table=table.name, line=line,
                                 column=column.name, valeur=column.name)
    if missing_required:
        sub.unusable.add(table.name)
    return positions, header


def _build_table(table: Table, rows: pl.DataFrame, row_lines: list, contracts: Contracts,
                 sub: Submission) -> None:
    found = _header(table, rows, row_lines, contracts, sub)
    if found is None:
        return
    positions, _ = found
    empty = pl.repeat(None, pl.len(), dtype=pl.String)
    frame = rows.slice(1).select(
        (pl.col(f"c{positions[c.name]}") if c.name in positions else empty).alias(c.name) for c in table.columns)
    frame = frame.with_columns(pl.Series(LINE, row_lines[1:], dtype=pl.Int64))
    frame = _clean_text(frame, table)
    # Empty trailing (or stray empty) rows are not records.
    frame = frame.filter(~pl.all_horizontal(pl.col(c.name).is_null() for c in table.columns))
    sub.raw_rows[table.name] = frame.height
    frame = _repair(frame, table, contracts, sub)
    sub.tables[table.name] = _type(frame, table, sub)


def _build_manifest(table: Table, frame: pl.DataFrame, row_lines: list, contracts: Contracts,
                    sub: Submission) -> None:
    env = contracts.envelope_rule
    rows = frame.rows()  # a few key/value lines
    if not rows:
        sub.findings.add(env("required_column"), table=table.name, line=1, valeur="cle")
        sub.unusable.add(table.name)
        return
    header = [normalise_header(h) for h in rows[0]]
    if "cle" not in header or "valeur" not in header:
        for name in ("cle", "valeur"):
            if name not in header:
                sub.findings.add(env("required_column"), table=table.name, line=row_lines[0],
                                 column=name, valeur=name)
        sub.unusable.add(table.name)
        return
    for i, name in enumerate(header):
        if name and name not in ("cle", "valeur"):
            rule = env("no_personal_column") if _is_personal_column(name) else env("no_extra_column")
            sub.findings.add(rule, table=table.name, line=row_lines[0], column=name, valeur=rows[0][i])
    k, v = header.index("cle"), header.index("valeur")
    values: dict[str, str | None] = {}
    unknown = next(r for r in table.table_rules if r.kind == "unknown_key")
    duplicate = next(r for r in table.table_rules if r.kind == "duplicate_key")
    for row, line in zip(rows[1:], row_lines[1:], strict=True):
        key = normalise_header(row[k] if k < len(row) else None)
        value = row[v] if v < len(row) else None
        value = None if value is None or value.strip() in NULL_TOKENS else value.strip()
        if not key:
            continue
        if key not in table.column_names:
            sub.findings.add(unknown, table=table.name, line=line, column="cle", valeur=shown_value(key))
            continue
        if key in values:
            sub.findings.add(duplicate, table=table.name, line=line, column="cle", valeur=key)
            continue
        values[key] = value
        sub.manifest_lines[key] = line
    for column in table.columns:
        if column.name not in values and column.required:
            sub.findings.add(env("required_column"), table=table.name, line=None, column=column.name,
                             valeur=column.name)
            sub.unusable.add(table.name)
    frame = pl.DataFrame({c.name: [values.get(c.name)] for c in table.columns},
                         schema={c.name: pl.String for c in table.columns})
    frame = frame.with_columns(pl.lit(row_lines[0] + 1, dtype=pl.Int64).alias(LINE))
    frame = _clean_text(frame, table)
    sub.raw_rows[table.name] = 1
    sub.tables[table.name] = _type(frame, table, sub, lines=sub.manifest_lines)


def _clean_text(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    exprs = []
    for c in table.columns:
        e = pl.col(c.name).str.strip_chars()
        e = pl.when(e.is_in(list(NULL_TOKENS))).then(None).otherwise(e)
        if c.nature == "code":
            e = e.str.to_uppercase()
        exprs.append(e.alias(c.name))
    return frame.with_columns(exprs)


def _repair(frame: pl.DataFrame, table: Table, contracts: Contracts, sub: Submission) -> pl.DataFrame:
    """Undo what spreadsheets do to identifiers and INSEE codes, with a warning."""
    env = contracts.envelope_rule
    for c in table.columns:
        if c.logical_type != "string" or c.nature not in ("identifiant", "code"):
            continue
        damaged = frame[c.name].str.contains(_DAMAGED_INT.pattern).fill_null(False)
        if damaged.any():
            sub.findings.add_many(env("integer_text_repair"), table=table.name, column=c.name,
                                  lines=frame[LINE].filter(damaged).to_list())
            frame = frame.with_columns(
                pl.when(damaged).then(pl.col(c.name).str.replace(r"\.0+$", "")).otherwise(pl.col(c.name))
                .alias(c.name))
        if c.name == "code_commune":
            short = frame[c.name].str.contains(r"^[0-9]{4}$").fill_null(False)
            if short.any():
                before = frame[c.name].filter(short).to_list()
                sub.findings.add_many(env("leading_zero_repair"), table=table.name, column=c.name,
                                      lines=frame[LINE].filter(short).to_list(),
                                      values=[{"valeur": b, "autre": "0" + b} for b in before])
                frame = frame.with_columns(
                    pl.when(short).then(pl.lit("0") + pl.col(c.name)).otherwise(pl.col(c.name)).alias(c.name))
    return frame


def _typed_expr(column: Column) -> pl.Expr:
    s = pl.col(column.name)
    if column.logical_type == "integer":
        t = s.str.replace_all(_SPACES.pattern, "").str.replace(r"[.,]0+$", "")
        return t.str.to_integer(strict=False).cast(pl.Int64, strict=False)
    if column.logical_type == "number":
        t = s.str.replace_all(_SPACES.pattern, "")
        t = pl.when(t.str.contains(",") & t.str.contains(r"\.")).then(None).otherwise(t.str.replace(",", "."))
        t = pl.when(t.str.contains(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")).then(t).otherwise(None)
        return t.cast(pl.Float64, strict=False)
    if column.logical_type == "date":
        iso = s.str.replace(r"[ T]00:00:00(\.0+)?$", "")
        return pl.coalesce(
            iso.str.to_date("%Y-%m-%d", strict=False),
            s.str.to_date("%d/%m/%Y", strict=False),
        )
    return s


def _type(frame: pl.DataFrame, table: Table, sub: Submission, lines: dict[str, int] | None = None) -> pl.DataFrame:
    typed = frame.with_columns(_typed_expr(c).alias(c.name) for c in table.columns)
    for c in table.columns:
        if c.logical_type == "string":
            continue
        rule = next(r for r in c.rules if r.kind == "type")
        failed = frame[c.name].is_not_null() & typed[c.name].is_null()
        if failed.any():
            sub.type_refused.setdefault(table.name, {})[c.name] = frame[LINE].filter(failed).to_list()
            bad_lines = ([lines.get(c.name)] if lines is not None else frame[LINE].filter(failed).to_list())
            sub.findings.add_many(rule, table=table.name, column=c.name, lines=bad_lines,
                                  values=[{"valeur": shown_value(v)} for v in frame[c.name].filter(failed).to_list()])
    return typed

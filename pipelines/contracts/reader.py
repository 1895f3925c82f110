"""Read a submission (ZIP of CSV files or XLSX workbook) into typed polars frames.

Tolerance follows the exchange format (§3): encodings, delimiters, header spelling, date and
decimal formats, code case, and repaired spreadsheet damage. What cannot be read becomes a
finding of the envelope contract (`depot.*`) or a `type` finding of the column's contract, with
the physical line of the record (CSV: header = line 1; XLSX: the sheet's row number).

Memory stays proportional to what a file really holds: besides the limits of the settings (file
size, unpacked size, compression ratio, members), a CSV line may not exceed `MAX_LINE_BYTES`, a
table `MAX_COLUMNS` columns nor `MAX_CELLS` cells, and a worksheet is measured before the
spreadsheet library lays it out as a grid (a sheet with one cell in A1 and one in XFD1048576 would
ask for hundreds of gigabytes). Names read in the file reach reports only through `shown_name`.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import io
import re
import unicodedata
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipelines import settings
from pipelines.common import formats
from pipelines.contracts.findings import (
    MAX_EXAMPLES,
    MAX_LINES,
    NAME_NOT_SHOWN,
    NAME_UNREADABLE,
    VARIANT,
    Findings,
    Shown,
    line_list,
    shown_name,
    shown_value,
)
from pipelines.contracts.model import TABLES, Column, Contracts, Rule, Table, load_contracts

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
# Variants of rule messages (`implementation.variants` of the contracts) the reader picks.
MISSING_KEY = "missing_key"  # a required line of the manifest is absent (not a column)
IMPOSSIBLE_DATE = "impossible_date"  # a date's shape, but no day of the calendar (31/02/2023)
EURO_SIGN = "euro_sign"  # an amount written with its € sign (350 €)

# Shapes no real export has; each is refused with a French message naming the limit.
MAX_LINE_BYTES = 1_000_000  # one physical line of a CSV file
MAX_COLUMNS = 1_000  # columns of a table (the widest of the format has 16)
MAX_CELLS = 30_000_000  # rows × columns of a CSV table (1 million pathways × 16 = 16 million)
# rows × columns of a worksheet, laid out in memory as a full grid (about 70 bytes a cell through the
# spreadsheet library and Arrow): 300 000 actions × 11 columns fit; beyond, a ZIP of CSV files.
MAX_SHEET_CELLS = 5_000_000
MAX_CSV_FIELD = 131_072  # characters of one quoted CSV field (the csv module's own limit)
MAX_MANIFEST_LINES = 1_000  # lines of the manifest (it has five keys)
_CSV_BLOCK = 100_000  # records gathered as Python lists before they become a polars frame
_SCAN_BLOCK = 1 << 24  # bytes of a worksheet measured at a time

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


def _big(n: int) -> str:
    return formats.number(n)


def xlsx_problem(archive: zipfile.ZipFile) -> str | None:
    """Why a workbook must not be handed to the spreadsheet library, if so.

    Every part is read once through `zipfile`, which stops at the declared size and checks the CRC
    (a part that lies about its size is refused as damaged), and measured on the way as a worksheet
    (`sheet_extent`): the library lays a sheet out as a full grid from its first to its last cell, and
    a sheet may be stored under any name the workbook's relationships give (`xl/feuille.bin`), so
    every part is measured, not only those under `xl/worksheets/` (the others have no cells).
    """
    for info in archive.infolist():
        if info.is_dir():
            continue
        with archive.open(info) as stream:
            rows, columns = sheet_extent(stream)
        if columns > MAX_COLUMNS:
            return (f"un onglet s'étend sur {_big(columns)} colonnes "
                    f"(limite de la plateforme : {_big(MAX_COLUMNS)} colonnes par onglet).")
        if rows * columns > MAX_SHEET_CELLS:
            return (f"un onglet s'étend sur {_big(rows)} lignes et {_big(columns)} colonnes, soit plus de "
                    f"{_big(MAX_SHEET_CELLS)} cellules (limite de la plateforme pour un classeur) : retirez "
                    "les cellules remplies loin des données, ou envoyez une archive ZIP de fichiers CSV.")
    return None


_LT, _GT, _SLASH, _QUOTE = ord("<"), ord(">"), ord("/"), ord('"')
_REF_WIDTH = 12  # `r="` + at most 3 letters and 7 digits + the closing quote
_UNBOUNDED = 1 << 40


def sheet_extent(stream) -> tuple[int, int]:
    """An upper bound of the rows and columns of the grid a worksheet's cells span.

    Read block by block, each block cut before its last tag (complete tags only). Tags are located
    with numpy, never parsed one by one: `<row …>` and `<c …>` starts (with or without a namespace
    prefix), their `r="…"` references, and whether a cell is self-closed (no value: the library
    ignores it). A cell without a reference comes right after the previous one of its row, in the
    row after the previous one when its row has no reference either: such cells widen the bound by
    the largest number of cells in a row, and by the number of rows without a reference. A
    reference that is not a cell reference makes the bound unlimited: the sheet is refused.
    """
    cell_rows = cell_columns = row_tags = 0
    rows_without_ref = 0
    cells_without_ref = False
    most_cells = carried_cells = 0
    carry = b""
    while True:
        block = stream.read(_SCAN_BLOCK)
        data = carry + block
        if not data:
            break
        cut = len(data) if not block else data.rfind(b"<")
        if cut <= 0:
            if not block:
                break
            carry = data
            continue
        carry = data[cut:]
        arr = np.frombuffer(data[:cut] + b"\0" * (_REF_WIDTH + 4), dtype=np.uint8)
        n = cut
        gt = np.flatnonzero(arr[:n] == _GT)
        lt = np.flatnonzero(arr[:n] == _LT)
        refs = _ref_positions(arr, n)
        rows = _tag_starts(arr, n, lt, b"row", data)
        cells = _tag_starts(arr, n, lt, b"c", data)
        # Cells per row (a row may span blocks: the count of the open row is carried).
        if rows.size:
            before = np.searchsorted(cells, rows)
            counts = np.diff(np.append(before, cells.size))
            most_cells = max(most_cells, carried_cells + int(before[0]), int(counts[:-1].max(initial=0)))
            carried_cells = int(counts[-1])
        else:
            carried_cells += int(cells.size)
        for starts, is_row in ((rows, True), (cells, False)):
            if not starts.size:
                continue
            ends = gt[np.minimum(np.searchsorted(gt, starts), gt.size - 1)] if gt.size else starts
            valued = arr[np.maximum(ends - 1, 0)] != _SLASH
            ref_at = refs[np.minimum(np.searchsorted(refs, starts), refs.size - 1)] if refs.size else starts
            has_ref = (ref_at > starts) & (ref_at < ends)
            if is_row:
                rows_without_ref += int((valued & ~has_ref).sum())
            elif not has_ref[valued].all():
                cells_without_ref = True
            kept = valued & has_ref
            if not kept.any():
                continue
            column, number = _parse_refs(arr, ref_at[kept])
            if number.min() < 1 or (column.max() > 0 if is_row else column.min() < 1):
                return _UNBOUNDED, _UNBOUNDED
            if is_row:
                row_tags = max(row_tags, int(number.max()))
            else:
                cell_rows = max(cell_rows, int(number.max()))
                cell_columns = max(cell_columns, int(column.max()))
    most_cells = max(most_cells, carried_cells)
    if not cells_without_ref:
        return cell_rows, cell_columns
    return max(cell_rows, row_tags) + rows_without_ref, cell_columns + most_cells


def _byte_table(chars: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[[ord(c) for c in chars]] = True
    return table


_TAG_END = _byte_table(" \t\r\n>/")  # what may follow a tag's name
_WHITE = _byte_table(" \t\r\n")
_UPPER = _byte_table("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT = _byte_table("0123456789")


def _tag_starts(arr: np.ndarray, n: int, lt: np.ndarray, name: bytes, data: bytes) -> np.ndarray:
    """Positions of the `<` of the opening tags `name` (also `<prefix:name`) in arr[:n], arr padded.

    `lt`: the positions of every `<`; only they are looked at, unless a prefixed name occurs."""
    k = len(name)
    hits = _TAG_END[arr[lt + 1 + k]]
    for i, byte in enumerate(name):
        hits &= arr[lt + 1 + i] == byte
    plain = lt[hits]
    if b":" + name not in data:
        return plain
    hits = _TAG_END[arr[1 + k: n + 1 + k]]
    for i, byte in enumerate(name):
        hits &= arr[1 + i: n + 1 + i] == byte
    prefixed = np.flatnonzero(hits & (arr[:n] == ord(":")))
    # `<x:c`: the `<` is the last one before the prefix; `</x:c>` closes a tag, it opens none.
    owners = lt[np.maximum(np.searchsorted(lt, prefixed) - 1, 0)] if lt.size else prefixed
    owners = owners[arr[owners + 1] != _SLASH]
    return np.sort(np.concatenate((plain, owners)))


def _ref_positions(arr: np.ndarray, n: int) -> np.ndarray:
    """Positions of ` r="` (an `r` attribute) in arr[:n], found from the `=` signs."""
    eq = np.flatnonzero(arr[1:n] == ord("=")) + 1
    eq = eq[(arr[eq - 1] == ord("r")) & (arr[eq + 1] == _QUOTE) & (eq >= 2)]
    at = eq - 2
    return at[_WHITE[arr[at]]]


def _parse_refs(arr: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column number (0 when no letter) and row number of the references at ` r="` positions;
    row -1 for anything that is not 0–3 capital letters, 1–7 digits and a closing quote."""
    window = arr[(at + 4)[:, None] + np.arange(_REF_WIDTH)]
    upper, digit = _UPPER[window], _DIGIT[window]
    n_letters = np.logical_and.accumulate(upper, axis=1).sum(axis=1)
    column = np.zeros(len(at), dtype=np.int32)
    row = np.full(len(at), -1, dtype=np.int32)
    for count in range(4):
        chosen = np.flatnonzero(n_letters == count)
        if not chosen.size:
            continue
        w = window[chosen].astype(np.int32)
        col = np.zeros(chosen.size, dtype=np.int32)
        for i in range(count):
            col = col * 26 + (w[:, i] - (ord("A") - 1))
        n_digits = np.logical_and.accumulate(digit[chosen, count:], axis=1).sum(axis=1)
        number = np.zeros(chosen.size, dtype=np.int32)
        for i in range(7):
            number = np.where(n_digits > i, number * 10 + (w[:, count + i] - ord("0")), number)
        closing = w[np.arange(chosen.size), np.minimum(count + n_digits, _REF_WIDTH - 1)] == _QUOTE
        good = (n_digits >= 1) & (n_digits <= 7) & closing
        column[chosen] = col
        row[chosen] = np.where(good, number, -1)
    return column, row


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
    lines: dict[str, pl.Series] = {}  # the physical line of each row of `raw`
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
                    problem = xlsx_problem(archive)
                    if problem:
                        sub.findings.add(env("file_readable"), table=None, detail=problem)
                        return sub
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
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        # The exception's name (BadZipFile…) means nothing to a coordinator: say what to do.
        sub.findings.add(env("file_readable"), table=None, detail=(
            "l'archive ou le classeur est endommagé (fichier incomplet ou abîmé, par exemple lors d'une copie "
            "ou d'un téléchargement) ; exportez-le ou enregistrez-le à nouveau, puis déposez la nouvelle version."))
        return sub
    except Exception:  # calamine raises its own exception types
        sub.findings.add(env("file_readable"), table=None, detail=(
            "le classeur est endommagé ou illisible ; ouvrez-le dans votre tableur et enregistrez-le à nouveau "
            "au format .xlsx."))
        return sub

    for table_name in only:
        if table_name not in raw:
            sub.findings.add(env("table_present"), table=table_name, valeur=Shown(table_name))
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


def member_label(filename: str) -> Shown:
    """How a ZIP member that is not part of the format is named in a report.

    A path that climbs out of the archive (`..`) or starts at the root is never repeated (« nom
    illisible »); for a member in a folder, only its own name is, with the folder mentioned: the
    reader never writes a member anywhere, it only reads it.
    """
    parts = filename.replace("\\", "/").split("/")
    if filename.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", filename):
        return Shown(NAME_UNREADABLE)
    name = shown_name(parts[-1])
    return Shown(f"{name} (dans un dossier de l'archive)") if len(parts) > 1 and name != NAME_UNREADABLE else name


ALLOWED_TABLES = "manifeste, parcours, actions, bilans et attentes"


def _distance(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two short names."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def close_table(name: str) -> str | None:
    """The one table a misnamed member or sheet stands for, if it is clear (« Parcours 2024 », « action »,
    « export_parcours.csv » → parcours, actions, parcours); None when no table or several are close."""
    stem = re.sub(r"\.(csv|txt|tsv|xlsx?|ods)$", "", normalise_header(name))
    letters = re.sub(r"[^a-z]", "", stem)
    if not letters:
        return None
    # The table's name, singular or plural, within the name (« liste d'attente »), or a typing slip away.
    close = {t for t in TABLES if t.removesuffix("s") in letters or (len(letters) >= 4 and _distance(letters, t) <= 2)}
    return close.pop() if len(close) == 1 else None


def _unknown_detail(target: str | None, name: str, *, sheet: bool) -> str:
    """What to do with a member or sheet `name` that is not part of the format (`target`: the table
    its name is close to, if it is missing)."""
    if target is None:
        if sheet:
            return f"retirez-le du classeur (seuls les onglets {ALLOWED_TABLES} sont admis)"
        return f"retirez-le du dépôt (seules les tables {ALLOWED_TABLES} sont admises)"
    if sheet:
        return f"renommez-le « {target} »"
    if not name.lower().endswith(".csv"):
        return f"enregistrez-le au format CSV sous le nom « {target}.csv »"
    if "/" in name or "\\" in name:
        return f"placez-le à la racine de l'archive, sous le nom « {target}.csv »"
    return f"renommez-le « {target}.csv »"


def _common_folder(names: list[str]) -> str:
    """The folder (`export/`) every member sits in, when they all sit in the same one; else ``."""
    folders = {name.replace("\\", "/").rpartition("/")[0] for name in names}  # `\` from some Windows tools
    if len(folders) != 1:
        return ""
    folder = folders.pop()
    parts = folder.split("/")
    if not folder or folder.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", folder):
        return ""
    return folder + "/"


def _read_zip(archive: zipfile.ZipFile, contracts: Contracts, sub: Submission,
              raw: dict, lines: dict, only: tuple[str, ...]) -> None:
    env = contracts.envelope_rule
    members = [info for info in archive.infolist()
               if not (info.is_dir() or info.filename.lower().startswith(IGNORED_MEMBERS)
                       or info.filename.lower().rsplit("/", 1)[-1] in IGNORED_NAMES)]
    # Members that all sit in one folder (an archive made by zipping the export's folder) are read
    # as if they sat at the root.
    folder = _common_folder([info.filename for info in members])
    unknown: list[tuple[str, bool]] = []  # (name under which the member is read, whether it is a link)
    found: set[str] = set()
    for info in members:
        name = info.filename[len(folder):]
        lower = name.lower()
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        table_name = lower.removesuffix(".csv") if lower.endswith(".csv") and not is_link else None
        if table_name not in TABLES:
            unknown.append((name, is_link))
            continue
        if table_name in found:
            sub.findings.add(env("table_once"), table=table_name, valeur=Shown(table_name))
            continue
        found.add(table_name)
        if table_name not in only:
            continue
        data = _decode(archive.read(info), table_name, contracts, sub)
        problem = None if data is None else _csv_problem(data, table_name)
        if problem:
            sub.findings.add(env("file_readable"), table=table_name, detail=problem)
        if data is None or problem:
            sub.unusable.add(table_name)
            raw[table_name], lines[table_name] = pl.DataFrame(), pl.Series(LINE, [], dtype=pl.Int64)
            continue
        raw[table_name], lines[table_name] = _parse_csv(data, table_name, contracts, sub)
    named = [(name, member_label(name), None if link else close_table(name)) for name, link in unknown]
    _add_unknown(sub, env("no_extra_table"), named, found, sheet=False)


def _add_unknown(sub: Submission, rule, unknown: list[tuple[str, Shown, str | None]], found: set[str],
                 *, sheet: bool) -> None:
    """One finding per member or sheet not in the format, given as (name, label, table it is close to);
    one close to a missing table, that no other is close to, is told how to become that table."""
    targets = [target for _, _, target in unknown]
    for name, label, target in unknown:
        if target in found or targets.count(target) > 1 or label in (NAME_UNREADABLE, NAME_NOT_SHOWN):
            target = None
        what = f"L'onglet « {label} »" if sheet else f"Le fichier « {label} »"
        sub.findings.add(rule, table=None, valeur=Shown(what), detail=_unknown_detail(target, name, sheet=sheet))


def _decode(data: bytes, table: str, contracts: Contracts, sub: Submission) -> bytes | None:
    """The member's text as UTF-8 bytes (Windows-1252 transcoded), without a BOM; None for UTF-16.

    Bytes, not a Python string: polars reads them as they are, and the text of a big member is
    never held twice (a `str` and an `io.StringIO` of it take up to five times the file's size).
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        sub.findings.add(contracts.envelope_rule("file_readable"), table=table, detail=(
            f"le fichier {table}.csv est enregistré dans un codage que la plateforme ne lit pas (UTF-16, le "
            "« Texte Unicode » d'Excel) : enregistrez-le en « CSV UTF-8 » (Excel : Enregistrer sous… > CSV UTF-8 ; "
            "LibreOffice : Enregistrer sous… > Texte CSV, jeu de caractères « Unicode (UTF-8) »)."))
        return None
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    try:
        codecs.utf_8_decode(data, "strict", True)  # validation only: the text is dropped at once
        return data
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace").encode("utf-8")


def _csv_problem(data: bytes, table: str) -> str | None:
    """Why a CSV member is not read at all (a line, a header or a grid beyond the limits), if so."""
    longest, where = _longest_line(data)
    if longest > MAX_LINE_BYTES:
        return (f"la ligne {_big(where)} du fichier {table}.csv fait plus de {_big(MAX_LINE_BYTES)} octets "
                f"(limite de la plateforme : {_big(MAX_LINE_BYTES)} octets par ligne) ; vérifiez les fins de ligne.")
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    width = max(first.count(b","), first.count(b";")) + 1
    if width > MAX_COLUMNS:
        return (f"l'en-tête du fichier {table}.csv compte {_big(width)} colonnes "
                f"(limite de la plateforme : {_big(MAX_COLUMNS)}).")
    records = data.count(b"\n") + (not data.endswith(b"\n"))
    if records * width > MAX_CELLS:
        return (f"le fichier {table}.csv compte {_big(records)} lignes de {_big(width)} colonnes, soit plus de "
                f"{_big(MAX_CELLS)} cellules (limite de la plateforme).")
    return None


def _longest_line(data: bytes) -> tuple[int, int]:
    """Length in bytes of the longest physical line, and its number (1 = first line)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    longest, where, previous, seen = 0, 1, -1, 0
    for start in range(0, max(arr.size, 1), _SCAN_BLOCK):
        ends = np.flatnonzero(arr[start:start + _SCAN_BLOCK] == ord("\n")) + start
        if not ends.size:
            continue
        lengths = np.diff(np.concatenate(([previous], ends))) - 1
        i = int(lengths.argmax())
        if lengths[i] > longest:
            longest, where = int(lengths[i]), seen + i + 1
        previous, seen = int(ends[-1]), seen + ends.size
    if arr.size - previous - 1 > longest:
        longest, where = arr.size - previous - 1, seen + 1
    return longest, where


def _positional(frame: pl.DataFrame) -> pl.DataFrame:
    """Name the columns c0, c1, … by position, all as text."""
    return frame.select(pl.col(c).cast(pl.String).alias(f"c{i}") for i, c in enumerate(frame.columns))


def _parse_csv(data: bytes, table: str, contracts: Contracts,
               sub: Submission) -> tuple[pl.DataFrame, pl.Series]:
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    sep = ";" if first.count(b";") > first.count(b",") else ","
    if b'"' not in data:
        # Fast path: one record per physical line.
        try:
            frame = pl.read_csv(data, separator=sep, has_header=False,
                                infer_schema=False, quote_char=None, raise_if_empty=False,
                                truncate_ragged_lines=False)
            return _positional(frame), pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(LINE)
        except pl.exceptions.PolarsError:
            pass  # ragged lines: the csv module below says which
    blocks: list[pl.DataFrame] = []
    rows: list[list[str | None]] = []
    row_lines = array("q")  # 8 bytes a line, not a Python int each
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")  # decoded as it is read
    reader = csv.reader(text, delimiter=sep, quotechar='"')
    # The limit is the process's: a library imported beside the reader may have raised it (frictionless does,
    # on import), and a field of many megabytes (an unclosed quote) would then be read whole. Ours, while
    # this file is read.
    outer_limit = csv.field_size_limit(MAX_CSV_FIELD)
    start = 1
    width = None
    bad = []  # the first MAX_LINES malformed lines (line, detail), and how many in all
    n_bad = 0
    try:
        for record in reader:
            if width is None:
                width = len(record)
            if record and len(record) > width and any(x.strip() for x in record[width:]):
                n_bad += 1
                if len(bad) < MAX_LINES:
                    bad.append((start, f"{len(record)} valeurs pour {width} colonnes"))
            rows.append(record[:width] + [None] * max(0, width - len(record)))
            row_lines.append(start)
            start = reader.line_num + 1
            if len(rows) == _CSV_BLOCK:  # Python lists cost about 60 bytes a cell: a frame at a time
                blocks.append(pl.DataFrame(rows, schema=[(f"c{i}", pl.String) for i in range(width)], orient="row"))
                rows = []
    except csv.Error as exc:
        n_bad += 1
        bad.append((start, f"erreur de lecture : {_csv_error(exc)}"))
    finally:
        csv.field_size_limit(outer_limit)
    if bad:
        rule = contracts.envelope_rule("row_shape")
        sub.findings.add_many(rule, table=table, column=None, lines=[b[0] for b in bad],
                              values=[{"detail": b[1]} for b in bad], count=n_bad)
        sub.unusable.add(table)
    lines = pl.Series(LINE, np.frombuffer(row_lines, dtype=np.int64) if row_lines else [], dtype=pl.Int64)
    if width is None:
        return pl.DataFrame(), lines
    blocks.append(pl.DataFrame(rows, schema=[(f"c{i}", pl.String) for i in range(width)], orient="row"))
    return pl.concat(blocks, rechunk=False), lines


def _csv_error(exc: csv.Error) -> str:
    """The csv module's English error, in French (its text never holds a value of the file)."""
    text = str(exc)
    if "field larger than field limit" in text:
        return f"un champ entre guillemets dépasse {_big(MAX_CSV_FIELD)} caractères (guillemet non fermé ?)"
    if "NUL" in text:
        return "la ligne contient un octet nul"
    if "new-line character" in text or "unexpected end of data" in text:
        return "un guillemet n'est pas fermé avant la fin de la ligne"
    return "la ligne ne peut pas être découpée en colonnes"


def _read_xlsx(data: bytes, contracts: Contracts, sub: Submission, raw: dict, lines: dict,
               only: tuple[str, ...]) -> None:
    import fastexcel

    env = contracts.envelope_rule
    reader = fastexcel.read_excel(data)
    unknown: list[tuple[str, Shown, str | None]] = []
    for sheet_name in reader.sheet_names:
        key = sheet_name.strip().lower()
        if key in TEMPLATE_SHEETS:
            continue
        if key not in TABLES:
            if _empty_sheet(reader, sheet_name):  # « Feuil1 » left by the spreadsheet: nothing to lose
                sub.findings.add(env("empty_sheet"), table=None, valeur=shown_name(sheet_name))
            else:
                unknown.append((sheet_name, shown_name(sheet_name), close_table(sheet_name)))
            continue
        if key in raw:
            sub.findings.add(env("table_once"), table=key, valeur=Shown(key))
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
        lines[key] = pl.int_range(first + 1, frame.height + 1, dtype=pl.Int64, eager=True).alias(LINE)
        _note_numeric_cells(reader, sheet_name, key, raw[key], lines[key], contracts, sub)
    found = {n.strip().lower() for n in reader.sheet_names} & set(TABLES)
    _add_unknown(sub, env("no_extra_table"), unknown, found, sheet=True)


def _empty_sheet(reader, sheet_name: str) -> bool:
    """Whether a sheet holds no cell with a value (spaces only count as empty); a sheet that cannot be
    read as cells (a chart sheet…) is not empty: it stays an element outside the format."""
    try:
        frame = reader.load_sheet(sheet_name, header_row=None, skip_rows=0, dtypes="string").to_polars()
    except Exception:  # calamine raises its own exception types
        return False
    if not frame.width or not frame.height:
        return True
    return not frame.select(pl.any_horizontal(pl.all().str.strip_chars().fill_null("") != "").any()).item()


def _note_numeric_cells(reader, sheet_name: str, table: str, rows: pl.DataFrame, row_lines: pl.Series,
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


def _header(table: Table, rows: pl.DataFrame, row_lines: pl.Series, contracts: Contracts,
            sub: Submission) -> tuple[dict[str, int], list[str]] | None:
    env = contracts.envelope_rule
    if rows.height == 0:
        sub.findings.add(env("required_column"), table=table.name, line=1, valeur=Shown("(en-tête)"))
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
                                 valeur=Shown(f"(sans nom, colonne {i + 1})"))
            continue
        if name in positions:
            sub.findings.add(env("column_once"), table=table.name, line=line, column=name, valeur=Shown(name))
            sub.unusable.add(table.name)
            continue
        if name not in table.column_names:
            rule = env("no_personal_column") if _is_personal_column(name) else env("no_extra_column")
            sub.findings.add(rule, table=table.name, line=line, column=shown_name(name),
                             valeur=shown_name(titles[i]))
            continue
        positions[name] = i
    missing_required = []
    for column in table.columns:
        if column.name not in positions:
            if column.required:
                missing_required.append(column.name)
                sub.findings.add(env("required_column"), table=table.name, line=line,
                                 column=column.name, valeur=Shown(column.name))
            else:
                sub.findings.add(env("optional_column"), table=table.name, line=line,
                                 column=column.name, valeur=Shown(column.name))
    if missing_required:
        sub.unusable.add(table.name)
    return positions, header


def _build_table(table: Table, rows: pl.DataFrame, row_lines: pl.Series, contracts: Contracts,
                 sub: Submission) -> None:
    found = _header(table, rows, row_lines, contracts, sub)
    if found is None:
        return
    positions, _ = found
    empty = pl.repeat(None, pl.len(), dtype=pl.String)
    frame = rows.slice(1).select(
        (pl.col(f"c{positions[c.name]}") if c.name in positions else empty).alias(c.name) for c in table.columns)
    frame = frame.with_columns(row_lines.slice(1).alias(LINE))
    frame = _clean_text(frame, table)
    # Empty trailing (or stray empty) rows are not records.
    frame = frame.filter(~pl.all_horizontal(pl.col(c.name).is_null() for c in table.columns))
    sub.raw_rows[table.name] = frame.height
    frame = _repair(frame, table, contracts, sub)
    sub.tables[table.name] = _type(frame, table, sub)


def _build_manifest(table: Table, frame: pl.DataFrame, row_lines: pl.Series, contracts: Contracts,
                    sub: Submission) -> None:
    env = contracts.envelope_rule
    if frame.height > MAX_MANIFEST_LINES:
        sub.findings.add(env("file_readable"), table=table.name, detail=(
            f"le manifeste compte {_big(frame.height)} lignes (limite de la plateforme : "
            f"{_big(MAX_MANIFEST_LINES)} ; il n'a que cinq clés)."))
        sub.unusable.add(table.name)
        return
    rows = frame.rows()  # a few key/value lines
    if not rows:
        sub.findings.add(env("required_column"), table=table.name, line=1, valeur=Shown("cle"))
        sub.unusable.add(table.name)
        return
    header = [normalise_header(h) for h in rows[0]]
    if "cle" not in header or "valeur" not in header:
        for name in ("cle", "valeur"):
            if name not in header:
                sub.findings.add(env("required_column"), table=table.name, line=row_lines[0],
                                 column=name, valeur=Shown(name))
        sub.unusable.add(table.name)
        return
    for i, name in enumerate(header):
        if name and name not in ("cle", "valeur"):
            rule = env("no_personal_column") if _is_personal_column(name) else env("no_extra_column")
            sub.findings.add(rule, table=table.name, line=row_lines[0], column=shown_name(name),
                             valeur=shown_name(rows[0][i]))
    k, v = header.index("cle"), header.index("valeur")
    values: dict[str, str | None] = {}
    unknown = next(r for r in table.table_rules if r.kind == "unknown_key")
    duplicate = next(r for r in table.table_rules if r.kind == "duplicate_key")
    key_lines: dict[str, list[int]] = {}  # the lines of each key, to name them all when one is repeated
    for row, line in zip(rows[1:], row_lines.slice(1).to_list(), strict=True):
        key_lines.setdefault(normalise_header(row[k] if k < len(row) else None), []).append(line)
    for row, line in zip(rows[1:], row_lines.slice(1).to_list(), strict=True):
        key = normalise_header(row[k] if k < len(row) else None)
        value = row[v] if v < len(row) else None
        value = None if value is None or value.strip() in NULL_TOKENS else value.strip()
        if not key:
            continue
        if key not in table.column_names:
            sub.findings.add(unknown, table=table.name, line=line, column="cle", valeur=shown_name(key))
            continue
        if key in values:
            sub.findings.add(duplicate, table=table.name, line=line, column="cle", valeur=Shown(key),
                             lignes=line_list(key_lines[key]))
            continue
        values[key] = value
        sub.manifest_lines[key] = line
    for column in table.columns:
        if column.name not in values and column.required:  # a line of the manifest, not a column
            sub.findings.add(env("required_column"), table=table.name, line=None, column=column.name,
                             valeur=Shown(column.name), **{VARIANT: MISSING_KEY})
            sub.unusable.add(table.name)
    frame = pl.DataFrame({c.name: [values.get(c.name)] for c in table.columns},
                         schema={c.name: pl.String for c in table.columns})
    frame = frame.with_columns(pl.lit(row_lines[0] + 1, dtype=pl.Int64).alias(LINE))
    frame = _clean_text(frame, table)
    sub.raw_rows[table.name] = 1
    sub.tables[table.name] = _type(frame, table, sub, lines=sub.manifest_lines)


def _clean_text(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Trim, read null tokens as empty, and read codes case-insensitively.

    A code is upper-cased only when that makes it one of the column's codes (or match its pattern):
    a value that stays wrong keeps its spelling, so that a report judges what the file holds
    (« Mme Durand » is not turned into a capitalised code-like « MME DURAND » and repeated).
    """
    exprs = []
    for c in table.columns:
        e = pl.col(c.name).str.strip_chars()
        e = pl.when(e.is_in(list(NULL_TOKENS))).then(None).otherwise(e)
        if c.nature == "code":
            upper = e.str.to_uppercase()
            valid = _code_test(c, upper)
            e = upper if valid is None else pl.when(valid).then(upper).otherwise(e)
        exprs.append(e.alias(c.name))
    return frame.with_columns(exprs)


def _code_test(column: Column, value: pl.Expr) -> pl.Expr | None:
    """Whether `value` is a valid code of the column (its list, its patterns); None when it has neither."""
    tests = [value.str.contains(r.params["pattern"]) for r in column.rules if r.kind == "pattern"]
    if column.codes is not None:
        tests.append(value.is_in(column.codes))
    if not tests:
        return None
    return pl.all_horizontal(tests).fill_null(False)


def _repair(frame: pl.DataFrame, table: Table, contracts: Contracts, sub: Submission) -> pl.DataFrame:
    """Undo what spreadsheets do to identifiers and INSEE codes, with a warning."""
    env = contracts.envelope_rule
    for c in table.columns:
        if c.logical_type != "string" or c.nature not in ("identifiant", "code"):
            continue
        damaged = frame[c.name].str.contains(_DAMAGED_INT.pattern).fill_null(False)
        if damaged.any():
            sub.findings.add_many(env("integer_text_repair"), table=table.name, column=c.name,
                                  lines=frame[LINE].filter(damaged).head(MAX_LINES).to_list(),
                                  count=int(damaged.sum()))
            frame = frame.with_columns(
                pl.when(damaged).then(pl.col(c.name).str.replace(r"\.0+$", "")).otherwise(pl.col(c.name))
                .alias(c.name))
        if c.name == "code_commune":
            short = frame[c.name].str.contains(r"^[0-9]{4}$").fill_null(False)
            if short.any():
                before = frame[c.name].filter(short).head(MAX_EXAMPLES).to_list()
                sub.findings.add_many(env("leading_zero_repair"), table=table.name, column=c.name,
                                      lines=frame[LINE].filter(short).head(MAX_LINES).to_list(),
                                      values=[{"valeur": b, "autre": "0" + b} for b in before],
                                      count=int(short.sum()))
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
            refused = frame[LINE].filter(failed)
            sub.type_refused.setdefault(table.name, {})[c.name] = refused.to_list()
            # The report keeps MAX_LINES lines and MAX_EXAMPLES values: only those become Python objects.
            bad_lines = [lines.get(c.name)] if lines is not None else refused.head(MAX_LINES).to_list()
            examples = frame[c.name].filter(failed).head(MAX_EXAMPLES).to_list()
            sub.findings.add_many(rule, table=table.name, column=c.name, lines=bad_lines,
                                  values=[_type_values(c, rule, v) for v in examples],
                                  count=len(bad_lines) if lines is not None else refused.len())
    return typed


def _type_values(column: Column, rule: Rule, text: str) -> dict:
    """What a refused cell's message says: that the date does not exist when it has a date's shape
    (`IMPOSSIBLE_DATE`), that the € must go when the amount is fine without it (`EURO_SIGN`), else
    that the value is not of the column's type."""
    values: dict = {"valeur": shown_value(text)}
    if column.logical_type == "date" and rule.has_variant(IMPOSSIBLE_DATE):
        problem = impossible_date(text)
        if problem:
            values.update({"detail": problem, VARIANT: IMPOSSIBLE_DATE})
    elif rule.has_variant(EURO_SIGN):
        amount = text.strip()
        amount = amount[1:] if amount.startswith("€") else amount.removesuffix("€")  # € before or after
        if amount != text.strip() and "€" not in amount and \
                pl.DataFrame({column.name: [amount]}).select(_typed_expr(column)).item() is not None:
            values[VARIANT] = EURO_SIGN
    return values


_DAY_FIRST = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_YEAR_FIRST = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]00:00:00(?:\.0+)?)?")


def impossible_date(text: str) -> str | None:
    """Why a value written as a date (JJ/MM/AAAA or AAAA-MM-JJ) is no day of the calendar
    (« ce mois n'a que 28 jours »), or None: not a date's shape, or a real day."""
    text = text.strip()
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(x) for x in match.groups())
    elif match := _YEAR_FIRST.fullmatch(text):
        year, month, day = (int(x) for x in match.groups())
    else:
        return None
    if year < 1:
        return None
    if not 1 <= month <= 12:
        return f"il n'y a pas de mois {month}"
    if day < 1:
        return "il n'y a pas de jour 0"
    last = calendar.monthrange(year, month)[1]
    return f"ce mois n'a que {last} jours" if day > last else None

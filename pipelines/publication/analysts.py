"""What analysts take out of the warehouse: the unmasked indicators as a file, and a fresh copy of the
warehouse to open in a notebook or DuckDB's command line.

Analysts have the warehouse anyway (operations.md: `warehouse.duckdb`, analysts' full-detail database);
these files are never published. Both read the warehouse under its writer lock, for the second or so the
read takes, so a load never sees them half-way and they never hold the lock longer:

- `indicators(...)`: `marts.indicateurs` unmasked, with French labels, the 95 % bounds and completeness;
  `write(frame, fmt, path)` writes it as CSV, XLSX or Parquet, each marked for internal use in the file
  itself (a `diffusion` column on every row; the XLSX's first row and a "lisez-moi" sheet; the Parquet's
  key-value metadata), so that a copy forwarded by mistake says what it is.
- `analysis_copy(home, out)`: the whole warehouse copied into a new DuckDB file (tables, views, macros), made
  read-only (mode 0400: row-level data, pseudonymised); the default place keeps the latest copy only.
"""

from __future__ import annotations

import csv
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.warehouse.catalogue import catalogue, catalogue_categories
from pipelines.warehouse.store import writer_lock

INTERNAL = "usage interne — non diffusable"
NOTICE = (f"{INTERNAL[0].upper()}{INTERNAL[1:]} : indicateurs NON MASQUÉS par le secret statistique, réservés aux "
          "analyses internes ; ne les transmettez pas et ne les publiez pas (les chiffres diffusables sont ceux du "
          "tableau de bord, des éditions et de « pre-eval export »).")
FORMATS = ("csv", "xlsx", "parquet")
COPY_FOLDER = "analyse"  # under the data home: the latest copy only
COLUMNS = ["indicateur", "libelle", "categorie", "libelle_categorie", "niveau", "territoire", "periode", "valeur",
           "effectif", "borne_basse", "borne_haute", "complet", "part_sites_complets", "diffusion"]


class AnalystError(ValueError):
    """A request that cannot be met (French message); nothing written."""


def indicators(home: DataHome, *, indicateur: str | None = None, niveau: str | None = None,
               territoire: str | None = None, periode: str | None = None,
               categorie: str | None = None) -> pl.DataFrame:
    """`marts.indicateurs` of the warehouse, unmasked, filtered (filters reach SQL as parameters only)."""
    if not home.warehouse.exists():
        raise AnalystError("Aucun entrepôt : lancez d'abord « pre-eval process ».")
    known = {i.code for i in catalogue()}
    if indicateur is not None and indicateur not in known:
        raise AnalystError("Indicateur inconnu : voyez la liste des codes dans docs/indicateurs.md.")
    with writer_lock(home):
        con = duckdb.connect(str(home.warehouse), read_only=True)
        try:
            frame = con.sql(
                """
                select i.indicateur, i.categorie, i.niveau, i.territoire, i.periode, i.valeur, i.effectif,
                       i.borne_basse, i.borne_haute, c.complet, c.part_sites_complets
                from marts.indicateurs as i
                left join marts.completude as c using (niveau, territoire, periode)
                where (? is null or i.indicateur = ?) and (? is null or i.niveau = ?)
                  and (? is null or i.territoire = ?) and (? is null or i.periode = ?)
                  and (? is null or i.categorie = ?)
                order by i.indicateur, i.niveau, i.territoire, i.periode, i.categorie
                """,
                params=[indicateur, indicateur, niveau, niveau, territoire, territoire, periode, periode,
                        categorie, categorie]).pl()
        finally:
            con.close()
    labels = {i.code: i.libelle for i in catalogue()}
    category_labels = {k: v for values in catalogue_categories().values() for k, v in values.items()}
    return frame.with_columns(
        pl.col("indicateur").replace_strict(labels, default=None).alias("libelle"),
        pl.col("categorie").replace_strict(category_labels, default="").alias("libelle_categorie"),
        pl.lit(INTERNAL).alias("diffusion"),
    ).select(COLUMNS)


def write(frame: pl.DataFrame, fmt: str, path: Path) -> Path:
    """Write the unmasked indicators as `fmt` to `path` (a new file, atomically)."""
    if fmt not in FORMATS:
        raise AnalystError(f"Format inconnu : choisissez {', '.join(FORMATS)}.")
    path = Path(path)
    if path.is_dir():
        raise AnalystError("--out doit nommer un fichier, pas un dossier.")
    if not path.parent.is_dir():
        raise AnalystError("Le dossier de --out n'existe pas.")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if fmt == "csv":
            _write_csv(frame, tmp)
        elif fmt == "xlsx":
            _write_xlsx(frame, tmp)
        else:
            import pyarrow.parquet as pq

            table = frame.to_arrow()
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"diffusion": INTERNAL.encode(),
                                                   b"avertissement": NOTICE.encode()})
            pq.write_table(table, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return formats.neutralise(str(value))


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (spreadsheets then read the accents), comma-separated, `.` decimal mark, values in full;
    every row says what the file is (`diffusion`); no cell can start a formula."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(frame.columns)
        for row in frame.iter_rows():
            writer.writerow([_cell(v) for v in row])


def _write_xlsx(frame: pl.DataFrame, path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        warn = book.add_format({"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE", "text_wrap": True})
        head = book.add_format({"bold": True, "bottom": 1})
        sheet = book.add_worksheet("indicateurs")
        sheet.merge_range(0, 0, 0, len(frame.columns) - 1, NOTICE, warn)
        sheet.set_row(0, 45)
        sheet.write_row(1, 0, frame.columns, head)
        for r, row in enumerate(frame.iter_rows(), start=2):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    sheet.write_string(r, c, "oui" if value else "non")
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
        sheet.freeze_panes(2, 0)
        sheet.autofilter(1, 0, max(1, frame.height + 1), len(frame.columns) - 1)
        about = book.add_worksheet("lisez-moi")
        about.set_column(0, 0, 110)
        for r, line in enumerate([NOTICE, "",
                                  "Valeurs non arrondies, telles que dans l'entrepôt (marts.indicateurs).",
                                  "Définitions : docs/indicateurs.md (page « Méthodologie » du tableau de bord).",
                                  f"Extrait le {datetime.now(tz=UTC):%d/%m/%Y à %H:%M} (UTC)."]):
            about.write_string(r, 0, line, warn if r == 0 else None)
        book.set_properties({"title": "Indicateurs PRE — " + INTERNAL, "comments": NOTICE})
    finally:
        book.close()


def analysis_copy(home: DataHome, out: Path | None = None) -> Path:
    """A new read-only DuckDB file holding the whole warehouse (tables, views, macros), for notebooks and
    DuckDB's CLI; by default `$PRE_HOME/analyse/entrepot_<horodatage>.duckdb`, replacing earlier copies."""
    if not home.warehouse.exists():
        raise AnalystError("Aucun entrepôt : lancez d'abord « pre-eval process ».")
    default = out is None
    folder = home.root / COPY_FOLDER if default else Path(out).parent
    if default:
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / f"entrepot_{datetime.now(tz=UTC):%Y%m%d-%H%M%S}.duckdb"
    else:
        target = Path(out)
        if target.suffix != ".duckdb":
            raise AnalystError("--out doit nommer un fichier .duckdb.")
        if not folder.is_dir():
            raise AnalystError("Le dossier de --out n'existe pas.")
    if target.exists():
        raise AnalystError("Ce fichier existe déjà : choisissez un autre nom (une copie n'en remplace jamais une "
                           "autre).")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with writer_lock(home):
            con = duckdb.connect()
            try:
                # Paths are given as parameters-free literals: both are ours (the data home, a checked name),
                # quotes doubled.
                con.execute(f"attach '{_quoted(home.warehouse)}' as entrepot (read_only)")
                con.execute(f"attach '{_quoted(tmp)}' as copie")
                con.execute("copy from database entrepot to copie")
                con.execute("detach copie")
            finally:
                con.close()
        os.chmod(tmp, 0o400)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    if default:
        for older in folder.glob("entrepot_*.duckdb"):
            if older != target:
                older.chmod(0o600)
                older.unlink()
    return target


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def render_table(rows: list[dict], limit: int = 200) -> str:
    """A plain-text French table (analyst's quick look; values unmasked, as in the warehouse)."""
    if not rows:
        return "Aucun indicateur ne correspond à ces filtres."
    labels = {i.code: i for i in catalogue()}
    category_labels = {k: v for values in catalogue_categories().values() for k, v in values.items()}
    header = ["Indicateur", "Catégorie", "Niveau", "Territoire", "Période", "Valeur", "Effectif", "Données"]
    lines = []
    for row in rows[:limit]:
        ind = labels[row["indicateur"]]
        if row["complet"] is None:
            complete = "—"
        elif row["complet"]:
            complete = "complètes"
        else:
            complete = f"incomplètes ({formats.percent(row['part_sites_complets'], 0)} des sites complets)"
        lines.append([ind.libelle, category_labels.get(row["categorie"], row["categorie"]), row["niveau"],
                      row["territoire"], row["periode"], formats.by_kind(row["valeur"], ind.format),
                      formats.number(row["effectif"]), complete])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    if len(rows) > limit:
        out.append(f"… {formats.number(len(rows) - limit)} lignes de plus (affinez les filtres ou augmentez --limite).")
    return "\n".join(out)

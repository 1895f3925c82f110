"""The published copy: what the dashboard reads, rebuilt as a new file and swapped in atomically.

DuckDB lets one process write a file or many read it, never both: the dashboard therefore never
opens the warehouse, but this copy, built as a new file, synced, then moved over the previous one
with `os.replace` (readers see the old copy or the new one, never a mix).

The copy holds aggregates only: the indicators already masked by `pipelines.publication.disclosure`
(with a `masque` column), so that every page, chart and download shows the same masked cells; the
Kaplan–Meier curves only where at least s requests are at risk and the requests are shown; the
waits around an action's arrival at a site (`marts.attentes_autour_action`) with the windows of fewer than
s requests masked; the
submissions ledger, the sites, the periods and the completeness of the data. No row-level table of
pathways, actions, bilans or requests leaves the warehouse.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import duckdb
import polars as pl

from pipelines import settings
from pipelines.common import timings
from pipelines.common.datahome import DataHome, share_dir, share_file, write_once
from pipelines.contracts.model import DATA_TABLES
from pipelines.publication import disclosure
from pipelines.warehouse.store import connect

PUBLISHED_NAME = "entrepot.duckdb"
# A coordinator sees its own site's figures unmasked (access.md): the sites' unmasked indicator rows
# live in a file of their own, which editions and exports never copy; the dashboard reads a site's
# rows only for that site's coordinators, on that site's pages.
OWN_SITES_NAME = "sites_non_masques.duckdb"
SEED_FILE = "graine_secret_statistique"
MEMO_FOLDER = "masques"  # under secret/: each period's masks under the hash of what they depend on
# Marts rebuilt here, masked; the others are copied as they are, but for the row-level snapshots
# (pathways, actions, bilans, requests), which stay in the warehouse: the copy holds aggregates only.
MASKED_MARTS = ("indicateurs", "km_courbes", "attentes_autour_action")
ROW_LEVEL_MARTS = DATA_TABLES


def published_path(home: DataHome) -> Path:
    return home.published / PUBLISHED_NAME


def secret_seed(home: DataHome) -> bytes:
    """The key of the draws among equivalent complements (created on first use, owner-only, never
    published): without it a reader cannot predict which cell completed a protection."""
    path = home.secret / SEED_FILE
    if not path.exists():
        home.secret.mkdir(parents=True, exist_ok=True)
        os.chmod(home.secret, 0o700)
        write_once(path, secrets.token_hex(32).encode("ascii"))  # atomic: never read half-written
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def masked_indicators(con: duckdb.DuckDBPyConnection, home: DataHome) -> disclosure.TableProtection:
    """`marts.indicateurs` of the warehouse, masked for everyone who is not an analyst: read one period at
    a time, the masks joined back in DuckDB (`disclosure.protect_table`)."""
    return disclosure.protect_table(con, "marts.indicateurs", hierarchy(con), seed=secret_seed(home),
                                    memo=home.secret / MEMO_FOLDER)


def hierarchy(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The sites in force with their département and région (the territories' additivity)."""
    return con.sql("select code_pre, departement, region from staging.sites_en_vigueur").pl()


def publish(home: DataHome) -> Path:
    """Copy the marts (the indicators masked) into a new file and swap it in atomically.

    The copies are readable by the dashboard's group (folder 2750, files 0640: `datahome`); the
    mode is set on the new file before it replaces the old one, so the swap keeps it."""
    share_dir(home.published)
    target = published_path(home)
    tmp = home.published / f".{uuid.uuid4().hex}.duckdb.tmp"
    threshold = settings.load().SEUIL_SECRET
    # This step holds the periods being solved and one byte of mask a row; DuckDB's part only streams
    # copies, so it gets a quarter of its usual bound (its sorts and joins spill to disk beyond): 330 MB
    # less at the national peak, in the same time (docs/performance.md).
    with connect(home, memory_share=4) as con:
        with timings.measure("secret"):
            protection = masked_indicators(con, home)
        with timings.measure("publication"):
            _write_copy(con, tmp, protection, threshold)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(share_file(tmp), target)
            _write_own_sites(con, home)
    return target


def own_sites_path(home: DataHome) -> Path:
    return home.published / OWN_SITES_NAME


def _write_own_sites(con: duckdb.DuckDBPyConnection, home: DataHome) -> None:
    tmp = home.published / f".{uuid.uuid4().hex}.duckdb.tmp"
    con.execute("attach ? as sites_non_masques", [str(tmp)])
    try:
        con.execute("create schema sites_non_masques.marts")
        con.execute("create table sites_non_masques.marts.indicateurs_site as select * from marts.indicateurs "
                    "where niveau = 'pre' order by territoire, indicateur, periode, categorie")
    finally:
        con.execute("detach sites_non_masques")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(share_file(tmp), own_sites_path(home))


def own_site_indicators(home: DataHome, code_pre: str) -> pl.DataFrame:
    """One site's indicator rows, unmasked: for that site's coordinators only (the caller checks)."""
    con = duckdb.connect(str(own_sites_path(home)), read_only=True)
    try:
        return con.sql("select * from marts.indicateurs_site where territoire = $code",
                       params={"code": code_pre}).pl()
    finally:
        con.close()


def _write_copy(con: duckdb.DuckDBPyConnection, tmp: Path, protection: disclosure.TableProtection,
                threshold: int) -> None:
    con.execute("attach ? as publie", [str(tmp)])
    try:
        con.execute("create schema publie.marts")
        for (name,) in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'marts' union select view_name from duckdb_views() "
                "where database_name = current_database() and schema_name = 'marts' and not internal "
                "order by 1").fetchall():
            if name not in MASKED_MARTS and name not in ROW_LEVEL_MARTS:
                con.execute(f"create table publie.marts.{name} as select * from marts.{name}")
        con.execute(f"create table publie.marts.indicateurs as {protection.select}")
        # A curve is drawn while at least s requests are at risk, for requests whose count is shown.
        con.execute("""
            create table publie.marts.km_courbes as
            select k.niveau, k.territoire, k.periode, k.categorie, k.jours, k.survie
            from marts.km_courbes as k
            inner join publie.marts.indicateurs as i
                on i.indicateur = 'demandes_attente' and i.niveau = k.niveau and i.territoire = k.territoire
                and i.periode = k.periode and i.categorie = k.categorie and not i.masque
            where k.n_a_risque >= ?
            order by all
        """, [threshold])
        # The waits around an action's arrival at a site: a window of fewer than s requests is masked.
        hidden_requests = con.sql(
            "select * from publie.marts.indicateurs where indicateur = 'demandes_attente' and niveau = 'pre' "
            "and masque").pl()
        fenetres = disclosure.mask_windows(  # noqa: F841 - read by DuckDB by name
            con.sql("select * from marts.attentes_autour_action").pl(), threshold=threshold,
            periods=con.sql("select * from marts.periodes").pl(), indicators=hidden_requests)
        con.execute("create table publie.marts.attentes_autour_action as select * from fenetres")
        # What the protection did, per level: for the methodology page and the documentation.
        con.execute(f"""
            create table publie.marts.secret_statistique as
            select niveau, count(*) as lignes, count(*) filter (where {disclosure.MASK_COLUMN}) as lignes_masquees,
                $seuil as seuil, $primaires as comptes_primaires, $secondaires as comptes_secondaires
            from publie.marts.indicateurs
            group by niveau
            order by niveau
        """, {"seuil": threshold, "primaires": protection.primary, "secondaires": protection.secondary})
    finally:
        con.execute("detach publie")


def open_published(home: DataHome) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection to the published copy (for dashboards and checks)."""
    return duckdb.connect(str(published_path(home)), read_only=True)

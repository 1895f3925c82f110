"""Frozen editions: the figures funders quote, which do not move under them.

`pre-eval edition creer NOM` copies the published copy as it is at that moment (masked indicators,
aggregates only) into `$PRE_HOME/editions/NOM/`, with `edition.json`: when it was made, the
methodology version (a fingerprint of the catalogue, the norms, the SQL and the contracts), the
threshold, the sites and extraction dates behind the figures, and the result of the intruder's
audit. The folder is written under a temporary name, renamed when complete, then made read-only;
an existing name is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import polars as pl

from pipelines import settings
from pipelines.common.datahome import DataHome, share_dir
from pipelines.contracts.model import CONTRACTS_DIR
from pipelines.publication import disclosure
from pipelines.publication.published import PUBLISHED_NAME, published_path
from pipelines.warehouse.catalogue import CATALOGUE, EVALUATED_ACTIONS, NORMS
from pipelines.warehouse.models import SQL_DIR

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DESCRIPTION = "edition.json"
LIVE = "continu"  # the dashboard's name for the live, provisional figures


class EditionError(ValueError):
    """A French message for whoever asked for the edition."""


def editions_dir(home: DataHome) -> Path:
    return home.root / "editions"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name) or name == LIVE or name.startswith("."):
        raise EditionError("Nom d'édition invalide : de 1 à 64 caractères parmi lettres sans accent, chiffres, "
                           f"« - », « _ » et « . », commençant par une lettre ou un chiffre (et pas « {LIVE} »).")
    return name


def methodology_version() -> str:
    """A fingerprint of everything that defines the figures: catalogue, norms, evaluated actions, SQL, contracts."""
    digest = hashlib.sha256()
    files = [CATALOGUE, NORMS, EVALUATED_ACTIONS, *sorted(SQL_DIR.glob("*/*.sql")),
             *sorted(CONTRACTS_DIR.glob("*.odcs.yaml"))]
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _platform_version() -> str:
    try:
        return version("pre-eval")
    except PackageNotFoundError:
        return "inconnue"


def edition_file(home: DataHome, name: str) -> Path:
    """The database of an existing edition (the name is checked: it may come from a URL)."""
    path = editions_dir(home) / check_name(name) / PUBLISHED_NAME
    if not path.is_file():
        raise EditionError(f"L'édition « {name} » n'existe pas.")
    return path


def describe(home: DataHome, name: str) -> dict:
    return json.loads((editions_dir(home) / check_name(name) / DESCRIPTION).read_text(encoding="utf-8"))


def list_editions(home: DataHome) -> list[dict]:
    """Every complete edition's description, newest first."""
    root = editions_dir(home)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if NAME.match(folder.name) and (folder / DESCRIPTION).is_file() and (folder / PUBLISHED_NAME).is_file():
            found.append(json.loads((folder / DESCRIPTION).read_text(encoding="utf-8")))
    return sorted(found, key=lambda e: (e["cree_le"], e["nom"]), reverse=True)


def sites_behind(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The sites whose snapshot in force the figures rest on, with their extraction dates."""
    return con.sql("""
        select d.code_pre, s.nom, d.date_extraction, d.date_debut_donnees
        from marts.depots as d left join marts.sites as s using (code_pre)
        where d.en_vigueur and d.statut = 'accepte'
        order by d.code_pre""").pl()


def create(home: DataHome, name: str) -> dict:
    """Freeze the published figures as edition `name`; returns its description."""
    check_name(name)
    root = editions_dir(home)
    target = root / name
    if target.exists():
        raise EditionError(f"L'édition « {name} » existe déjà : une édition n'est jamais modifiée ; "
                           "choisissez un autre nom.")
    source = published_path(home)
    if not source.is_file():
        raise EditionError("Aucune publication à figer : lancez d'abord « pre-eval process ».")
    share_dir(root)  # read by the dashboard's group, like published/
    work = root / f".{name}.{uuid.uuid4().hex}.tmp"
    work.mkdir()
    try:
        shutil.copyfile(source, work / PUBLISHED_NAME)
        con = duckdb.connect(str(work / PUBLISHED_NAME), read_only=True)
        try:
            sites = sites_behind(con)
            indicators = con.sql("select * from marts.indicateurs").pl()
            hierarchy = con.sql("select code_pre, departement, region from marts.sites where code_pre in "
                                "(select distinct territoire from marts.indicateurs where niveau = 'pre')").pl()
        finally:
            con.close()
        threshold = settings.load().SEUIL_SECRET
        audit = disclosure.audit(indicators, hierarchy, threshold=threshold)
        description = {
            "nom": name,
            "cree_le": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "methodologie": methodology_version(),
            "version_plateforme": _platform_version(),
            "seuil": threshold,
            "sites": [{**row, "date_extraction": str(row["date_extraction"]),
                       "date_debut_donnees": None if row["date_debut_donnees"] is None
                       else str(row["date_debut_donnees"])} for row in sites.to_dicts()],
            "lignes": indicators.height,
            "lignes_masquees": int(indicators[disclosure.MASK_COLUMN].sum()),
            "audit": {"comptes_masques": audit.masked_counts, "trop_etroits": len(audit.narrow),
                      "violations_primaires": len(audit.primary_violations), "duree_s": round(audit.seconds, 1)},
        }
        if not audit.passed:
            raise EditionError(f"L'audit du secret statistique a échoué ({len(audit.narrow)} chiffres masqués "
                               f"retrouvables, {len(audit.primary_violations)} chiffres affichés sous le seuil) : "
                               "l'édition n'est pas créée ; signalez-le à l'équipe de la plateforme.")
        (work / DESCRIPTION).write_text(json.dumps(description, ensure_ascii=False, indent=2), encoding="utf-8")
        for path in work.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP)
        os.rename(work, target)
        target.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return description

"""The public export (indicators.md, "Public export"): the masked indicators as `indicateurs.csv`
with its Table Schema `indicateurs.schema.json`, for an edition or for the current figures.

The CSV is UTF-8, comma-separated, one row per indicator, category, level, territory and period;
a masked row has empty valeur, effectif and bounds and `secret` = `true`. Values are written in full
(machine-readable: `.` as decimal mark, no thousands separator).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb

from pipelines.common.datahome import DataHome
from pipelines.publication import disclosure, editions
from pipelines.publication.published import published_path
from pipelines.warehouse.catalogue import LEVELS, catalogue

CSV_NAME = "indicateurs.csv"
SCHEMA_NAME = "indicateurs.schema.json"
COLUMNS = ("indicateur", "categorie", "niveau", "territoire", "periode", "valeur", "effectif", "borne_basse",
           "borne_haute", "secret")


def schema() -> dict:
    """The Table Schema (frictionless) describing `indicateurs.csv`, in French."""
    return {
        "name": "indicateurs",
        "title": "Indicateurs des Programmes de Réussite Éducative",
        "description": "Indicateurs publiés, après application du secret statistique : une ligne masquée n'a ni "
                       "valeur, ni effectif, ni bornes, et porte secret = true.",
        "fields": [
            {"name": "indicateur", "type": "string", "title": "Code de l'indicateur",
             "constraints": {"required": True, "enum": [i.code for i in catalogue()]}},
            {"name": "categorie", "type": "string", "title": "Catégorie (vide quand l'indicateur n'en a pas)"},
            {"name": "niveau", "type": "string", "title": "Niveau territorial",
             "constraints": {"required": True, "enum": list(LEVELS)}},
            {"name": "territoire", "type": "string", "title": "Code du territoire à ce niveau",
             "constraints": {"required": True}},
            {"name": "periode", "type": "string", "title": "Période : année civile AAAA ou scolaire AAAA-AAAA",
             "constraints": {"required": True, "pattern": "[0-9]{4}(-[0-9]{4})?"}},
            {"name": "valeur", "type": "number", "title": "Valeur (non arrondie ; vide si indéfinie ou masquée)"},
            {"name": "effectif", "type": "integer", "title": "Effectif de base (vide si masqué)",
             "constraints": {"minimum": 0}},
            {"name": "borne_basse", "type": "number", "title": "Borne basse de l'intervalle à 95 %"},
            {"name": "borne_haute", "type": "number", "title": "Borne haute de l'intervalle à 95 %"},
            {"name": "secret", "type": "boolean", "title": "Ligne masquée par le secret statistique",
             "constraints": {"required": True}, "trueValues": ["true"], "falseValues": ["false"]},
        ],
        "primaryKey": ["indicateur", "categorie", "niveau", "territoire", "periode"],
        "missingValues": [""],
    }


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def export(home: DataHome, out_dir: Path, edition: str | None = None) -> tuple[Path, Path]:
    """Write the public files for `edition` (default: the current published figures)."""
    source = editions.edition_file(home, edition) if edition else published_path(home)
    if not source.is_file():
        raise editions.EditionError("Aucune publication à exporter : lancez d'abord « pre-eval process ».")
    con = duckdb.connect(str(source), read_only=True)
    try:
        present = {c for (c,) in con.execute("select column_name from duckdb_columns() where schema_name = 'marts' "
                                             "and table_name = 'indicateurs'").fetchall()}
        bounds = [c if c in present else f"null as {c}" for c in ("borne_basse", "borne_haute")]
        rows = con.execute(f"""
            select indicateur, categorie, niveau, territoire, periode, valeur, effectif, {", ".join(bounds)},
                {disclosure.MASK_COLUMN}
            from marts.indicateurs order by indicateur, niveau, territoire, periode, categorie""").fetchall()
    finally:
        con.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, schema_path = out_dir / CSV_NAME, out_dir / SCHEMA_NAME
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for *values, masked in rows:
            if masked:  # never written, even if a masked row kept a value by mistake
                values[5:9] = [None, None, None, None]
            writer.writerow([_text(v) for v in values] + ["true" if masked else "false"])
    schema_path.write_text(json.dumps(schema(), ensure_ascii=False, indent=2), encoding="utf-8")
    return csv_path, schema_path

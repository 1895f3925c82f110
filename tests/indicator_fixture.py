"""Build a small in-memory warehouse for indicator tests from Python lists of dicts.

Only the columns a test cares about need to be given; every other column gets a sensible, valid
value (the exchange format's code lists, dates consistent with the pathway). Dates may be given as
ISO strings. Rows are inserted with plain parameterised SQL, a route independent of the ingestion
pipeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb

from pipelines.warehouse.store import ensure_schema

PARCOURS_COLS = ("code_pre", "id_parcours", "id_enfant", "id_famille", "sexe", "annee_naissance", "niveau_scolaire",
                 "code_commune", "code_qpv", "date_orientation", "origine_orientation", "motif_orientation",
                 "date_decision_eps", "date_entree", "date_sortie", "motif_sortie", "id_referent")
ACTIONS_COLS = ("code_pre", "id_action", "id_parcours", "volet", "type_action", "modalite", "partenaire",
                "date_debut", "date_fin", "seances_prevues", "seances_realisees", "cout_euros")
BILANS_COLS = ("code_pre", "id_bilan", "id_parcours", "type_bilan", "date_bilan", "objectifs_fixes",
               "objectifs_atteints", "note_scolarite", "note_comportement", "note_sante", "note_parentalite")
ATTENTES_COLS = ("code_pre", "id_demande", "id_enfant", "id_parcours", "structure", "date_demande",
                 "date_premier_rdv", "date_abandon")
SITES_COLS = ("code_pre", "nom", "code_commune", "departement", "region", "porteur")
DEPOTS_COLS = ("sha256", "fichier", "code_pre", "date_extraction", "date_debut_donnees", "recu_le", "traite_le",
               "statut", "en_vigueur", "nb_bloquants", "nb_avertissements", "nb_parcours", "nb_actions",
               "nb_bilans", "nb_attentes", "rapport", "chemin")

DATE_COLS = {"date_orientation", "date_decision_eps", "date_entree", "date_sortie", "date_debut", "date_fin",
             "date_bilan", "date_demande", "date_premier_rdv", "date_abandon", "date_extraction",
             "date_debut_donnees"}

TYPE_ACTION_BY_VOLET = {
    "SCOLARITE": "ACCOMPAGNEMENT_SCOLARITE",
    "EDUCATIF": "ACTIVITE_SPORTIVE",
    "PARENTALITE": "GROUPE_PAROLE_PARENTS",
    "SANTE": "BILAN_SANTE",
}


def _date(value: Any) -> Any:
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _check_keys(row: Mapping[str, Any], cols: Iterable[str], table: str) -> None:
    unknown = set(row) - set(cols)
    if unknown:
        raise KeyError(f"{table}: unknown column(s) {sorted(unknown)}")


def _insert(con: duckdb.DuckDBPyConnection, table: str, cols: tuple[str, ...], rows: list[dict]) -> None:
    if not rows:
        return
    placeholders = ", ".join("?" for _ in cols)
    values = [[_date(row.get(c)) if c in DATE_COLS else row.get(c) for c in cols] for row in rows]
    con.executemany(f"insert into {table} ({', '.join(cols)}) values ({placeholders})", values)


def _parcours_row(row: Mapping[str, Any], communes: Mapping[str, str]) -> dict:
    _check_keys(row, PARCOURS_COLS, "parcours")
    entree = _date(row["date_entree"])
    sortie = _date(row.get("date_sortie"))
    full = {
        "id_famille": f"FAM-{row['id_enfant']}",
        "sexe": "F",
        "annee_naissance": entree.year - 8,
        "niveau_scolaire": "CE2",
        "code_commune": communes.get(row["code_pre"], row["code_pre"][3:]),
        "code_qpv": None,
        "date_orientation": entree,
        "origine_orientation": "ECOLE",
        "motif_orientation": "SCOLARITE",
        "date_decision_eps": None,
        "date_sortie": sortie,
        "motif_sortie": "AUTRE" if sortie is not None else None,
        "id_referent": "R1",
    }
    full.update(row)
    return full


def _action_row(row: Mapping[str, Any]) -> dict:
    _check_keys(row, ACTIONS_COLS, "actions")
    full = {
        "type_action": TYPE_ACTION_BY_VOLET[row["volet"]],
        "modalite": "INDIVIDUELLE",
        "partenaire": "ASSOCIATION",
        "date_fin": None,
        "seances_prevues": None,
        "seances_realisees": None,
        "cout_euros": None,
    }
    full.update(row)
    return full


def _bilan_row(row: Mapping[str, Any]) -> dict:
    _check_keys(row, BILANS_COLS, "bilans")
    full = {"note_scolarite": None, "note_comportement": None, "note_sante": None, "note_parentalite": None}
    full.update(row)
    return full


def _attente_row(row: Mapping[str, Any]) -> dict:
    _check_keys(row, ATTENTES_COLS, "attentes")
    full = {"id_parcours": None, "date_premier_rdv": None, "date_abandon": None}
    full.update(row)
    return full


def _site_row(row: Mapping[str, Any]) -> dict:
    _check_keys(row, SITES_COLS, "sites")
    full = {
        "nom": f"Site {row['code_pre']}",
        "code_commune": row["code_pre"][3:],
        "porteur": "Commune",
    }
    full.update(row)
    return full


def _depot_row(index: int, row: Mapping[str, Any], counts: Mapping[tuple[str, str], int]) -> dict:
    _check_keys(row, DEPOTS_COLS, "depots")
    code = row.get("code_pre")
    stamp = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=index)
    accepted = row.get("statut", "accepte") == "accepte"
    full = {
        "sha256": f"{index:064x}",
        "fichier": f"{(code or 'illisible').lower()}-{index}.zip",
        "date_debut_donnees": None,
        "recu_le": stamp,
        "traite_le": stamp + dt.timedelta(seconds=5),
        "statut": "accepte",
        "en_vigueur": True,
        "nb_bloquants": 0,
        "nb_avertissements": 0,
        "rapport": f"reports/depot-{index}.md",
        "chemin": f"archive/depot-{index}.zip",
    }
    for table in ("parcours", "actions", "bilans", "attentes"):
        full[f"nb_{table}"] = counts.get((table, code), 0) if accepted and code else None
    full.update(row)
    return full


def build_warehouse(
    *,
    sites: Sequence[Mapping[str, Any]],
    depots: Sequence[Mapping[str, Any]],
    parcours: Sequence[Mapping[str, Any]] = (),
    actions: Sequence[Mapping[str, Any]] = (),
    bilans: Sequence[Mapping[str, Any]] = (),
    attentes: Sequence[Mapping[str, Any]] = (),
    con: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse (schemas ensured) holding exactly the given rows.

    sites: code_pre, departement, region (nom, code_commune, porteur defaulted).
    depots: code_pre, date_extraction, optional date_debut_donnees (default NULL), statut (default
    'accepte'), en_vigueur (default true); the ledger's other NOT NULL columns are filled in.
    parcours: code_pre, id_parcours, id_enfant, date_entree at least.
    actions: code_pre, id_action, id_parcours, volet, date_debut at least.
    bilans: every column but the notes. attentes: code_pre, id_demande, id_enfant, structure,
    date_demande at least.
    """
    con = con or duckdb.connect()
    ensure_schema(con)
    communes = {s["code_pre"]: s.get("code_commune", s["code_pre"][3:]) for s in sites}
    counts: dict[tuple[str, str], int] = {}
    for table, rows in (("parcours", parcours), ("actions", actions), ("bilans", bilans), ("attentes", attentes)):
        for row in rows:
            counts[(table, row["code_pre"])] = counts.get((table, row["code_pre"]), 0) + 1
    _insert(con, "ingestion.sites", SITES_COLS, [_site_row(r) for r in sites])
    _insert(con, "ingestion.depots", DEPOTS_COLS, [_depot_row(i, r, counts) for i, r in enumerate(depots)])
    _insert(con, "ingestion.parcours", PARCOURS_COLS, [_parcours_row(r, communes) for r in parcours])
    _insert(con, "ingestion.actions", ACTIONS_COLS, [_action_row(r) for r in actions])
    _insert(con, "ingestion.bilans", BILANS_COLS, [_bilan_row(r) for r in bilans])
    _insert(con, "ingestion.attentes", ATTENTES_COLS, [_attente_row(r) for r in attentes])
    return con


Key = tuple[str, str, str, str, str]  # (indicateur, categorie, niveau, territoire, periode)


def read_indicators(con: duckdb.DuckDBPyConnection) -> dict[Key, tuple[float | None, int | None]]:
    """marts.indicateurs as {(indicateur, categorie, niveau, territoire, periode): (valeur, effectif)}.

    Raises if a key occurs twice (the table has one row per key).
    """
    rows = con.execute(
        "select indicateur, categorie, niveau, territoire, periode, valeur, effectif from marts.indicateurs"
    ).fetchall()
    result: dict[Key, tuple[float | None, int | None]] = {}
    for ind, cat, niveau, territoire, periode, valeur, effectif in rows:
        key = (ind, cat, niveau, territoire, periode)
        if key in result:
            raise AssertionError(f"duplicate row in marts.indicateurs: {key}")
        result[key] = (valeur, effectif)
    return result


def read_completeness(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], dict[str, Any]]:
    """marts.completude as {(niveau, territoire, periode): {column: value}}."""
    cur = con.execute("select * from marts.completude")
    names = [d[0] for d in cur.description]
    result = {}
    for row in cur.fetchall():
        record = dict(zip(names, row, strict=True))
        result[(record["niveau"], record["territoire"], record["periode"])] = record
    return result


def load_simulated(con: duckdb.DuckDBPyConnection, generated: Iterable[Any]) -> None:
    """Simulated sites (`pipelines.demo.simulation.simulate_site`) loaded as they are, no ingestion: ids as
    generated, one accepted submission in force per site. The caller builds the models."""
    import polars as pl

    ensure_schema(con)
    for data in generated:
        s = data.site
        con.execute("insert into ingestion.sites values (?, ?, ?, ?, ?, ?)",
                    [s.code_pre, s.nom, s.code_commune, s.departement, s.region, s.porteur])
        manifest = dict(data.manifest)
        con.execute("""insert into ingestion.depots (sha256, fichier, code_pre, date_extraction, date_debut_donnees,
            recu_le, traite_le, statut, en_vigueur, nb_bloquants, nb_avertissements, rapport, chemin)
            values (?, 'f.zip', ?, ?, ?, now(), now(), 'accepte', true, 0, 0, 'r', 'c')""",
                    [s.code_pre, s.code_pre, manifest["date_extraction"], manifest.get("date_debut_donnees")])
        for table, frame in data.tables.items():
            rows = frame.with_columns(code_pre=pl.lit(s.code_pre))  # noqa: F841 - read by DuckDB by name
            con.execute(f"insert into ingestion.{table} by name select * from rows")

"""A small, valid submission written by hand (not by the generator), and ways to damage it.

Tables are lists of dict rows in file order: row i of a table sits on physical line i + 2
(line 1 is the header). Files are written with the standard csv and zipfile modules, a
different route from the platform's reader.
"""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from pathlib import Path

MANIFEST = [
    ("code_pre", "PRE51454"),
    ("date_extraction", "2024-12-15"),
    ("date_debut_donnees", "2020-01-01"),
    ("version_format", "1"),
    ("logiciel", "Tableur"),
]

PARCOURS_COLS = ["id_parcours", "id_enfant", "id_famille", "sexe", "annee_naissance", "niveau_scolaire",
                 "code_commune", "code_qpv", "date_orientation", "origine_orientation", "motif_orientation",
                 "date_decision_eps", "date_entree", "date_sortie", "motif_sortie", "id_referent"]
ACTIONS_COLS = ["id_action", "id_parcours", "volet", "type_action", "modalite", "partenaire", "date_debut",
                "date_fin", "seances_prevues", "seances_realisees", "cout_euros"]
BILANS_COLS = ["id_bilan", "id_parcours", "type_bilan", "date_bilan", "objectifs_fixes", "objectifs_atteints",
               "note_scolarite", "note_comportement", "note_sante", "note_parentalite"]
ATTENTES_COLS = ["id_demande", "id_enfant", "id_parcours", "structure", "date_demande", "date_premier_rdv",
                 "date_abandon"]

COLUMNS = {"parcours": PARCOURS_COLS, "actions": ACTIONS_COLS, "bilans": BILANS_COLS, "attentes": ATTENTES_COLS}


def _rows(cols, *values):
    return [dict(zip(cols, v, strict=True)) for v in values]


def base_tables() -> dict:
    """Three pathways (child E1 has two, one after the other), with actions, bilans, requests."""
    return {
        "manifeste": [dict(cle=k, valeur=v) for k, v in MANIFEST],
        "parcours": _rows(
            PARCOURS_COLS,
            ["P1", "E1", "F1", "F", "2014", "CE2", "51454", "QN05101M", "2022-09-01", "ECOLE", "SCOLARITE",
             "2022-09-10", "2022-09-15", "2023-06-30", "OBJECTIFS_ATTEINTS", "R1"],
            ["P2", "E2", "F2", "M", "2012", "6E", "51454", "", "2023-01-05", "FAMILLE", "SANTE",
             "2023-01-10", "2023-01-20", "", "", "R2"],
            ["P3", "E1", "F1", "F", "2014", "CM1", "51454", "QN05101M", "2023-08-20", "ECOLE", "COMPORTEMENT",
             "2023-09-01", "2023-09-04", "2024-06-28", "RELAIS_DROIT_COMMUN", "R1"],
        ),
        "actions": _rows(
            ACTIONS_COLS,
            ["A1", "P1", "SCOLARITE", "ACCOMPAGNEMENT_SCOLARITE", "INDIVIDUELLE", "EDUCATION_NATIONALE",
             "2022-10-01", "2023-06-15", "10", "8", "150.50"],
            ["A2", "P2", "SANTE", "ORTHOPHONIE", "INDIVIDUELLE", "PROFESSIONNEL_LIBERAL",
             "2023-02-01", "2023-12-31", "20", "15", "800"],
            ["A3", "P3", "EDUCATIF", "ACTIVITE_SPORTIVE", "COLLECTIVE", "ASSOCIATION",
             "2023-09-10", "2024-06-15", "30", "25", "120"],
        ),
        "bilans": _rows(
            BILANS_COLS,
            ["B1", "P1", "ENTREE", "2022-09-20", "3", "0", "2", "2", "3", "2"],
            ["B2", "P1", "SORTIE", "2023-06-28", "3", "2", "3", "3", "3", "3"],
            ["B3", "P2", "ENTREE", "2023-01-25", "2", "0", "2", "3", "1", "2"],
        ),
        "attentes": _rows(
            ATTENTES_COLS,
            ["D1", "E2", "P2", "CMPP", "2023-01-15", "2023-11-20", ""],
            ["D2", "E1", "", "ORTHOPHONISTE", "2024-03-01", "", ""],
            ["D3", "E2", "P2", "CAMSP", "2023-02-01", "", "2023-06-01"],
        ),
    }


def copy_tables(tables: dict) -> dict:
    return copy.deepcopy(tables)


def csv_text(rows: list[dict], columns: list[str] | None = None, delimiter: str = ",") -> str:
    columns = columns or (list(rows[0]) if rows else [])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def write_zip(path: Path, tables: dict, *, columns: dict | None = None, extra_members: dict | None = None,
              encoding: str = "utf-8", delimiter: str = ",", raw_members: dict | None = None) -> Path:
    """Write tables as CSV members of a ZIP. `raw_members` replaces a member's bytes entirely."""
    columns = columns or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables.items():
            if raw_members and name in raw_members:
                archive.writestr(f"{name}.csv", raw_members[name])
                continue
            cols = columns.get(name) or (["cle", "valeur"] if name == "manifeste" else COLUMNS[name])
            archive.writestr(f"{name}.csv", csv_text(rows, cols, delimiter).encode(encoding))
        for member, data in (extra_members or {}).items():
            archive.writestr(member, data)
    return path

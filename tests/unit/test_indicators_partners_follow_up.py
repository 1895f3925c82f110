"""Per-partner actions and the 6-month follow-up, on a hand-built warehouse; every expected value is
worked out by hand in the comments from indicators.md v2 (part_suivi_6_mois, actions_par_partenaire)
and from the catalogue's definitions (the per-partner attendance and cost, the project's own).

Two sites of the Marne (51, région 44). Site A extracted 2024-12-31, site B 2024-06-30.
"""

from __future__ import annotations

import pytest

from indicator_fixture import build_warehouse, read_indicators
from pipelines.warehouse.models import build

A, B = "PRE51454", "PRE51108"


def _p(code, pid, entree, sortie=None, motif=None):
    return {"code_pre": code, "id_parcours": pid, "id_enfant": "E" + pid, "sexe": "F", "annee_naissance": 2014,
            "niveau_scolaire": "CE1", "date_orientation": entree, "origine_orientation": "ECOLE",
            "motif_orientation": "SCOLARITE", "date_entree": entree, "date_sortie": sortie, "motif_sortie": motif,
            "id_referent": "R1", "code_qpv": None}


def _a(code, aid, pid, partenaire, debut, prevues=None, realisees=None, cout=None):
    return {"code_pre": code, "id_action": aid, "id_parcours": pid, "volet": "SANTE", "type_action": "AUTRE",
            "modalite": "INDIVIDUELLE", "partenaire": partenaire, "date_debut": debut,
            "seances_prevues": prevues, "seances_realisees": realisees, "cout_euros": cout}


def _b(code, bid, pid, date, type_bilan="SUIVI_6_MOIS"):
    return {"code_pre": code, "id_bilan": bid, "id_parcours": pid, "type_bilan": type_bilan, "date_bilan": date,
            "objectifs_fixes": 1, "objectifs_atteints": 1}


PARCOURS = [
    # A's exits in 2023; S6 needs date_sortie + 240 days <= 2024-12-31, i.e. date_sortie <= 2024-05-05.
    _p(A, "A1", "2022-01-01", "2023-01-10", "AUTRE"),  # bilan at +120 days (2023-05-10): in the window
    _p(A, "A2", "2022-01-01", "2023-02-01", "AUTRE"),  # bilan at +241 days (2023-09-30): too late
    _p(A, "A3", "2022-01-01", "2023-03-01", "AUTRE"),  # bilan at +119 days (2023-06-28): too early
    _p(A, "A4", "2022-01-01", "2023-04-01", "AUTRE"),  # bilan at +240 days (2023-11-27) and a SORTIE bilan
    _p(A, "A5", "2022-01-01", "2023-05-01", "AUTRE"),  # no bilan at all
    # B: exits in 2023; S6 needs date_sortie + 240 <= 2024-06-30, i.e. date_sortie <= 2023-11-03.
    _p(B, "B1", "2022-01-01", "2023-06-01", "AUTRE"),  # bilan at +150 days (2023-10-29): followed
    _p(B, "B2", "2022-01-01", "2023-12-01", "AUTRE"),  # window not closed at B's extraction: not in S6
    _p(A, "A6", "2023-01-01"),                         # never exits
]
BILANS = [
    _b(A, "BA1", "A1", "2023-05-10"),
    _b(A, "BA2", "A2", "2023-09-30"),
    _b(A, "BA3", "A3", "2023-06-28"),
    _b(A, "BA4", "A4", "2023-11-27"),
    _b(A, "BA5", "A4", "2023-04-01", "SORTIE"),
    _b(B, "BB1", "B1", "2023-10-29"),
    _b(B, "BB2", "B2", "2024-04-01"),
]
ACTIONS = [
    _a(A, "AC1", "A6", "CMPP", "2023-02-01", 10, 8, 100.0),
    _a(A, "AC2", "A6", "CMPP", "2023-03-01", 0, 2, None),        # zero planned: no attendance; null cost
    _a(A, "AC3", "A6", "ASSOCIATION", "2023-04-01", None, 3, 40.5),
    _a(B, "BC1", "B1", "CMPP", "2023-05-01", 5, 5, 60.0),
    _a(B, "BC2", "B1", "CMPP", "2024-01-01", 4, 1, 10.0),        # 2024
]


@pytest.fixture(scope="module")
def rows():
    con = build_warehouse(
        sites=[{"code_pre": A, "departement": "51", "region": "44"},
               {"code_pre": B, "departement": "51", "region": "44"}],
        depots=[{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-06-30"}],
        parcours=PARCOURS, actions=ACTIONS, bilans=BILANS)
    build(con)
    found = read_indicators(con)
    con.close()
    return found


def value(rows, code, level, territory, period, categorie=""):
    return rows[(code, categorie, level, territory, period)]


def test_part_suivi_6_mois_window_and_closed_follow_ups(rows):
    # 2023, A: S6 = {A1, A2, A3, A4, A5} (exits up to 2023-05-01, all <= 2024-05-05); followed: A1 (+120), A4 (+240).
    assert value(rows, "part_suivi_6_mois", "pre", A, "2023") == (pytest.approx(200 / 5), 5)
    # B: S6 = {B1} (B2's window closes after 2024-06-30); followed: B1.
    assert value(rows, "part_suivi_6_mois", "pre", B, "2023") == (pytest.approx(100.0), 1)
    # Département 51 pools them: 3 of 6.
    assert value(rows, "part_suivi_6_mois", "departement", "51", "2023") == (pytest.approx(50.0), 6)
    # 2024: no exit: NULL with effectif 0.
    assert value(rows, "part_suivi_6_mois", "pre", A, "2024") == (None, 0)


def test_actions_attendance_and_cost_per_partner(rows):
    # 2023, A: CMPP AC1, AC2 (2 actions; attendance on AC1 only: 8/10; cost 100 + null = 100);
    # ASSOCIATION AC3 (1 action; no attendance; cost 40.5).
    assert value(rows, "actions_par_partenaire", "pre", A, "2023", "CMPP") == (2.0, 2)
    assert value(rows, "taux_assiduite_partenaire", "pre", A, "2023", "CMPP") == (pytest.approx(80.0), 1)
    assert value(rows, "cout_actions_partenaire", "pre", A, "2023", "CMPP") == (pytest.approx(100.0), 2)
    assert value(rows, "actions_par_partenaire", "pre", A, "2023", "ASSOCIATION") == (1.0, 1)
    assert value(rows, "taux_assiduite_partenaire", "pre", A, "2023", "ASSOCIATION") == (None, 0)
    assert value(rows, "cout_actions_partenaire", "pre", A, "2023", "ASSOCIATION") == (pytest.approx(40.5), 1)
    # Département 51 in 2023: CMPP AC1, AC2, BC1: 3 actions; attendance (8 + 5) / (10 + 5); cost 160.
    assert value(rows, "actions_par_partenaire", "departement", "51", "2023", "CMPP") == (3.0, 3)
    assert value(rows, "taux_assiduite_partenaire", "departement", "51", "2023", "CMPP") == \
        (pytest.approx(100 * 13 / 15), 2)
    assert value(rows, "cout_actions_partenaire", "departement", "51", "2023", "CMPP") == (pytest.approx(160.0), 3)
    # Every listed partner has a row, zeros included (cost 0 over no action).
    assert value(rows, "actions_par_partenaire", "national", "FR", "2023", "CAF") == (0.0, 0)
    assert value(rows, "cout_actions_partenaire", "national", "FR", "2023", "CAF") == (0.0, 0)

"""The project's indicators for the page « Évaluer une action » and the partner × volet heat map (issue 14,
`ajout: true` in the catalogue), on hand-built warehouses: every expected value below is worked out by hand in
the comments from the catalogue's definitions (docs/evaluer-une-action.md), never by the SQL under test.

Sites: A = PRE51230 (Épernay) and B = PRE51454 (Reims), both in the Marne (51, région 44).
"""

from __future__ import annotations

import pytest

from indicator_fixture import build_warehouse, read_indicators
from pipelines.warehouse.catalogue import catalogue_categories
from pipelines.warehouse.models import build

A, B = "PRE51230", "PRE51454"
SITES = [{"code_pre": A, "departement": "51", "region": "44"}, {"code_pre": B, "departement": "51", "region": "44"}]
DEPOTS = [{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-12-31"}]


def _p(code, pid, entree, sortie=None, *, child=None):
    return {"code_pre": code, "id_parcours": pid, "id_enfant": child or "E" + pid, "date_entree": entree,
            "date_sortie": sortie, "motif_sortie": "AUTRE" if sortie else None}


def _a(code, aid, pid, debut, *, type_action="AUTRE", partenaire="ASSOCIATION", volet="SANTE", prevues=None,
       realisees=None, cout=None):
    return {"code_pre": code, "id_action": aid, "id_parcours": pid, "volet": volet, "type_action": type_action,
            "partenaire": partenaire, "date_debut": debut, "seances_prevues": prevues,
            "seances_realisees": realisees, "cout_euros": cout}


def _b(code, bid, pid, type_bilan, day, **notes):
    return {"code_pre": code, "id_bilan": bid, "id_parcours": pid, "type_bilan": type_bilan, "date_bilan": day,
            "objectifs_fixes": 1, "objectifs_atteints": 0, **{f"note_{k}": v for k, v in notes.items()}}


def _rows(parcours, actions=(), bilans=()):
    con = build_warehouse(sites=SITES, depots=DEPOTS, parcours=parcours, actions=actions, bilans=bilans)
    build(con)
    rows = read_indicators(con)
    con.close()
    return rows


# --------------------------------------------------------------------------- partner × volet


def test_actions_per_partner_and_volet_and_their_margins():
    parcours = [_p(A, "P1", "2023-01-01"), _p(A, "P2", "2023-01-01"), _p(B, "Q1", "2022-01-01")]
    actions = [
        _a(A, "A1", "P1", "2023-02-01", partenaire="EDUCATION_NATIONALE", volet="SCOLARITE"),
        _a(A, "A2", "P2", "2023-03-01", partenaire="EDUCATION_NATIONALE", volet="SCOLARITE"),
        _a(A, "A3", "P1", "2023-04-01", partenaire="EDUCATION_NATIONALE", volet="PARENTALITE"),
        _a(A, "A4", "P1", "2023-05-01", partenaire="CMPP", volet="SANTE"),
        _a(A, "A5", "P1", "2024-01-01", partenaire="CMPP", volet="SANTE"),          # 2024
        _a(B, "B1", "Q1", "2023-12-31", partenaire="EDUCATION_NATIONALE", volet="SCOLARITE"),
        _a(B, "B2", "Q1", "2022-12-31", partenaire="CMPP", volet="SANTE"),          # 2022
    ]
    rows = _rows(parcours, actions)
    get = lambda cat, level, terr, period: rows[("actions_partenaire_volet", cat, level, terr, period)]  # noqa: E731
    # 2023, A: EN × SCOLARITE = A1, A2 (2); EN × PARENTALITE = A3 (1); CMPP × SANTE = A4 (1); all others 0.
    assert get("EDUCATION_NATIONALE:SCOLARITE", "pre", A, "2023") == (2.0, 2)
    assert get("EDUCATION_NATIONALE:PARENTALITE", "pre", A, "2023") == (1.0, 1)
    assert get("CMPP:SANTE", "pre", A, "2023") == (1.0, 1)
    assert get("CMPP:SCOLARITE", "pre", A, "2023") == (0.0, 0)
    # B 2023: B1 only; département 51 = A + B: EN × SCOLARITE 3.
    assert get("EDUCATION_NATIONALE:SCOLARITE", "pre", B, "2023") == (1.0, 1)
    assert get("EDUCATION_NATIONALE:SCOLARITE", "departement", "51", "2023") == (3.0, 3)
    assert get("CMPP:SANTE", "national", "FR", "2024") == (1.0, 1)
    assert get("CMPP:SANTE", "national", "FR", "2022") == (1.0, 1)
    # Every couple of the product set, zeros included: 11 partners × 4 volets.
    cats = {k[1] for k in rows if k[0] == "actions_partenaire_volet" and k[2:] == ("pre", A, "2023")}
    assert len(cats) == 44 == len(catalogue_categories()["partenaires_volets"])
    # The margins the disclosure control models: per partner the volets add up to actions_par_partenaire,
    # per volet the partners add up to actions (A 2023: EN 3, CMPP 1; SCOLARITE 2, PARENTALITE 1, SANTE 1).
    assert rows[("actions_par_partenaire", "EDUCATION_NATIONALE", "pre", A, "2023")][1] == 3
    assert sum(get(f"EDUCATION_NATIONALE:{v}", "pre", A, "2023")[1]
               for v in ("SCOLARITE", "EDUCATIF", "PARENTALITE", "SANTE")) == 3
    assert rows[("actions", "SCOLARITE", "pre", A, "2023")][1] == 2


# --------------------------------------------------------------------------- sessions and cost per action type


def test_sessions_planned_and_held_per_action_type_share_attendance_s_actions():
    parcours = [_p(A, "P1", "2023-01-01"), _p(A, "P2", "2023-01-01"), _p(B, "Q1", "2023-01-01")]
    actions = [
        _a(A, "A1", "P1", "2023-02-01", type_action="PSYCHOMOTRICITE", prevues=10, realisees=8),
        _a(A, "A2", "P2", "2023-03-01", type_action="PSYCHOMOTRICITE", prevues=12, realisees=12),
        _a(A, "A3", "P2", "2023-04-01", type_action="PSYCHOMOTRICITE", prevues=0, realisees=0),     # prévues 0: out
        _a(A, "A4", "P2", "2023-05-01", type_action="PSYCHOMOTRICITE", prevues=6),                  # réalisées null
        _a(A, "A5", "P2", "2023-05-01", type_action="PSYCHOMOTRICITE", realisees=4),                # prévues null
        _a(A, "A6", "P1", "2024-01-15", type_action="PSYCHOMOTRICITE", prevues=5, realisees=1),     # 2024
        _a(B, "B1", "Q1", "2023-06-01", type_action="PSYCHOMOTRICITE", prevues=4, realisees=2),
        _a(B, "B2", "Q1", "2023-06-01", type_action="ORTHOPHONIE", prevues=3),                      # none counted
    ]
    rows = _rows(parcours, actions)

    def get(code, cat, level, terr, period):
        return rows[(code, cat, level, terr, period)]

    # A 2023, PSYCHOMOTRICITE: A1 and A2 only: prévues 10 + 12 = 22, réalisées 8 + 12 = 20, 2 actions.
    assert get("seances_prevues_type_action", "PSYCHOMOTRICITE", "pre", A, "2023") == (22.0, 2)
    assert get("seances_realisees_type_action", "PSYCHOMOTRICITE", "pre", A, "2023") == (20.0, 2)
    assert get("taux_assiduite_type_action", "PSYCHOMOTRICITE", "pre", A, "2023")[1] == 2  # the same actions
    # Département 2023: + B1: 26 and 22, 3 actions. 2024: A6: 5 and 1.
    assert get("seances_prevues_type_action", "PSYCHOMOTRICITE", "departement", "51", "2023") == (26.0, 3)
    assert get("seances_realisees_type_action", "PSYCHOMOTRICITE", "departement", "51", "2023") == (22.0, 3)
    assert get("seances_realisees_type_action", "PSYCHOMOTRICITE", "pre", A, "2024") == (1.0, 1)
    # ORTHOPHONIE at B: B2 has no réalisées: no action counted, value NULL, effectif 0.
    assert get("seances_prevues_type_action", "ORTHOPHONIE", "pre", B, "2023") == (None, 0)
    assert get("seances_realisees_type_action", "LOISIRS", "national", "FR", "2023") == (None, 0)


def test_cost_per_child_per_action_type():
    parcours = [
        _p(A, "P1", "2023-01-01", child="E1"), _p(A, "P2", "2023-01-01", child="E1"),  # one child, two pathways
        _p(A, "P3", "2023-01-01", child="E3"), _p(B, "Q1", "2022-01-01", child="E1"),  # B's E1: another child
    ]
    actions = [
        _a(A, "A1", "P1", "2023-02-01", type_action="PSYCHOMOTRICITE", cout=300),
        _a(A, "A2", "P2", "2023-03-01", type_action="PSYCHOMOTRICITE", cout=150.5),
        _a(A, "A3", "P3", "2023-04-01", type_action="PSYCHOMOTRICITE"),                 # cost unknown: 0
        _a(A, "A4", "P3", "2023-04-01", type_action="ORTHOPHONIE", cout=1000),          # another type
        _a(B, "B1", "Q1", "2023-06-01", type_action="PSYCHOMOTRICITE", cout=99.5),
        _a(B, "B2", "Q1", "2022-06-01", type_action="PSYCHOMOTRICITE", cout=5000),      # 2022
    ]
    rows = _rows(parcours, actions)
    get = lambda cat, level, terr, period: rows[("cout_par_enfant_type_action", cat, level, terr, period)]  # noqa: E731
    # A 2023 PSYCHOMOTRICITE: 300 + 150.5 + 0 = 450.5 over 2 children (E1, E3): 225.25.
    assert get("PSYCHOMOTRICITE", "pre", A, "2023") == (pytest.approx(225.25), 2)
    assert rows[("enfants_type_action", "PSYCHOMOTRICITE", "pre", A, "2023")] == (2.0, 2)  # the same count
    # Département: 450.5 + 99.5 = 550 over 2 + 1 = 3 children: 183.33…
    assert get("PSYCHOMOTRICITE", "departement", "51", "2023") == (pytest.approx(550 / 3), 3)
    assert get("ORTHOPHONIE", "pre", A, "2023") == (pytest.approx(1000.0), 1)
    assert get("PSYCHOMOTRICITE", "pre", B, "2022") == (pytest.approx(5000.0), 1)
    # No child: NULL, 0.
    assert get("PSYCHOMOTRICITE", "pre", A, "2022") == (None, 0)
    assert get("LOISIRS", "region", "44", "2023") == (None, 0)


# --------------------------------------------------------------------------- progression with / without the action


def test_progression_with_and_without_an_evaluated_action():
    # Exits in 2023 with an ENTREE and a SORTIE note in scolarite (progression_note counts them all):
    #   N1 (A) +2, psychomotricity started before its exit          → avec
    #   N2 (A) +1, psychomotricity started ON its exit date          → avec (date_debut <= date_sortie)
    #   N3 (A) −1, psychomotricity started the day after its exit    → sans
    #   N4 (A) +3, an ORTHOPHONIE action only                        → sans for PSYCHOMOTRICITE, avec for ORTHOPHONIE
    #   M1 (B) 0, psychomotricity started before its entry (before the period too) → avec
    # N5 (A) has psychomotricity but no SORTIE note: counted nowhere.
    parcours = [
        _p(A, "N1", "2022-01-01", "2023-03-01"), _p(A, "N2", "2022-01-01", "2023-04-01"),
        _p(A, "N3", "2022-01-01", "2023-05-01"), _p(A, "N4", "2022-01-01", "2023-06-01"),
        _p(A, "N5", "2022-01-01", "2023-06-01"), _p(B, "M1", "2022-01-01", "2023-06-01"),
    ]
    actions = [
        _a(A, "X1", "N1", "2022-06-01", type_action="PSYCHOMOTRICITE"),
        _a(A, "X2", "N2", "2023-04-01", type_action="PSYCHOMOTRICITE"),
        _a(A, "X3", "N3", "2023-05-02", type_action="PSYCHOMOTRICITE"),
        _a(A, "X4", "N4", "2022-06-01", type_action="ORTHOPHONIE"),
        _a(A, "X5", "N5", "2022-06-01", type_action="PSYCHOMOTRICITE"),
        _a(B, "Y1", "M1", "2021-12-01", type_action="PSYCHOMOTRICITE"),
    ]
    bilans = [
        _b(A, "b1", "N1", "ENTREE", "2022-01-10", scolarite=1, sante=2), _b(A, "c1", "N1", "SORTIE", "2023-03-01",
                                                                            scolarite=3, sante=4),
        _b(A, "b2", "N2", "ENTREE", "2022-01-10", scolarite=2), _b(A, "c2", "N2", "SORTIE", "2023-04-01", scolarite=3),
        _b(A, "b3", "N3", "ENTREE", "2022-01-10", scolarite=3), _b(A, "c3", "N3", "SORTIE", "2023-05-01", scolarite=2),
        _b(A, "b4", "N4", "ENTREE", "2022-01-10", scolarite=1), _b(A, "c4", "N4", "SORTIE", "2023-06-01", scolarite=4),
        _b(A, "b5", "N5", "ENTREE", "2022-01-10", scolarite=1),
        _b(B, "d1", "M1", "ENTREE", "2022-01-10", scolarite=2), _b(B, "e1", "M1", "SORTIE", "2023-06-01", scolarite=2),
    ]
    rows = _rows(parcours, actions, bilans)

    def get(code, cat, level, terr, period="2023"):
        return rows[(code, cat, level, terr, period)]

    avec, sans = "progression_note_avec_action", "progression_note_sans_action"
    # A, scolarite: all = N1..N4: (2 + 1 − 1 + 3) / 4 = 1.25; avec = N1, N2: 1.5; sans = N3, N4: 1.
    assert get("progression_note", "scolarite", "pre", A) == (pytest.approx(1.25), 4)
    assert get(avec, "PSYCHOMOTRICITE:scolarite", "pre", A) == (pytest.approx(1.5), 2)
    assert get(sans, "PSYCHOMOTRICITE:scolarite", "pre", A) == (pytest.approx(1.0), 2)
    # Département: + M1 (0, avec): avec (2 + 1 + 0) / 3 = 1, sans 1 over 2; 3 + 2 = 5 = all.
    assert get(avec, "PSYCHOMOTRICITE:scolarite", "departement", "51") == (pytest.approx(1.0), 3)
    assert get(sans, "PSYCHOMOTRICITE:scolarite", "departement", "51") == (pytest.approx(1.0), 2)
    assert get("progression_note", "scolarite", "departement", "51")[1] == 5
    # ORTHOPHONIE at A: avec = N4 (+3), sans = N1, N2, N3: (2 + 1 − 1) / 3.
    assert get(avec, "ORTHOPHONIE:scolarite", "pre", A) == (pytest.approx(3.0), 1)
    assert get(sans, "ORTHOPHONIE:scolarite", "pre", A) == (pytest.approx(2 / 3), 3)
    # sante at A: N1 only (+2), with psychomotricity; sans none: NULL, 0.
    assert get(avec, "PSYCHOMOTRICITE:sante", "pre", A) == (pytest.approx(2.0), 1)
    assert get(sans, "PSYCHOMOTRICITE:sante", "pre", A) == (None, 0)
    # A type never used: everyone is sans. GUIDANCE_FAMILIALE at A: the four pathways, mean 1.25.
    assert get(sans, "GUIDANCE_FAMILIALE:scolarite", "pre", A) == (pytest.approx(1.25), 4)
    assert get(avec, "GUIDANCE_FAMILIALE:scolarite", "pre", A) == (None, 0)
    # One row per evaluated type × domain, zeros included: 6 × 4.
    cats = {k[1] for k in rows if k[0] == avec and k[2:] == ("pre", B, "2024")}
    assert len(cats) == 24
    # Everywhere: effectif(avec) + effectif(sans) = effectif(progression_note) of the domain.
    for (code, cat, level, terr, period), (_, n) in rows.items():
        if code == avec:
            domain = cat.split(":")[1]
            assert n + rows[(sans, cat, level, terr, period)][1] == \
                rows[("progression_note", domain, level, terr, period)][1]

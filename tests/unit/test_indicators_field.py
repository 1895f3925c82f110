"""The indicators the field asked for (indicators.md v2, "What the field asked for") on hand-built
warehouses: every expected value below is worked out by hand in the comments from the spec's words,
with the edge cases the issue names (18-month boundary on 31 August, a referent's siblings counted as
one family, a follow-up bilan on day 120, 240 and 241, ties of ENTREE bilans). Interval values are
checked in test_intervals.py; the same indicators on generated data in test_indicators_field_generated.py.

Sites: A = PRE51230 (Épernay) and B = PRE51454 (Reims), both in the Marne (51, région 44).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from indicator_fixture import build_warehouse, read_indicators
from pipelines.warehouse.models import build

A, B = "PRE51230", "PRE51454"
SITES = [{"code_pre": A, "departement": "51", "region": "44"}, {"code_pre": B, "departement": "51", "region": "44"}]
TYPES_ACTION = ("ACCOMPAGNEMENT_SCOLARITE", "COUP_DE_POUCE_LANGAGE", "LIEN_ECOLE_FAMILLE", "ACTIVITE_SPORTIVE",
                "ACTIVITE_CULTURELLE", "SEJOUR_VACANCES", "LOISIRS", "GROUPE_PAROLE_PARENTS", "ENTRETIEN_FAMILIAL",
                "GUIDANCE_FAMILIALE", "MEDIATION", "BILAN_SANTE", "BILAN_PSYCHOMOTRICITE", "PSYCHOMOTRICITE",
                "ORTHOPHONIE", "SUIVI_PSYCHOLOGIQUE", "ORIENTATION_SOIN", "AUTRE")
DOMAINS = ("scolarite", "comportement", "sante", "parentalite")


def _p(code, pid, entree, sortie=None, *, child=None, famille=None, referent="R1"):
    return {"code_pre": code, "id_parcours": pid, "id_enfant": child or "E" + pid, "id_famille": famille,
            "date_entree": entree, "date_sortie": sortie, "motif_sortie": "AUTRE" if sortie else None,
            "id_referent": referent}


def _a(code, aid, pid, debut, *, fin=None, type_action="AUTRE", partenaire="ASSOCIATION", prevues=None,
       realisees=None, volet="SANTE"):
    return {"code_pre": code, "id_action": aid, "id_parcours": pid, "volet": volet, "type_action": type_action,
            "partenaire": partenaire, "date_debut": debut, "date_fin": fin, "seances_prevues": prevues,
            "seances_realisees": realisees}


def _b(code, bid, pid, type_bilan, day, **notes):
    return {"code_pre": code, "id_bilan": bid, "id_parcours": pid, "type_bilan": type_bilan, "date_bilan": day,
            "objectifs_fixes": 1, "objectifs_atteints": 0, **{f"note_{k}": v for k, v in notes.items()}}


def _indicators(depots, parcours, actions=(), bilans=()):
    con = build_warehouse(sites=SITES, depots=depots, parcours=parcours, actions=actions, bilans=bilans)
    build(con)
    rows = read_indicators(con)
    bounds = {tuple(r[:5]): r[5:] for r in con.execute(
        "select indicateur, categorie, niveau, territoire, periode, borne_basse, borne_haute "
        "from marts.indicateurs").fetchall()}
    con.close()
    return rows, bounds


def _plus(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


# --------------------------------------------------------------------------- service norms: guidance

# A extracted 2024-12-31, B 2024-06-30. Earliest entry 2022-01-01: periods 2022, 2023, 2024 and the
# school years 2021-2022 … 2024-2025.
GUIDANCE_DEPOTS = [{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-06-30"}]


def _guidance_fixture():
    parcours, actions = [], []

    def guidance(code, pid, debut, fin=None, **pathway):
        parcours.append(_p(code, pid, "2022-01-01", **pathway))
        actions.append(_a(code, "G" + pid, pid, debut, fin=fin, type_action="GUIDANCE_FAMILIALE",
                          volet="PARENTALITE"))

    # Referent RA4: the four guidances of the 18-month boundary, ended in 2024.
    # DuckDB's + 18 months (the day missing in the target month becomes its last day):
    # 2022-08-31 + 18 months = 2024-02-31 → 2024-02-29; 2023-02-28 + 18 months = 2024-08-28.
    guidance(A, "P41", "2022-08-31", "2024-02-29", child="E41", famille="F4", referent="RA4")  # on the limit: in
    guidance(A, "P42", "2022-08-31", "2024-03-01", child="E42", famille="F4", referent="RA4")  # a day over: out
    guidance(A, "P43", "2023-02-28", "2024-08-28", child="E43", famille="F5", referent="RA4")  # on the limit: in
    guidance(A, "P44", "2023-02-28", "2024-08-29", child="E44", referent="RA4")                # a day over (not
    #                                                         the 31st, the end of August): out; no family id
    # RA1 at 2024-12-31: four children, three families. E10 and E11 are siblings (F1): one family; E12 has no
    # family id: its own, ("enfant", "E12"); E13's family id is the text "E12": another family (namespaces).
    guidance(A, "P10", "2024-03-01", "2024-12-31", child="E10", famille="F1", referent="RA1")  # ends on r: ongoing
    guidance(A, "P11", "2024-03-01", child="E11", famille="F1", referent="RA1")
    guidance(A, "P12", "2024-03-01", child="E12", famille=None, referent="RA1")
    guidance(A, "P13", "2024-03-01", child="E13", famille="E12", referent="RA1")
    # RA2: eleven families (more than 10: beyond the norm).
    for i in range(11):
        guidance(A, f"P2{i:02d}", "2024-03-01", child=f"E2{i:02d}", famille=f"F2{i:02d}", referent="RA2")
    # RA3: ten families ongoing (not more than 10), an eleventh ended the day before r (not ongoing).
    for i in range(10):
        guidance(A, f"P3{i:02d}", "2024-03-01", child=f"E3{i:02d}", famille=f"F3{i:02d}", referent="RA3")
    guidance(A, "P310", "2024-03-01", "2024-12-30", child="E310", famille="F310", referent="RA3")
    # B (r = 2024-06-30 in 2024): RB2's guidance ended 2024-05-01, 16 months after its start: in the norm;
    # RB1's planned end 2024-08-15 falls after B's extraction: not in G, but ongoing at r.
    guidance(B, "Q1", "2023-03-01", "2024-08-15", child="E1", famille="F1", referent="RB1")
    guidance(B, "Q2", "2023-01-15", "2024-05-01", child="E2", famille="F2", referent="RB2")
    # A guidance of another type does not count; nor an ongoing action of another type.
    parcours.append(_p(A, "P90", "2022-01-01", child="E90", referent="RA9"))
    actions.append(_a(A, "X90", "P90", "2024-03-01", type_action="ENTRETIEN_FAMILIAL", volet="PARENTALITE"))
    actions.append(_a(A, "X91", "P90", "2023-01-01", fin="2023-03-01", type_action="MEDIATION", volet="PARENTALITE"))
    return parcours, actions


@pytest.fixture(scope="module")
def guidance():
    parcours, actions = _guidance_fixture()
    return _indicators(GUIDANCE_DEPOTS, parcours, actions)[0]


def test_part_guidance_18_mois_calendar_months_and_planned_ends(guidance):
    # 2024, A: G = P41, P42, P43, P44 and P10, P310 (ended 2024-12-31 and 2024-12-30, 10 months after their
    # start); within 18 months: P41, P43, P10, P310: 4 of 6.
    assert guidance[("part_guidance_18_mois", "", "pre", A, "2024")] == (pytest.approx(400 / 6), 6)
    # B: G = Q2 only (Q1's end 2024-08-15 is after B's extraction 2024-06-30); Q2 within.
    assert guidance[("part_guidance_18_mois", "", "pre", B, "2024")] == (pytest.approx(100.0), 1)
    # Département, région, France pool them: 5 of 7.
    for level, territory in (("departement", "51"), ("region", "44"), ("national", "FR")):
        assert guidance[("part_guidance_18_mois", "", level, territory, "2024")] == (pytest.approx(500 / 7), 7)
    # 2023-2024 (to 2024-08-31): P41–P44 at A (2024-08-28 and 2024-08-29 are in it), 2 of 4; with Q2, 3 of 5.
    assert guidance[("part_guidance_18_mois", "", "pre", A, "2023-2024")] == (pytest.approx(50.0), 4)
    assert guidance[("part_guidance_18_mois", "", "departement", "51", "2023-2024")] == (pytest.approx(60.0), 5)
    # 2023: no guidance ended (MEDIATION's end does not count): NULL over an empty G, effectif 0.
    assert guidance[("part_guidance_18_mois", "", "pre", A, "2023")] == (None, 0)
    assert guidance[("part_guidance_18_mois", "", "national", "FR", "2023")] == (None, 0)


def test_families_per_referent_siblings_namespaces_and_the_norm(guidance):
    # 2024, A, r = 2024-12-31. Ongoing: RA1 (P10 ends on r, P11–P13 open): families F1, (enfant E12),
    # (famille E12) = 3; RA2: 11; RA3: 10 (P310 ended 2024-12-30). RA4's guidances all ended in 2024; RA9
    # has no guidance. R = 3; mean (3 + 11 + 10) / 3 = 8; beyond 10: RA2 alone, 1 of 3.
    assert guidance[("familles_par_referent_guidance", "", "pre", A, "2024")] == (pytest.approx(8.0), 3)
    assert guidance[("part_referents_guidance_au_dela_norme", "", "pre", A, "2024")] == (pytest.approx(100 / 3), 3)
    # B, r = min(2024-12-31, 2024-06-30) = 2024-06-30: Q1 ongoing (RB1, 1 family), Q2 ended 2024-05-01.
    assert guidance[("familles_par_referent_guidance", "", "pre", B, "2024")] == (pytest.approx(1.0), 1)
    assert guidance[("part_referents_guidance_au_dela_norme", "", "pre", B, "2024")] == (pytest.approx(0.0), 1)
    # Département 51: R = 4, families 3 + 11 + 10 + 1 = 25: 6.25; beyond: 1 of 4.
    assert guidance[("familles_par_referent_guidance", "", "departement", "51", "2024")] == (pytest.approx(6.25), 4)
    assert guidance[("part_referents_guidance_au_dela_norme", "", "departement", "51", "2024")] == \
        (pytest.approx(25.0), 4)
    # 2022, r = 2022-12-31: P41 and P42 (started 2022-08-31) are ongoing, both RA4's; E41 and E42 are siblings
    # (F4): one family. Nothing at B.
    assert guidance[("familles_par_referent_guidance", "", "pre", A, "2022")] == (pytest.approx(1.0), 1)
    assert guidance[("familles_par_referent_guidance", "", "pre", B, "2022")] == (None, 0)
    assert guidance[("part_referents_guidance_au_dela_norme", "", "pre", B, "2022")] == (None, 0)
    # 2023, r = 2023-12-31: RA4 has P41–P44 ongoing: families F4 (E41, E42), F5, (enfant E44) = 3.
    # B: Q1 (RB1) and Q2 (RB2) ongoing: 1 family each.
    assert guidance[("familles_par_referent_guidance", "", "pre", A, "2023")] == (pytest.approx(3.0), 1)
    assert guidance[("familles_par_referent_guidance", "", "pre", B, "2023")] == (pytest.approx(1.0), 2)
    assert guidance[("familles_par_referent_guidance", "", "national", "FR", "2023")] == (pytest.approx(5 / 3), 3)
    # 2024-2025 (d1 = 2025-08-31): r = each site's extraction, as for 2024.
    assert guidance[("familles_par_referent_guidance", "", "departement", "51", "2024-2025")] == \
        (pytest.approx(6.25), 4)


def test_norms_come_from_the_referential(monkeypatch):
    # An analyst tightens the norms: 12 months, at most 3 families. Same data, other figures.
    from pipelines.warehouse import catalogue

    edited = {**catalogue.norms(),
              "guidance_duree_mois": {"libelle": "x", "valeur": 12, "unite": "mois"},
              "guidance_familles_par_referent": {"libelle": "x", "valeur": 3, "unite": "familles"}}
    monkeypatch.setattr("pipelines.warehouse.models.norms", lambda: edited)
    parcours, actions = _guidance_fixture()
    rows = _indicators(GUIDANCE_DEPOTS, parcours, actions)[0]
    # 2024, A: of P41–P44 none ended within 12 months (the shortest took 18); P10 and P310 did (10 months).
    assert rows[("part_guidance_18_mois", "", "pre", A, "2024")] == (pytest.approx(200 / 6), 6)
    # beyond 3 families: RA2 (11) and RA3 (10), not RA1 (3).
    assert rows[("part_referents_guidance_au_dela_norme", "", "pre", A, "2024")] == (pytest.approx(200 / 3), 3)


# --------------------------------------------------------------------------- 6-month follow-up


def test_part_suivi_6_mois_window_and_closed_window_at_extraction():
    # A extracted 2024-12-31: S6 needs date_sortie + 240 <= 2024-12-31, i.e. date_sortie <= 2024-05-05.
    parcours = [
        _p(A, "S1", "2023-01-01", "2024-01-01"),  # bilan on day 120: followed
        _p(A, "S2", "2023-01-01", "2024-02-01"),  # bilan on day 241: out of the window
        _p(A, "S3", "2023-01-01", "2024-03-01"),  # bilan on day 119: out; a SORTIE bilan in the window: no
        _p(A, "S4", "2023-01-01", "2024-05-05"),  # window closes on the extraction day; bilan on day 240
        _p(A, "S5", "2023-01-01", "2024-05-06"),  # window closes after the extraction: not in S6
        _p(A, "S6", "2023-01-01", "2024-04-01"),  # two SUIVI_6_MOIS bilans, days 10 and 200: followed once
    ]
    bilans = [
        _b(A, "B1", "S1", "SUIVI_6_MOIS", _plus("2024-01-01", 120)),
        _b(A, "B2", "S2", "SUIVI_6_MOIS", _plus("2024-02-01", 241)),
        _b(A, "B3", "S3", "SUIVI_6_MOIS", _plus("2024-03-01", 119)),
        _b(A, "B4", "S3", "SORTIE", _plus("2024-03-01", 150)),
        _b(A, "B5", "S4", "SUIVI_6_MOIS", _plus("2024-05-05", 240)),
        _b(A, "B6", "S5", "SUIVI_6_MOIS", _plus("2024-05-06", 200)),
        _b(A, "B7", "S6", "SUIVI_6_MOIS", _plus("2024-04-01", 10)),
        _b(A, "B8", "S6", "SUIVI_6_MOIS", _plus("2024-04-01", 200)),
    ]
    assert _plus("2024-05-05", 240) == "2024-12-31"
    rows, bounds = _indicators([{"code_pre": A, "date_extraction": "2024-12-31"},
                                {"code_pre": B, "date_extraction": "2024-12-31"}], parcours, bilans=bilans)
    # 2024: S6 = S1, S2, S3, S4, S6; followed S1, S4, S6: 3 of 5.
    assert rows[("part_suivi_6_mois", "", "pre", A, "2024")] == (pytest.approx(60.0), 5)
    # B has no pathway: 0 and NULL, its bounds NULL.
    assert rows[("part_suivi_6_mois", "", "pre", B, "2024")] == (None, 0)
    assert bounds[("part_suivi_6_mois", "", "pre", B, "2024")] == (None, None)
    # 2023: no exit.
    assert rows[("part_suivi_6_mois", "", "pre", A, "2023")] == (None, 0)


# --------------------------------------------------------------------------- progression of notes


def test_progression_note_ties_earliest_entry_latest_exit():
    depots = [{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-12-31"}]
    parcours = [
        _p(A, "N1", "2022-01-03", "2023-05-01"),
        _p(A, "N2", "2022-01-03", "2023-06-01"),
        _p(A, "N3", "2022-01-03", "2023-07-01"),  # no SORTIE bilan
        _p(A, "N4", "2022-01-03", "2024-02-01"),  # exits in 2024
        _p(A, "N5", "2022-01-03"),                # never exits: not in S, whatever its bilans
        _p(B, "M1", "2022-01-03", "2023-03-01"),
    ]
    bilans = [
        # N1, scolarite: two ENTREE on the earliest date 2022-01-10 (1 and 2): entry 1.5; the later ENTREE (4)
        # does not count. Latest SORTIE 2023-05-01 (3); the earlier SORTIE (1) does not count: +1.5.
        # comportement: among the ENTREE bilans carrying it, the earliest (2022-01-10) has 2; exit 3: +1.
        # parentalite: on the SORTIE only: not counted. An INTERMEDIAIRE bilan never counts.
        _b(A, "N1a", "N1", "ENTREE", "2022-01-10", scolarite=1, comportement=2),
        _b(A, "N1b", "N1", "ENTREE", "2022-01-10", scolarite=2),
        _b(A, "N1c", "N1", "ENTREE", "2022-03-01", scolarite=4, comportement=4),
        _b(A, "N1d", "N1", "INTERMEDIAIRE", "2022-06-01", scolarite=1, comportement=1, sante=1),
        _b(A, "N1e", "N1", "SORTIE", "2023-04-01", scolarite=1, comportement=1),
        _b(A, "N1f", "N1", "SORTIE", "2023-05-01", scolarite=3, comportement=3, parentalite=2),
        # N2, scolarite: the earliest ENTREE (2022-02-01) has no scolarite note: the entry is the next one
        # carrying it (2022-02-15): 2. Two SORTIE on the latest date (2 and 3): 2.5. +0.5.
        # comportement: entry 1 (2022-02-01), exit: the only one of the latest SORTIE carrying it: 1. 0.
        # parentalite: 3 → 2: −1.
        _b(A, "N2a", "N2", "ENTREE", "2022-02-01", comportement=1, parentalite=3),
        _b(A, "N2b", "N2", "ENTREE", "2022-02-15", scolarite=2),
        _b(A, "N2c", "N2", "SORTIE", "2023-06-01", scolarite=2, comportement=1, parentalite=2),
        _b(A, "N2d", "N2", "SORTIE", "2023-06-01", scolarite=3),
        _b(A, "N3a", "N3", "ENTREE", "2022-01-10", scolarite=1),
        _b(A, "N4a", "N4", "ENTREE", "2022-01-10", scolarite=1),
        _b(A, "N4b", "N4", "SORTIE", "2024-02-01", scolarite=4),                  # 2024: +3
        _b(A, "N5a", "N5", "ENTREE", "2022-01-10", scolarite=1),
        _b(A, "N5b", "N5", "SORTIE", "2023-05-01", scolarite=4),
        # B, M1: three ENTREE tied (1, 2, 2): 5/3; SORTIE 2: +1/3.
        _b(B, "M1a", "M1", "ENTREE", "2022-01-05", scolarite=1),
        _b(B, "M1b", "M1", "ENTREE", "2022-01-05", scolarite=2),
        _b(B, "M1c", "M1", "ENTREE", "2022-01-05", scolarite=2),
        _b(B, "M1d", "M1", "SORTIE", "2023-03-01", scolarite=2),
    ]
    rows, bounds = _indicators(depots, parcours, bilans=bilans)
    get = lambda domain, level, territory, period: rows[("progression_note", domain, level, territory, period)]  # noqa: E731
    # 2023, A: scolarite N1 +1.5, N2 +0.5: mean 1, 2 pathways; comportement N1 +1, N2 0: 0.5;
    # parentalite N2 −1; sante: nobody (the INTERMEDIAIRE note does not count): NULL, 0.
    assert get("scolarite", "pre", A, "2023") == (pytest.approx(1.0), 2)
    assert get("comportement", "pre", A, "2023") == (pytest.approx(0.5), 2)
    assert get("parentalite", "pre", A, "2023") == (pytest.approx(-1.0), 1)
    assert get("sante", "pre", A, "2023") == (None, 0)
    # B: +1/3; département: (1.5 + 0.5 + 1/3) / 3 = 7/9.
    assert get("scolarite", "pre", B, "2023") == (pytest.approx(1 / 3), 1)
    assert get("scolarite", "departement", "51", "2023") == (pytest.approx(7 / 9), 3)
    # 2024: N4 +3. 2022-2023 (to 2023-08-31): N1, N2, M1 as in 2023.
    assert get("scolarite", "pre", A, "2024") == (pytest.approx(3.0), 1)
    assert get("scolarite", "departement", "51", "2022-2023") == (pytest.approx(7 / 9), 3)
    # No interval for a mean.
    assert bounds[("progression_note", "scolarite", "pre", A, "2023")] == (None, None)


# --------------------------------------------------------------------------- cooperation


def test_partners_per_pathway_and_multi_partner_share():
    depots = [{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-06-30"}]
    parcours = [
        _p(A, "P1", "2023-01-01"),
        _p(A, "P2", "2023-05-01", "2023-12-31"),
        _p(A, "P3", "2023-10-01"),
        _p(A, "P4", "2024-06-01"),  # no action
        _p(B, "Q1", "2023-03-01"),
    ]
    actions = [
        _a(A, "A1", "P1", "2023-02-01", partenaire="CMPP"),
        _a(A, "A2", "P1", "2023-03-01", partenaire="CMPP"),
        _a(A, "A3", "P1", "2024-02-01", partenaire="ASSOCIATION"),
        _a(A, "A4", "P1", "2022-12-01", partenaire="AUTRE"),      # before the entry: still the pathway's
        _a(A, "A5", "P2", "2023-06-01", partenaire="PMI"),
        _a(A, "A6", "P2", "2023-07-01", partenaire="PMI"),
        _a(A, "A7", "P3", "2024-01-01", partenaire="EDUCATION_NATIONALE"),
        _a(B, "B1", "Q1", "2023-04-01", partenaire="CAF"),
        _a(B, "B2", "Q1", "2023-04-02", partenaire="COMMUNE"),
    ]
    rows, bounds = _indicators(depots, parcours, actions)
    mean = lambda level, territory, period: rows[("partenaires_par_parcours", "", level, territory, period)]  # noqa: E731
    multi = lambda level, territory, period: rows[("part_parcours_multipartenaires", "", level, territory, period)]  # noqa: E731
    # 2023, A: A = P1, P2, P3. Partners by 2023-12-31: P1 CMPP, AUTRE (2); P2 PMI (1); P3 none yet (0).
    # Mean 3/3 = 1; with 2 or more: P1, 1 of 3.
    assert mean("pre", A, "2023") == (pytest.approx(1.0), 3)
    assert multi("pre", A, "2023") == (pytest.approx(100 / 3), 3)
    # 2024, A: A = P1 (CMPP, AUTRE, ASSOCIATION: 3), P3 (1), P4 (0); P2 ended 2023-12-31. 4/3; 1 of 3.
    assert mean("pre", A, "2024") == (pytest.approx(4 / 3), 3)
    assert multi("pre", A, "2024") == (pytest.approx(100 / 3), 3)
    # 2022-2023 (to 2023-08-31), A: P1 (CMPP, AUTRE: 2), P2 (1): 1.5; 1 of 2.
    assert mean("pre", A, "2022-2023") == (pytest.approx(1.5), 2)
    assert multi("pre", A, "2022-2023") == (pytest.approx(50.0), 2)
    # 2023, département: + Q1 (CAF, COMMUNE: 2): 5/4; 2 of 4.
    assert mean("departement", "51", "2023") == (pytest.approx(1.25), 4)
    assert multi("departement", "51", "2023") == (pytest.approx(50.0), 4)
    # The mean has no interval.
    assert bounds[("partenaires_par_parcours", "", "pre", A, "2023")] == (None, None)


def test_pathways_per_partner_and_volet():
    """The project's parcours_partenaire_volet (catalogue, ajout): per (partner, volet), the pathways of A with an
    action of that partner in that volet begun by the end of the period; a pathway counts in every couple."""
    depots = [{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-12-31"}]
    parcours = [
        _p(A, "P1", "2023-01-01"),
        _p(A, "P2", "2023-05-01", "2023-12-31"),
        _p(A, "P3", "2023-10-01"),
        _p(A, "P4", "2024-06-01"),  # no action
        _p(B, "Q1", "2023-03-01"),
    ]
    actions = [
        _a(A, "A1", "P1", "2023-02-01", partenaire="CMPP", volet="SANTE"),
        _a(A, "A2", "P1", "2023-03-01", partenaire="CMPP", volet="SANTE"),       # same couple: P1 once
        _a(A, "A3", "P1", "2023-04-01", partenaire="CMPP", volet="PARENTALITE"),
        _a(A, "A4", "P1", "2022-12-01", partenaire="EDUCATION_NATIONALE", volet="SCOLARITE"),  # before entry
        _a(A, "A5", "P2", "2023-06-01", partenaire="CMPP", volet="SANTE"),
        _a(A, "A6", "P3", "2024-01-01", partenaire="EDUCATION_NATIONALE", volet="SCOLARITE"),
        _a(A, "A7", "P2", "2024-03-01", partenaire="PMI", volet="SANTE"),        # P2 has ended by 2024
        _a(B, "B1", "Q1", "2023-04-01", partenaire="CMPP", volet="SANTE"),
    ]
    rows, bounds = _indicators(depots, parcours, actions)

    def get(couple, level, territory, period):
        return rows[("parcours_partenaire_volet", couple, level, territory, period)]

    # 2023, A: A = P1, P2, P3. CMPP × SANTE: P1 (A1, A2), P2 (A5) = 2; CMPP × PARENTALITE: P1 = 1;
    # EN × SCOLARITE: P1 (A4, before its entry, still its own) = 1, P3's A6 begins in 2024; PMI × SANTE: 0.
    assert get("CMPP:SANTE", "pre", A, "2023") == (2.0, 2)
    assert get("CMPP:PARENTALITE", "pre", A, "2023") == (1.0, 1)
    assert get("EDUCATION_NATIONALE:SCOLARITE", "pre", A, "2023") == (1.0, 1)
    assert get("PMI:SANTE", "pre", A, "2023") == (0.0, 0)
    # P1 counts in three couples: the couples of A in 2023 add up to 4, more than the 3 active pathways.
    assert sum(n for (code, _, level, terr, period), (_, n) in rows.items()
               if code == "parcours_partenaire_volet" and (level, terr, period) == ("pre", A, "2023")) == 4
    # 2024, A: A = P1, P3, P4 (P2 left on 2023-12-31). CMPP × SANTE: P1; EN × SCOLARITE: P1, P3; PMI × SANTE:
    # A7 is P2's, which is not active: 0.
    assert get("CMPP:SANTE", "pre", A, "2024") == (1.0, 1)
    assert get("EDUCATION_NATIONALE:SCOLARITE", "pre", A, "2024") == (2.0, 2)
    assert get("PMI:SANTE", "pre", A, "2024") == (0.0, 0)
    # School year 2022-2023 (to 2023-08-31), A: P1 (EN × SCOLARITE, CMPP × SANTE, CMPP × PARENTALITE), P2
    # (CMPP × SANTE, from 2023-06-01).
    assert get("CMPP:SANTE", "pre", A, "2022-2023") == (2.0, 2)
    assert get("EDUCATION_NATIONALE:SCOLARITE", "pre", A, "2022-2023") == (1.0, 1)
    # Territories add up the sites: 2023, département 51, CMPP × SANTE = A 2 + B 1 (Q1).
    assert get("CMPP:SANTE", "pre", B, "2023") == (1.0, 1)
    assert get("CMPP:SANTE", "departement", "51", "2023") == (3.0, 3)
    assert get("EDUCATION_NATIONALE:SCOLARITE", "national", "FR", "2024") == (2.0, 2)
    # Every couple of the two code lists (11 partners × 4 volets), zeros included; no interval.
    couples = {k[1] for k in rows if k[0] == "parcours_partenaire_volet" and k[2:] == ("pre", B, "2023")}
    assert len(couples) == 44 and "CAF:EDUCATIF" in couples and get("CAF:EDUCATIF", "pre", B, "2023") == (0.0, 0)
    assert bounds[("parcours_partenaire_volet", "CMPP:SANTE", "pre", A, "2023")] == (None, None)


# --------------------------------------------------------------------------- action types


def test_children_and_attendance_per_action_type():
    depots = [{"code_pre": A, "date_extraction": "2024-12-31"}, {"code_pre": B, "date_extraction": "2024-12-31"}]
    parcours = [
        _p(A, "P1", "2022-06-01", "2023-01-31", child="E1"),
        _p(A, "P2", "2023-03-01", child="E1"),  # the same child's second pathway
        _p(A, "P3", "2023-01-01", child="E2"),
        _p(A, "P4", "2023-01-01", "2023-03-31", child="E3"),
        _p(B, "Q1", "2023-01-01", child="E1"),  # another site's E1: another child
    ]
    actions = [
        _a(A, "A1", "P1", "2023-01-15", type_action="PSYCHOMOTRICITE", prevues=20, realisees=15),
        _a(A, "A2", "P2", "2023-04-01", type_action="PSYCHOMOTRICITE", prevues=10, realisees=None),
        _a(A, "A3", "P3", "2023-06-01", type_action="PSYCHOMOTRICITE", prevues=10, realisees=7),
        _a(A, "A4", "P3", "2024-01-01", type_action="PSYCHOMOTRICITE"),
        _a(A, "A5", "P4", "2023-02-01", type_action="AUTRE", prevues=0, realisees=3),
        _a(A, "A6", "P4", "2023-05-01", type_action="ORTHOPHONIE", prevues=None, realisees=5),  # after its exit
        _a(B, "B1", "Q1", "2023-02-01", type_action="PSYCHOMOTRICITE", prevues=10, realisees=10),
    ]
    rows, bounds = _indicators(depots, parcours, actions)
    children = lambda t, level, territory, period: rows[("enfants_type_action", t, level, territory, period)]  # noqa: E731
    attendance = lambda t, level, territory, period: rows[("taux_assiduite_type_action", t, level, territory, period)]  # noqa: E731
    # 2023, A: PSYCHOMOTRICITE: E1 (two pathways, one child), E2: 2. Attendance on A1 and A3 only
    # (A2 has no sessions done): (15 + 7) / (20 + 10).
    assert children("PSYCHOMOTRICITE", "pre", A, "2023") == (2.0, 2)
    assert attendance("PSYCHOMOTRICITE", "pre", A, "2023") == (pytest.approx(100 * 22 / 30), 2)
    # AUTRE and ORTHOPHONIE: E3 each (an action after its pathway's exit counts); no attendance (zero or null
    # planned sessions): NULL over no action.
    assert children("AUTRE", "pre", A, "2023") == (1.0, 1)
    assert attendance("AUTRE", "pre", A, "2023") == (None, 0)
    assert children("ORTHOPHONIE", "pre", A, "2023") == (1.0, 1)
    assert attendance("ORTHOPHONIE", "pre", A, "2023") == (None, 0)
    # Every listed type has its rows: a count of 0, a NULL rate.
    for kind in TYPES_ACTION:
        if kind not in ("PSYCHOMOTRICITE", "AUTRE", "ORTHOPHONIE"):
            assert children(kind, "pre", A, "2023") == (0.0, 0), kind
            assert attendance(kind, "pre", A, "2023") == (None, 0), kind
    # Département: PSYCHOMOTRICITE children A's E1, E2 and B's E1: 3; attendance (15 + 7 + 10) / (20 + 10 + 10).
    assert children("PSYCHOMOTRICITE", "departement", "51", "2023") == (3.0, 3)
    assert attendance("PSYCHOMOTRICITE", "departement", "51", "2023") == (pytest.approx(80.0), 3)
    # 2024, A: E2 (A4, no sessions recorded).
    assert children("PSYCHOMOTRICITE", "pre", A, "2024") == (1.0, 1)
    assert attendance("PSYCHOMOTRICITE", "pre", A, "2024") == (None, 0)
    assert bounds[("enfants_type_action", "PSYCHOMOTRICITE", "pre", A, "2023")] == (None, None)
    assert bounds[("taux_assiduite_type_action", "PSYCHOMOTRICITE", "pre", A, "2023")] == (None, None)


def test_every_new_indicator_has_its_full_grid():
    # One row per territory × period × listed category, zeros included, no total row.
    parcours, actions = _guidance_fixture()
    rows, _ = _indicators(GUIDANCE_DEPOTS, parcours, actions)
    territories = {("pre", A), ("pre", B), ("departement", "51"), ("region", "44"), ("national", "FR")}
    periods = {"2022", "2023", "2024", "2021-2022", "2022-2023", "2023-2024", "2024-2025"}
    grid = {"partenaires_par_parcours": [""], "part_parcours_multipartenaires": [""],
            "enfants_type_action": TYPES_ACTION, "taux_assiduite_type_action": TYPES_ACTION,
            "progression_note": DOMAINS, "part_guidance_18_mois": [""], "familles_par_referent_guidance": [""],
            "part_referents_guidance_au_dela_norme": [""]}
    for code, categories in grid.items():
        got = {k[1:] for k in rows if k[0] == code}
        assert got == {(c, *t, p) for c in categories for t in territories for p in periods}, code
        assert all(rows[(code, *k)][1] is not None for k in got), code

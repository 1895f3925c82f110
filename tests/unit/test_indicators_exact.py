"""Exact indicator values on a hand-built warehouse, worked out by hand from indicators.md
(and exchange-format.md for the default date_debut_donnees: the snapshot's earliest date_entree).

Every expected number below was derived by hand from the fixture (arithmetic in the comments);
none is computed by the code under test.

Fixture: four sites, so that the four levels are exercised:

| site     | dép. | région | date_extraction | date_debut_donnees            |
|----------|------|--------|-----------------|-------------------------------|
| PRE51454 | 51   | 44     | 2024-09-01      | NULL (default: earliest entry 2022-12-31) |
| PRE51108 | 51   | 44     | 2024-06-30      | 2023-01-01                    |
| PRE10387 | 10   | 44     | 2024-08-31      | 2022-09-01                    |
| PRE13055 | 13   | 93     | 2023-12-31      | 2023-01-01                    |

plus, in the ledger, a refused (not in force) submission of PRE51454 dated 2025-03-01 and an
unreadable one, which must both be ignored.

Global range: earliest date_entree 2022-09-01 (C3) to latest date_extraction in force 2024-09-01
(PRE51454). Periods overlapping it: calendar years 2022, 2023, 2024 and school years 2022-2023,
2023-2024, 2024-2025 (it starts on 2024-09-01, the last day of the range). Neither 2021-2022
(ends 2022-08-31, the day before the range) nor 2025 (starts after it) is produced.

Periods: Y22 = [2022-01-01, 2022-12-31], Y23 = [2023-01-01, 2023-12-31],
Y24 = [2024-01-01, 2024-12-31], S22 = [2022-09-01, 2023-08-31], S23 = [2023-09-01, 2024-08-31],
S24 = [2024-09-01, 2025-08-31].

Children ids E1, E2, … are reused from site to site on purpose: a child is (code_pre, id_enfant),
a referent (code_pre, id_referent).
"""

from __future__ import annotations

import itertools

import pytest

from indicator_fixture import build_warehouse, read_completeness, read_indicators

A, B, C, D = "PRE51454", "PRE51108", "PRE10387", "PRE13055"
Y22, Y23, Y24 = "2022", "2023", "2024"
S22, S23, S24 = "2022-2023", "2023-2024", "2024-2025"
PERIODS = (Y22, Y23, Y24, S22, S23, S24)

PA, PB, PC, PD = ("pre", A), ("pre", B), ("pre", C), ("pre", D)
D51, D10, D13 = ("departement", "51"), ("departement", "10"), ("departement", "13")
R44, R93 = ("region", "44"), ("region", "93")
FR = ("national", "FR")
TERRITORIES = (PA, PB, PC, PD, D51, D10, D13, R44, R93, FR)

VOLETS = ("SCOLARITE", "EDUCATIF", "PARENTALITE", "SANTE")
STRUCTURES = ("PRE", "CMPP", "CAMSP", "CMP", "ORTHOPHONISTE", "PSYCHOMOTRICIEN", "PSYCHOLOGUE",
              "PEDOPSYCHIATRIE", "AUTRE")
AGE_BANDS = ("2_5", "6_10", "11_16", "17_plus")
MONTH = 30.4375  # days per month, spec

ALL_CODES = {
    "enfants_suivis": ("",), "parcours_actifs": ("",), "entrees": ("",), "sorties": ("",),
    "duree_moyenne_mois": ("",), "duree_mediane_mois": ("",), "part_filles": ("",), "part_qpv": ("",),
    "part_age": AGE_BANDS, "part_orientation_ecole": ("",), "enfants_par_referent": ("",),
    "actions": VOLETS, "actions_par_enfant": ("",), "taux_assiduite": ("",), "cout_par_enfant": ("",),
    "part_sorties_objectifs_atteints": ("",), "part_sorties_relais": ("",), "taux_objectifs_atteints": ("",),
    "demandes_attente": STRUCTURES, "en_attente_fin_periode": STRUCTURES, "attente_mediane_jours": STRUCTURES,
    "part_rdv_sous_90_jours": STRUCTURES,
}

SITES = [
    {"code_pre": A, "departement": "51", "region": "44"},
    {"code_pre": B, "departement": "51", "region": "44"},
    {"code_pre": C, "departement": "10", "region": "44"},
    {"code_pre": D, "departement": "13", "region": "93"},
]

DEPOTS = [
    {"code_pre": A, "date_extraction": "2024-09-01"},
    {"code_pre": B, "date_extraction": "2024-06-30", "date_debut_donnees": "2023-01-01"},
    {"code_pre": C, "date_extraction": "2024-08-31", "date_debut_donnees": "2022-09-01"},
    {"code_pre": D, "date_extraction": "2023-12-31", "date_debut_donnees": "2023-01-01"},
    # Not in force: must change nothing (a later date that would add 2025 if it were read).
    {"code_pre": A, "date_extraction": "2025-03-01", "statut": "refuse", "en_vigueur": False, "nb_bloquants": 2},
    {"code_pre": None, "date_extraction": None, "statut": "refuse", "en_vigueur": False, "nb_bloquants": 1},
]


def _p(code, pid, child, sexe, born, entree, sortie, motif, ref, qpv, origine):
    return {"code_pre": code, "id_parcours": pid, "id_enfant": child, "sexe": sexe, "annee_naissance": born,
            "date_entree": entree, "date_sortie": sortie, "motif_sortie": motif, "id_referent": ref,
            "code_qpv": qpv, "origine_orientation": origine}


# Age at entry = year(date_entree) - annee_naissance; duration = date_sortie - date_entree (days).
PARCOURS = [
    # A1: entry on 31 December, exit on 1 January: active in 2022 and 2023. 1 day. Age 2022-2016 = 6.
    _p(A, "A1", "E1", "F", 2016, "2022-12-31", "2023-01-01", "OBJECTIFS_ATTEINTS", "R1", "QN05101M", "ECOLE"),
    # A2: exit on 2023-09-01, the first day of 2023-2024. 31+30+31+30+31+31 = 184 days. Age 11.
    _p(A, "A2", "E2", "M", 2012, "2023-03-01", "2023-09-01", "RELAIS_DROIT_COMMUN", "R1", None, "FAMILLE"),
    # A3: the same child E2, latest pathway (entered later), sexe F: E2 counts as a girl. Age 11.
    _p(A, "A3", "E2", "F", 2012, "2023-06-01", None, None, "R2", "QP051001", "ECOLE"),
    # A4: 30+31+30+31+31+29 (2024 is leap) = 182 days. Age 2023-2018 = 5 (top of 2_5).
    _p(A, "A4", "E3", "M", 2018, "2023-09-01", "2024-03-01", "DEMENAGEMENT", "R2", None, "PMI_SANTE"),
    # B1: day-of-year 32 to 365 = 333 days. Age 2023-2006 = 17 (bottom of 17_plus).
    _p(B, "B1", "E1", "M", 2006, "2023-02-01", "2023-12-31", "LIMITE_AGE", "R1", None, "SERVICE_SOCIAL"),
    # B2: one year across 29 Feb 2024 = 366 days. Age 2023-2022 = 1 (under 2: counts in 2_5).
    _p(B, "B2", "E2", "F", 2022, "2023-05-10", "2024-05-10", "OBJECTIFS_ATTEINTS", "R1", "QN05101M", "ECOLE"),
    # B3: age 9.
    _p(B, "B3", "E3", "F", 2014, "2023-11-15", None, None, "R3", None, "ECOLE"),
    # C1: 31+28+31+30+31+30 = 181 days. Age 10 (top of 6_10).
    _p(C, "C1", "E1", "M", 2013, "2023-01-10", "2023-07-10", "AUTRE", "R1", None, "ECOLE"),
    # C2: 28+2 = 30 days. Age 13.
    _p(C, "C2", "E2", "M", 2010, "2023-02-01", "2023-03-03", "OBJECTIFS_ATTEINTS", "R1", "QN01001N", "SERVICE_SOCIAL"),
    # C3: earliest entry of the warehouse. 365+30 = 395 days. Age 2022-2006 = 16 (top of 11_16).
    _p(C, "C3", "E3", "F", 2006, "2022-09-01", "2023-10-01", "RELAIS_DROIT_COMMUN", "R2", None, "ECOLE"),
    # C4: 30+31 = 61 days. Age 8.
    _p(C, "C4", "E4", "F", 2015, "2023-04-01", "2023-06-01", "OBJECTIFS_ATTEINTS", "R2", "QP010001", "FAMILLE"),
    # C5: age 13.
    _p(C, "C5", "E5", "M", 2011, "2024-02-01", None, None, "R3", None, "ECOLE"),
    # D1, D2: never exit. Ages 6 and 7.
    _p(D, "D1", "E1", "F", 2017, "2023-03-15", None, None, "R1", "QN01301M", "ECOLE"),
    _p(D, "D2", "E2", "M", 2016, "2023-09-10", None, None, "R1", None, "AUTRE"),
]


def _a(code, aid, pid, volet, debut, prevues, realisees, cout):
    return {"code_pre": code, "id_action": aid, "id_parcours": pid, "volet": volet, "date_debut": debut,
            "seances_prevues": prevues, "seances_realisees": realisees, "cout_euros": cout}


ACTIONS = [
    _a(A, "AC1", "A1", "SCOLARITE", "2022-12-31", 10, 8, 100.0),      # Y22, S22
    _a(A, "AC2", "A2", "EDUCATIF", "2023-04-01", 5, 5, None),          # Y23, S22; null cost
    _a(A, "AC3", "A3", "SANTE", "2023-07-01", 0, 2, 50.5),             # Y23, S22; zero planned: no assiduity
    _a(A, "AC4", "A3", "SCOLARITE", "2023-10-01", None, 3, 20.0),      # Y23, S23; null planned: no assiduity
    _a(A, "AC5", "A1", "PARENTALITE", "2023-09-15", 4, 1, 30.0),       # Y23, S23; A1 ended 2023-01-01
    _a(A, "AC6", "A4", "SCOLARITE", "2024-02-01", 6, None, None),      # Y24, S23; null done: no assiduity
    _a(B, "BC1", "B1", "SANTE", "2023-03-01", 12, 9, 200.0),           # Y23, S22
    _a(B, "BC2", "B2", "SANTE", "2023-06-01", 8, 8, 0.0),              # Y23, S22
    _a(B, "BC3", "B3", "EDUCATIF", "2024-01-10", None, None, None),    # Y24, S23
    _a(C, "CC1", "C3", "SCOLARITE", "2022-10-01", 20, 15, 300.0),      # Y22, S22
    _a(C, "CC2", "C1", "PARENTALITE", "2023-02-01", 3, 3, 45.25),      # Y23, S22
]


def _b(code, bid, pid, type_bilan, date, fixes, atteints):
    return {"code_pre": code, "id_bilan": bid, "id_parcours": pid, "type_bilan": type_bilan, "date_bilan": date,
            "objectifs_fixes": fixes, "objectifs_atteints": atteints}


BILANS = [
    _b(A, "BL1", "A1", "SORTIE", "2023-01-01", 3, 2),          # Y23, S22
    _b(A, "BL2", "A1", "ENTREE", "2022-12-31", 5, 0),          # not SORTIE
    _b(A, "BL3", "A2", "SORTIE", "2023-09-01", 4, 4),          # Y23, S23
    _b(A, "BL4", "A4", "SORTIE", "2024-03-01", 0, 0),          # objectifs_fixes = 0: excluded
    _b(A, "BL5", "A2", "INTERMEDIAIRE", "2023-06-01", 2, 1),   # not SORTIE
    _b(B, "BB1", "B1", "SORTIE", "2023-12-31", 2, 1),          # Y23, S23
    _b(B, "BB2", "B2", "SORTIE", "2024-05-10", 5, 5),          # Y24, S23
    _b(C, "BC1", "C2", "SORTIE", "2023-03-03", 4, 1),          # Y23, S22
    _b(C, "BC2", "C4", "SUIVI_6_MOIS", "2023-12-01", 3, 3),    # not SORTIE
    _b(C, "BC3", "C1", "SORTIE", "2023-09-20", 2, 2),          # Y23, S23 (C1 ended 2023-07-10: not active in S23)
]


def _w(code, wid, child, structure, demande, rdv=None, abandon=None, pid=None):
    return {"code_pre": code, "id_demande": wid, "id_enfant": child, "id_parcours": pid, "structure": structure,
            "date_demande": demande, "date_premier_rdv": rdv, "date_abandon": abandon}


# t = days from date_demande to the appointment (event) or to the abandon / date_extraction (censored).
ATTENTES = [
    _w(A, "WA1", "E1", "CMPP", "2023-01-01", rdv="2023-01-11", pid="A1"),  # event t=10
    _w(A, "WA2", "E7", "CMPP", "2023-02-01", abandon="2023-02-11"),        # censored t=10 (tie with WA1)
    _w(A, "WA3", "E8", "CMPP", "2023-03-01", rdv="2023-03-31"),            # event t=30
    _w(A, "WA4", "E9", "CMPP", "2023-04-01", rdv="2023-05-31"),            # event t=60 (30+30)
    _w(A, "WA5", "E10", "CMPP", "2023-06-01"),                             # waiting: censored t=366+92=458
    _w(A, "WA6", "E11", "PRE", "2024-08-01"),                              # waiting: censored t=31
    # Seen / abandoned exactly on a period's last day: no longer waiting at d1.
    _w(A, "WA7", "E12", "AUTRE", "2023-12-01", rdv="2023-12-31"),          # event t=30, rdv = d1 of 2023
    _w(A, "WA8", "E13", "AUTRE", "2023-08-01", abandon="2023-08-31"),      # censored t=30, = d1 of 2022-2023
    _w(B, "WB1", "E1", "CMP", "2023-01-01", rdv="2023-04-11"),             # event t=31+28+31+10=100
    _w(B, "WB2", "E2", "CMP", "2023-02-01", rdv="2023-08-20"),             # event t=28+31+30+31+30+31+19=200
    _w(B, "WB3", "E3", "CMP", "2023-12-01"),                               # waiting: censored at 2024-06-30, t=212
    _w(B, "WB4", "E4", "PSYCHOMOTRICIEN", "2023-08-01", rdv="2023-09-10"),  # event t=31+9=40
    _w(C, "WC1", "E1", "CMPP", "2023-05-01", rdv="2023-06-10"),            # event t=40
    _w(C, "WC2", "E2", "CMPP", "2023-06-01", abandon="2023-07-21"),        # censored t=50
    _w(C, "WC3", "E3", "CMPP", "2023-07-01"),                              # waiting: censored t=366+61=427
    _w(C, "WC4", "E4", "ORTHOPHONISTE", "2023-01-02", rdv="2023-01-12"),   # event t=10
    _w(C, "WC5", "E5", "ORTHOPHONISTE", "2023-02-01", rdv="2023-02-21"),   # event t=20
    _w(C, "WC6", "E1", "ORTHOPHONISTE", "2023-03-01", abandon="2023-03-21"),  # censored t=20 (tie)
    _w(C, "WC7", "E2", "ORTHOPHONISTE", "2023-04-01", rdv="2023-06-30"),   # event t=30+31+29=90
    # CAMSP, all in 2024 and 2023-2024: S reaches exactly 1/2 at t=45 as 8/10 · 6/8 · 5/6, a product
    # that floating point evaluates to 0.5000000000000001: the 1e-9 tolerance is needed.
    _w(C, "WC8", "E6", "CAMSP", "2024-01-01", rdv="2024-01-16"),           # event t=15
    _w(C, "WC9", "E7", "CAMSP", "2024-01-02", rdv="2024-01-17"),           # event t=15
    _w(C, "WC10", "E8", "CAMSP", "2024-01-03", rdv="2024-02-02"),          # event t=29+1=30
    _w(C, "WC11", "E9", "CAMSP", "2024-01-04", rdv="2024-02-03"),          # event t=30
    _w(C, "WC12", "E10", "CAMSP", "2024-01-05", rdv="2024-02-19"),         # event t=26+19=45
    _w(C, "WC13", "E11", "CAMSP", "2024-01-06", abandon="2024-03-06"),     # censored t=31+29=60
    _w(C, "WC14", "E12", "CAMSP", "2024-01-07", rdv="2024-05-06"),         # event t=31+29+31+29=120
    _w(C, "WC15", "E13", "CAMSP", "2024-01-08", rdv="2024-05-07"),         # event t=120
    _w(C, "WC16", "E14", "CAMSP", "2024-06-01"),                           # waiting: censored t=30+31+30=91
    _w(C, "WC17", "E15", "CAMSP", "2024-07-01"),                           # waiting: censored t=31+30=61
    _w(D, "WD1", "E1", "PSYCHOLOGUE", "2023-04-01", abandon="2023-04-06"),  # censored t=5
    _w(D, "WD2", "E2", "PSYCHOLOGUE", "2023-10-01"),                       # waiting: censored at 2023-12-31, t=91
    _w(D, "WD3", "E3", "CMPP", "2023-11-01", rdv="2023-11-21"),            # event t=20
]


@pytest.fixture(scope="module")
def warehouse():
    from pipelines.warehouse.models import build

    con = build_warehouse(sites=SITES, depots=DEPOTS, parcours=PARCOURS, actions=ACTIONS, bilans=BILANS,
                          attentes=ATTENTES)
    build(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def rows(warehouse):
    return read_indicators(warehouse)


class Expect:
    """Collects every mismatch before failing, so one run shows all discrepancies."""

    def __init__(self, rows):
        self.rows = rows
        self.errors: list[str] = []

    def row(self, code, territory, periode, valeur, effectif, categorie=""):
        niveau, territoire = territory
        key = (code, categorie, niveau, territoire, periode)
        if key not in self.rows:
            self.errors.append(f"missing row {key}")
            return
        got_v, got_e = self.rows[key]
        if got_e != effectif:
            self.errors.append(f"{key}: effectif expected {effectif}, got {got_e}")
        if valeur is None:
            if got_v is not None:
                self.errors.append(f"{key}: valeur expected NULL, got {got_v!r}")
        elif got_v is None or got_v != pytest.approx(valeur, rel=1e-12):
            self.errors.append(f"{key}: valeur expected {valeur!r}, got {got_v!r}")

    def absent(self, code, territory, periode, categorie=""):
        key = (code, categorie, *territory, periode)
        if key in self.rows:
            self.errors.append(f"{key}: row should not be produced, got {self.rows[key]}")

    def verify(self):
        assert not self.errors, f"{len(self.errors)} mismatch(es):\n" + "\n".join(self.errors)


def _share(num, den):
    """100 × num / den, NULL on an empty base (den given by hand)."""
    return None if den == 0 else 100 * num / den


# ---------------------------------------------------------------------------------------------
# Periods and territories


def test_periods_territories_and_categories_form_the_exact_grid(rows):
    # Every indicator but en_attente_fin_periode: one row per territory × period × category value,
    # nothing else (no total row, no extra period such as 2021-2022 or 2025, no extra territory).
    codes = {k[0] for k in rows}
    assert set(ALL_CODES) <= codes, f"missing indicators: {sorted(set(ALL_CODES) - codes)}"
    for code, categories in ALL_CODES.items():
        got = {k[1:] for k in rows if k[0] == code}
        if code == "en_attente_fin_periode":
            expected = {(cat, *t, p) for t, periods in EN_ATTENTE_PERIODS.items() for p in periods
                        for cat in categories}
        else:
            expected = {(cat, *t, p) for t, p, cat in itertools.product(TERRITORIES, PERIODS, categories)}
        assert got == expected, (code, sorted(got - expected)[:10], sorted(expected - got)[:10])


def test_periods_table_lists_the_six_periods(warehouse):
    got = {r[0] for r in warehouse.execute("select periode from marts.periodes").fetchall()}
    assert got == set(PERIODS)


def test_periods_follow_the_range_boundaries_on_another_warehouse():
    # One site, one pathway entered 2021-08-31, extracted 2022-01-01. Range [2021-08-31, 2022-01-01]:
    # calendar 2021 and 2022; school years 2020-2021 (ends 2021-08-31, the first day of the range)
    # and 2021-2022; not 2022-2023 (starts 2022-09-01) nor 2019-2020, 2020, 2023.
    from pipelines.warehouse.models import build

    con = build_warehouse(
        sites=[{"code_pre": "PRE08105", "departement": "08", "region": "44"}],
        depots=[{"code_pre": "PRE08105", "date_extraction": "2022-01-01"}],
        parcours=[{"code_pre": "PRE08105", "id_parcours": "P1", "id_enfant": "E1", "date_entree": "2021-08-31"}],
    )
    build(con)
    got = read_indicators(con)
    expected_periods = {"2021", "2022", "2020-2021", "2021-2022"}
    territories = {("pre", "PRE08105"), ("departement", "08"), ("region", "44"), ("national", "FR")}
    keys = {(k[2], k[3], k[4]) for k in got if k[0] == "enfants_suivis"}
    assert keys == {(*t, p) for t in territories for p in expected_periods}
    # Active in 2020-2021 (entry on its last day) and in every other period (never exits).
    for t, p in itertools.product(territories, expected_periods):
        assert got[("enfants_suivis", "", *t, p)] == (1.0, 1)
    # School year 2020-2021 contains the entry; 2021-2022 does not.
    for t in territories:
        assert got[("entrees", "", *t, "2020-2021")] == (1.0, 1)
        assert got[("entrees", "", *t, "2021-2022")] == (0.0, 0)
        assert got[("entrees", "", *t, "2021")] == (1.0, 1)
    con.close()


# ---------------------------------------------------------------------------------------------
# Pathway counts: (|A| active, |E| entries, |S| exits, |C| children) per territory and period.
# Active in P: date_entree <= d1 and (date_sortie null or >= d0).
#   A: Y22 {A1}             E {A1}        S {}       C {E1}
#      Y23 {A1,A2,A3,A4}    E {A2,A3,A4}  S {A1,A2}  C {E1,E2,E3}   (A1 exits on 1 Jan: active)
#      Y24 {A3,A4}          E {}          S {A4}     C {E2,E3}
#      S22 {A1,A2,A3}       E {A1,A2,A3}  S {A1}     C {E1,E2}      (A4 enters on 1 Sept 2023: no)
#      S23 {A2,A3,A4}       E {A4}        S {A2,A4}  C {E2,E3}      (A2 exits on d0: active and in S)
#      S24 {A3}             E {}          S {}       C {E2}
#   B: Y22 {} ; Y23 {B1,B2,B3} E all S {B1}; Y24 {B2,B3} S {B2}; S22 {B1,B2} E {B1,B2};
#      S23 {B1,B2,B3} E {B3} S {B1,B2}; S24 {B3}
#   C: Y22 {C3} E {C3}; Y23 {C1..C4} E {C1,C2,C4} S {C1..C4}; Y24 {C5} E {C5};
#      S22 {C1..C4} E {C1..C4} S {C1,C2,C4}; S23 {C3,C5} E {C5} S {C3}; S24 {C5}
#   D: Y22 {}; Y23 {D1,D2} E both; Y24 {D1,D2}; S22 {D1} E {D1}; S23 {D1,D2} E {D2}; S24 {D1,D2}
# Upper levels add the sites' disjoint sets (children are per site, so |C| adds up too).

_COUNTS_A = {Y22: (1, 1, 0, 1), Y23: (4, 3, 2, 3), Y24: (2, 0, 1, 2), S22: (3, 3, 1, 2), S23: (3, 1, 2, 2),
             S24: (1, 0, 0, 1)}
_COUNTS_B = {Y22: (0, 0, 0, 0), Y23: (3, 3, 1, 3), Y24: (2, 0, 1, 2), S22: (2, 2, 0, 2), S23: (3, 1, 2, 3),
             S24: (1, 0, 0, 1)}
_COUNTS_C = {Y22: (1, 1, 0, 1), Y23: (4, 3, 4, 4), Y24: (1, 1, 0, 1), S22: (4, 4, 3, 4), S23: (2, 1, 1, 2),
             S24: (1, 0, 0, 1)}
_COUNTS_D = {Y22: (0, 0, 0, 0), Y23: (2, 2, 0, 2), Y24: (2, 0, 0, 2), S22: (1, 1, 0, 1), S23: (2, 1, 0, 2),
             S24: (2, 0, 0, 2)}
COUNTS = {
    PA: _COUNTS_A, PB: _COUNTS_B, PC: _COUNTS_C, PD: _COUNTS_D, D10: _COUNTS_C, D13: _COUNTS_D, R93: _COUNTS_D,
    # A + B
    D51: {Y22: (1, 1, 0, 1), Y23: (7, 6, 3, 6), Y24: (4, 0, 2, 4), S22: (5, 5, 1, 4), S23: (6, 2, 4, 5),
          S24: (2, 0, 0, 2)},
    # A + B + C
    R44: {Y22: (2, 2, 0, 2), Y23: (11, 9, 7, 10), Y24: (5, 1, 2, 5), S22: (9, 9, 4, 8), S23: (8, 3, 5, 7),
          S24: (3, 0, 0, 3)},
    # A + B + C + D
    FR: {Y22: (2, 2, 0, 2), Y23: (13, 11, 7, 12), Y24: (7, 1, 2, 7), S22: (10, 10, 4, 9), S23: (10, 4, 5, 9),
         S24: (5, 0, 0, 5)},
}


def test_counts_enfants_suivis_parcours_actifs_entrees_sorties(rows):
    e = Expect(rows)
    for t, per_period in COUNTS.items():
        for p, (n_a, n_e, n_s, n_c) in per_period.items():
            e.row("parcours_actifs", t, p, n_a, n_a)
            e.row("entrees", t, p, n_e, n_e)
            e.row("sorties", t, p, n_s, n_s)
            e.row("enfants_suivis", t, p, n_c, n_c)
    e.verify()


def test_year_boundary_cases(rows):
    e = Expect(rows)
    # A1 enters 2022-12-31 and exits 2023-01-01: active in both calendar years.
    e.row("parcours_actifs", PA, Y22, 1, 1)          # {A1}
    e.row("parcours_actifs", PA, Y23, 4, 4)          # {A1, A2, A3, A4}
    e.row("sorties", PA, Y23, 2, 2)                  # A1 (1 Jan) and A2
    # A2 exits on 2023-09-01 = d0 of 2023-2024: active there and counted in its S.
    e.row("sorties", PA, S23, 2, 2)                  # {A2, A4}
    e.row("parcours_actifs", PA, S23, 3, 3)          # {A2, A3, A4}
    # Counts are 0, not NULL, on an empty base (PRE51108 has nothing in 2022).
    e.row("enfants_suivis", PB, Y22, 0, 0)
    e.row("sorties", FR, Y22, 0, 0)
    e.verify()


# ---------------------------------------------------------------------------------------------
# Durations (days; months = days / 30.4375). (mean days, median days, |S|); None on empty S.
# Durations: A1 1, A2 184, A4 182, B1 333, B2 366, C1 181, C2 30, C3 395, C4 61.
_NO_EXIT = (None, None, 0)
DURATIONS = {
    PA: {Y22: _NO_EXIT,
         Y23: (92.5, 92.5, 2),             # {1, 184}: (1+184)/2; even count, median = mean of the two
         Y24: (182, 182, 1),
         S22: (1, 1, 1),
         S23: (183, 183, 2),               # {184, 182}
         S24: _NO_EXIT},
    PB: {Y22: _NO_EXIT, Y23: (333, 333, 1), Y24: (366, 366, 1), S22: _NO_EXIT,
         S23: (349.5, 349.5, 2),           # {333, 366}
         S24: _NO_EXIT},
    PC: {Y22: _NO_EXIT,
         Y23: (166.75, 121, 4),            # {30, 61, 181, 395}: 667/4; median (61+181)/2 = 121
         Y24: _NO_EXIT,
         S22: (272 / 3, 61, 3),            # {181, 30, 61}: (181+30+61)/3; median 61
         S23: (395, 395, 1),
         S24: _NO_EXIT},
    D51: {Y22: _NO_EXIT,
          Y23: (518 / 3, 184, 3),          # {1, 184, 333}
          Y24: (274, 274, 2),              # {182, 366}: 548/2
          S22: (1, 1, 1),
          S23: (266.25, 258.5, 4),         # {182, 184, 333, 366}: 1065/4; median (184+333)/2
          S24: _NO_EXIT},
    R44: {Y22: _NO_EXIT,
          Y23: (1185 / 7, 181, 7),         # {1, 30, 61, 181, 184, 333, 395}: sum 1185; median 181
          Y24: (274, 274, 2),
          S22: (68.25, 45.5, 4),           # {1, 30, 61, 181}: 273/4; median (30+61)/2
          S23: (292, 333, 5),              # {182, 184, 333, 366, 395}: 1460/5; median 333
          S24: _NO_EXIT},
}
DURATIONS[PD] = DURATIONS[D13] = DURATIONS[R93] = dict.fromkeys(PERIODS, _NO_EXIT)  # D never exits
DURATIONS[D10] = DURATIONS[PC]
DURATIONS[FR] = DURATIONS[R44]  # D adds no exit


def test_durations_mean_and_median_in_months(rows):
    e = Expect(rows)
    for t, per_period in DURATIONS.items():
        for p, (mean, median, n_s) in per_period.items():
            e.row("duree_moyenne_mois", t, p, None if mean is None else mean / MONTH, n_s)
            e.row("duree_mediane_mois", t, p, None if median is None else median / MONTH, n_s)
    e.verify()


# ---------------------------------------------------------------------------------------------
# part_filles: a child's sexe is that of its latest pathway. A/E2 has A2 (M, 2023-03-01) and
# A3 (F, 2023-06-01): a girl. Both pathways are active in Y23, S22, S23 (and only A3 after), so
# counting pathways, or taking the first pathway's sexe, gives different numbers.
# Sexes: A: E1 F, E2 F, E3 M; B: E1 M, E2 F, E3 F; C: E1 M, E2 M, E3 F, E4 F, E5 M; D: E1 F, E2 M.
# (girls, |C|) per period:
_GIRLS_A = {Y22: (1, 1), Y23: (2, 3), Y24: (1, 2), S22: (2, 2), S23: (1, 2), S24: (1, 1)}
_GIRLS_B = {Y22: (0, 0), Y23: (2, 3), Y24: (2, 2), S22: (1, 2), S23: (2, 3), S24: (1, 1)}
_GIRLS_C = {Y22: (1, 1), Y23: (2, 4), Y24: (0, 1), S22: (2, 4), S23: (1, 2), S24: (0, 1)}
_GIRLS_D = {Y22: (0, 0), Y23: (1, 2), Y24: (1, 2), S22: (1, 1), S23: (1, 2), S24: (1, 2)}
GIRLS = {
    PA: _GIRLS_A, PB: _GIRLS_B, PC: _GIRLS_C, PD: _GIRLS_D, D10: _GIRLS_C, D13: _GIRLS_D, R93: _GIRLS_D,
    D51: {Y22: (1, 1), Y23: (4, 6), Y24: (3, 4), S22: (3, 4), S23: (3, 5), S24: (2, 2)},
    R44: {Y22: (2, 2), Y23: (6, 10), Y24: (3, 5), S22: (5, 8), S23: (4, 7), S24: (2, 3)},
    FR: {Y22: (2, 2), Y23: (7, 12), Y24: (4, 7), S22: (6, 9), S23: (5, 9), S24: (3, 5)},
}


def test_part_filles_latest_pathway_and_pooled_upper_levels(rows):
    e = Expect(rows)
    for t, per_period in GIRLS.items():
        for p, (girls, n_c) in per_period.items():
            e.row("part_filles", t, p, _share(girls, n_c), n_c)
    # Pooled, not averaged: region 44 in 2023 is 100 × 6/10 = 60, while the mean of its sites'
    # values is (66.67 + 66.67 + 50) / 3 = 61.11; département 51 in 2023-2024 is 100 × 3/5 = 60,
    # the mean of its sites' values (50 + 66.67) / 2 = 58.33.
    e.row("part_filles", R44, Y23, 60.0, 10)
    e.row("part_filles", D51, S23, 60.0, 5)
    # E2 of PRE51454 counts as a girl in 2023: 100 × 2/3 (first-pathway sexe would give 1/3).
    e.row("part_filles", PA, Y23, 200 / 3, 3)
    e.verify()


# part_qpv over A: pathways with a code_qpv are A1, A3, B2, C2, C4, D1. (with QPV, |A|):
_QPV_A = {Y22: (1, 1), Y23: (2, 4), Y24: (1, 2), S22: (2, 3), S23: (1, 3), S24: (1, 1)}
_QPV_B = {Y22: (0, 0), Y23: (1, 3), Y24: (1, 2), S22: (1, 2), S23: (1, 3), S24: (0, 1)}
_QPV_C = {Y22: (0, 1), Y23: (2, 4), Y24: (0, 1), S22: (2, 4), S23: (0, 2), S24: (0, 1)}
_QPV_D = {Y22: (0, 0), Y23: (1, 2), Y24: (1, 2), S22: (1, 1), S23: (1, 2), S24: (1, 2)}
QPV = {
    PA: _QPV_A, PB: _QPV_B, PC: _QPV_C, PD: _QPV_D, D10: _QPV_C, D13: _QPV_D, R93: _QPV_D,
    D51: {Y22: (1, 1), Y23: (3, 7), Y24: (2, 4), S22: (3, 5), S23: (2, 6), S24: (1, 2)},
    R44: {Y22: (1, 2), Y23: (5, 11), Y24: (2, 5), S22: (5, 9), S23: (2, 8), S24: (1, 3)},
    FR: {Y22: (1, 2), Y23: (6, 13), Y24: (3, 7), S22: (6, 10), S23: (3, 10), S24: (2, 5)},
}


def test_part_qpv(rows):
    e = Expect(rows)
    for t, per_period in QPV.items():
        for p, (qpv, n_a) in per_period.items():
            e.row("part_qpv", t, p, _share(qpv, n_a), n_a)
    e.row("part_qpv", FR, Y23, 600 / 13, 13)  # A1, A3, B2, C2, C4, D1 of 13 active
    e.verify()


# part_age over E. Bands: A1 6_10 (6), A2 11_16 (11), A3 11_16 (11), A4 2_5 (5), B1 17_plus (17),
# B2 2_5 (age 1), B3 6_10, C1 6_10 (10), C2 11_16, C3 11_16 (16), C4 6_10, C5 11_16, D1 6_10, D2 6_10.
# Counts per band (2_5, 6_10, 11_16, 17_plus); |E| is their sum.
_EMPTY_E = (0, 0, 0, 0)
_AGES_A = {Y22: (0, 1, 0, 0), Y23: (1, 0, 2, 0), Y24: _EMPTY_E, S22: (0, 1, 2, 0), S23: (1, 0, 0, 0), S24: _EMPTY_E}
_AGES_B = {Y22: _EMPTY_E, Y23: (1, 1, 0, 1), Y24: _EMPTY_E, S22: (1, 0, 0, 1), S23: (0, 1, 0, 0), S24: _EMPTY_E}
_AGES_C = {Y22: (0, 0, 1, 0), Y23: (0, 2, 1, 0), Y24: (0, 0, 1, 0), S22: (0, 2, 2, 0), S23: (0, 0, 1, 0),
           S24: _EMPTY_E}
_AGES_D = {Y22: _EMPTY_E, Y23: (0, 2, 0, 0), Y24: _EMPTY_E, S22: (0, 1, 0, 0), S23: (0, 1, 0, 0), S24: _EMPTY_E}
AGES = {
    PA: _AGES_A, PB: _AGES_B, PC: _AGES_C, PD: _AGES_D, D10: _AGES_C, D13: _AGES_D, R93: _AGES_D,
    D51: {Y22: (0, 1, 0, 0), Y23: (2, 1, 2, 1), Y24: _EMPTY_E, S22: (1, 1, 2, 1), S23: (1, 1, 0, 0), S24: _EMPTY_E},
    R44: {Y22: (0, 1, 1, 0), Y23: (2, 3, 3, 1), Y24: (0, 0, 1, 0), S22: (1, 3, 4, 1), S23: (1, 1, 1, 0),
          S24: _EMPTY_E},
    FR: {Y22: (0, 1, 1, 0), Y23: (2, 5, 3, 1), Y24: (0, 0, 1, 0), S22: (1, 4, 4, 1), S23: (1, 2, 1, 0),
         S24: _EMPTY_E},
}


def test_part_age_all_bands(rows):
    e = Expect(rows)
    for t, per_period in AGES.items():
        for p, bands in per_period.items():
            n_e = sum(bands)
            assert n_e == COUNTS[t][p][1]  # the hand tables agree with each other
            for band, n in zip(AGE_BANDS, bands, strict=True):
                e.row("part_age", t, p, _share(n, n_e), n_e, categorie=band)
    # Département 51, 2023: E = {A2, A3, A4, B1, B2, B3}: 2_5 {A4, B2} = 2/6, 6_10 {B3} = 1/6,
    # 11_16 {A2, A3} = 2/6, 17_plus {B1} = 1/6.
    e.row("part_age", D51, Y23, 100 / 6, 6, categorie="17_plus")
    e.row("part_age", D51, Y23, 200 / 6, 6, categorie="2_5")
    # No entry: every band NULL with effectif 0, the rows still present.
    e.row("part_age", PA, Y24, None, 0, categorie="6_10")
    e.verify()



# part_orientation_ecole over E: ECOLE are A1, A3, B2, B3, C1, C3, C5, D1. (ECOLE, |E|):
_ECOLE_A = {Y22: (1, 1), Y23: (1, 3), Y24: (0, 0), S22: (2, 3), S23: (0, 1), S24: (0, 0)}
_ECOLE_B = {Y22: (0, 0), Y23: (2, 3), Y24: (0, 0), S22: (1, 2), S23: (1, 1), S24: (0, 0)}
_ECOLE_C = {Y22: (1, 1), Y23: (1, 3), Y24: (1, 1), S22: (2, 4), S23: (1, 1), S24: (0, 0)}
_ECOLE_D = {Y22: (0, 0), Y23: (1, 2), Y24: (0, 0), S22: (1, 1), S23: (0, 1), S24: (0, 0)}
ECOLE = {
    PA: _ECOLE_A, PB: _ECOLE_B, PC: _ECOLE_C, PD: _ECOLE_D, D10: _ECOLE_C, D13: _ECOLE_D, R93: _ECOLE_D,
    D51: {Y22: (1, 1), Y23: (3, 6), Y24: (0, 0), S22: (3, 5), S23: (1, 2), S24: (0, 0)},
    R44: {Y22: (2, 2), Y23: (4, 9), Y24: (1, 1), S22: (5, 9), S23: (2, 3), S24: (0, 0)},
    FR: {Y22: (2, 2), Y23: (5, 11), Y24: (1, 1), S22: (6, 10), S23: (2, 4), S24: (0, 0)},
}


def test_part_orientation_ecole(rows):
    e = Expect(rows)
    for t, per_period in ECOLE.items():
        for p, (ecole, n_e) in per_period.items():
            e.row("part_orientation_ecole", t, p, _share(ecole, n_e), n_e)
    e.row("part_orientation_ecole", FR, Y23, 500 / 11, 11)  # A3, B2, B3, C1, D1 of 11 entries
    e.verify()


# part_orientation over E, every origin. 2023 entries: A2 FAMILLE, A3 ECOLE, A4 PMI_SANTE, B1 SERVICE_SOCIAL,
# B2 ECOLE, B3 ECOLE, C1 ECOLE, C2 SERVICE_SOCIAL, C4 FAMILLE, D1 ECOLE, D2 AUTRE (C3 entered in 2022, C5 in 2024).
ORIGINS = ("ECOLE", "SERVICE_SOCIAL", "PMI_SANTE", "FAMILLE", "CENTRE_SOCIAL", "PREVENTION_SPECIALISEE",
           "PROTECTION_ENFANCE", "AUTRE")


def test_part_orientation_every_origin(rows):
    e = Expect(rows)
    fr_2023 = {"ECOLE": 5, "SERVICE_SOCIAL": 2, "PMI_SANTE": 1, "FAMILLE": 2, "AUTRE": 1}  # 11 entries
    marne_2023 = {"ECOLE": 3, "SERVICE_SOCIAL": 1, "PMI_SANTE": 1, "FAMILLE": 1}  # A2, A3, A4, B1, B2, B3
    for origin in ORIGINS:
        e.row("part_orientation", FR, Y23, _share(fr_2023.get(origin, 0), 11), 11, categorie=origin)
        e.row("part_orientation", D51, Y23, _share(marne_2023.get(origin, 0), 6), 6, categorie=origin)
        e.row("part_orientation", PA, Y24, None, 0, categorie=origin)  # no entry at A in 2024
    e.verify()


# part_motif_sortie over S, every exit reason (the project's own). 2023 exits: A1 OA, A2 RELAIS, B1 LIMITE_AGE,
# C1 AUTRE, C2 OA, C3 RELAIS, C4 OA; 2024: A4 DEMENAGEMENT, B2 OA.
REASONS = ("OBJECTIFS_ATTEINTS", "RELAIS_DROIT_COMMUN", "DEMENAGEMENT", "LIMITE_AGE", "ARRET_FAMILLE", "AUTRE")


def test_part_motif_sortie_every_reason(rows):
    e = Expect(rows)
    fr_2023 = {"OBJECTIFS_ATTEINTS": 3, "RELAIS_DROIT_COMMUN": 2, "LIMITE_AGE": 1, "AUTRE": 1}  # 7 exits
    r44_2024 = {"OBJECTIFS_ATTEINTS": 1, "DEMENAGEMENT": 1}  # 2 exits
    for reason in REASONS:
        e.row("part_motif_sortie", FR, Y23, _share(fr_2023.get(reason, 0), 7), 7, categorie=reason)
        e.row("part_motif_sortie", R44, Y24, _share(r44_2024.get(reason, 0), 2), 2, categorie=reason)
        e.row("part_motif_sortie", PD, Y23, None, 0, categorie=reason)  # D never exits
    e.verify()


# enfants_par_referent = |C| / distinct (code_pre, id_referent) over A.
# Referents: A1 R1, A2 R1, A3 R2, A4 R2; B1 R1, B2 R1, B3 R3; C1 R1, C2 R1, C3 R2, C4 R2, C5 R3;
# D1 R1, D2 R1. (|C|, referents):
_REF_A = {Y22: (1, 1), Y23: (3, 2), Y24: (2, 1), S22: (2, 2), S23: (2, 2), S24: (1, 1)}
_REF_B = {Y22: (0, 0), Y23: (3, 2), Y24: (2, 2), S22: (2, 1), S23: (3, 2), S24: (1, 1)}
_REF_C = {Y22: (1, 1), Y23: (4, 2), Y24: (1, 1), S22: (4, 2), S23: (2, 2), S24: (1, 1)}
_REF_D = {Y22: (0, 0), Y23: (2, 1), Y24: (2, 1), S22: (1, 1), S23: (2, 1), S24: (2, 1)}
REFERENTS = {
    PA: _REF_A, PB: _REF_B, PC: _REF_C, PD: _REF_D, D10: _REF_C, D13: _REF_D, R93: _REF_D,
    D51: {Y22: (1, 1), Y23: (6, 4), Y24: (4, 3), S22: (4, 3), S23: (5, 4), S24: (2, 2)},
    R44: {Y22: (2, 2), Y23: (10, 6), Y24: (5, 4), S22: (8, 5), S23: (7, 6), S24: (3, 3)},
    FR: {Y22: (2, 2), Y23: (12, 7), Y24: (7, 5), S22: (9, 6), S23: (9, 7), S24: (5, 4)},
}


def test_enfants_par_referent_counts_site_distinct_referents(rows):
    e = Expect(rows)
    for t, per_period in REFERENTS.items():
        for p, (n_c, n_ref) in per_period.items():
            e.row("enfants_par_referent", t, p, None if n_ref == 0 else n_c / n_ref, n_ref)
    # Region 44, 2024-2025: A3 (PRE51454, R2), B3 (PRE51108, R3), C5 (PRE10387, R3): 3 referents
    # (distinct id_referent alone would give 2), 3 children: 1.0.
    e.row("enfants_par_referent", R44, S24, 1.0, 3)
    # National 2023: 12 children / 7 referents (A R1 R2, B R1 R3, C R1 R2, D R1).
    e.row("enfants_par_referent", FR, Y23, 12 / 7, 7)
    e.verify()


# ---------------------------------------------------------------------------------------------
# Actions by date_debut in P (pathway active or not). Per volet (SCOLARITE, EDUCATIF, PARENTALITE, SANTE).
_NO_ACTION = (0, 0, 0, 0)
_VOL_A = {Y22: (1, 0, 0, 0),               # AC1
          Y23: (1, 1, 1, 1),               # AC4, AC2, AC5, AC3
          Y24: (1, 0, 0, 0),               # AC6
          S22: (1, 1, 0, 1),               # AC1, AC2, AC3
          S23: (2, 0, 1, 0),               # AC4, AC6, AC5 (AC5's pathway A1 is not active in S23)
          S24: _NO_ACTION}
_VOL_B = {Y22: _NO_ACTION, Y23: (0, 0, 0, 2), Y24: (0, 1, 0, 0), S22: (0, 0, 0, 2), S23: (0, 1, 0, 0),
          S24: _NO_ACTION}
_VOL_C = {Y22: (1, 0, 0, 0), Y23: (0, 0, 1, 0), Y24: _NO_ACTION, S22: (1, 0, 1, 0), S23: _NO_ACTION,
          S24: _NO_ACTION}
_VOL_D = dict.fromkeys(PERIODS, _NO_ACTION)
_VOL_44 = {Y22: (2, 0, 0, 0), Y23: (1, 1, 2, 3), Y24: (1, 1, 0, 0), S22: (2, 1, 1, 3), S23: (2, 1, 1, 0),
           S24: _NO_ACTION}
VOLETS_COUNTS = {
    PA: _VOL_A, PB: _VOL_B, PC: _VOL_C, PD: _VOL_D, D10: _VOL_C, D13: _VOL_D, R93: _VOL_D,
    D51: {Y22: (1, 0, 0, 0), Y23: (1, 1, 1, 3), Y24: (1, 1, 0, 0), S22: (1, 1, 0, 3), S23: (2, 1, 1, 0),
          S24: _NO_ACTION},
    R44: _VOL_44, FR: _VOL_44,
}


def test_actions_per_volet_and_per_child(rows):
    e = Expect(rows)
    for t, per_period in VOLETS_COUNTS.items():
        for p, counts in per_period.items():
            for volet, n in zip(VOLETS, counts, strict=True):
                e.row("actions", t, p, n, n, categorie=volet)
            n_c = COUNTS[t][p][3]
            e.row("actions_par_enfant", t, p, None if n_c == 0 else sum(counts) / n_c, n_c)
    # By hand: PRE51454 2023-2024: 3 actions / 2 children = 1.5; national 2022-2023: 7 / 9.
    e.row("actions_par_enfant", PA, S23, 1.5, 2)
    e.row("actions_par_enfant", FR, S22, 7 / 9, 9)
    e.row("actions_par_enfant", PA, S24, 0.0, 1)  # no action: 0 / 1
    e.row("actions_par_enfant", PB, Y22, None, 0)  # no child
    e.verify()


# taux_assiduite: eligible actions (both filled, prevues > 0): AC1 (10, 8), AC2 (5, 5), AC5 (4, 1),
# BC1 (12, 9), BC2 (8, 8), CC1 (20, 15), CC2 (3, 3). Not AC3 (prevues 0, realisees 2), AC4 (prevues
# null, realisees 3), AC6 (realisees null), BC3. (Σ realisees, Σ prevues, n actions):
_NONE = (0, 0, 0)
_ASSID_A = {Y22: (8, 10, 1), Y23: (6, 9, 2), Y24: _NONE, S22: (13, 15, 2), S23: (1, 4, 1), S24: _NONE}
_ASSID_B = {Y22: _NONE, Y23: (17, 20, 2), Y24: _NONE, S22: (17, 20, 2), S23: _NONE, S24: _NONE}
_ASSID_C = {Y22: (15, 20, 1), Y23: (3, 3, 1), Y24: _NONE, S22: (18, 23, 2), S23: _NONE, S24: _NONE}
_ASSID_D = dict.fromkeys(PERIODS, _NONE)
_ASSID_44 = {Y22: (23, 30, 2), Y23: (26, 32, 5), Y24: _NONE, S22: (48, 58, 6), S23: (1, 4, 1), S24: _NONE}
ASSIDUITE = {
    PA: _ASSID_A, PB: _ASSID_B, PC: _ASSID_C, PD: _ASSID_D, D10: _ASSID_C, D13: _ASSID_D, R93: _ASSID_D,
    D51: {Y22: (8, 10, 1), Y23: (23, 29, 4), Y24: _NONE, S22: (30, 35, 4), S23: (1, 4, 1), S24: _NONE},
    R44: _ASSID_44, FR: _ASSID_44,
}


def test_taux_assiduite_ignores_null_or_zero_planned(rows):
    e = Expect(rows)
    for t, per_period in ASSIDUITE.items():
        for p, (done, planned, n) in per_period.items():
            e.row("taux_assiduite", t, p, _share(done, planned), n)
    e.row("taux_assiduite", PA, Y23, 200 / 3, 2)  # (5+1)/(5+4); AC3 would make it 8/9
    e.row("taux_assiduite", FR, Y23, 81.25, 5)    # (5+1+9+8+3)/(5+4+12+8+3) = 26/32
    e.verify()


# cout_par_enfant: Σ cout (nulls ignored) / |C|. Costs: AC1 100, AC3 50.5, AC4 20, AC5 30, BC1 200,
# BC2 0, CC1 300, CC2 45.25; AC2, AC6, BC3 null. Sums per period:
_COST_A = {Y22: 100, Y23: 100.5, Y24: 0, S22: 150.5, S23: 50, S24: 0}    # Y23: 50.5+20+30; S22: 100+50.5
_COST_B = {Y22: 0, Y23: 200, Y24: 0, S22: 200, S23: 0, S24: 0}
_COST_C = {Y22: 300, Y23: 45.25, Y24: 0, S22: 345.25, S23: 0, S24: 0}
_COST_D = dict.fromkeys(PERIODS, 0)
_COST_44 = {Y22: 400, Y23: 345.75, Y24: 0, S22: 695.75, S23: 50, S24: 0}  # Y23: 100.5+200+45.25
COSTS = {
    PA: _COST_A, PB: _COST_B, PC: _COST_C, PD: _COST_D, D10: _COST_C, D13: _COST_D, R93: _COST_D,
    D51: {Y22: 100, Y23: 300.5, Y24: 0, S22: 350.5, S23: 50, S24: 0},
    R44: _COST_44, FR: _COST_44,
}


def test_cout_par_enfant_ignores_null_costs(rows):
    e = Expect(rows)
    for t, per_period in COSTS.items():
        for p, total in per_period.items():
            n_c = COUNTS[t][p][3]
            e.row("cout_par_enfant", t, p, None if n_c == 0 else total / n_c, n_c)
    e.row("cout_par_enfant", PA, Y23, 33.5, 3)     # 100.5 / 3
    e.row("cout_par_enfant", PA, Y24, 0.0, 2)      # only AC6, cost null: sum 0
    e.row("cout_par_enfant", FR, S22, 695.75 / 9, 9)
    e.verify()


# ---------------------------------------------------------------------------------------------
# Exits by motif. Motifs: A1 OA, A2 RELAIS, A4 DEMENAGEMENT, B1 LIMITE_AGE, B2 OA, C1 AUTRE, C2 OA,
# C3 RELAIS, C4 OA. (OBJECTIFS_ATTEINTS, RELAIS_DROIT_COMMUN, |S|):
_NO_S = (0, 0, 0)
_MOTIF_A = {Y22: _NO_S, Y23: (1, 1, 2), Y24: (0, 0, 1), S22: (1, 0, 1), S23: (0, 1, 2), S24: _NO_S}
_MOTIF_B = {Y22: _NO_S, Y23: (0, 0, 1), Y24: (1, 0, 1), S22: _NO_S, S23: (1, 0, 2), S24: _NO_S}
_MOTIF_C = {Y22: _NO_S, Y23: (2, 1, 4), Y24: _NO_S, S22: (2, 0, 3), S23: (0, 1, 1), S24: _NO_S}
_MOTIF_D = dict.fromkeys(PERIODS, _NO_S)
_MOTIF_44 = {Y22: _NO_S, Y23: (3, 2, 7), Y24: (1, 0, 2), S22: (3, 0, 4), S23: (1, 2, 5), S24: _NO_S}
MOTIFS = {
    PA: _MOTIF_A, PB: _MOTIF_B, PC: _MOTIF_C, PD: _MOTIF_D, D10: _MOTIF_C, D13: _MOTIF_D, R93: _MOTIF_D,
    D51: {Y22: _NO_S, Y23: (1, 1, 3), Y24: (1, 0, 2), S22: (1, 0, 1), S23: (1, 1, 4), S24: _NO_S},
    R44: _MOTIF_44, FR: _MOTIF_44,
}


def test_part_sorties_objectifs_atteints_and_relais(rows):
    e = Expect(rows)
    for t, per_period in MOTIFS.items():
        for p, (oa, relais, n_s) in per_period.items():
            e.row("part_sorties_objectifs_atteints", t, p, _share(oa, n_s), n_s)
            e.row("part_sorties_relais", t, p, _share(relais, n_s), n_s)
    e.row("part_sorties_objectifs_atteints", R44, Y23, 300 / 7, 7)  # A1, C2, C4 of 7
    e.row("part_sorties_relais", R44, Y23, 200 / 7, 7)              # A2, C3 of 7
    e.row("part_sorties_relais", PA, S24, None, 0)
    e.verify()


# taux_objectifs_atteints: SORTIE bilans dated in P with objectifs_fixes > 0: BL1 (3, 2) 2023-01-01,
# BL3 (4, 4) 2023-09-01, BB1 (2, 1) 2023-12-31, BB2 (5, 5) 2024-05-10, BC1 (4, 1) 2023-03-03,
# BC3 (2, 2) 2023-09-20. Not BL2, BL5, BC2 (other types), BL4 (fixes 0). (Σ atteints, Σ fixes, n):
_OBJ_A = {Y22: _NONE, Y23: (6, 7, 2), Y24: _NONE, S22: (2, 3, 1), S23: (4, 4, 1), S24: _NONE}
_OBJ_B = {Y22: _NONE, Y23: (1, 2, 1), Y24: (5, 5, 1), S22: _NONE, S23: (6, 7, 2), S24: _NONE}
_OBJ_C = {Y22: _NONE, Y23: (3, 6, 2), Y24: _NONE, S22: (1, 4, 1), S23: (2, 2, 1), S24: _NONE}
_OBJ_D = dict.fromkeys(PERIODS, _NONE)
_OBJ_44 = {Y22: _NONE, Y23: (10, 15, 5), Y24: (5, 5, 1), S22: (3, 7, 2), S23: (12, 13, 4), S24: _NONE}
OBJECTIFS = {
    PA: _OBJ_A, PB: _OBJ_B, PC: _OBJ_C, PD: _OBJ_D, D10: _OBJ_C, D13: _OBJ_D, R93: _OBJ_D,
    D51: {Y22: _NONE, Y23: (7, 9, 3), Y24: (5, 5, 1), S22: (2, 3, 1), S23: (10, 11, 3), S24: _NONE},
    R44: _OBJ_44, FR: _OBJ_44,
}


def test_taux_objectifs_atteints_sortie_bilans_only(rows):
    e = Expect(rows)
    for t, per_period in OBJECTIFS.items():
        for p, (reached, fixed, n) in per_period.items():
            e.row("taux_objectifs_atteints", t, p, _share(reached, fixed), n)
    e.row("taux_objectifs_atteints", PA, Y24, None, 0)        # only BL4, objectifs_fixes = 0
    e.row("taux_objectifs_atteints", PC, S23, 100.0, 1)       # BC3 on C1, not active in S23
    e.row("taux_objectifs_atteints", FR, S23, 1200 / 13, 4)   # (4+1+5+2)/(4+2+5+2)
    e.verify()


# ---------------------------------------------------------------------------------------------
# Waiting lists. Per (territory, period): {structure: (requests with date_demande in P,
# Kaplan–Meier median days, 100 × (1 − S(90)))}; structures not listed: (0, None, None).
#
# PRE51454 CMPP, 2023 (and 2022-2023, same requests): times 10 e, 10 c (tie), 30 e, 60 e, 458 c.
#   Events before censorings at t=10: n=5, S=4/5; t=30: n=3, S=4/5·2/3=8/15; t=60: n=2, S=4/15.
#   Median 60 (censorings first would give 3/4, then 1/2 at 30). S(90)=4/15 -> 100·11/15.
# PRE51108 CMP, 2023: 100 e, 200 e, 212 c (still waiting: censored at date_extraction 2024-06-30,
#   after the period). t=100: n=3, S=2/3; t=200: n=2, S=1/3. Median 200 (censoring at the period's
#   end, t=30, would give 1/2 at 100). S(90)=1 -> 0.
# PRE51108 CMP, 2022-2023: 100 e, 200 e. t=100: n=2, S=1/2 exactly -> median 100. S(90)=1 -> 0.
# PRE51108 PSYCHOMOTRICIEN: 40 e -> S(40)=0, median 40, 100.
# PRE10387 CMPP: 40 e, 50 c, 427 c. t=40: n=3, S=2/3; never <= 0.5 -> median NULL; S(90)=2/3 -> 100/3.
# PRE10387 ORTHOPHONISTE: 10 e, 20 e, 20 c, 90 e. t=10: n=4, S=3/4; t=20: n=3, S=3/4·2/3=1/2 exactly
#   -> median 20 (a strict < would give 90); t=90: n=1, S=0 -> S(90) inclusive = 0 -> 100.
# PRE10387 CAMSP (2024 and 2023-2024): 15 e, 15 e, 30 e, 30 e, 45 e, 60 c, 61 c, 91 c, 120 e, 120 e.
#   t=15: n=10, S=8/10; t=30: n=8, S=8/10·6/8=6/10; t=45: n=6, S=6/10·5/6=1/2 exactly (0.5000000000000001
#   in floating point) -> median 45 (without the tolerance: 120, where n=2, S=0). S(90)=1/2 -> 50.
# PRE13055 PSYCHOLOGUE 2023: 5 c (abandon), 91 c (waiting) -> no appointment: median NULL, 0.
# PRE13055 CMPP: 20 e -> median 20, 100.
# PRE51454 PRE (2024, 2023-2024): 31 c -> median NULL, 0.
# PRE51454 AUTRE: 2023 {30 e (WA7), 30 c (WA8)}: n=2, S=1/2 -> median 30, S(90)=1/2 -> 50;
#   2022-2023 {WA8}: 30 c -> NULL, 0; 2023-2024 {WA7}: 30 e -> 30, 100.
# Region 44 CMPP 2023 (pooled A + C): 10 e, 10 c, 30 e, 40 e, 50 c, 60 e, 427 c, 458 c.
#   t=10: n=8, S=7/8; t=30: n=6, S=35/48; t=40: n=5, S=7/12; t=60: n=3, S=7/18 -> median 60,
#   100·(1 − 7/18) = 100·11/18 (the mean of its sites' values would be (73.33+33.33)/2 = 53.33).
# National CMPP 2023 (+ D's 20 e): t=10: n=9, S=8/9; t=20: n=7, 16/21; t=30: n=6, 40/63;
#   t=40: n=5, 32/63 (> 0.5); t=60: n=3, 64/189 -> median 60, 100·125/189.
_CMPP_A = (5, 60, 1100 / 15)
_CMP_B_Y23 = (3, 200, 0.0)
_CMP_B_S22 = (2, 100, 0.0)
_PSYMOT_B = (1, 40, 100.0)
_CMPP_C = (3, None, 100 / 3)
_ORTHO_C = (4, 20, 100.0)
_CMPP_D = (1, 20, 100.0)
_NO_RDV_1 = (1, None, 0.0)
_CMPP_44 = (8, 60, 1100 / 18)
_CAMSP_C = (10, 45, 50.0)
_AUTRE_A_Y23 = (2, 30, 50.0)
_AUTRE_A_S23 = (1, 30, 100.0)
WAITING = {
    PA: {Y23: {"CMPP": _CMPP_A, "AUTRE": _AUTRE_A_Y23}, S22: {"CMPP": _CMPP_A, "AUTRE": _NO_RDV_1},
         Y24: {"PRE": _NO_RDV_1}, S23: {"PRE": _NO_RDV_1, "AUTRE": _AUTRE_A_S23}},
    PB: {Y23: {"CMP": _CMP_B_Y23, "PSYCHOMOTRICIEN": _PSYMOT_B},
         S22: {"CMP": _CMP_B_S22, "PSYCHOMOTRICIEN": _PSYMOT_B},
         S23: {"CMP": _NO_RDV_1}},               # WB3 alone, censored at 212
    PC: {Y23: {"CMPP": _CMPP_C, "ORTHOPHONISTE": _ORTHO_C}, S22: {"CMPP": _CMPP_C, "ORTHOPHONISTE": _ORTHO_C},
         Y24: {"CAMSP": _CAMSP_C}, S23: {"CAMSP": _CAMSP_C}},
    PD: {Y23: {"PSYCHOLOGUE": (2, None, 0.0), "CMPP": _CMPP_D},
         S22: {"PSYCHOLOGUE": _NO_RDV_1},        # WD1 abandoned
         S23: {"PSYCHOLOGUE": _NO_RDV_1, "CMPP": _CMPP_D}},
    D51: {Y23: {"CMPP": _CMPP_A, "CMP": _CMP_B_Y23, "PSYCHOMOTRICIEN": _PSYMOT_B, "AUTRE": _AUTRE_A_Y23},
          S22: {"CMPP": _CMPP_A, "CMP": _CMP_B_S22, "PSYCHOMOTRICIEN": _PSYMOT_B, "AUTRE": _NO_RDV_1},
          Y24: {"PRE": _NO_RDV_1}, S23: {"PRE": _NO_RDV_1, "CMP": _NO_RDV_1, "AUTRE": _AUTRE_A_S23}},
    R44: {Y23: {"CMPP": _CMPP_44, "CMP": _CMP_B_Y23, "PSYCHOMOTRICIEN": _PSYMOT_B, "ORTHOPHONISTE": _ORTHO_C,
                "AUTRE": _AUTRE_A_Y23},
          S22: {"CMPP": _CMPP_44, "CMP": _CMP_B_S22, "PSYCHOMOTRICIEN": _PSYMOT_B, "ORTHOPHONISTE": _ORTHO_C,
                "AUTRE": _NO_RDV_1},
          Y24: {"PRE": _NO_RDV_1, "CAMSP": _CAMSP_C},
          S23: {"PRE": _NO_RDV_1, "CMP": _NO_RDV_1, "CAMSP": _CAMSP_C, "AUTRE": _AUTRE_A_S23}},
    FR: {Y23: {"CMPP": (9, 60, 12500 / 189), "CMP": _CMP_B_Y23, "PSYCHOMOTRICIEN": _PSYMOT_B,
               "ORTHOPHONISTE": _ORTHO_C, "PSYCHOLOGUE": (2, None, 0.0), "AUTRE": _AUTRE_A_Y23},
         # WD3 (2023-11-01) is not in 2022-2023: national CMPP equals region 44's.
         S22: {"CMPP": _CMPP_44, "CMP": _CMP_B_S22, "PSYCHOMOTRICIEN": _PSYMOT_B, "ORTHOPHONISTE": _ORTHO_C,
               "PSYCHOLOGUE": _NO_RDV_1, "AUTRE": _NO_RDV_1},
         Y24: {"PRE": _NO_RDV_1, "CAMSP": _CAMSP_C},
         S23: {"PRE": _NO_RDV_1, "CMP": _NO_RDV_1, "PSYCHOLOGUE": _NO_RDV_1, "CMPP": _CMPP_D, "CAMSP": _CAMSP_C,
               "AUTRE": _AUTRE_A_S23}},
}
WAITING[D10] = WAITING[PC]
WAITING[D13] = WAITING[R93] = WAITING[PD]


def test_waiting_requests_kaplan_meier_median_and_s90(rows):
    e = Expect(rows)
    for t in TERRITORIES:
        for p in PERIODS:
            listed = WAITING[t].get(p, {})
            for s in STRUCTURES:
                n, median, part = listed.get(s, (0, None, None))
                e.row("demandes_attente", t, p, n, n, categorie=s)
                e.row("attente_mediane_jours", t, p, median, n, categorie=s)
                e.row("part_rdv_sous_90_jours", t, p, part, n, categorie=s)
    e.verify()


def test_waiting_special_cases_explicitly(rows):
    e = Expect(rows)
    # Ties: events before censorings -> median 60, not 30.
    e.row("attente_mediane_jours", PA, Y23, 60, 5, categorie="CMPP")
    # S exactly 0.5 at an event time -> that time.
    e.row("attente_mediane_jours", PC, Y23, 20, 4, categorie="ORTHOPHONISTE")
    e.row("attente_mediane_jours", PB, S22, 100, 2, categorie="CMP")
    e.row("attente_mediane_jours", PC, S23, 45, 10, categorie="CAMSP")  # S = 0.5000000000000001 in floats
    e.row("part_rdv_sous_90_jours", PC, Y24, 50.0, 10, categorie="CAMSP")
    # S(90) inclusive: the appointment at t = 90 counts -> 100 × (1 − 0).
    e.row("part_rdv_sous_90_jours", PC, Y23, 100.0, 4, categorie="ORTHOPHONISTE")
    # Never reaching 0.5.
    e.row("attente_mediane_jours", PC, Y23, None, 3, categorie="CMPP")
    e.row("part_rdv_sous_90_jours", PC, Y23, 100 / 3, 3, categorie="CMPP")
    # Requests, no appointment.
    e.row("attente_mediane_jours", PD, Y23, None, 2, categorie="PSYCHOLOGUE")
    e.row("part_rdv_sous_90_jours", PD, Y23, 0.0, 2, categorie="PSYCHOLOGUE")
    # Still waiting censored at date_extraction (2024-06-30), after the period -> median 200.
    e.row("attente_mediane_jours", PB, Y23, 200, 3, categorie="CMP")
    # No request: both NULL, effectif 0, count 0.
    e.row("attente_mediane_jours", PD, Y23, None, 0, categorie="CAMSP")
    e.row("part_rdv_sous_90_jours", PD, Y23, None, 0, categorie="CAMSP")
    e.row("demandes_attente", PD, Y23, 0, 0, categorie="CAMSP")
    # Pooled upper levels.
    e.row("part_rdv_sous_90_jours", R44, Y23, 1100 / 18, 8, categorie="CMPP")
    e.row("part_rdv_sous_90_jours", FR, Y23, 12500 / 189, 9, categorie="CMPP")
    e.row("attente_mediane_jours", FR, Y23, 60, 9, categorie="CMPP")
    e.verify()


# en_attente_fin_periode: produced only when d1 <= date_extraction of the site (of every site of
# the territory). d1: Y22 2022-12-31, Y23 2023-12-31, Y24 2024-12-31, S22 2023-08-31,
# S23 2024-08-31, S24 2025-08-31. Extractions: A 2024-09-01, B 2024-06-30, C 2024-08-31 (= d1 of S23),
# D 2023-12-31 (= d1 of Y23). Département 51 takes min(A, B) = 2024-06-30: no 2023-2024 although A
# has it; region 44 likewise; national takes D's 2023-12-31.
_EXTRACTED_BY_Y23 = {Y22, Y23, S22}
_EXTRACTED_BY_S23 = {Y22, Y23, S22, S23}
EN_ATTENTE_PERIODS = {
    PA: _EXTRACTED_BY_S23, PB: _EXTRACTED_BY_Y23, PC: _EXTRACTED_BY_S23, PD: _EXTRACTED_BY_Y23,
    D51: _EXTRACTED_BY_Y23, D10: _EXTRACTED_BY_S23, D13: _EXTRACTED_BY_Y23,
    R44: _EXTRACTED_BY_Y23, R93: _EXTRACTED_BY_Y23, FR: _EXTRACTED_BY_Y23,
}
# Requests with date_demande <= d1, no date_premier_rdv <= d1, no date_abandon <= d1 (others 0):
#   A: Y23 WA5 (WA7 seen on d1 itself); S22 WA5 (WA8 abandoned on d1 itself; WA4's rdv 2023-05-31 is
#      before d1); S23 WA5, WA6 (PRE, 2024-08-01).
#   B: Y23 WB3; S22 WB4 (rdv 2023-09-10 after d1 2023-08-31; WB2's rdv 2023-08-20 before).
#   C: Y23, S22: WC3; S23: WC3, and CAMSP WC16, WC17 (WC13 abandoned before d1).
#   D: Y23 WD2 (WD1 abandoned, WD3 seen).
EN_ATTENTE = {
    PA: {Y23: {"CMPP": 1}, S22: {"CMPP": 1}, S23: {"CMPP": 1, "PRE": 1}},
    PB: {Y23: {"CMP": 1}, S22: {"PSYCHOMOTRICIEN": 1}},
    PC: {Y23: {"CMPP": 1}, S22: {"CMPP": 1}, S23: {"CMPP": 1, "CAMSP": 2}},
    PD: {Y23: {"PSYCHOLOGUE": 1}},
    D51: {Y23: {"CMPP": 1, "CMP": 1}, S22: {"CMPP": 1, "PSYCHOMOTRICIEN": 1}},
    R44: {Y23: {"CMPP": 2, "CMP": 1}, S22: {"CMPP": 2, "PSYCHOMOTRICIEN": 1}},
    FR: {Y23: {"CMPP": 2, "CMP": 1, "PSYCHOLOGUE": 1}, S22: {"CMPP": 2, "PSYCHOMOTRICIEN": 1}},
}
EN_ATTENTE[D10] = EN_ATTENTE[PC]
EN_ATTENTE[D13] = EN_ATTENTE[R93] = EN_ATTENTE[PD]


def test_en_attente_fin_periode_values_and_omissions(rows):
    e = Expect(rows)
    for t in TERRITORIES:
        for p in PERIODS:
            for s in STRUCTURES:
                if p in EN_ATTENTE_PERIODS[t]:
                    n = EN_ATTENTE[t].get(p, {}).get(s, 0)
                    e.row("en_attente_fin_periode", t, p, n, n, categorie=s)
                else:
                    e.absent("en_attente_fin_periode", t, p, categorie=s)
    # Explicitly: PRE51454 has 2023-2024 (d1 2024-08-31 <= 2024-09-01), département 51 does not
    # (PRE51108 extracted 2024-06-30); PRE10387 has it with d1 = date_extraction.
    e.row("en_attente_fin_periode", PA, S23, 1, 1, categorie="PRE")
    e.absent("en_attente_fin_periode", D51, S23, categorie="PRE")
    e.row("en_attente_fin_periode", PC, S23, 1, 1, categorie="CMPP")
    e.absent("en_attente_fin_periode", PC, Y24, categorie="CMPP")
    e.row("en_attente_fin_periode", FR, Y23, 1, 1, categorie="PSYCHOLOGUE")  # D: d1 = extraction
    e.row("en_attente_fin_periode", PA, Y23, 0, 0, categorie="AUTRE")        # WA7 seen on d1
    e.row("en_attente_fin_periode", PA, S22, 0, 0, categorie="AUTRE")        # WA8 abandoned on d1
    e.absent("en_attente_fin_periode", FR, S23, categorie="CMPP")
    e.verify()


# ---------------------------------------------------------------------------------------------
# Completeness: complete iff d1 <= date_extraction and d0 >= date_debut_donnees.
#   A (ddd default = earliest entry 2022-12-31, ext 2024-09-01): Y23, S23 complete.
#   B (2023-01-01, 2024-06-30): Y23 only.     C (2022-09-01, 2024-08-31): Y23, S22, S23 (equalities).
#   D (2023-01-01, 2023-12-31): Y23 only (both equalities).
SITE_COMPLETE = {
    A: {Y23, S23},
    B: {Y23},
    C: {Y23, S22, S23},
    D: {Y23},
}
# Upper levels: (complete sites, sites).
UPPER_COMPLETE = {
    D51: {Y22: (0, 2), Y23: (2, 2), Y24: (0, 2), S22: (0, 2), S23: (1, 2), S24: (0, 2)},
    D10: {Y22: (0, 1), Y23: (1, 1), Y24: (0, 1), S22: (1, 1), S23: (1, 1), S24: (0, 1)},
    D13: {Y22: (0, 1), Y23: (1, 1), Y24: (0, 1), S22: (0, 1), S23: (0, 1), S24: (0, 1)},
    R44: {Y22: (0, 3), Y23: (3, 3), Y24: (0, 3), S22: (1, 3), S23: (2, 3), S24: (0, 3)},
    R93: {Y22: (0, 1), Y23: (1, 1), Y24: (0, 1), S22: (0, 1), S23: (0, 1), S24: (0, 1)},
    FR: {Y22: (0, 4), Y23: (4, 4), Y24: (0, 4), S22: (1, 4), S23: (2, 4), S24: (0, 4)},
}


def test_completeness(warehouse):
    got = read_completeness(warehouse)
    errors = []
    for site, complete in SITE_COMPLETE.items():
        for p in PERIODS:
            record = got.get(("pre", site, p))
            if record is None:
                errors.append(f"missing completude row pre/{site}/{p}")
            elif bool(record["complet"]) != (p in complete):
                errors.append(f"pre/{site}/{p}: complet expected {p in complete}, got {record['complet']}")
    for t, per_period in UPPER_COMPLETE.items():
        for p, (n_ok, n) in per_period.items():
            record = got.get((*t, p))
            if record is None:
                errors.append(f"missing completude row {t}/{p}")
                continue
            expected = {"nb_sites": n, "nb_sites_complets": n_ok}
            actual = {k: record.get(k) for k in expected}
            if actual != expected:
                errors.append(f"{t}/{p}: expected {expected}, got {actual}")
            if record.get("part_sites_complets") != pytest.approx(100 * n_ok / n, rel=1e-12):
                errors.append(f"{t}/{p}: part_sites_complets expected {100 * n_ok / n}, "
                              f"got {record.get('part_sites_complets')}")
    # Nothing else: exactly the 10 territories × 6 periods.
    expected_keys = {(*t, p) for t in TERRITORIES for p in PERIODS}
    if set(got) != expected_keys:
        errors.append(f"completude keys differ: extra {sorted(set(got) - expected_keys)[:5]}, "
                      f"missing {sorted(expected_keys - set(got))[:5]}")
    assert not errors, "\n".join(errors)


# ---------------------------------------------------------------------------------------------


def test_counts_never_null_and_effectif_never_null(rows):
    counts = {"enfants_suivis", "parcours_actifs", "entrees", "sorties", "actions", "demandes_attente",
              "en_attente_fin_periode"}
    bad = [k for k, (v, n) in rows.items() if n is None or (k[0] in counts and (v is None or v != n))]
    assert not bad, bad[:10]

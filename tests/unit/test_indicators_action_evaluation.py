"""The project's indicators for the page « Évaluer une action » (issue 14, `ajout: true` in the catalogue), on
hand-built warehouses: every expected value below is worked out by hand in the comments from the catalogue's
definitions (docs/evaluer-une-action.md), never by the SQL under test.

Sites: A = PRE51230 (Épernay) and B = PRE51454 (Reims), both in the Marne (51, région 44).
"""

from __future__ import annotations

import pytest

from indicator_fixture import build_warehouse, load_simulated, read_indicators
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


# --------------------------------------------------------------------------- waits around an action's arrival

# A (extraction 2024-12-31, data from 2022-01-01): psychomotricity first on 2023-03-15 (again 2023-06-01), a
# LOISIRS action (not evaluated). B (extraction 2024-06-30, no date_debut_donnees: its earliest entry,
# 2023-06-01): orthophonie first on 2024-02-29.
# Windows (DuckDB's months): A avant [2022-03-15, 2023-03-14], apres [2023-03-15, 2024-03-14];
# B avant [2023-02-28 (2024-02-29 − 12 months), 2024-02-28], apres [2024-02-29, 2025-02-27 (2025-02-28 − 1 day)].
WINDOW_DEPOTS = [{"code_pre": A, "date_extraction": "2024-12-31", "date_debut_donnees": "2022-01-01"},
                 {"code_pre": B, "date_extraction": "2024-06-30"}]


def _r(code, rid, structure, demande, rdv=None, abandon=None):
    return {"code_pre": code, "id_demande": rid, "id_enfant": "E" + rid, "structure": structure,
            "date_demande": demande, "date_premier_rdv": rdv, "date_abandon": abandon}


def _windows_warehouse():
    parcours = [_p(A, "P1", "2022-01-01"), _p(B, "Q1", "2023-06-01")]
    actions = [
        _a(A, "A1", "P1", "2023-06-01", type_action="PSYCHOMOTRICITE"),
        _a(A, "A2", "P1", "2023-03-15", type_action="PSYCHOMOTRICITE"),
        _a(A, "A3", "P1", "2022-02-01", type_action="LOISIRS"),
        _a(B, "B1", "Q1", "2024-02-29", type_action="ORTHOPHONIE"),
    ]
    attentes = [
        # A, PSYCHOMOTRICIEN, avant: first day in (30 days), last day in (60), the day before out, an
        # abandonment after 30 days (censored), an appointment after 90 days.
        _r(A, "r1", "PSYCHOMOTRICIEN", "2022-03-15", rdv="2022-04-14"),
        _r(A, "r2", "PSYCHOMOTRICIEN", "2023-03-14", rdv="2023-05-13"),
        _r(A, "r3", "PSYCHOMOTRICIEN", "2022-03-14", rdv="2022-03-20"),
        _r(A, "r4", "PSYCHOMOTRICIEN", "2022-06-01", abandon="2022-07-01"),
        _r(A, "r5", "PSYCHOMOTRICIEN", "2022-07-01", rdv="2022-09-29"),
        # apres: first day in, still waiting (censored at the extraction, 2024-12-31); last day in (10 days);
        # the day after out.
        _r(A, "r6", "PSYCHOMOTRICIEN", "2023-03-15"),
        _r(A, "r7", "PSYCHOMOTRICIEN", "2024-03-14", rdv="2024-03-24"),
        _r(A, "r8", "PSYCHOMOTRICIEN", "2024-03-15", rdv="2024-03-16"),
        # A structure not related to psychomotricity: no row.
        _r(A, "r9", "ORTHOPHONISTE", "2023-04-01", rdv="2023-04-02"),
        # B, ORTHOPHONISTE: avant 2024-02-28 in (10 days), 2023-02-27 out; apres 2024-02-29 in, waiting
        # (censored at 2024-06-30: 122 days).
        _r(B, "s1", "ORTHOPHONISTE", "2024-02-28", rdv="2024-03-09"),
        _r(B, "s2", "ORTHOPHONISTE", "2023-02-27", rdv="2023-03-01"),
        _r(B, "s3", "ORTHOPHONISTE", "2024-02-29"),
    ]
    con = build_warehouse(sites=SITES, depots=WINDOW_DEPOTS, parcours=parcours, actions=actions,
                          attentes=attentes)
    build(con)
    return con


def _window_rows(con):
    cur = con.execute("select * from marts.attentes_autour_action")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_waits_before_and_after_an_action_s_arrival_at_a_site():
    import datetime as dt

    from lifelines import KaplanMeierFitter

    con = _windows_warehouse()
    rows = _window_rows(con)
    con.close()
    d = dt.date.fromisoformat
    by_key = {(r["code_pre"], r["type_action"], r["structure"], r["fenetre"]): r for r in rows}
    # A: psychomotricity × its three services × two windows; B: orthophonie × its three × two. Nothing for
    # LOISIRS (not evaluated) nor for a type without action at the site.
    assert set(by_key) == {(A, "PSYCHOMOTRICITE", s, f) for s in ("PSYCHOMOTRICIEN", "CMPP", "CAMSP")
                           for f in ("avant", "apres")} | \
        {(B, "ORTHOPHONIE", s, f) for s in ("ORTHOPHONISTE", "CMPP", "CAMSP") for f in ("avant", "apres")}
    before, after = by_key[(A, "PSYCHOMOTRICITE", "PSYCHOMOTRICIEN", "avant")], \
        by_key[(A, "PSYCHOMOTRICITE", "PSYCHOMOTRICIEN", "apres")]
    assert before["premiere_action"] == after["premiere_action"] == d("2023-03-15")
    assert (before["debut"], before["fin"]) == (d("2022-03-15"), d("2023-03-14"))
    assert (after["debut"], after["fin"]) == (d("2023-03-15"), d("2024-03-14"))
    assert before["complete"] and after["complete"]
    # avant: r1 (30, event), r2 (60, event), r4 (30, censored), r5 (90, event). At 30: 4 at risk, 1 event
    # (the censoring after it): S = 3/4; at 60: 2 at risk, 1 event: S = 3/8 <= 1/2: median 60.
    assert before["demandes"] == 4 and before["valeur"] == 60
    # Its interval: lifelines' band (log(−log), Greenwood), read at the event times as the spec says.
    kmf = KaplanMeierFitter().fit([30, 60, 30, 90], [1, 1, 0, 1])
    band = kmf.confidence_interval_
    events = [30, 60, 90]
    low = next((t for t in events if band.iloc[:, 0].loc[t] <= 0.5 + 1e-9), None)
    high = next((t for t in events if band.iloc[:, 1].loc[t] <= 0.5 + 1e-9), None)
    assert (before["borne_basse"], before["borne_haute"]) == (low, high)
    # apres: r6 still waiting (censored at 2024-12-31: 657 days), r7 10 days: at 10, 2 at risk, 1 event:
    # S = 1/2, the median (S <= 0.5 with the tolerance).
    assert (d("2024-12-31") - d("2023-03-15")).days == 657
    assert after["demandes"] == 2 and after["valeur"] == 10
    # CMPP at A: no request in either window: 0, NULL median and bounds.
    cmpp = by_key[(A, "PSYCHOMOTRICITE", "CMPP", "avant")]
    assert (cmpp["demandes"], cmpp["valeur"], cmpp["borne_basse"], cmpp["borne_haute"]) == (0, None, None, None)
    # B: the 29 February edges; avant starts before B's data (2023-06-01), apres ends after its extraction.
    b_before, b_after = by_key[(B, "ORTHOPHONIE", "ORTHOPHONISTE", "avant")], \
        by_key[(B, "ORTHOPHONIE", "ORTHOPHONISTE", "apres")]
    assert (b_before["debut"], b_before["fin"]) == (d("2023-02-28"), d("2024-02-28"))
    assert (b_after["debut"], b_after["fin"]) == (d("2024-02-29"), d("2025-02-27"))
    assert not b_before["complete"] and not b_after["complete"]
    assert (b_before["demandes"], b_before["valeur"]) == (1, 10)
    # s3 waiting: one censored request, no event: median and bounds NULL.
    assert (b_after["demandes"], b_after["valeur"], b_after["borne_basse"], b_after["borne_haute"]) == \
        (1, None, None, None)


def test_published_windows_are_masked_below_the_threshold():
    from pipelines.publication.disclosure import mask_windows

    con = _windows_warehouse()
    windows = con.sql("select * from marts.attentes_autour_action").pl()
    con.close()
    published = {(r["code_pre"], r["structure"], r["fenetre"]): r
                 for r in mask_windows(windows, threshold=4).to_dicts()}
    # Threshold 4: avant at A holds 4 requests: shown; apres holds 2: masked (count, median, bounds);
    # the empty CMPP windows show their zero.
    assert published[(A, "PSYCHOMOTRICIEN", "avant")]["masque"] is False
    assert published[(A, "PSYCHOMOTRICIEN", "avant")]["valeur"] == 60
    hidden = published[(A, "PSYCHOMOTRICIEN", "apres")]
    assert hidden["masque"] is True
    assert (hidden["demandes"], hidden["valeur"], hidden["borne_basse"], hidden["borne_haute"]) == \
        (None, None, None, None)
    assert hidden["debut"] is not None  # the window itself is no secret
    assert published[(A, "CMPP", "avant")]["masque"] is False and published[(A, "CMPP", "avant")]["demandes"] == 0
    # The default threshold (11) masks every window here that has a request.
    default = mask_windows(windows, threshold=11)
    assert default.filter(default["masque"])["demandes"].null_count() == default["masque"].sum() == 4


# --------------------------------------------------------------------------- the demo data


@pytest.mark.slow
def test_the_demo_data_give_these_figures_for_epernay_s_psychomotricity(tmp_path):
    """The generator launches psychomotricity at Épernay on 2023-01-09 (pipelines/demo/calibration.py): the
    page « Évaluer une action » must have figures to show there."""
    import duckdb
    import polars as pl

    from pipelines.common.datahome import DataHome
    from pipelines.demo.simulation import simulate_site
    from pipelines.demo.sites import choose_sites

    con = duckdb.connect()
    load_simulated(con, [simulate_site(site, seed=42, from_year=2021, to_year=2024)
                         for site in choose_sites(DataHome(tmp_path), 42, [A], None)])
    build(con)
    rows = read_indicators(con)
    windows = con.sql("select * from marts.attentes_autour_action where type_action = 'PSYCHOMOTRICITE'").pl()
    con.close()

    def value(code, cat):
        return rows[(code, cat, "pre", A, "2024")]

    for code in ("seances_prevues_type_action", "seances_realisees_type_action", "cout_par_enfant_type_action"):
        assert value(code, "PSYCHOMOTRICITE")[0] is not None and value(code, "PSYCHOMOTRICITE")[1] > 0, code
    assert value("progression_note_avec_action", "PSYCHOMOTRICITE:scolarite")[1] > 0
    assert value("progression_note_sans_action", "PSYCHOMOTRICITE:scolarite")[1] > 0
    # The first psychomotricity action is the first one drawn on or after the launch: within its first fortnight.
    [first] = set(windows["premiere_action"].to_list())
    assert __import__("datetime").date(2023, 1, 9) <= first <= __import__("datetime").date(2023, 1, 23)
    psy = windows.filter(pl.col("structure") == "PSYCHOMOTRICIEN")
    assert psy.height == 2 and psy["demandes"].min() > 0 and psy["valeur"].null_count() == 0


def test_the_published_copy_holds_the_masked_windows(tmp_path):
    import duckdb

    from pipelines.publication import disclosure, published

    con = _windows_warehouse()
    protection = disclosure.protect_table(con, "marts.indicateurs", published.hierarchy(con), threshold=4,
                                          seed=b"essai")
    published._write_copy(con, tmp_path / "copie.duckdb", protection, 4)
    con.close()
    copy = duckdb.connect(str(tmp_path / "copie.duckdb"), read_only=True)
    rows = copy.execute("select code_pre, structure, fenetre, demandes, valeur, masque "
                        "from marts.attentes_autour_action where demandes is null or demandes > 0").fetchall()
    copy.close()
    # Threshold 4: A's PSYCHOMOTRICIEN avant (4 requests) shown, apres (2) masked; B's two windows (1 each) masked.
    assert sorted(rows) == sorted([(A, "PSYCHOMOTRICIEN", "avant", 4, 60.0, False),
                                   (A, "PSYCHOMOTRICIEN", "apres", None, None, True),
                                   (B, "ORTHOPHONISTE", "avant", None, None, True),
                                   (B, "ORTHOPHONISTE", "apres", None, None, True)])


def test_a_window_that_is_a_period_follows_that_period_s_mask():
    import datetime as dt

    import polars as pl

    from pipelines.publication.disclosure import mask_windows

    # A first action on 2024-01-01: the 'avant' window is the calendar year 2023, whose demandes_attente row of
    # the site and structure is masked (a secondary mask, 15 requests): the window must not show the 15.
    d = dt.date.fromisoformat
    windows = pl.DataFrame({
        "code_pre": [A, A, A], "type_action": ["PSYCHOMOTRICITE"] * 3, "structure": ["CMPP", "CMPP", "CAMSP"],
        "fenetre": ["avant", "apres", "avant"], "premiere_action": [d("2024-01-01")] * 3,
        "debut": [d("2023-01-01"), d("2024-01-01"), d("2023-01-01")],
        "fin": [d("2023-12-31"), d("2024-12-31"), d("2023-12-31")], "complete": [True] * 3,
        "demandes": [15, 20, 30], "valeur": [40.0, 50.0, 60.0], "borne_basse": [1.0] * 3, "borne_haute": [99.0] * 3})
    periods = pl.DataFrame({"periode": ["2023", "2024", "2023-2024"],
                            "debut": [d("2023-01-01"), d("2024-01-01"), d("2023-09-01")],
                            "fin": [d("2023-12-31"), d("2024-12-31"), d("2024-08-31")]})
    indicators = pl.DataFrame({
        "indicateur": ["demandes_attente"] * 4, "categorie": ["CMPP", "CMPP", "CAMSP", "CMPP"],
        "niveau": ["pre", "pre", "pre", "departement"], "territoire": [A, A, A, "51"],
        "periode": ["2023", "2024", "2023", "2024"], "masque": [True, False, False, True]})
    out = mask_windows(windows, threshold=11, periods=periods, indicators=indicators)
    # CMPP avant = 2023, masked there: masked; CMPP apres = 2024, shown at the site: shown; CAMSP 2023 shown.
    assert out["masque"].to_list() == [True, False, False]
    assert out["demandes"].to_list() == [None, 20, 30]

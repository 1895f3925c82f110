"""The 95 % intervals of marts.indicateurs (indicators.md v2, "Uncertainty") against the reference
libraries, not against formulas of our own: statsmodels' `proportion_confint(method="wilson")` for the
shares, lifelines' `KaplanMeierFitter.confidence_interval_` (log(−log) transform, Greenwood's variance)
for the waits.

Where the spec departs from a library it is applied on top of the library's output, here in the test:
the median's bounds are the first *event* time at which a bound of lifelines' band is <= 0.5 (with a
1e-9 tolerance; lifelines' own median interval takes < 0.5), and the 90-day bounds read the band at the
last time <= 90 (1 before any), complemented: 100 × (1 − upper), 100 × (1 − lower).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from lifelines import KaplanMeierFitter
from statsmodels.stats.proportion import proportion_confint

from indicator_fixture import build_warehouse
from pipelines.warehouse.models import build

SITE = "PRE51230"
EXTRACTION = date(2024, 12, 31)
STRUCTURES = ("PRE", "CMPP", "CAMSP", "CMP", "ORTHOPHONISTE", "PSYCHOMOTRICIEN", "PSYCHOLOGUE", "PEDOPSYCHIATRIE",
              "AUTRE")
TOLERANCE = 1e-9
# indicators.md v2, "Uncertainty": the only indicators with bounds.
SPEC_BOUNDED = {"part_filles", "part_qpv", "part_age", "part_orientation", "part_orientation_ecole",
                "part_sorties_objectifs_atteints", "part_sorties_relais", "part_parcours_multipartenaires",
                "part_suivi_6_mois", "part_guidance_18_mois", "part_referents_guidance_au_dela_norme",
                "attente_mediane_jours", "part_rdv_sous_90_jours"}


def wilson(k: int, n: int) -> tuple[float, float]:
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    return 100 * float(low), 100 * float(high)


def km_bounds(samples: list[tuple[int, bool]]) -> dict[str, float | None]:
    """Bounds of the median and of the 90-day share from lifelines' band, read as the spec says."""
    if not samples:
        return {"median_low": None, "median_high": None, "rdv90_low": None, "rdv90_high": None}
    durations = [t for t, _ in samples]
    events = [e for _, e in samples]
    band = KaplanMeierFitter().fit(durations, events, alpha=0.05).confidence_interval_
    lower, upper = band.iloc[:, 0], band.iloc[:, 1]
    event_times = sorted({t for t, e in samples if e})

    def first(bound) -> float | None:
        return next((float(t) for t in event_times if bound.loc[t] <= 0.5 + TOLERANCE), None)

    until_90 = band[band.index <= 90]
    low_90, high_90 = (until_90.iloc[-1, 0], until_90.iloc[-1, 1]) if len(until_90) else (1.0, 1.0)
    return {"median_low": first(lower), "median_high": first(upper),
            "rdv90_low": 100 * (1 - high_90), "rdv90_high": 100 * (1 - low_90)}


def _approx(value):
    return None if value is None else pytest.approx(value, abs=1e-7)


def _warehouse(requests: list[dict], parcours: list[dict] | None = None):
    con = build_warehouse(
        sites=[{"code_pre": SITE, "departement": "51", "region": "44"}],
        depots=[{"code_pre": SITE, "date_extraction": EXTRACTION.isoformat()}],
        parcours=parcours or [{"code_pre": SITE, "id_parcours": "P0", "id_enfant": "E0", "date_entree": "2022-01-03"}],
        attentes=requests)
    build(con)
    return con


def _bounds(con, indicator: str, period: str, category: str = ""):
    return con.execute("select valeur, effectif, borne_basse, borne_haute from marts.indicateurs where indicateur = ? "
                       "and niveau = 'pre' and periode = ? and categorie = ?", [indicator, period, category]).fetchone()


# --------------------------------------------------------------------------- Wilson


def test_wilson_on_shares_with_zero_full_and_empty_bases():
    # 2023: ten children active, three girls: part_filles 3 of 10. 2024: no entry; two exits.
    parcours = [{"code_pre": SITE, "id_parcours": f"P{i}", "id_enfant": f"E{i}", "date_entree": "2023-03-01",
                 "sexe": "F" if i < 3 else "M", "code_qpv": "QN05101M",
                 "date_sortie": "2024-06-01" if i >= 8 else None} for i in range(10)]
    con = _warehouse([], parcours)
    valeur, effectif, low, high = _bounds(con, "part_filles", "2023")
    assert (valeur, effectif) == (pytest.approx(30.0), 10)
    assert (low, high) == pytest.approx(wilson(3, 10))
    assert (low, high) == pytest.approx((10.779, 60.322), abs=1e-3)  # Wilson 3/10, from a table
    # Every pathway in a QPV: 10 of 10, the upper bound is 100.
    assert _bounds(con, "part_qpv", "2023")[2:] == pytest.approx(wilson(10, 10))
    # No entry aged 17 or more (all are 8): 0 of 10, the lower bound 0.
    assert _bounds(con, "part_age", "2023", "17_plus")[2:] == pytest.approx(wilson(0, 10))
    # No entry in 2024: effectif 0, value and bounds NULL.
    assert _bounds(con, "part_orientation", "2024", "ECOLE") == (None, 0, None, None)
    # Indicators outside the spec's list: NULL bounds, even the project's own share part_motif_sortie.
    bounded = con.execute("""select distinct indicateur from marts.indicateurs
        where borne_basse is not null or borne_haute is not null""").fetchall()
    assert {code for (code,) in bounded} <= SPEC_BOUNDED
    assert con.execute("""select count(*) from marts.indicateurs where indicateur = 'part_motif_sortie'
        and effectif > 0 and borne_basse is null and borne_haute is null""").fetchone()[0] > 0
    con.close()


# --------------------------------------------------------------------------- Kaplan–Meier


def _requests(samples_by_structure: dict[str, list[tuple[date, int, str]]]) -> list[dict]:
    """(date_demande, t, kind) → a request: kind rdv (event at t), abandon (censored at t), attente (censored at
    the extraction, t ignored)."""
    out = []
    for structure, samples in samples_by_structure.items():
        for i, (demande, t, kind) in enumerate(samples):
            end = demande + timedelta(days=t)
            out.append({"code_pre": SITE, "id_demande": f"{structure}{i}", "id_enfant": f"E{i}",
                        "structure": structure, "date_demande": demande,
                        "date_premier_rdv": end if kind == "rdv" else None,
                        "date_abandon": end if kind == "abandon" else None})
    return out


def _samples(samples: list[tuple[date, int, str]]) -> list[tuple[int, bool]]:
    return [((EXTRACTION - d).days if kind == "attente" else t, kind == "rdv") for d, t, kind in samples]


def _random_samples(rng: random.Random) -> list[tuple[date, int, str]]:
    out = []
    for _ in range(rng.choice([0, 1, 3, 8, 15, 30, 60])):
        demande = date(2023, 1, 1) + timedelta(days=rng.randint(0, 364))
        t = rng.choice([0, 20, 45, 90, 90, 91, 150]) if rng.random() < 0.5 else rng.randint(0, 500)
        kind = rng.choice(["rdv", "rdv", "rdv", "abandon", "attente"])
        if demande + timedelta(days=t) > EXTRACTION:
            kind = "attente"
        out.append((demande, t, kind))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_kaplan_meier_bounds_match_lifelines(seed):
    rng = random.Random(seed)
    by_structure = {s: _random_samples(rng) for s in STRUCTURES}
    con = _warehouse(_requests(by_structure))
    for structure, samples in by_structure.items():
        expected = km_bounds(_samples(samples))
        _, effectif, low, high = _bounds(con, "attente_mediane_jours", "2023", structure)
        assert effectif == len(samples)
        assert (low, high) == (_approx(expected["median_low"]), _approx(expected["median_high"])), structure
        _, _, low, high = _bounds(con, "part_rdv_sous_90_jours", "2023", structure)
        assert (low, high) == (_approx(expected["rdv90_low"]), _approx(expected["rdv90_high"])), structure
    con.close()


def test_kaplan_meier_bounds_special_cases():
    d = date(2023, 3, 1)
    by_structure = {
        # CMPP: no request at all: both indicators and their bounds NULL.
        # CAMSP: three requests, no appointment yet: S = 1, the band too; median and bounds NULL, 90-day share
        # 0 with bounds 0 and 0.
        "CAMSP": [(d, 10, "abandon"), (d, 0, "attente"), (d, 0, "attente")],
        # CMP: every request seen on day 30: S falls to 0 there, the band with it (a term with as many events
        # as at risk counts 0): median 30, bounds 30 and 30; 90-day share 100 with bounds 100 and 100.
        "CMP": [(d, 30, "rdv")] * 5,
        # PSYCHOLOGUE: 40 requests, 18 seen early and the rest still waiting: S stays above 0.5 (median NULL)
        # but the lower bound falls below it: borne_basse exists, borne_haute NULL.
        "PSYCHOLOGUE": [(d, 10 + i, "rdv") for i in range(18)] + [(d, 0, "attente")] * 22,
    }
    con = _warehouse(_requests(by_structure))
    assert _bounds(con, "attente_mediane_jours", "2023", "CMPP") == (None, 0, None, None)
    assert _bounds(con, "part_rdv_sous_90_jours", "2023", "CMPP") == (None, 0, None, None)
    assert _bounds(con, "attente_mediane_jours", "2023", "CAMSP") == (None, 3, None, None)
    assert _bounds(con, "part_rdv_sous_90_jours", "2023", "CAMSP") == (0.0, 3, 0.0, 0.0)
    assert _bounds(con, "attente_mediane_jours", "2023", "CMP") == (30.0, 5, 30.0, 30.0)
    assert _bounds(con, "part_rdv_sous_90_jours", "2023", "CMP") == (100.0, 5, 100.0, 100.0)
    valeur, _, low, high = _bounds(con, "attente_mediane_jours", "2023", "PSYCHOLOGUE")
    expected = km_bounds(_samples(by_structure["PSYCHOLOGUE"]))
    assert valeur is None and high is None and expected["median_high"] is None
    assert low is not None and low == pytest.approx(expected["median_low"])
    for structure in ("CAMSP", "CMP", "PSYCHOLOGUE"):
        expected = km_bounds(_samples(by_structure[structure]))
        assert _bounds(con, "part_rdv_sous_90_jours", "2023", structure)[2:] == \
            pytest.approx((expected["rdv90_low"], expected["rdv90_high"]))
    con.close()


def test_band_of_the_curves_is_lifelines_band():
    # marts.km_courbes carries the band at every time: the same as lifelines' at that time.
    d = date(2023, 2, 1)
    samples = [(d, 5, "rdv"), (d, 5, "rdv"), (d, 5, "abandon"), (d, 12, "rdv"), (d, 40, "abandon"), (d, 60, "rdv"),
               (d, 60, "rdv"), (d, 100, "rdv"), (d, 0, "attente"), (d, 0, "attente"), (d, 200, "rdv")]
    con = _warehouse(_requests({"CMPP": samples}))
    rows = con.execute("""select jours, survie, survie_basse, survie_haute from marts.km_courbes
        where niveau = 'pre' and periode = '2023' and categorie = 'CMPP' order by jours""").fetchall()
    con.close()
    fitted = _samples(samples)
    kmf = KaplanMeierFitter().fit([t for t, _ in fitted], [e for _, e in fitted], alpha=0.05)
    for jours, survie, low, high in rows:
        assert survie == pytest.approx(kmf.survival_function_.iloc[:, 0].loc[jours], abs=1e-12)
        assert (low, high) == pytest.approx(tuple(kmf.confidence_interval_.loc[jours]), abs=1e-12)

"""The generator gives the field's figures something to show (issue 14, item 8): long Guidance familiale
actions (some beyond 18 months), busy guidance referents (some above 10 families), follow-up bilans early,
in the 120–240-day window and late, and psychomotricity launched at known sites on a known date, with the
waits at the related care services shorter afterwards.

Checked on the simulated tables of the fifteen shipped Grand Est sites (2021–2024), with plain Python and
Polars; waits with lifelines' Kaplan–Meier estimate.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from lifelines import KaplanMeierFitter

from pipelines.common.datahome import DataHome
from pipelines.demo.calibration import ACTION_LAUNCHES
from pipelines.demo.simulation import simulate_site
from pipelines.demo.sites import choose_sites

SEED = 42


def plus_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    home = DataHome(Path(tmp_path_factory.mktemp("home")))
    out = {}
    for site in choose_sites(home, SEED, None, None):
        data = simulate_site(site, seed=SEED, from_year=2021, to_year=2024)
        out[site.code_pre] = data
    return out


def _pooled(simulated, table: str) -> pl.DataFrame:
    return pl.concat([d.tables[table].with_columns(code_pre=pl.lit(code), extraction=pl.lit(d.date_extraction))
                      for code, d in simulated.items()], how="diagonal")


def test_guidance_actions_are_long_and_some_exceed_18_months(simulated):
    actions = _pooled(simulated, "actions").filter(pl.col("type_action") == "GUIDANCE_FAMILIALE",
                                                    pl.col("date_fin").is_not_null())
    over = sum(fin > plus_months(debut, 18) for debut, fin in zip(actions["date_debut"], actions["date_fin"],
                                                                    strict=True))
    share = over / actions.height
    assert actions.height > 200
    assert 0.05 <= share <= 0.35, share  # beyond the norm: a minority, but visible at every level
    days = (actions["date_fin"] - actions["date_debut"]).dt.total_days()
    assert days.median() > 180


def test_some_guidance_referents_hold_more_than_ten_families(simulated):
    parcours = _pooled(simulated, "parcours")
    actions = _pooled(simulated, "actions").filter(pl.col("type_action") == "GUIDANCE_FAMILIALE")
    joined = actions.join(parcours.select("code_pre", "id_parcours", "id_referent", "id_enfant", "id_famille"),
                          on=["code_pre", "id_parcours"])
    load = {}  # (site, referent) → families with a guidance ongoing at the extraction
    for row in joined.iter_rows(named=True):
        r = row["extraction"]
        if row["date_debut"] <= r and (row["date_fin"] is None or row["date_fin"] >= r):
            family = ("famille", row["id_famille"]) if row["id_famille"] else ("enfant", row["id_enfant"])
            load.setdefault((row["code_pre"], row["id_referent"]), set()).add(family)
    counts = [len(f) for f in load.values()]
    assert sum(c > 10 for c in counts) >= 3, counts
    assert sum(c <= 10 for c in counts) >= 3, counts


def test_follow_up_bilans_early_in_the_window_and_late(simulated):
    parcours = _pooled(simulated, "parcours").select("code_pre", "id_parcours", "date_sortie")
    bilans = _pooled(simulated, "bilans").filter(pl.col("type_bilan") == "SUIVI_6_MOIS")
    days = bilans.join(parcours, on=["code_pre", "id_parcours"]).select(
        (pl.col("date_bilan") - pl.col("date_sortie")).dt.total_days().alias("jours"), "date_bilan", "extraction")
    assert days.filter(pl.col("date_bilan") > pl.col("extraction")).is_empty()
    early = days.filter(pl.col("jours") < 120).height
    within = days.filter(pl.col("jours").is_between(120, 240)).height
    late = days.filter(pl.col("jours") > 240).height
    assert early > 20 and late > 20 and within > early + late, (early, within, late)  # mostly in the window
    # Some on the window's edges, to exercise them.
    assert days.filter(pl.col("jours").is_in([120, 240])).height > 0


def _km_median(durations: list[int], events: list[bool]) -> float:
    return float(KaplanMeierFitter().fit(durations, events).median_survival_time_)


@pytest.mark.parametrize("code", sorted(ACTION_LAUNCHES))
def test_an_action_launched_at_a_site_on_a_known_date_and_the_waits_after_it(simulated, code):
    launch = ACTION_LAUNCHES[code]
    data = simulated[code]
    actions = data.tables["actions"].filter(pl.col("type_action") == launch.type_action)
    # Nothing of the type before the launch; the first one within a few weeks after it.
    first = actions["date_debut"].min()
    assert launch.day <= first <= launch.day + timedelta(days=60), first
    # Waits at the related care services, requests of the 12 months before vs after the launch:
    # (Kaplan–Meier median, censored at the abandon or the extraction).
    requests = data.tables["attentes"].filter(pl.col("structure") == "CMPP")
    medians = []
    for start, end in ((launch.day - timedelta(days=365), launch.day - timedelta(days=1)),
                       (launch.day, launch.day + timedelta(days=364))):
        window = requests.filter(pl.col("date_demande").is_between(start, end))
        assert window.height >= 15, (code, start, window.height)
        ends = window.select(pl.coalesce("date_premier_rdv", "date_abandon", pl.lit(data.date_extraction)))
        durations = (ends.to_series() - window["date_demande"]).dt.total_days().to_list()
        medians.append(_km_median(durations, window["date_premier_rdv"].is_not_null().to_list()))
    before, after = medians
    assert after < 0.8 * before, (code, before, after)


def test_sites_without_a_launch_keep_the_action_type_throughout(simulated):
    others = _pooled(simulated, "actions").filter(~pl.col("code_pre").is_in(list(ACTION_LAUNCHES)),
                                                   pl.col("type_action") == "PSYCHOMOTRICITE")
    assert others.filter(pl.col("date_debut") < date(2022, 1, 1)).height > 10


def test_the_same_seed_gives_the_same_site(simulated):
    site = next(iter(simulated.values())).site
    again = simulate_site(site, seed=SEED, from_year=2021, to_year=2024)
    for table, frame in simulated[site.code_pre].tables.items():
        assert frame.equals(again.tables[table]), table
    launched = simulated["PRE51230"]
    again = simulate_site(launched.site, seed=SEED, from_year=2021, to_year=2024)
    assert all(frame.equals(again.tables[t]) for t, frame in launched.tables.items())


def test_partners_per_pathway_vary_by_site(simulated):
    # Sites lean more or less on one partner per pathway: the share of pathways with at least two partners
    # differs from site to site.
    actions = _pooled(simulated, "actions")
    per_pathway = actions.group_by("code_pre", "id_parcours").agg(partners=pl.col("partenaire").n_unique())
    shares = per_pathway.group_by("code_pre").agg(multi=(pl.col("partners") >= 2).mean())["multi"]
    assert shares.max() - shares.min() > 0.05, shares.to_list()
    assert shares.max() < 0.97

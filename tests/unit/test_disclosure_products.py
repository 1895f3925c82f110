"""Statistical disclosure control of the project's indicators on product sets of categories (issue 14): a
reader who sees that the pathways with and without an action add up to all pathways, or that the actions
whose attendance is known per type add up to the overall ones, cannot recover a masked small group.

The reader here is written in this file from the catalogue's definitions (docs/evaluer-une-action.md), not
from `pipelines.publication.disclosure`: every count is a variable, shown ones fixed, counts ≥ 0, and the
relations are the territories' sums, the product relation and the sums of effectifs, solved with HiGHS (the
intruder's `_Program`, which shares no code with the project).
The same reader first shows that the relations do give a small group away when only the primary rule masks.
"""

from __future__ import annotations

import math
from collections import defaultdict

import polars as pl
import pytest

from intruder import _Program as Program  # a linear program on HiGHS, nothing of the project's
from pipelines.publication.disclosure import MASK_COLUMN, audit, protect

S = 11
SCHEMA = {"indicateur": pl.String, "categorie": pl.String, "niveau": pl.String, "territoire": pl.String,
          "periode": pl.String, "valeur": pl.Float64, "effectif": pl.Int64}
# Région 44: département 51 with two sites, département 08 with one.
TREE = {"PRE51230": "51", "PRE51454": "51", "PRE08105": "08"}
SITES = pl.DataFrame({"code_pre": list(TREE), "departement": list(TREE.values()), "region": ["44"] * 3})
TYPES = ["ACCOMPAGNEMENT_SCOLARITE", "COUP_DE_POUCE_LANGAGE", "LIEN_ECOLE_FAMILLE", "ACTIVITE_SPORTIVE",
         "ACTIVITE_CULTURELLE", "SEJOUR_VACANCES", "LOISIRS", "GROUPE_PAROLE_PARENTS", "ENTRETIEN_FAMILIAL",
         "GUIDANCE_FAMILIALE", "MEDIATION", "BILAN_SANTE", "BILAN_PSYCHOMOTRICITE", "PSYCHOMOTRICITE",
         "ORTHOPHONIE", "SUIVI_PSYCHOLOGIQUE", "ORIENTATION_SOIN", "AUTRE"]


def _places(site_values: dict[str, int]) -> list[tuple[str, str, int]]:
    """(niveau, territoire, count) at every level, upper levels summing their sites."""
    out = [("pre", s, n) for s, n in site_values.items()]
    for dept in sorted(set(TREE.values())):
        out.append(("departement", dept, sum(n for s, n in site_values.items() if TREE[s] == dept)))
    total = sum(site_values.values())
    return [*out, ("region", "44", total), ("national", "FR", total)]


def _rows(indicator: str, categorie: str, site_values: dict[str, int]) -> list[tuple]:
    return [(indicator, categorie, level, terr, "2024", float(n), n) for level, terr, n in _places(site_values)]


def _parent(level: str, terr: str) -> tuple[str, str] | None:
    if level == "pre":
        return "departement", TREE[terr]
    return {"departement": ("region", "44"), "region": ("national", "FR")}.get(level)


def reader(published: pl.DataFrame) -> dict[tuple, tuple[float, float]]:
    """The range a reader reaches for every masked count, from the shown rows and the known relations."""
    rows = published.to_dicts()
    index = {(r["indicateur"], r["categorie"], r["niveau"], r["territoire"]): i for i, r in enumerate(rows)}
    eq = []
    # Territories: a parent's count is its children's sum.
    children = defaultdict(list)
    for (ind, cat, level, terr), i in index.items():
        parent = _parent(level, terr)
        if parent and (ind, cat, *parent) in index:
            children[index[(ind, cat, *parent)]].append(i)
    eq += [{p: 1.0, **{k: -1.0 for k in kids}} for p, kids in children.items()]
    for (ind, cat, level, terr), i in index.items():
        # With and without the action: the two effectifs make that of progression_note for the domain.
        if ind == "progression_note_avec_action":
            j = index[("progression_note_sans_action", cat, level, terr)]
            k = index[("progression_note", cat.split(":")[1], level, terr)]
            eq.append({i: 1.0, j: 1.0, k: -1.0})
        # Sessions per action type count the actions of the attendance rate per type: one effectif.
        if ind == "seances_prevues_type_action":
            eq.append({i: 1.0, index[("taux_assiduite_type_action", cat, level, terr)]: -1.0})
    for level, terr in {(r["niveau"], r["territoire"]) for r in rows}:
        # The actions whose attendance is known, per type, make those of taux_assiduite.
        if ("taux_assiduite", "", level, terr) in index:
            eq.append({**{index[("taux_assiduite_type_action", t, level, terr)]: 1.0 for t in TYPES},
                       index[("taux_assiduite", "", level, terr)]: -1.0})
    n = len(rows)
    bounds = [(float(r["effectif"]), float(r["effectif"])) if not r[MASK_COLUMN] else (0.0, None) for r in rows]
    program = Program(eq, [], list(range(n)), bounds)  # one HiGHS model, each objective from the last basis
    assert program.solve({})[0] == "optimal"  # the published figures are consistent
    ranges = {}
    for key, i in index.items():
        if not rows[i][MASK_COLUMN]:
            continue
        low, lowest = program.solve({i: 1.0})
        high, highest = program.solve({i: -1.0})
        ranges[key] = (lowest if low == "optimal" else -math.inf, -highest if high == "optimal" else math.inf)
    return ranges


def _primary_only(df: pl.DataFrame) -> pl.DataFrame:
    """What masking by the primary rule alone would publish."""
    small = (pl.col("effectif") >= 1) & (pl.col("effectif") < S)
    return df.with_columns(small.alias(MASK_COLUMN))


def _check(df: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    masked = protect(df, SITES, threshold=S, seed=b"essai").masked
    ranges = reader(masked)
    narrow = {k: r for k, r in ranges.items() if r[1] - r[0] < S - 1e-6}
    assert narrow == {}
    assert audit(masked, SITES, threshold=S).passed
    return masked, ranges


def _masked(masked: pl.DataFrame, indicator: str, categorie: str, level: str, terr: str) -> bool:
    return masked.filter((pl.col("indicateur") == indicator) & (pl.col("categorie") == categorie)
                         & (pl.col("niveau") == level) & (pl.col("territoire") == terr))[MASK_COLUMN][0]


def _progression_table() -> pl.DataFrame:
    # scolarite, PSYCHOMOTRICITE: all 30 / 25 / 20 pathways; with the action 27 / 12 / 20, so without it
    # 3 (small), 13 and 0. Every other evaluated type and domain: nobody.
    everyone = {"PRE51230": 30, "PRE51454": 25, "PRE08105": 20}
    avec = {"PRE51230": 27, "PRE51454": 12, "PRE08105": 20}
    sans = {s: everyone[s] - avec[s] for s in everyone}
    zero = dict.fromkeys(everyone, 0)
    rows = _rows("progression_note", "scolarite", everyone)
    for domain in ("comportement", "sante", "parentalite"):
        rows += _rows("progression_note", domain, zero)
    for t in ("PSYCHOMOTRICITE", "BILAN_PSYCHOMOTRICITE", "ORTHOPHONIE", "COUP_DE_POUCE_LANGAGE",
              "SUIVI_PSYCHOLOGIQUE", "GUIDANCE_FAMILIALE"):
        for domain in ("scolarite", "comportement", "sante", "parentalite"):
            psy = t == "PSYCHOMOTRICITE" and domain == "scolarite"
            rows += _rows("progression_note_avec_action", f"{t}:{domain}", avec if psy else zero)
            rows += _rows("progression_note_sans_action", f"{t}:{domain}",
                          sans if psy else everyone if domain == "scolarite" else zero)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_a_small_group_without_the_action_is_not_recovered_from_all_minus_with():
    df = _progression_table()
    # Masked by the primary rule alone, the 3 pathways without the action at PRE51230 are 30 − 27.
    leaked = reader(_primary_only(df))
    assert leaked[("progression_note_sans_action", "PSYCHOMOTRICITE:scolarite", "pre", "PRE51230")] == \
        pytest.approx((3.0, 3.0))
    masked, ranges = _check(df)
    assert _masked(masked, "progression_note_sans_action", "PSYCHOMOTRICITE:scolarite", "pre", "PRE51230")
    low, high = ranges[("progression_note_sans_action", "PSYCHOMOTRICITE:scolarite", "pre", "PRE51230")]
    assert high - low >= S
    # Something beside it went: all the pathways or those with the action, at the site or above it.
    assert any(_masked(masked, ind, cat, level, terr)
               for ind, cat in (("progression_note", "scolarite"),
                                ("progression_note_avec_action", "PSYCHOMOTRICITE:scolarite"))
               for level, terr in (("pre", "PRE51230"), ("departement", "51")))


def test_a_small_attendance_base_of_one_type_is_not_recovered_from_the_overall_one():
    # Actions whose attendance is known: PSYCHOMOTRICITE 40/30/25, ORTHOPHONIE 4/0/0 (small), every other type 0;
    # taux_assiduite's effectif is their total (44/30/25), a relation a reader sees: ORTHOPHONIE = 44 − 40.
    per_type = {"PSYCHOMOTRICITE": (40, 30, 25), "ORTHOPHONIE": (4, 0, 0)}
    sites = list(TREE)
    rows = []
    for t in TYPES:
        counts = dict(zip(sites, per_type.get(t, (0, 0, 0)), strict=True))
        for code in ("taux_assiduite_type_action", "seances_prevues_type_action"):
            rows += [(code, t, level, terr, period, 50.0 if n else None, n)
                     for _, _, level, terr, period, _, n in _rows(code, t, counts)]
    rows += _rows("taux_assiduite", "", {s: sum(v[k] for v in per_type.values()) for k, s in enumerate(sites)})
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    # Primary rule alone: the 4 are 44 − 40 − 0 − … at PRE51230.
    leaked = reader(_primary_only(df))
    assert leaked[("taux_assiduite_type_action", "ORTHOPHONIE", "pre", "PRE51230")] == pytest.approx((4.0, 4.0))
    masked, ranges = _check(df)
    assert _masked(masked, "taux_assiduite_type_action", "ORTHOPHONIE", "pre", "PRE51230")
    assert _masked(masked, "seances_prevues_type_action", "ORTHOPHONIE", "pre", "PRE51230")  # same base
    low, high = ranges[("taux_assiduite_type_action", "ORTHOPHONIE", "pre", "PRE51230")]
    assert high - low >= S


def test_a_small_partner_volet_pathway_count_is_protected_along_the_territories_only():
    """parcours_partenaire_volet (pathways, catalogue ajout): a pathway counts in every couple it has, so the
    couples add up to nothing published but the territories' sums. A small cell of a département with two
    sites is its département's count minus the other site's, unless a second cell is masked with it."""
    partners = ["EDUCATION_NATIONALE", "CMPP"]
    rows = _rows("parcours_partenaire_volet", "CMPP:SANTE", {"PRE51230": 4, "PRE51454": 30, "PRE08105": 25})
    rows += _rows("parcours_partenaire_volet", "EDUCATION_NATIONALE:SCOLARITE",
                  {"PRE51230": 40, "PRE51454": 35, "PRE08105": 50})
    rows += _rows("actions_par_partenaire", partners[1], {"PRE51230": 60, "PRE51454": 80, "PRE08105": 70})
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    # Primary rule alone: PRE51230's 4 is département 51's 34 minus PRE51454's 30.
    leaked = reader(_primary_only(df))
    assert leaked[("parcours_partenaire_volet", "CMPP:SANTE", "pre", "PRE51230")] == pytest.approx((4.0, 4.0))
    masked, ranges = _check(df)
    assert _masked(masked, "parcours_partenaire_volet", "CMPP:SANTE", "pre", "PRE51230")
    low, high = ranges[("parcours_partenaire_volet", "CMPP:SANTE", "pre", "PRE51230")]
    assert high - low >= S
    # Nothing ties the couples to the partner's actions: those, and the other couple, stay shown.
    assert not masked.filter(pl.col("indicateur").is_in(["actions_par_partenaire"]))[MASK_COLUMN].any()
    assert not masked.filter(pl.col("categorie") == "EDUCATION_NATIONALE:SCOLARITE")[MASK_COLUMN].any()

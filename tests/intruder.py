"""An intruder written from the specification alone (indicators.md v2, "Statistical disclosure
control"), independent of `pipelines.publication.disclosure`: it reads a masked indicator table the
way a reader would, writes every relation the spec says a reader knows as one linear program per
period, and asks scipy's HiGHS for the smallest and largest value of every masked count.

Nothing is decomposed or cached: one program per period over every count, one pair of solves per
masked count. Slow, but with no shared code with the project's audit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

# Transcribed from indicators.md v2 by hand.
COUNT_INDICATORS = {"enfants_suivis", "parcours_actifs", "entrees", "sorties", "actions", "actions_par_partenaire",
                    "enfants_type_action", "demandes_attente", "en_attente_fin_periode"}
SHARES = {"part_filles", "part_qpv", "part_age", "part_orientation", "part_orientation_ecole",
          "part_sorties_objectifs_atteints", "part_sorties_relais", "part_parcours_multipartenaires",
          "part_suivi_6_mois", "part_guidance_18_mois", "part_referents_guidance_au_dela_norme",
          "part_motif_sortie"}  # the last one is the project's own (catalogue), a share of S by exit reason
BASES = {
    "E": {"entrees", "part_age", "part_orientation", "part_orientation_ecole"},
    "C": {"enfants_suivis", "part_filles", "actions_par_enfant", "cout_par_enfant"},
    "A": {"parcours_actifs", "part_qpv", "partenaires_par_parcours", "part_parcours_multipartenaires"},
    "S": {"sorties", "duree_moyenne_mois", "duree_mediane_mois", "part_sorties_objectifs_atteints",
          "part_sorties_relais", "part_motif_sortie"},
    "demandes": {"demandes_attente", "attente_mediane_jours", "part_rdv_sous_90_jours"},  # per structure
}
CATEGORY_SUMS = {"part_age", "part_orientation", "part_motif_sortie"}
# A reader sees that these shares count the same people as one category of another.
SAME_NUMERATOR = {"part_orientation_ecole": ("part_orientation", "ECOLE"),
                  "part_sorties_objectifs_atteints": ("part_motif_sortie", "OBJECTIFS_ATTEINTS"),
                  "part_sorties_relais": ("part_motif_sortie", "RELAIS_DROIT_COMMUN")}


def _base_of(indicator: str) -> str | None:
    return next((name for name, members in BASES.items() if indicator in members), None)


@dataclass
class Findings:
    masked_counts: int = 0
    narrow: list = field(default_factory=list)  # (period, count, low, high)
    primary_violations: list = field(default_factory=list)


def attack(published: pl.DataFrame, sites: pl.DataFrame, threshold: int = 11) -> Findings:
    found = Findings()
    for period in sorted(published["periode"].unique().to_list()):
        _attack_period(published.filter(pl.col("periode") == period), sites, threshold, found, period)
    return found


def _attack_period(rows: pl.DataFrame, sites: pl.DataFrame, s: int, found: Findings, period: str) -> None:
    names: dict[tuple, int] = {}

    def var(key: tuple) -> int:
        return names.setdefault(key, len(names))

    known: dict[int, float] = {}
    masked: set[tuple] = set()
    eq: list[dict[int, float]] = []
    ub: list[dict[int, float]] = []
    series: dict[tuple, dict[tuple[str, str], int]] = defaultdict(dict)
    share_rows = []
    for r in rows.iter_rows(named=True):
        where = (r["niveau"], r["territoire"])
        base = _base_of(r["indicateur"])
        if base:
            eff_key = ("base", base, r["categorie"] if base == "demandes" else "")
        else:
            eff_key = ("own", r["indicateur"], r["categorie"])
        e = var((*eff_key, *where))
        series[eff_key][where] = e
        shown = not r["masque"]
        if shown:
            known[e] = float(r["effectif"])
            if r["effectif"] is not None and 1 <= r["effectif"] < s:
                found.primary_violations.append((period, r["indicateur"], r["categorie"], *where, "effectif"))
        if r["indicateur"] in SHARES:
            n_key = ("num", *SAME_NUMERATOR.get(r["indicateur"], (r["indicateur"], r["categorie"])))
            n = var((*n_key, *where))
            series[n_key][where] = n
            ub.append({n: 1.0, e: -1.0})  # numerator ≤ base (complement ≥ 0)
            share_rows.append((r, e, n, where))
            if shown:
                num = round((r["valeur"] or 0.0) * r["effectif"] / 100.0)
                known[n] = float(num)
                if 1 <= num < s or 1 <= r["effectif"] - num < s:
                    found.primary_violations.append((period, r["indicateur"], r["categorie"], *where, "part"))
    # A base is unknown only when no shown row reveals it.
    for key, places in series.items():
        for where, index in places.items():
            if index not in known:
                masked.add((*key, *where))
    # Territorial additivity.
    parents = {}
    for code, dept, region in sites.select("code_pre", "departement", "region").iter_rows():
        parents[("pre", code)] = ("departement", dept)
        parents[("departement", dept)] = ("region", region)
        parents[("region", region)] = ("national", "FR")
    for places in series.values():
        children = defaultdict(list)
        for where in places:
            if where in parents and parents[where] in places:
                children[parents[where]].append(where)
        for parent, kids in children.items():
            eq.append({places[parent]: 1.0, **{places[k]: -1.0 for k in kids}})
    # Categories adding up to their base.
    sums = defaultdict(dict)
    for r, e, n, _where in share_rows:
        if r["indicateur"] in CATEGORY_SUMS:
            sums[(r["indicateur"], e)][n] = 1.0
    for (_, e), nums in sums.items():
        eq.append({**nums, e: -1.0})
    size = len(names)
    bounds = [(known[i], known[i]) if i in known else (0, None) for i in range(size)]

    def matrix(rows_):
        m = lil_matrix((len(rows_), size))
        for k, row in enumerate(rows_):
            for j, c in row.items():
                m[k, j] = c
        return m.tocsr()

    a_eq, a_ub = matrix(eq), matrix(ub)
    objectives = []
    for key in sorted(masked):
        objectives.append((key, {names[key]: 1.0}))
        if key[0] == "num":
            eff = next(e for r, e, n, w in share_rows if n == names[key])
            if eff not in known:
                objectives.append((("complement", *key[1:]), {eff: 1.0, names[key]: -1.0}))
    for key, objective in objectives:
        c = np.zeros(size)
        for j, coeff in objective.items():
            c[j] = coeff
        low = linprog(c, A_ub=a_ub, b_ub=np.zeros(len(ub)), A_eq=a_eq, b_eq=np.zeros(len(eq)), bounds=bounds,
                      method="highs")
        high = linprog(-c, A_ub=a_ub, b_ub=np.zeros(len(ub)), A_eq=a_eq, b_eq=np.zeros(len(eq)), bounds=bounds,
                       method="highs")
        assert low.status in (0, 3) and high.status in (0, 3), (low.message, high.message)
        lo = low.fun if low.status == 0 else -np.inf
        hi = -high.fun if high.status == 0 else np.inf
        found.masked_counts += 1
        if hi - lo < s - 1e-6:
            found.narrow.append((period, key, lo, hi))

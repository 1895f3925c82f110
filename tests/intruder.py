"""An intruder written from the specification alone (indicators.md v2, "Statistical disclosure
control"), independent of `pipelines.publication.disclosure`: it reads a masked indicator table the
way a reader would, writes every relation the spec says a reader knows as one linear program per
period, and asks HiGHS (highspy) for the smallest and largest value of every masked count.

No code is shared with the project's audit and no answer is remembered: one pair of solves per masked
count. Each solve is restricted to the relations that involve its count, directly or through other
unknown counts (shown counts are constants: they link nothing). The program of a period being the union
of these independent parts, a count's range is the same over its part as over the whole program, once
the whole program is known to be feasible, which one solve per period checks. The solves of one part
share a HiGHS model, each objective solved again from the previous basis (about ten times faster than
scipy's `linprog` building the whole program for every solve, with the same ranges).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import polars as pl

# Transcribed from indicators.md v2 by hand.
COUNT_INDICATORS = {"enfants_suivis", "parcours_actifs", "entrees", "sorties", "actions", "actions_par_partenaire",
                    "enfants_type_action", "demandes_attente", "en_attente_fin_periode",
                    "parcours_partenaire_volet"}  # the last one is the project's own (catalogue): pathways
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
    # R, the referents with an ongoing family guidance: the spec gives both indicators the effectif |R|.
    "R": {"familles_par_referent_guidance", "part_referents_guidance_au_dela_norme"},
    # The project's additions (catalogue definitions), one base per category: a partner's actions, an action
    # type's children, an action type's actions whose attendance is known.
    "partenaire": {"actions_par_partenaire", "cout_actions_partenaire"},
    "enfants_type": {"enfants_type_action", "cout_par_enfant_type_action"},
    "assiduite_type": {"taux_assiduite_type_action", "seances_prevues_type_action", "seances_realisees_type_action"},
}
PER_CATEGORY = {"demandes", "partenaire", "enfants_type", "assiduite_type"}
# Effectifs a reader adds up (catalogue): per action type and per partner, the actions whose attendance is
# known make taux_assiduite's; for each "TYPE:domaine", the pathways with and without the action make
# progression_note's of the domain.
EFFECTIF_SUMS = {"taux_assiduite_type_action": "taux_assiduite", "taux_assiduite_partenaire": "taux_assiduite"}
WITH_WITHOUT = ("progression_note_avec_action", "progression_note_sans_action", "progression_note")
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
    ranges: dict = field(default_factory=dict)  # (period, masked count) → (lowest, highest)


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
    effectif_of: dict[tuple, int] = {}
    for r in rows.iter_rows(named=True):
        where = (r["niveau"], r["territoire"])
        base = _base_of(r["indicateur"])
        if base:
            eff_key = ("base", base, r["categorie"] if base in PER_CATEGORY else "")
        else:
            eff_key = ("own", r["indicateur"], r["categorie"])
        e = var((*eff_key, *where))
        series[eff_key][where] = e
        effectif_of[(r["indicateur"], r["categorie"], *where)] = e
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
    # Effectifs adding up (the project's additions), when every term is published.
    categories = defaultdict(set)
    for indicator, category, *_where in effectif_of:
        categories[indicator].add(category)
    totals = defaultdict(set)
    for (indicator, category, *where), e in effectif_of.items():
        if indicator in EFFECTIF_SUMS:
            totals[(EFFECTIF_SUMS[indicator], "", *where, indicator)].add(e)
        elif indicator in WITH_WITHOUT[:2]:
            totals[(WITH_WITHOUT[2], category.split(":")[1], *where, category)].add(e)
    for (target, category, level, territory, source), members in totals.items():
        whole = effectif_of.get((target, category, level, territory))
        complete = len(members) == (2 if target == WITH_WITHOUT[2] else len(categories[source]))
        if whole is not None and complete:
            eq.append({**{m: 1.0 for m in members}, whole: -1.0})
    size = len(names)
    bounds = [(known[i], known[i]) if i in known else (0, None) for i in range(size)]
    objectives = []
    for key in sorted(masked):
        objectives.append((key, {names[key]: 1.0}))
        if key[0] == "num":
            eff = next(e for r, e, n, w in share_rows if n == names[key])
            if eff not in known:
                objectives.append((("complement", *key[1:]), {eff: 1.0, names[key]: -1.0}))
    if not objectives:
        return
    feasible, _ = _Program(eq, ub, list(range(size)), bounds).solve({})
    assert feasible == "optimal", (period, feasible)  # the published figures are consistent

    # The parts of the program: unknown counts linked by a relation, through unknown counts only.
    part = list(range(size))

    def find(i: int) -> int:
        while part[i] != i:
            part[i] = part[part[i]]
            i = part[i]
        return i

    for row in (*eq, *ub):
        unknown = [j for j in row if j not in known]
        for j in unknown[1:]:
            part[find(j)] = find(unknown[0])
    rows_of = defaultdict(lambda: ([], []))
    for kind, rows_ in ((0, eq), (1, ub)):
        for row in rows_:
            unknown = [j for j in row if j not in known]
            if unknown:
                rows_of[find(unknown[0])][kind].append(row)
    programs: dict[int, _Program] = {}
    for key, objective in objectives:
        root = find(next(iter(objective)))
        if root not in programs:
            eq_part, ub_part = rows_of[root]
            columns = sorted({j for row in (*eq_part, *ub_part) for j in row} | set(objective))
            programs[root] = _Program(eq_part, ub_part, columns, bounds)
        program = programs[root]
        low, lowest = program.solve(objective)
        high, highest = program.solve({j: -coeff for j, coeff in objective.items()})
        assert low in ("optimal", "unbounded") and high in ("optimal", "unbounded"), (period, key, low, high)
        lo = lowest if low == "optimal" else -np.inf
        hi = -highest if high == "optimal" else np.inf
        found.masked_counts += 1
        found.ranges[(period, key)] = (lo, hi)
        if hi - lo < s - 1e-6:
            found.narrow.append((period, key, lo, hi))


class _Program:
    """The rows eq (= 0) and ub (≤ 0) over `columns` (indices of the period's counts), with their bounds, as
    one HiGHS model: each objective re-solved from the previous basis (simplex, presolve off, so that an
    unbounded objective is reported as such)."""

    def __init__(self, eq: list[dict[int, float]], ub: list[dict[int, float]], columns: list[int], bounds: list):
        import highspy

        self.highs, self.status = highspy, highspy.HighsModelStatus
        self.position = {j: k for k, j in enumerate(columns)}
        inf = highspy.kHighsInf
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        lower = [bounds[j][0] for j in columns]
        upper = [inf if bounds[j][1] is None else bounds[j][1] for j in columns]
        h.addVars(len(columns), np.array(lower, dtype=float), np.array(upper, dtype=float))
        for rows, low in ((eq, 0.0), (ub, -inf)):
            for row in rows:
                index = np.array([self.position[j] for j in row], dtype=np.int32)
                h.addRow(low, 0.0, len(index), index, np.array(list(row.values()), dtype=float))
        self.h = h

    def solve(self, objective: dict[int, float]) -> tuple[str, float | None]:
        """min objective·x: ("optimal", value), ("unbounded", None) or (another status, None)."""
        n = len(self.position)
        c = np.zeros(n)
        for j, coeff in objective.items():
            c[self.position[j]] = coeff
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), c)
        self.h.run()
        status = self.h.getModelStatus()
        if status not in (self.status.kOptimal, self.status.kUnbounded, self.status.kInfeasible):
            # A re-solve from the previous basis that HiGHS leaves undecided ("Unknown"): solved again
            # from scratch, as a reader with a solver would.
            self.h.clearSolver()
            self.h.run()
            status = self.h.getModelStatus()
        if status == self.status.kOptimal:
            return "optimal", self.h.getInfo().objective_function_value
        if status == self.status.kUnbounded:
            return "unbounded", None
        return self.h.modelStatusToString(status), None

"""Which counts are masked: the rules of statistical disclosure control, as code.

This file's source and the catalogue's files are the rules version (`protection.RULES_VERSION`): masks
kept from an earlier publication are reused only under the same version. Change here only what decides
masks; how periods are read, sent to workers or remembered belongs to `protection`.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.warehouse.catalogue import (
    PRODUCT_SEPARATOR,
    Indicator,
    catalogue,
    catalogue_categories,
    product_factors,
)

MASK_COLUMN = "masque"
LEVELS = ("pre", "departement", "region", "national")
# Information lost by masking one count, by level: funders read upper levels first.
LEVEL_COST = {"pre": 1.0, "departement": 10.0, "region": 100.0, "national": 10_000.0}
TOLERANCE = 1e-6
CHOICES = 3  # the draw is among this many cheapest sufficient candidates of one level
CERTIFY_ROUNDS = 12  # batch proofs tried before exact bounds, one objective at a time (see `certify`)
CERTIFY_IDLE = 3  # rounds in a row that prove nothing more end them
LOCAL_FROM = 200  # a group of more masked counts is proved on neighbourhoods first (see `Prover`)
RAY_SUPPORT = 0.5  # objectives a ray increases reach 1 in `GroupSolver.rising`, the others stay at 0
LOCAL_HOPS = 3  # how far a neighbourhood reaches, in relations through masked counts
_SETTLED = None  # HiGHS statuses that answer the question (filled on first use: highspy loads lazily)




# --------------------------------------------------------------------------- the system of counts

Var = tuple  # ("B", base, key, niveau, territoire) | ("O", indicateur, categorie, niveau, territoire)
#              | ("N", indicateur, categorie, niveau, territoire)
Territory = tuple[str, str]


@dataclass
class Constraint:
    coeffs: dict[Var, float]
    equality: bool  # Σ coeff·x = 0, else Σ coeff·x ≤ 0


@dataclass
class PeriodSystem:
    """The counts of one period, the relations a reader knows, and which rows reveal which count."""

    values: dict[Var, int] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    incident: dict[Var, list[int]] = field(default_factory=lambda: defaultdict(list))
    rows_of: dict[Var, list[int]] = field(default_factory=lambda: defaultdict(list))  # rows revealing a count
    eff_var: list[Var] = field(default_factory=list)  # per row
    num_var: list[Var | None] = field(default_factory=list)  # per row (shares)
    names: dict[tuple, str] = field(default_factory=dict)  # objective names, computed once
    # Parts of a whole shown beside them (with / without an action): one masked part masks the others
    partition_of: dict[Var, list[Var]] = field(default_factory=dict)
    _neighbours: dict[Var, frozenset[Var]] = field(default_factory=dict, repr=False)
    _arrays: Arrays | None = field(default=None, repr=False)

    def add(self, coeffs: dict[Var, float], equality: bool) -> None:
        index = len(self.constraints)
        self.constraints.append(Constraint(coeffs, equality))
        for var in coeffs:
            self.incident[var].append(index)
        self._neighbours.clear()
        self._arrays = None

    @property
    def arrays(self) -> Arrays:
        if self._arrays is None:
            self._arrays = Arrays(self)
        return self._arrays

    def neighbours(self, var: Var) -> frozenset[Var]:
        """The counts in a relation with `var` (itself included), computed once: the protection walks
        out from masked counts again and again, and in a period where nearly every count is small
        (the first years of the national set) those walks cross most of the period."""
        found = self._neighbours.get(var)
        if found is None:
            found = self._neighbours[var] = frozenset(
                other for c in self.incident[var] for other in self.constraints[c].coeffs)
        return found


class Arrays:
    """The period's relations as arrays, built once: for each count (a column), its relations and
    coefficients (compressed columns), and each relation's sum over every count at its true value. A
    group's program is then cut out of them with array operations: in a period where nearly every count
    is small, thousands of small programs are built, and building each with Python loops over its
    relations took as long as solving it (37 % of the time on the national set's first period)."""

    def __init__(self, system: PeriodSystem) -> None:
        self.column = {var: j for j, var in enumerate(system.values)}
        self.values = np.array(list(system.values.values()), dtype=np.float64)
        self.equality = np.array([c.equality for c in system.constraints], dtype=bool)
        lengths = np.zeros(len(self.column) + 1, dtype=np.int64)
        rows: list[int] = []
        coeffs: list[float] = []
        for var, j in self.column.items():
            incident = system.incident.get(var, ())
            lengths[j + 1] = len(incident)
            for c in incident:
                rows.append(c)
                coeffs.append(system.constraints[c].coeffs[var])
        self.starts = np.cumsum(lengths)
        self.rows = np.array(rows, dtype=np.int64)
        self.coeffs = np.array(coeffs, dtype=np.float64)
        owner = np.repeat(np.arange(len(self.column)), np.diff(self.starts))
        self.totals = np.bincount(self.rows, weights=self.coeffs * self.values[owner],
                                  minlength=len(system.constraints))

    def program(self, group: list[Var]) -> tuple[np.ndarray, ...]:
        """The program of `group` (its counts free, every other count at its value), in compressed rows:
        row starts, columns (positions in `group`), coefficients, lower and upper bounds of each row."""
        cols = np.array([self.column[var] for var in group], dtype=np.int64)
        first, lengths = self.starts[cols], self.starts[cols + 1] - self.starts[cols]
        offsets = np.cumsum(lengths) - lengths
        entries = np.repeat(first - offsets, lengths) + np.arange(int(lengths.sum()))
        local = np.repeat(np.arange(len(group)), lengths)
        relations, row = np.unique(self.rows[entries], return_inverse=True)
        coeffs = self.coeffs[entries]
        inside = np.bincount(row, weights=coeffs * self.values[cols][local], minlength=len(relations))
        rhs = inside - self.totals[relations]  # minus the shown (fixed) counts' part of each relation
        order = np.argsort(row, kind="stable")
        starts = np.searchsorted(row[order], np.arange(len(relations)))
        lower = np.where(self.equality[relations], rhs, -math.inf)
        return starts, local[order], coeffs[order], lower, rhs


def _rules() -> dict[str, Indicator]:
    return {i.code: i for i in catalogue()}


def _children(sites: pl.DataFrame, present: set[Territory]) -> dict[Territory, list[Territory]]:
    """Each upper territory's children among the territories present (site → dép. → région → FR)."""
    children: dict[Territory, set[Territory]] = defaultdict(set)
    for code, dept, region in sites.select("code_pre", "departement", "region").iter_rows():
        site, d, r = ("pre", code), ("departement", dept), ("region", region)
        if site in present and d in present:
            children[d].add(site)
        if d in present and r in present:
            children[r].add(d)
        if r in present and ("national", "FR") in present:
            children[("national", "FR")].add(r)
    return {parent: sorted(kids) for parent, kids in children.items()}


def _system(rows: list[dict], sites: pl.DataFrame, rules: dict[str, Indicator]) -> PeriodSystem:
    system = PeriodSystem()
    present = {(r["niveau"], r["territoire"]) for r in rows}
    eff_at: dict[tuple[str, str, str, str], Var] = {}  # (indicateur, categorie, niveau, territoire) → effectif
    for i, row in enumerate(rows):
        rule = rules[row["indicateur"]]
        where = (row["niveau"], row["territoire"])
        if rule.base:
            key = row["categorie"] if rule.base_par_categorie else ""
            eff: Var = ("B", rule.base, key, *where)
        else:
            eff = ("O", row["indicateur"], row["categorie"], *where)
        eff_at[(row["indicateur"], row["categorie"], *where)] = eff
        # A masked row (null effectif) reveals nothing: its counts keep what a shown row says, or 0.
        effectif = row["effectif"]
        if effectif is not None or eff not in system.values:
            system.values[eff] = int(effectif or 0)
        system.eff_var.append(eff)
        system.rows_of[eff].append(i)
        num = None
        if rule.nature == "part":
            # Two indicators may count the same numerator (part_orientation_ecole is part_orientation's
            # ECOLE): one count, masked together.
            same = rule.numerateur_de.split(":", 1) if rule.numerateur_de else (row["indicateur"], row["categorie"])
            num = ("N", *same, *where)
            if effectif is not None or num not in system.values:
                system.values[num] = round((row["valeur"] or 0.0) * (effectif or 0) / 100.0)
            system.rows_of[num].append(i)
        system.num_var.append(num)
    series: dict[tuple, set[Territory]] = defaultdict(set)
    for var in system.values:
        series[var[:3]].add(var[3:])
    for parent, kids in _children(sites, present).items():
        for head, places in series.items():
            if parent in places and all(k in places for k in kids):
                system.add({(*head, *parent): 1.0, **{(*head, *k): -1.0 for k in kids}}, equality=True)
    for i, num in enumerate(system.num_var):
        if num is not None:
            system.add({num: 1.0, system.eff_var[i]: -1.0}, equality=False)
    sums: dict[tuple, list[Var]] = defaultdict(list)
    for i, row in enumerate(rows):
        rule = rules[row["indicateur"]]
        if rule.somme_categories and system.num_var[i] is not None:
            sums[(row["indicateur"], system.eff_var[i])].append(system.num_var[i])
    for (_, eff), nums in sums.items():
        system.add({**{n: 1.0 for n in nums}, eff: -1.0}, equality=True)
    _product_relations(system, rows, rules, eff_at)
    return system


def _product_relations(system: PeriodSystem, rows: list[dict], rules: dict[str, Indicator],
                       eff_at: dict[tuple[str, str, str, str], Var]) -> None:
    """The relations of indicators on a product set (a × b, categories "a:b"), as the catalogue states them:
    `partie_de` X (for each "a:b", the effectifs of the indicators naming X add up to X's effectif at b: the
    pathways with and without an action type make all the pathways of a note domain). A relation is stated
    only when all its terms are rows of the period (a partial set of rows does not add up); its parts are
    kept as a partition (`system.partition_of`): its parts are masked together (`_free`)."""
    groups: dict[tuple, list[Var]] = defaultdict(list)
    for row in rows:
        rule = rules[row["indicateur"]]
        if not rule.partie_de or not rule.categories or product_factors(rule.categories) is None:
            continue
        _, second = row["categorie"].split(PRODUCT_SEPARATOR, 1)
        where = (row["niveau"], row["territoire"])
        parts = sum(1 for r in rules.values() if r.partie_de == rule.partie_de)
        groups[(rule.partie_de, second, *where, parts, row["categorie"])].append(
            eff_at[(row["indicateur"], row["categorie"], *where)])
    for (target, key, niveau, territoire, size, *_), members in groups.items():
        total = eff_at.get((target, key, niveau, territoire))
        if total is None or len(set(members)) != size:
            continue
        system.add({**{m: 1.0 for m in members}, total: -1.0}, equality=True)
        for member in members:
            system.partition_of[member] = sorted(set(members))
    _effectif_sums(system, rows, rules, eff_at)


def _effectif_sums(system: PeriodSystem, rows: list[dict], rules: dict[str, Indicator],
                   eff_at: dict[tuple[str, str, str, str], Var]) -> None:
    """`somme_effectifs` X: the effectifs of an indicator's categories add up to X's effectif (the actions
    whose attendance is known, per action type or per partner, make those of taux_assiduite); stated only
    when every category is a row of the period."""
    sets = catalogue_categories()
    groups: dict[tuple, list[Var]] = defaultdict(list)
    for row in rows:
        rule = rules[row["indicateur"]]
        if rule.somme_effectifs and rule.categories:
            where = (row["niveau"], row["territoire"])
            groups[(row["indicateur"], rule.somme_effectifs, *where)].append(
                eff_at[(row["indicateur"], row["categorie"], *where)])
    for (indicator, target, niveau, territoire), members in groups.items():
        total = eff_at.get((target, "", niveau, territoire))
        if total is None or len(set(members)) != len(sets[rules[indicator].categories]):
            continue
        system.add({**{m: 1.0 for m in members}, total: -1.0}, equality=True)


# --------------------------------------------------------------------------- widths


def _components(system: PeriodSystem, free: set[Var]) -> list[list[Var]]:
    seen: set[Var] = set()
    found = []
    for start in sorted(free):
        if start in seen:
            continue
        group, stack = [], [start]
        seen.add(start)
        while stack:
            var = stack.pop()
            group.append(var)
            for index in system.incident[var]:
                for other in system.constraints[index].coeffs:
                    if other in free and other not in seen:
                        seen.add(other)
                        stack.append(other)
        found.append(sorted(group))
    return found


def _objectives(group: list[Var], system: PeriodSystem,
                proved: set[str] | None = None) -> list[tuple[str, dict[Var, float]]]:
    """The masked counts of a group: each masked count, and each masked complement (base − numerator);
    those named in `proved` left out."""
    proved = proved or set()
    members = set(group)
    out = []
    for var in group:
        name = _name(system, var)
        if name not in proved:
            out.append((name, {var: 1.0}))
    for var in group:
        if var[0] == "N":
            eff = _eff_of_num(system, var)
            if eff in members:
                name = _name(system, ("C", *var[1:]))
                if name not in proved:
                    out.append((name, {eff: 1.0, var: -1.0}))
    return out


def _name(system: PeriodSystem, key: tuple) -> str:
    name = system.names.get(key)
    if name is None:
        name = system.names[key] = repr(key)
    return name


def _eff_of_num(system: PeriodSystem, num: Var) -> Var:
    return system.eff_var[system.rows_of[num][0]]


_banner_shown = False


def _new_highs():
    """A silent HiGHS model. HiGHS prints its banner on standard output when the first model of a
    process is created, whatever its options: that one is created with standard output closed."""
    import highspy

    global _banner_shown
    if _banner_shown:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


def _settled() -> set:
    import highspy

    s = highspy.HighsModelStatus
    return {s.kOptimal, s.kUnbounded, s.kUnboundedOrInfeasible}


class GroupSolver:
    """The reader's linear program on one group of masked counts (the shown counts are constants).

    The rows are built once (CSR arrays) and handed to HiGHS in bulk. `certify` proves many
    objectives wide enough at once; `bounds` gives one objective's exact interval, re-solving one
    model with another objective, warm-started from the previous basis. A group held by one
    equation whose counts all have the same sign (masked siblings under a shown total) is solved in
    closed form: each count lies in [0, total].
    """

    def __init__(self, group: list[Var], system: PeriodSystem) -> None:
        self.index = {var: i for i, var in enumerate(group)}
        starts, cols, vals, lower, upper = system.arrays.program(group)
        self.starts = starts.astype(np.int32)
        self.cols = cols.astype(np.int32)
        self.vals = vals
        self.lower = lower
        self.upper = upper
        finite = np.abs(self.upper[np.isfinite(self.upper)])
        self.cap = 2.0 * (float(finite.max()) if finite.size else 0.0) + 1e6
        self.closed_form = None
        if (len(lower) == 1 and np.isfinite(lower[0]) and len(group) > 1 and len(cols) == len(group)
                and len(set(np.sign(vals).tolist())) == 1):
            self.closed_form = abs(float(upper[0]))
        self._highs = None

    def _add_rows(self, h, shift: int = 0) -> None:
        if len(self.lower):
            h.addRows(len(self.lower), self.lower, self.upper, len(self.cols), self.starts, self.cols + shift,
                      self.vals)

    def _model(self):
        import highspy

        if self._highs is None:
            h = _new_highs()
            n = len(self.index)
            h.addVars(n, np.zeros(n), np.full(n, highspy.kHighsInf))
            self._add_rows(h)
            self._highs = h
        return self._highs

    def certify(self, objectives: list[tuple[str, dict[Var, float]]], threshold: float) -> list[int]:
        """The objectives NOT proved wide enough (indices into `objectives`).

        Any two feasible points prove an objective at least as wide as the gap between them. So:
        minimise a signed sum of the pending objectives (point x1), then maximise it with every count
        allowed to move at most the threshold from x1 in its direction (point x2, the program stays
        bounded): an objective whose gap between x2 and x1 reaches the threshold is proved wide
        enough. The first round gives every objective the sign +; counts tied together (siblings
        under a shown total) cannot all rise at once, so the next rounds draw random signs (a
        deterministic draw) and some siblings rise while others fall. What no round proves is
        checked one by one (`bounds`, two programs each): on a 331-site region set this cut the
        audit's programs from 9 650 to 1 590 (70 s to 6 s). Objectives on one count and objectives
        on complements go in separate passes, so that their terms do not cancel.
        """
        if self.closed_form is not None:
            return [] if self.closed_form >= threshold - TOLERANCE else list(range(len(objectives)))
        doubtful = []
        for batch in ([i for i, (_, o) in enumerate(objectives) if len(o) == 1],
                      [i for i, (_, o) in enumerate(objectives) if len(o) > 1]):
            # Round 0 moves every pending objective the same way; the next rounds give them random
            # directions, so that siblings under a shown total (whose sum cannot move) move apart.
            draws = np.random.default_rng(len(batch))
            idle = 0
            for round_ in range(CERTIFY_ROUNDS):
                if not batch or idle == CERTIFY_IDLE:
                    break
                signs = np.ones(len(batch)) if round_ == 0 else draws.choice((-1.0, 1.0), size=len(batch))
                still = self._certify_once([objectives[i][1] for i in batch], threshold, signs)
                if still is None or len(still) == len(batch):
                    idle += 1
                    continue
                idle = 0
                batch = [batch[i] for i in still]
            doubtful += batch
        return sorted(doubtful)

    def _certify_once(self, objectives: list[dict[Var, float]], threshold: float,
                      signs: np.ndarray) -> list[int] | None:
        import highspy

        h = self._model()
        n = len(self.index)
        columns = np.arange(n, dtype=np.int32)
        # The objectives as a sparse matrix (one or two terms each): a dense one, objectives × counts,
        # reaches gigabytes in the large groups of a national period.
        rows, cols, coeffs = [], [], []
        for k, objective in enumerate(objectives):
            for var, coeff in objective.items():
                rows.append(k)
                cols.append(self.index[var])
                coeffs.append(coeff)
        rows_, cols_, coeffs_ = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(coeffs)
        cost = np.bincount(cols_, weights=signs[rows_] * coeffs_, minlength=n)
        down = cost < 0  # counts that the first point takes high and the second low
        # Every count held below a cap keeps the first program bounded when some costs are negative; a
        # smaller region only makes the proof harder, never wrong (both points stay feasible).
        cap = np.full(n, self.cap)
        h.changeColsBounds(n, columns, np.zeros(n), cap)
        h.changeColsCost(n, columns, cost)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            h.changeColsBounds(n, columns, np.zeros(n), np.full(n, highspy.kHighsInf))
            return None
        low = np.array(h.getSolution().col_value)
        h.changeColsBounds(n, columns, np.where(down, np.maximum(low - threshold, 0.0), 0.0),
                           np.where(down, cap, low + threshold))
        h.changeColsCost(n, columns, -cost)
        h.run()
        status = h.getModelStatus()
        h.changeColsBounds(n, columns, np.zeros(n), np.full(n, highspy.kHighsInf))
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        high = np.array(h.getSolution().col_value)
        gaps = np.abs(np.bincount(rows_, weights=coeffs_ * (high - low)[cols_], minlength=len(objectives)))
        return [k for k in range(len(objectives)) if gaps[k] < threshold - TOLERANCE]

    def rising(self, objectives: list[dict[Var, float]]) -> set[int]:
        """The objectives (indices) that can grow without limit, whatever the shown figures: those some ray of
        the group's program increases. A ray r keeps every relation when added to any solution (the same
        relations with nothing on their right-hand side, r ≥ 0), so with the true point x, x + λr fits the
        shown figures for every λ ≥ 0: an objective that r increases is unbounded above, as wide as can be.

        One program finds them all: maximise Σ t with t_k ≤ objective_k(r) and t_k ≤ 1. Rays add up and
        scale, so one ray increases every such objective by 1 or more, and at the optimum t is 1 on exactly
        those. In the national set's first years the batch proofs leave thousands of a large group's counts
        doubtful (a shared masked total has room for only a few of its parts to rise at once), most of them
        unbounded; each then cost two programs over the whole group.
        """
        import highspy

        n, m = len(self.index), len(objectives)
        if n == 0 or m == 0 or self.closed_form is not None:
            return set()
        inf = highspy.kHighsInf
        h = _new_highs()
        h.addVars(n, np.zeros(n), np.full(n, inf))  # r
        h.addVars(m, np.zeros(m), np.ones(m))  # t
        if len(self.lower):
            zero = np.zeros(len(self.lower))
            h.addRows(len(self.lower), np.where(np.isfinite(self.lower), zero, -inf), zero, len(self.cols),
                      self.starts, self.cols, self.vals)
        starts, cols, vals = [], [], []
        for k, objective in enumerate(objectives):  # t_k − objective_k(r) ≤ 0
            starts.append(len(cols))
            cols.append(n + k)
            vals.append(1.0)
            for var, coeff in objective.items():
                cols.append(self.index[var])
                vals.append(-coeff)
        h.addRows(m, np.full(m, -inf), np.zeros(m), len(cols), np.array(starts, dtype=np.int32),
                  np.array(cols, dtype=np.int32), np.array(vals))
        h.changeColsCost(m, np.arange(n, n + m, dtype=np.int32), np.full(m, -1.0))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return set()
        lifted = np.array(h.getSolution().col_value)[n:]
        return {int(k) for k in np.flatnonzero(lifted >= RAY_SUPPORT)}

    def bounds(self, objective: dict[Var, float]) -> tuple[float, float]:
        if self.closed_form is not None and len(objective) == 1:
            return 0.0, self.closed_form
        import highspy

        global _SETTLED
        if _SETTLED is None:
            _SETTLED = _settled()
        h = self._model()
        n = len(self.index)
        cost = np.zeros(n)
        for var, coeff in objective.items():
            cost[self.index[var]] = coeff
        out = []
        for sign in (1.0, -1.0):
            h.changeColsCost(n, np.arange(n, dtype=np.int32), sign * cost)
            h.run()
            status = h.getModelStatus()
            if status not in _SETTLED:  # a warm start that went astray: solve from scratch
                h.clearSolver()
                h.run()
                status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                out.append(sign * h.getInfo().objective_function_value)
            elif status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                out.append(-math.inf if sign > 0 else math.inf)
            else:
                raise RuntimeError(f"programme linéaire sans solution ({h.modelStatusToString(status)})")
        return out[0], out[1]




def _free(system: PeriodSystem, free: set[Var], var: Var) -> None:
    """Mask a count; a masked effectif masks every row sharing it, hence their numerators; a masked part
    of a partition masks its sibling parts. With the whole shown, one shown sibling would give the part
    back, and the cell the secondary suppression would otherwise often hide next is the whole, pinned by
    the other partitions of the same whole: measured on 6 sites, progression_note was masked at 9 %
    without the with/without split, 51 % with it, and again 9 % once the parts go together."""
    if var in free:
        return
    free.add(var)
    for sibling in system.partition_of.get(var, ()):
        if sibling != var and system.values[sibling] >= 1:
            _free(system, free, sibling)
    if var[0] in ("B", "O"):
        for row in system.rows_of[var]:
            num = system.num_var[row]
            if num is not None:
                free.add(num)


def _cost(system: PeriodSystem, var: Var) -> float:
    rows = len(system.rows_of[var])
    return (system.values[var] + 1) * LEVEL_COST[var[3]] * max(rows, 1)


def _candidates(system: PeriodSystem, free: set[Var], objective: dict[Var, float],
                distances: Distances | None = None) -> list[Var]:
    """The shown counts nearest the objective: those in a relation with it, else those in a
    relation with the masked counts around it, hop by hop through masked counts.

    The walk out from the objective is tried first within `WALK_BUDGET` counts; beyond (a period where
    nearly every count is masked, the first years of the national set), the same counts are found by a
    search guided by `distances`, shared by all the period's objectives, and for the rest of the period
    that search comes first (in such a period most walks would cross the budget before giving up)."""
    shown = None
    if distances is None or not distances.engaged:
        shown = _nearest_shown(system, free, objective, WALK_BUDGET if distances is not None else None)
    if shown is None:
        distances.refresh(free)
        shown = distances.nearest_shown(free, objective)
    if not shown:
        return []
    # A count that would stay tied to shown counts only hides nothing by itself: the others first.
    useful = {var for var in shown if not _pinned(system, free, var)}
    return sorted(useful or shown)


WALK_BUDGET = 4_000  # counts a walk out from one objective may cross before the guided search takes over


def _nearest_shown(system: PeriodSystem, free: set[Var], objective: dict[Var, float],
                   budget: int | None = None) -> set[Var] | None:
    """The shown counts at the fewest relations from the objective through masked counts (the definition);
    None when the walk crossed more than `budget` counts without meeting one."""
    seen, frontier = set(objective), set(objective)
    while frontier:
        near = set().union(*(system.neighbours(var) for var in frontier)) - seen
        shown = {var for var in near if var not in free}
        if shown:
            return shown
        seen |= near
        if budget is not None and len(seen) > budget:
            return None
        frontier = near
    return set()


class Distances:
    """Each count's distance to the nearest shown count, through masked counts, as it was when last
    computed for the whole period (one walk from all shown counts at once).

    Masking only adds counts, so a distance computed earlier never exceeds today's: it is a lower bound
    of the relations still to cross, and a consistent one (a count is at most one relation further than
    its neighbour). `nearest_shown` uses it to search only along the shortest routes (A* with unit steps),
    and finds exactly the counts the walk of `_nearest_shown` finds (the test compares both on random
    systems). The distances are computed again when the masked counts have grown by a tenth, so that
    they stay tight; how stale they are changes the time of a search, never its result."""

    def __init__(self, system: PeriodSystem) -> None:
        self.system = system
        self.bound: dict[Var, int] = {}
        self.masked_then = -1

    @property
    def engaged(self) -> bool:
        """Whether the distances were needed once in this period (and are kept up to date since)."""
        return self.masked_then >= 0

    def refresh(self, free: set[Var]) -> None:
        if self.masked_then >= 0 and len(free) - self.masked_then < max(64, self.masked_then // 10):
            return
        self.compute(free)

    def compute(self, free: set[Var]) -> None:
        bound = {var: 0 for var in self.system.values if var not in free}
        frontier = list(bound)
        step = 0
        while frontier:
            step += 1
            reached = []
            for var in frontier:
                for other in self.system.neighbours(var):
                    if other in free and other not in bound:
                        bound[other] = step
                        reached.append(other)
            frontier = reached
        self.bound, self.masked_then = bound, len(free)

    def nearest_shown(self, free: set[Var], objective: dict[Var, float]) -> set[Var]:
        """The shown counts nearest the objective (as `_nearest_shown`), searched along shortest routes.

        A masked count missing from the bounds was cut off from every shown count when they were
        computed, and still is (a path from it to a count shown now would have reached that count then)."""
        start = set(objective)
        best: dict[Var, int] = dict.fromkeys(start, 0)
        buckets: dict[int, list[tuple[Var, int]]] = defaultdict(list)
        for var in start:
            if var in self.bound:
                buckets[self.bound[var]].append((var, 0))
        found: set[Var] = set()
        reach: int | None = None
        estimate = min(buckets, default=None)
        while estimate is not None and (reach is None or estimate <= reach):
            entries = buckets.pop(estimate)
            while entries:
                var, steps = entries.pop()
                if best[var] < steps:
                    continue  # reached since by a shorter route
                if var not in start and var not in free:
                    reach = steps
                    found.add(var)
                    continue  # a shown count ends a route
                for other in self.system.neighbours(var):
                    if other in start or best.get(other, steps + 2) <= steps + 1:
                        continue
                    lower = self.bound.get(other)
                    if lower is None:
                        continue
                    best[other] = steps + 1
                    (entries if steps + 1 + lower == estimate else buckets[steps + 1 + lower]).append(
                        (other, steps + 1))
            estimate = min(buckets, default=None)
        return found


def _pinned(system: PeriodSystem, free: set[Var], var: Var) -> bool:
    """Whether masking `var` (with the parts masked along with it) would hide nothing: an equality ties it
    to shown counts only (a total whose parts are all shown, a part whose whole and siblings are)."""
    going = {var, *system.partition_of.get(var, ())}
    return any(system.constraints[c].equality
               and all(other in going or other not in free for other in system.constraints[c].coeffs)
               and sum(1 for other in system.constraints[c].coeffs if other in going) == 1
               for c in system.incident[var])


def _draw(seed: bytes, name: str, options: list[Var]) -> Var:
    digest = hmac.new(seed, name.encode("utf-8"), hashlib.sha256).digest()
    return random.Random(digest).choice(options)


def _neighbourhood(system: PeriodSystem, var: Var, hops: int) -> set[Var]:
    """The counts within `hops` relations of `var`."""
    return _within(system, None, {var}, hops)


def _within(system: PeriodSystem, members: set[Var] | None, start: set[Var], hops: int,
            adjacent: Callable[[Var], Iterable[Var]] | None = None) -> set[Var]:
    """The counts of `members` (all counts when None) reached from `start` in `hops` relations
    through such counts. `adjacent` (a var's neighbours among `members`) may be given ready-made:
    a large group's neighbourhoods are walked many times over (see `Prover`)."""
    if adjacent is None:
        def adjacent(v: Var) -> Iterable[Var]:
            return system.neighbours(v) if members is None else system.neighbours(v) & members
    found, frontier = set(start), set(start)
    for _ in range(hops):
        frontier = {other for v in frontier for other in adjacent(v)} - found
        if not frontier:
            break
        found |= frontier
    return found


class Prover:
    """Proofs on one group of masked counts, on neighbourhoods when the group is large.

    Holding more counts at their true values can only shrink what a reader can reach (the true point
    stays feasible), so an objective proved wide enough on a neighbourhood of itself, the group's
    other masked counts held at their values, is wide enough in the whole group. A national warehouse
    joins thousands of masked counts into a few groups (every share of the entries, at every
    territory), each revisited after every count it gains: such a group is proved on the
    neighbourhoods of its objectives (LOCAL_HOPS relations through masked counts), never as a
    whole. An objective narrow there gets one more count masked, as it would if narrow in the whole
    group: a little more masking than needed at worst (3 664 secondary counts instead of 3 661 on
    a national period, in a third less time).
    """

    def __init__(self, group: list[Var], system: PeriodSystem) -> None:
        self.group, self.system = group, system
        self.members = set(group) if len(group) > LOCAL_FROM else None
        self._whole: GroupSolver | None = None
        self._adjacent: dict[Var, frozenset[Var]] = {}

    def adjacent(self, var: Var) -> frozenset[Var]:
        """The group's counts in a relation with `var`, computed once per visit of the group: the
        neighbourhoods of its objectives overlap, and a relation such as a national total is long."""
        found = self._adjacent.get(var)
        if found is None:
            found = self._adjacent[var] = self.system.neighbours(var) & self.members
        return found

    @property
    def whole(self) -> GroupSolver:
        if self._whole is None:
            self._whole = GroupSolver(self.group, self.system)
        return self._whole

    def _local(self, objectives: list[dict[Var, float]]) -> GroupSolver:
        start = {var for objective in objectives for var in objective}
        return GroupSolver(sorted(_within(self.system, self.members, start, LOCAL_HOPS, self.adjacent)),
                           self.system)

    def certify(self, objectives: list[tuple[str, dict[Var, float]]], threshold: float) -> list[int]:
        """The objectives not proved wide enough (indices), as `GroupSolver.certify`."""
        if self.members is None:
            return self.whole.certify(objectives, threshold)
        doubtful = []
        for part in _clusters(self.system, self.members, [o for _, o in objectives], LOCAL_HOPS, self.adjacent):
            solver = self._local([objectives[k][1] for k in part])
            doubtful += [part[k] for k in solver.certify([objectives[k] for k in part], threshold)]
        return sorted(doubtful)

    def bounds(self, objective: dict[Var, float]) -> tuple[float, float]:
        """The objective's bounds: exact in a small group, on its neighbourhood in a large one (no
        wider than the exact ones, so wide enough there is wide enough)."""
        if self.members is None:
            return self.whole.bounds(objective)
        return self._local([objective]).bounds(objective)


def _clusters(system: PeriodSystem, members: set[Var], objectives: list[dict[Var, float]],
              hops: int, adjacent: Callable[[Var], Iterable[Var]] | None = None) -> list[list[int]]:
    """The objectives (indices) whose neighbourhoods (`hops` relations through `members`) overlap,
    together: one small program each.

    Two neighbourhoods overlap when their objectives are at most 2 × hops relations apart. Rather than
    walking every objective's neighbourhood (in a dense group each is most of the group), one walk
    from all objectives at once labels each count, up to `hops` away, with its nearest objective;
    two objectives whose labels meet across a relation walked from a count less than `hops` away are
    at most 2 × hops apart, and are joined. Along a shortest path between two objectives at most
    2 × hops apart, every relation whose ends carry different labels is such a meeting, so the parts
    are exactly those of the overlapping neighbourhoods (checked against the direct definition in
    tests/unit/test_disclosure.py)."""
    if adjacent is None:
        def adjacent(v: Var) -> Iterable[Var]:
            return system.neighbours(v) & members
    parent = list(range(len(objectives)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def join(a: int, b: int) -> None:
        a, b = root(a), root(b)
        if a != b:
            parent[a] = b

    label: dict[Var, int] = {}  # a count reached: its nearest objective
    frontier: list[Var] = []
    for k, objective in enumerate(objectives):
        for var in objective:
            if var in label:
                join(label[var], k)
            else:
                label[var] = k
                frontier.append(var)
    for _ in range(hops):
        reached: list[Var] = []
        for var in frontier:
            own = label[var]
            for other in adjacent(var):
                theirs = label.get(other)
                if theirs is None:
                    label[other] = own
                    reached.append(other)
                elif theirs != own:  # at most (hops − 1) + 1 + hops relations apart
                    join(own, theirs)
        frontier = reached
    parts: dict[int, list[int]] = defaultdict(list)
    for k in range(len(objectives)):
        parts[root(k)].append(k)
    return list(parts.values())


class Groups:
    """The masked counts grouped by the relations that join them (union–find; groups only merge)."""

    def __init__(self, system: PeriodSystem) -> None:
        self.system = system
        self.parent: dict[Var, Var] = {}
        self.members: dict[Var, list[Var]] = {}

    def root(self, var: Var) -> Var:
        while self.parent[var] != var:
            self.parent[var] = self.parent[self.parent[var]]
            var = self.parent[var]
        return var

    def add(self, var: Var) -> Var:
        """Add a newly masked count; returns the root of its (possibly merged) group."""
        if var in self.parent:
            return self.root(var)
        self.parent[var] = var
        self.members[var] = [var]
        top = var
        for c in self.system.incident[var]:
            for other in self.system.constraints[c].coeffs:
                if other in self.parent:
                    a, b = self.root(top), self.root(other)
                    if a != b:
                        if len(self.members[a]) < len(self.members[b]):
                            a, b = b, a
                        self.parent[b] = a
                        self.members[a] += self.members.pop(b)
                    top = a
        return self.root(top)


@dataclass
class Previous:
    """A period's last protection: its rows (unmasked values) with, per row, whether its effectif and its
    numerator were masked, and the hierarchy it was protected with. Kept in the memo folder (under
    secret/, never published) to start the period's next protection from it (see `_protect_period`)."""

    rows: pl.DataFrame  # PREVIOUS_COLUMNS
    sites: pl.DataFrame


@dataclass
class PeriodStats:
    primary: int = 0
    secondary: int = 0
    groups: int = 0  # groups of masked counts at the start
    visited: int = 0  # of which examined (all of them without a previous protection)
    incremental: bool = False


def _protect_period(rows: list[dict], sites: pl.DataFrame, rules: dict[str, Indicator], threshold: int,
                    seed: bytes, previous: Previous | None = None) -> tuple[set[Var], PeriodSystem, PeriodStats]:
    """The masks of one period. Without `previous`, from the primary rule: every group of masked counts is
    examined, and counts are masked in complement until every masked count is wide enough.

    With `previous` (the same period's last protection, complete under the same rules, threshold and key),
    the protection starts from its masks and examines only the groups whose program may differ from
    then: the masks of counts whose value is unchanged are kept (with the primary masks of today), and a
    group is examined when one of its relations holds a "touched" count (a changed value, a relation
    added or removed, a count masked then and not now or the reverse). Every other group has exactly
    the program it had at the end of the previous protection, where each of its masked counts was proved
    wide enough (or nothing more could hide it): that proof still holds. The examined groups are
    completed as without `previous`. The masks then depend on the previous ones: fewer cells change from
    one publication to the next, and a period with one changed site is not solved whole again."""
    system = _system(rows, sites, rules)
    free: set[Var] = set()
    for i in range(len(rows)):
        eff = system.eff_var[i]
        if 1 <= system.values[eff] < threshold:
            _free(system, free, eff)
        num = system.num_var[i]
        if num is not None:
            n, base = system.values[num], system.values[eff]
            if 1 <= n < threshold or 1 <= base - n < threshold:
                free.add(num)
    stats = PeriodStats(primary=len(free))
    touched = _warm_start(system, free, previous, rules) if previous is not None else None
    groups = Groups(system)
    for var in sorted(free):
        groups.add(var)
    roots = {groups.root(var) for var in free}
    if touched is None:
        dirty = roots
    else:
        dirty = {groups.root(var) for var in free
                 if var in touched or not touched.isdisjoint(system.neighbours(var))}
        stats.incremental = True
    stats.groups, stats.visited = len(roots), len(dirty)
    # Masking one more count only widens what a reader can reach for the others (the shown values
    # stay a feasible point), so an objective proved wide enough once stays so.
    proved: set[str] = set()
    distances = Distances(system)
    while dirty:
        # Smallest first: the same data and key give the same masks, whatever the process's hash seed.
        first = min(dirty)
        dirty.discard(first)
        if groups.root(first) != first:
            # Merged into another group since it was marked: that group's root was marked with the merge
            # (below). Visiting the group again under each root it absorbed, with nothing masked since,
            # bounded the same counts again: in the national set's first period, 10 667 narrow verdicts
            # on 3 790 counts that no masking could widen (all around them was masked), up to 4 each.
            continue
        root = first
        group = sorted(groups.members[root])
        pending = _objectives(group, system, proved)
        if not pending:
            continue
        prover = Prover(group, system)
        doubtful = set(prover.certify(pending, threshold))
        proved.update(name for i, (name, _) in enumerate(pending) if i not in doubtful)
        # After a count is masked the solver is stale for the counts next to it: their objectives wait
        # for the group's next visit; the others are still judged on it (a stale program has fewer
        # masked counts, so an objective wide enough there is wide enough in truth).
        near: set[Var] = set()
        for i in sorted(doubtful):
            name, objective = pending[i]
            if near.intersection(objective):
                continue
            low, high = prover.bounds(objective)
            if high - low >= threshold - TOLERANCE:
                proved.add(name)
                continue
            candidates = _candidates(system, free, objective, distances)
            if not candidates:
                continue  # everything around is masked already: nothing more to hide
            needed = threshold - (high - low)
            sufficient = [v for v in candidates if system.values[v] >= needed]
            if sufficient:
                ranked = sorted(sufficient, key=lambda v: (_cost(system, v), v))
                # The draw is among the few cheapest of the cheapest one's level: never a national total
                # where a département would do, but not always the smallest cell either (a reader who
                # knew the complement is the smallest shown cell could bound it, then the cell it hides).
                same_level = [v for v in ranked if v[3] == ranked[0][3]]
                choice = _draw(seed, name, same_level[:CHOICES])
            else:  # no single count is enough: mask the cheapest, the next visit adds more if needed
                choice = min(candidates, key=lambda v: (_cost(system, v), v))
            before = set(free)
            _free(system, free, choice)
            merged = set()
            for var in sorted(free - before):
                merged.add(groups.add(var))
                near |= _neighbourhood(system, var, hops=2)
            near.update(objective)
            dirty.update(groups.root(var) for var in merged)
    stats.secondary = len(free) - stats.primary
    return free, system, stats


def _constraint_set(system: PeriodSystem) -> set[tuple]:
    return {(c.equality, frozenset(c.coeffs.items())) for c in system.constraints}


def _warm_start(system: PeriodSystem, free: set[Var], previous: Previous, rules: dict[str, Indicator]) -> set[Var]:
    """Add to `free` (today's primary masks) the previous masks of counts whose value is unchanged; return
    the touched counts: those whose value, relations or mask differ from the previous protection's."""
    rows = previous.rows.to_dicts()
    before = _system(rows, previous.sites, rules)
    masked_before: set[Var] = set()
    for i, row in enumerate(rows):
        if row[PREVIOUS_EFF]:
            masked_before.add(before.eff_var[i])
        if row[PREVIOUS_NUM] and before.num_var[i] is not None:
            masked_before.add(before.num_var[i])
    changed = {var for var, value in system.values.items() if before.values.get(var) != value}
    touched = set(changed)
    # A relation added or removed (a row appeared or left, the hierarchy moved) touches all its counts.
    for _, coeffs in _constraint_set(system) ^ _constraint_set(before):
        touched.update(var for var, _ in coeffs)
    # Any starting set would do (the touched groups are completed, the others were complete): the
    # previous masks of unchanged counts: a cell masked in one publication is not shown in the next with
    # the same figures (the two together would give it away).
    for var in masked_before:  # `_free` adds a closure: the order does not matter
        if var in system.values and var not in changed:
            _free(system, free, var)
    touched.update(var for var in system.values if (var in free) != (var in masked_before))
    return touched


PREVIOUS_EFF, PREVIOUS_NUM = "_masque_effectif", "_masque_numerateur"


"""Statistical disclosure control ("secret statistique"): the one module every figure shown to
someone goes through, and the audit that proves it.

The rules are those of indicators.md v2, "Statistical disclosure control". Each row of
`marts.indicateurs` tells a reader counts: its effectif, its value when the indicator is a count,
and for a share its numerator and complement. Rows sharing a population (the shared bases E, C,
A, S and each structure's requests; `base` in the catalogue) share one effectif. A reader also
knows that counts add up along the territories (site → département → région → national), that
the categories of a share marked `somme_categories` add up to its base, and that numerator +
complement = base.

- `protect(indicators, sites)` masks:
  1. primary: every row whose effectif, or (for a share) numerator or complement, is in
     1 … s − 1; a row masked because of its effectif masks every row sharing that effectif;
  2. secondary: while some masked count can be narrowed by linear programming to an interval
     narrower than s, one more count is masked in a relation that holds it. The choice weighs the
     information lost (the count, its level, the rows it takes along) and is drawn with a secret
     key among the cheapest sufficient candidates, so that a reader cannot tell which cell
     completed the protection.
- `audit(masked, sites)` is the intruder: from the shown rows only, it computes with a
  linear-programming solver the smallest and largest value of every masked count, and lists those
  narrower than s and the shown rows that break the primary rule.
- `threshold()`, `explanation()`, `cell()`: the threshold in force, the French paragraph that
  explains it, the text of one cell.

The counts of one period form independent systems (one per connected group of relations); each is
solved on its masked counts only, the shown ones being constants, with HiGHS (`highspy`).

`mask(df, ...)` (group-wise suppression) remains for the dashboard's few tables that are not yet
catalogue indicators (per-partner actions, 6-month follow-up); they are masked on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines import settings
from pipelines.common import formats, workers
from pipelines.warehouse.catalogue import Indicator, catalogue

SECRET = "secret statistique"
MASK_COLUMN = "masque"
LEVELS = ("pre", "departement", "region", "national")
# Information lost by masking one count, by level: funders read upper levels first.
LEVEL_COST = {"pre": 1.0, "departement": 2.0, "region": 4.0, "national": 100.0}
TOLERANCE = 1e-6
CHOICES = 3  # the draw is among this many cheapest sufficient candidates
_SETTLED = None  # HiGHS statuses that answer the question (filled on first use: highspy loads lazily)


def threshold() -> int:
    """The threshold s: `PRE_SEUIL_SECRET` when set, else 11 (read at each call)."""
    return settings.load().SEUIL_SECRET


def explanation(threshold_: int | None = None) -> str:
    """The French paragraph shown to funders, for the given threshold (default: the one in force)."""
    n = threshold() if threshold_ is None else _checked_threshold(threshold_)
    return (
        "Secret statistique : pour qu'aucun enfant ni aucune famille ne puisse être reconnu, un chiffre "
        f"n'est pas affiché lorsqu'il repose sur moins de {n} enfants, parcours, actions ou demandes (seuil "
        "retenu d'après la pratique de l'INSEE pour les données individuelles), ni lorsqu'une part laisserait "
        f"compter moins de {n} personnes de part ou d'autre ; la case indique alors « {SECRET} ». D'autres "
        "cases sont masquées en complément, de sorte qu'aucun chiffre masqué ne puisse être retrouvé, même "
        "approximativement, par addition ou soustraction à partir des chiffres publiés (totaux des sites, "
        "des départements et des régions, catégories, effectifs communs) : la plateforme le vérifie par le "
        f"calcul à chaque publication, chaque chiffre masqué restant incertain d'au moins {n} unités. Les "
        "valeurs complètes restent conservées dans l'entrepôt pour les analyses internes."
    )


def cell(valeur: float | int | None, masque: bool, fmt: str) -> str:
    """The text of one cell: `SECRET` when masked, else the value in French (`format_value`; "—" for None)."""
    if masque:
        return SECRET
    return formats.by_kind(valeur, fmt)



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

    def add(self, coeffs: dict[Var, float], equality: bool) -> None:
        index = len(self.constraints)
        self.constraints.append(Constraint(coeffs, equality))
        for var in coeffs:
            self.incident[var].append(index)


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
    for i, row in enumerate(rows):
        rule = rules[row["indicateur"]]
        where = (row["niveau"], row["territoire"])
        if rule.base:
            key = row["categorie"] if rule.base == "demandes" else ""
            eff: Var = ("B", rule.base, key, *where)
        else:
            eff = ("O", row["indicateur"], row["categorie"], *where)
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
    return system


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


def _objectives(group: list[Var], system: PeriodSystem, free: set[Var]) -> list[tuple[str, dict[Var, float]]]:
    """The masked counts of a group: each masked count, and each masked complement (base − numerator)."""
    out = [(repr(var), {var: 1.0}) for var in group]
    members = set(group)
    for var in group:
        if var[0] == "N":
            eff = _eff_of_num(system, var)
            if eff in members:
                out.append((repr(("C", *var[1:])), {eff: 1.0, var: -1.0}))
    return out


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

    One HiGHS model per group; each bound is a re-solve with another objective, warm-started from
    the previous basis. A group held by one equation whose counts all have the same sign (masked
    siblings under a shown total) is solved in closed form: each count lies in [0, total].
    """

    def __init__(self, group: list[Var], system: PeriodSystem) -> None:
        self.index = {var: i for i, var in enumerate(group)}
        self.rows: list[tuple[dict[int, float], float, bool]] = []
        done: set[int] = set()
        for var in group:
            for c in system.incident[var]:
                if c in done:
                    continue
                done.add(c)
                constraint = system.constraints[c]
                coeffs: dict[int, float] = {}
                rhs = 0.0
                for other, coeff in constraint.coeffs.items():
                    if other in self.index:
                        coeffs[self.index[other]] = coeffs.get(self.index[other], 0.0) + coeff
                    else:
                        rhs -= coeff * system.values[other]
                self.rows.append((coeffs, rhs, constraint.equality))
        self.closed_form = None
        if len(self.rows) == 1 and self.rows[0][2] and len(group) > 1:
            coeffs, rhs, _ = self.rows[0]
            signs = {math.copysign(1, c) for c in coeffs.values()}
            if len(signs) == 1 and len(coeffs) == len(group):
                self.closed_form = abs(rhs)
        self._highs = None

    def _model(self):
        import highspy

        if self._highs is None:
            h = _new_highs()
            n = len(self.index)
            h.addVars(n, np.zeros(n), np.full(n, highspy.kHighsInf))
            for coeffs, rhs, equality in self.rows:
                cols = np.array(list(coeffs), dtype=np.int32)
                vals = np.array(list(coeffs.values()), dtype=np.float64)
                h.addRow(rhs if equality else -highspy.kHighsInf, rhs, len(cols), cols, vals)
            self._highs = h
        return self._highs

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


# --------------------------------------------------------------------------- protection


@dataclass
class Protection:
    masked: pl.DataFrame  # the indicators with `masque`; valeur and effectif null where masked
    primary: int = 0  # counts masked by the primary rule (with the rows sharing their base)
    secondary: int = 0  # counts masked to protect others
    seconds: float = 0.0


def _free(system: PeriodSystem, free: set[Var], var: Var) -> None:
    """Mask a count; a masked effectif masks every row sharing it, hence their numerators."""
    free.add(var)
    if var[0] in ("B", "O"):
        for row in system.rows_of[var]:
            num = system.num_var[row]
            if num is not None:
                free.add(num)


def _cost(system: PeriodSystem, var: Var) -> float:
    rows = len(system.rows_of[var])
    return (system.values[var] + 1) * LEVEL_COST[var[3]] * max(rows, 1)


def _candidates(system: PeriodSystem, free: set[Var], objective: dict[Var, float],
                group: list[Var]) -> list[Var]:
    near = {other for var in objective for c in system.incident[var]
            for other in system.constraints[c].coeffs if other not in free}
    if not near:
        near = {other for var in group for c in system.incident[var]
                for other in system.constraints[c].coeffs if other not in free}
    return sorted(near)


def _draw(seed: bytes, name: str, options: list[Var]) -> Var:
    digest = hmac.new(seed, name.encode("utf-8"), hashlib.sha256).digest()
    return random.Random(digest).choice(options)


def _protect_period(rows: list[dict], sites: pl.DataFrame, rules: dict[str, Indicator], threshold: int,
                    seed: bytes) -> tuple[set[Var], PeriodSystem, int, int]:
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
    primary = len(free)
    # Masking one more count only widens what a reader can reach for the others (the shown value
    # stays a feasible point), so an objective that passed once stays passed.
    verified: set[str] = set()
    while True:
        added = False
        changed: set[Var] = set()  # counts next to one masked in this round: their groups wait
        for group in _components(system, free):
            if changed.intersection(group):
                continue
            pending = [(name, objective) for name, objective in _objectives(group, system, free)
                       if name not in verified]
            if not pending:
                continue
            solver = GroupSolver(group, system)
            for name, objective in pending:
                low, high = solver.bounds(objective)
                if high - low >= threshold - TOLERANCE:
                    verified.add(name)
                    continue
                candidates = _candidates(system, free, objective, group)
                if not candidates:
                    break  # everything around is masked already: nothing more to hide
                needed = threshold - (high - low)
                sufficient = [v for v in candidates if system.values[v] >= needed]
                if sufficient:
                    cheapest = sorted(sufficient, key=lambda v: (_cost(system, v), v))[:CHOICES]
                    choice = _draw(seed, name, cheapest)
                else:
                    choice = max(candidates, key=lambda v: (system.values[v], v))
                before = set(free)
                _free(system, free, choice)
                for var in free - before:
                    changed.update(other for c in system.incident[var] for other in system.constraints[c].coeffs)
                added = True
                break  # the group changed: solve it again
        if not added:
            break
    return free, system, primary, len(free) - primary


def _protect_job(job: tuple[pl.DataFrame, pl.DataFrame, int, bytes]) -> tuple[pl.DataFrame, int, int]:
    """One period (run in a worker process when there are many)."""
    frame, sites, threshold, seed = job
    rows = frame.to_dicts()
    free, system, primary, secondary = _protect_period(rows, sites, _rules(), threshold, seed)
    masked = [system.eff_var[i] in free or (system.num_var[i] is not None and system.num_var[i] in free)
              for i in range(len(rows))]
    return frame.with_columns(pl.Series(MASK_COLUMN, masked, dtype=pl.Boolean)), primary, secondary


def protect(indicators: pl.DataFrame, sites: pl.DataFrame, *, threshold: int | None = None,
            seed: bytes = b"") -> Protection:
    """Mask `indicators` (shaped like `marts.indicateurs`) so that no masked count can be narrowed
    below the threshold; `sites` gives the hierarchy (code_pre, departement, region). Periods are
    independent: several are protected at once on several cores."""
    started = time.perf_counter()
    threshold = settings.load().SEUIL_SECRET if threshold is None else threshold
    jobs = [(frame, sites, threshold, seed)
            for _, frame in indicators.sort("periode").group_by(["periode"], maintain_order=True)]
    frames, primary, secondary = [], 0, 0
    for frame, p, s in workers.ordered_map(_protect_job, jobs, parallel_from=4):
        frames.append(frame)
        primary, secondary = primary + p, secondary + s
    out = pl.concat(frames) if frames else indicators.with_columns(pl.lit(False).alias(MASK_COLUMN))
    hidden = [c for c in ("valeur", "effectif", "borne_basse", "borne_haute") if c in out.columns]
    out = out.with_columns(pl.when(pl.col(MASK_COLUMN)).then(None).otherwise(pl.col(c)).alias(c) for c in hidden)
    return Protection(out, primary, secondary, time.perf_counter() - started)


# --------------------------------------------------------------------------- audit


@dataclass
class Audit:
    masked_counts: int = 0
    narrow: list[tuple[str, str, float, float]] = field(default_factory=list)  # (period, count, min, max)
    primary_violations: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.narrow and not self.primary_violations


def audit(masked: pl.DataFrame, sites: pl.DataFrame, *, threshold: int | None = None) -> Audit:
    """What a reader of the masked indicators can recover with a linear-programming solver."""
    started = time.perf_counter()
    threshold = settings.load().SEUIL_SECRET if threshold is None else threshold
    rules = _rules()
    result = Audit()
    for (period,), frame in masked.sort("periode").group_by(["periode"], maintain_order=True):
        rows = frame.to_dicts()
        # The reader's system: shown counts are known; a masked row's counts are unknown, unless
        # another shown row reveals them (a shared base shown elsewhere).
        system = _system(rows, sites, rules)
        known: set[Var] = set()
        for i, row in enumerate(rows):
            if row[MASK_COLUMN]:
                continue
            known.add(system.eff_var[i])
            if system.num_var[i] is not None:
                known.add(system.num_var[i])
                n, base = system.values[system.num_var[i]], system.values[system.eff_var[i]]
                bad = 1 <= n < threshold or 1 <= base - n < threshold
            else:
                bad = False
            if bad or 1 <= system.values[system.eff_var[i]] < threshold:
                result.primary_violations.append(
                    (period, row["indicateur"], row["categorie"], row["niveau"], row["territoire"]))
        free = set(system.values) - known
        for var in list(free):  # unknown to the reader: only the structure of the system is used
            system.values[var] = 0
        for group in _components(system, free):
            solver = GroupSolver(group, system)
            for name, objective in _objectives(group, system, free):
                low, high = solver.bounds(objective)
                result.masked_counts += 1
                if high - low < threshold - TOLERANCE:
                    result.narrow.append((period, name, low, high))
    result.seconds = time.perf_counter() - started
    return result


def masked_share_by_level(masked: pl.DataFrame) -> dict[str, float]:
    """Share of rows masked at each level (for reports)."""
    out = {}
    for level in LEVELS:
        rows = masked.filter(pl.col("niveau") == level)
        out[level] = rows[MASK_COLUMN].mean() if rows.height else 0.0
    return out


# --------------------------------------------------------------------------- tables outside the catalogue


def mask(df: pl.DataFrame, *, values: list[str], count_column: str = "effectif",
         groups: Sequence[str] | Sequence[Sequence[str]] | None = None,
         additive: list[str] | None = None, threshold: int | None = None) -> pl.DataFrame:
    """`df` with the figures a funder must not see set to null, plus a Boolean column `masque`.

    Same rows, same order, same columns, plus `masque` (True when the row's figures are hidden; never
    null). For a masked row every column of `values` and the `effectif` column are null, so that nothing
    can be recomputed from a shown base count.

    1. Primary suppression: a row is masked when its effectif is below the threshold (`effectif < seuil`,
       so 0 is masked). A null effectif is not masked by this rule.
    2. Secondary suppression, when `groups` is given: rows sharing the values of the `groups` columns
       form a group whose counts add up to something the reader can see or compute (the four volets of
       one territory and period, whose total is shown elsewhere; the sites of one département beside the
       département's own figure). While a group has exactly one masked row (its figure would be the
       group's total minus the shown rows), the group's non-masked row with the smallest effectif is
       masked too (ties: first in frame order). With two masked rows or more, subtraction yields only
       their sum, not either of them. Groups with no masked row are left untouched. Rows with a null
       effectif do not count as protection: they are never chosen as the complement and a masked one
       does not count towards the two; if nothing else is left, the group's remaining rows (those with a
       null effectif) are masked too, so that the whole group is hidden.

       `groups` is either one grouping (a list of column names; an empty list makes the whole frame a
       single group) or several groupings (a list of such lists) that overlap, e.g. categories within a
       territory and territories within a level. Several groupings are applied jointly: each in the
       given order, each group in order of first appearance, over and over until no group of any
       grouping has exactly one masked row (a complement chosen in one grouping may leave a lone masked
       cell in another).
    3. `additive` names the columns of `values` that are additive counts (validated against `values`).
       It is documentation only: every group is treated as additive, because the `effectif` itself
       adds up across the rows of any group worth passing here, whatever the value is (a share, a
       median): secondary suppression is what protects sums.

    `threshold` overrides the threshold (an integer ≥ 1); by default `threshold()`.

    Raises `ValueError` when a named column is missing, when `df` already has a `masque` column (mask
    the unmasked frame once, with every grouping, rather than chaining calls), or when the threshold is
    not an integer ≥ 1.
    """
    limit = settings.load().SEUIL_SECRET if threshold is None else _checked_threshold(threshold)
    groupings = _groupings(groups)
    _check_columns(df, values=values, count_column=count_column, groupings=groupings, additive=additive)

    counts = [_count(c) for c in df.get_column(count_column).to_list()]
    masked = [c is not None and c < limit for c in counts]
    if groupings and any(masked):
        masked = _secondary(df, counts, masked, groupings)

    hidden = list(dict.fromkeys([*values, count_column]))
    flag = pl.Series(MASK_COLUMN, masked, dtype=pl.Boolean)
    return df.with_columns(flag).with_columns(
        pl.when(pl.col(MASK_COLUMN)).then(pl.lit(None, dtype=df.schema[name])).otherwise(pl.col(name)).alias(name)
        for name in hidden
    )


# --- internals


def _checked_threshold(value: object, source: str = "threshold") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{source} doit être un entier ≥ 1 (reçu : {value!r}).")
    return value


def _count(value: object) -> float | None:
    """An effectif as a number, None when it is null (NaN counts as null)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value  # type: ignore[return-value]


def _groupings(groups: Sequence[str] | Sequence[Sequence[str]] | None) -> list[list[str]]:
    if groups is None:
        return []
    if isinstance(groups, str):
        raise ValueError("groups : une liste de noms de colonnes (ou une liste de telles listes), pas une chaîne.")
    items = list(groups)
    if all(isinstance(g, str) for g in items):
        return [list(items)]  # one grouping (possibly empty: the whole frame is one group)
    if all(not isinstance(g, str) and isinstance(g, Sequence) for g in items):
        return [list(g) for g in items]
    raise ValueError("groups : une liste de noms de colonnes, ou une liste de listes, sans mélange.")


def _check_columns(df: pl.DataFrame, *, values: list[str], count_column: str, groupings: list[list[str]],
                   additive: list[str] | None) -> None:
    if MASK_COLUMN in df.columns:
        raise ValueError("Le tableau a déjà une colonne « masque » : masquez le tableau non masqué, en une fois.")
    named = [*values, count_column, *(c for g in groupings for c in g)]
    missing = [c for c in dict.fromkeys(named) if c not in df.columns]
    if missing:
        raise ValueError(f"Colonnes absentes : {', '.join(missing)}.")
    if not df.schema[count_column].is_numeric() and df.schema[count_column] != pl.Null:
        raise ValueError(f"La colonne d'effectif « {count_column} » doit être numérique.")
    stray = [c for c in (additive or []) if c not in values]
    if stray:
        raise ValueError(f"additive doit être pris parmi values : {', '.join(stray)}.")


def _members(df: pl.DataFrame, columns: list[str]) -> list[list[int]]:
    """Row positions of each group (groups in order of first appearance; nulls group together)."""
    if not columns:
        return [list(range(df.height))]
    groups: dict[tuple, list[int]] = {}
    for position, key in enumerate(df.select(columns).iter_rows()):
        groups.setdefault(key, []).append(position)
    return list(groups.values())


def _secondary(df: pl.DataFrame, counts: list[float | None], masked: list[bool],
               groupings: list[list[str]]) -> list[bool]:
    masked = list(masked)
    all_groups = [_members(df, columns) for columns in groupings]
    changed = True
    while changed:  # terminates: every pass that changes something masks at least one more row
        changed = False
        for groups in all_groups:
            for rows in groups:
                changed |= _protect(rows, counts, masked)
    return masked


def _protect(rows: list[int], counts: list[float | None], masked: list[bool]) -> bool:
    """Mask complements in one group until it has no lone masked row; True if anything was masked."""
    changed = False
    while sum(1 for i in rows if masked[i] and counts[i] is not None) == 1:
        candidates = [i for i in rows if not masked[i] and counts[i] is not None]
        if candidates:
            masked[min(candidates, key=lambda i: (counts[i], i))] = True
            changed = True
            continue
        rest = [i for i in rows if not masked[i]]  # only null effectifs left: hide the whole group
        for i in rest:
            masked[i] = True
        return changed or bool(rest)
    return changed


"""Check read submissions against the data contracts.

Submissions are checked in batches: the rows of every submission of the batch are stacked, one
table at a time, with a `_depot` key, so Great Expectations runs once per table for the whole
batch (its cost is mostly per expectation, not per row). Every rule keys on `_depot`, so one
submission's rows never meet another's.

Per table: column rules and comparisons through GX; a comparison failure is dropped when one of
its operands was already refused by a column rule (one bad cell, one finding); then the
project's own checks (foreign keys, conditional presence, per-child consistency, overlaps…) in
polars, on the frame with refused cells cleared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.common import formats
from pipelines.contracts import gx as gx_engine
from pipelines.contracts.findings import MAX_EXAMPLES, MAX_LINES, Findings, Shown, line_list, shown_value
from pipelines.contracts.model import AVERTISSEMENT, BLOQUANT, Contracts, Rule, Table, load_contracts
from pipelines.contracts.reader import LINE, Submission, read_submission

DEPOT = gx_engine.DEPOT
GX_KINDS_COLUMN = frozenset({"required", "in_set", "pattern", "not_pattern", "range", "unique", "age_range"})
GX_KINDS_PAIR = frozenset({"compare", "pair_in_set"})
# Cells refused by these kinds are cleared before anything else reads them.
CLEARING = frozenset({"in_set", "pattern", "not_pattern", "range"})
MAX_SHARED_LINES = 1000  # lines read per duplicated value, to name them in its message
MAX_SHARED_ITEMS = 10  # lines or ranges a duplicate's message lists; the others are counted
REF_EXTRACTION = "_ref_manifeste_date_extraction"
REF_ENTRY = "_ref_parcours_date_entree"
RECEIPT = "_jour_reception"
# Sites and the platform are in France: a file received at 00:30 in Paris on 1 January was received
# on 1 January, whatever UTC says.
PARIS = ZoneInfo("Europe/Paris")


def day_of_receipt(moment: datetime | None = None) -> date:
    """The day, in Paris, of a moment of receipt (now when none is given)."""
    moment = datetime.now(tz=PARIS) if moment is None else moment
    if moment.tzinfo is None:
        raise ValueError("l'heure de réception doit porter son fuseau horaire")
    return moment.astimezone(PARIS).date()


@dataclass
class Context:
    """What the checks need beyond the file itself."""

    known_sites: set[str] | None = None  # None: the referential of the data home
    in_force_parcours: int | None = None  # pathways of the snapshot in force, if any
    # The day the file was received (the ledger's `recu_le`, in Paris); None: today, for a file
    # checked as it arrives (`pre-eval validate`, the portal's check). A replay passes the
    # original day, so that the verdict does not depend on when it runs.
    received_on: date | None = None


@dataclass
class Report:
    source: str
    submission: Submission
    findings: Findings
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.findings.blocking

    @property
    def code_pre(self) -> str | None:
        return self.submission.manifest.get("code_pre")

    @property
    def date_extraction(self) -> date | None:
        value = self.submission.manifest.get("date_extraction")
        return value if isinstance(value, date) else None

    @property
    def blocking_count(self) -> int:
        return self.findings.count(BLOQUANT)

    @property
    def warning_count(self) -> int:
        return self.findings.count(AVERTISSEMENT)


def validate_file(path: Path | str, context: Context | None = None,
                  contracts: Contracts | None = None, *, name: str | None = None) -> Report:
    contracts = contracts or load_contracts()
    return validate(read_submission(path, contracts, name=name), context, contracts)


def validate(sub: Submission, context: Context | None = None, contracts: Contracts | None = None) -> Report:
    return validate_many([sub], [context or Context()], contracts)[0]


def validate_many(subs: Sequence[Submission], contexts: Sequence[Context] | None = None,
                  contracts: Contracts | None = None,
                  on_table: Callable[[str, int, int], None] | None = None) -> list[Report]:
    """Check a batch of submissions; one report each, as if each had been checked alone.

    `on_table(name, i, n)` is told before the i-th of the n tables is checked (progress display)."""
    contracts = contracts or load_contracts()
    contexts = list(contexts) if contexts is not None else [Context() for _ in subs]
    for context in contexts:
        if context.known_sites is None:
            from pipelines.contracts.referential import known_codes

            context.known_sites = known_codes()
    batch = _Batch(list(subs), contexts)
    checked: dict[str, pl.DataFrame] = {}
    extraction = pl.DataFrame(
        {DEPOT: list(range(len(subs))),
         REF_EXTRACTION: [s.manifest.get("date_extraction") if isinstance(s.manifest.get("date_extraction"), date)
                          else None for s in subs]},
        schema={DEPOT: pl.Int64, REF_EXTRACTION: pl.Date})
    for number, (name, table) in enumerate(contracts.tables.items(), start=1):
        if on_table is not None:
            on_table(name, number, len(contracts.tables))
        frames = [s.tables[name].with_columns(pl.lit(i, dtype=pl.Int64).alias(DEPOT))
                  for i, s in enumerate(subs) if name in s.tables and name not in s.unusable]
        if not frames:
            continue
        frame = pl.concat(frames, how="vertical_relaxed")
        frame = _with_references(frame, table, extraction, checked)
        refused = _type_refused(subs, name)
        frame = _run_gx(frame, table, batch, refused)
        _project_checks(frame, table, checked, batch, refused)
        checked[name] = frame
    reports = []
    for i, sub in enumerate(subs):
        findings = Findings()
        findings.extend(sub.findings)
        findings.extend(batch.findings[i])
        rows = {name: sub.raw_rows.get(name, 0) for name in contracts.tables if name != "manifeste"}
        reports.append(Report(sub.source, sub, findings, rows))
    return reports


class _Batch:
    def __init__(self, subs: list[Submission], contexts: list[Context]) -> None:
        self.subs = subs
        self.contexts = contexts
        self.findings = [Findings() for _ in subs]

    def record(self, rule: Rule, table: Table, rows: pl.DataFrame,
               values: Callable[[pl.DataFrame], list[dict[str, Any]]] | None) -> None:
        """Record the rows (with `_depot` and `_ligne`) as occurrences of `rule`."""
        if rows.height == 0:
            return
        rows = rows.sort(DEPOT, LINE)
        for (depot,), part in rows.group_by(DEPOT, maintain_order=True):
            sub = self.subs[depot]
            # The report keeps MAX_LINES lines and MAX_EXAMPLES messages: only those are built.
            head = part.head(MAX_LINES)
            if rule.per_file:  # once per file: how many lines, and which (`autre`: the same for all)
                first = values(part.head(1))[0] if values else {}
                self.findings[depot].add_per_file(rule, table=table.name, column=rule.column,
                                                  lines=head[LINE].to_list(), count=part.height,
                                                  values={**first, "valeur": Shown(formats.number(part.height))})
                continue
            # manifeste: the line of the key, not of a row
            lines = [sub.manifest_lines.get(rule.column)] * head.height if table.key_value else head[LINE].to_list()
            self.findings[depot].add_many(rule, table=table.name, column=rule.column, lines=lines,
                                          values=values(part.head(MAX_EXAMPLES)) if values else None,
                                          count=part.height)


# --------------------------------------------------------------------------- GX rules


def _with_references(frame: pl.DataFrame, table: Table, extraction: pl.DataFrame,
                     checked: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Add the operands that come from elsewhere: date_extraction, the pathway's entry date, age."""
    frame = frame.join(extraction, on=DEPOT, how="left", maintain_order="left")
    if table.name == "parcours":
        frame = frame.with_columns((pl.col("date_entree").dt.year() - pl.col("annee_naissance")).alias("_age_entree"))
    if "id_parcours" in table.column_names and table.name != "parcours":
        parent = checked.get("parcours")
        if parent is not None:
            ref = (parent.filter(pl.col("id_parcours").is_not_null()).unique([DEPOT, "id_parcours"], keep="first")
                   .select(DEPOT, "id_parcours", pl.col("date_entree").alias(REF_ENTRY)))
            frame = frame.join(ref, on=[DEPOT, "id_parcours"], how="left", maintain_order="left")
        else:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias(REF_ENTRY))
    return frame


def warm(contracts: Contracts | None = None) -> None:
    """Import GX and build each table's suite now, for a long-lived process (the inbox sensor's code
    server) to pay it before the first file rather than on it. The same suites as a file with every
    column builds; a file missing optional columns builds its own subset when it comes."""
    contracts = contracts or load_contracts()
    for table in contracts.tables.values():
        rules = [r for r in table.rules if r.kind in GX_KINDS_COLUMN | GX_KINDS_PAIR]
        if rules:
            gx_engine.prepare(table.name, rules)


def _applicable(rule: Rule, frame: pl.DataFrame) -> bool:
    needed = [rule.column] if rule.column else []
    if rule.kind == "compare":
        needed.append(gx_engine.other_column(rule))
    if rule.kind == "pair_in_set":
        needed.append(rule.params["other"])
    if rule.kind == "age_range":
        needed = ["_age_entree"]
    return all(c in frame.columns for c in needed)


def _keys(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={DEPOT: pl.Int64, LINE: pl.Int64}, orient="row")


def _type_refused(subs: Sequence[Submission], table: str) -> dict[str, pl.DataFrame]:
    """Cells the reader could not type, as (_depot, _ligne) keys per column."""
    pairs: dict[str, list[tuple[int, int]]] = {}
    for depot, sub in enumerate(subs):
        for column, lines in sub.type_refused.get(table, {}).items():
            pairs.setdefault(column, []).extend((depot, line) for line in lines)
    return {column: _keys(p) for column, p in pairs.items()}


def _operands(rule: Rule) -> list[str]:
    other = rule.params.get("other")
    return [c for c in (rule.column, other) if c]


def _run_gx(frame: pl.DataFrame, table: Table, batch: _Batch, refused: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One GX run per table; returns the frame with refused cells cleared.

    `refused` starts with the cells the reader could not type and grows with the cells refused
    by column rules. A failure on a refused operand is dropped: for comparisons, exactly what
    running them after clearing would give (GX skips rows with a missing operand), for one GX
    run instead of two; for `required`, a cell that holds an untypable value is not empty.
    """
    rules = [r for r in table.rules if r.kind in GX_KINDS_COLUMN | GX_KINDS_PAIR and _applicable(r, frame)]
    failures = gx_engine.run_suite(table.name, frame, rules)
    typed_refused = dict(refused)
    for rule in rules:
        if rule.kind in CLEARING and rule.blocking and failures.get(rule.code):
            keys = _keys(failures[rule.code])
            refused[rule.column] = pl.concat([refused[rule.column], keys]) if rule.column in refused else keys
    for rule in rules:
        pairs = failures.get(rule.code)
        if not pairs:
            continue
        rows = frame.join(_keys(pairs).unique(), on=[DEPOT, LINE], how="semi")
        seen = refused if rule.kind in GX_KINDS_PAIR else typed_refused
        for operand in _operands(rule):
            if operand in seen:
                rows = rows.join(seen[operand], on=[DEPOT, LINE], how="anti")
        batch.record(rule, table, rows, lambda part, rule=rule, rows=rows: _message_values(rule, table, part, rows))
    for column, keys in refused.items():
        flag = f"_refuse_{column}"
        frame = (frame.join(keys.unique().with_columns(pl.lit(True).alias(flag)), on=[DEPOT, LINE], how="left",
                            maintain_order="left")
                 .with_columns(pl.when(pl.col(flag)).then(None).otherwise(pl.col(column)).alias(column))
                 .drop(flag))
    return frame


def _codes(table: Table, column: str | None) -> list[str] | None:
    """The code list of a column of `table` (values a report may always repeat), if it has one."""
    return table.column(column).codes if column in table.column_names else None


def shared_lines(part: pl.DataFrame, rows: pl.DataFrame, keys: list[str]) -> list[str]:
    """For each row of `part`, the lines of `rows` that share its `keys` (its submission and value), as
    a message names them: « lignes 14 et 87 ». The value itself is never quoted: the lines locate it."""
    groups = (rows.join(part.select(keys).unique(), on=keys, how="semi")
              .group_by(keys).agg(pl.col(LINE).sort().head(MAX_SHARED_LINES).alias("_lignes"),
                                  pl.len().alias("_nombre")))
    found = {tuple(row[:len(keys)]): (row[-2], row[-1]) for row in groups.iter_rows()}
    return [line_list(*found[key], limit=MAX_SHARED_ITEMS) for key in part.select(keys).iter_rows()]


def _message_values(rule: Rule, table: Table, part: pl.DataFrame, rows: pl.DataFrame) -> list[dict[str, Any]]:
    """The values a GX failure's message quotes, as `shown_value` lets them through; `part`: the
    rows whose messages are built, among all the rule's failures `rows`.

    GX gives back row positions only (`unexpected_index_list`); values are read from the frame
    here, never from GX's own summaries."""
    if rule.kind == "unique":  # a duplicate names every line sharing its value
        return [{"lignes": lines} for lines in shared_lines(part, rows, [DEPOT, rule.column])]
    rows = part
    ident = rule.column in table.column_names and table.column(rule.column).nature == "identifiant"
    if rule.kind == "age_range":
        # `age`: the computed age with its unit agreed (« 1 an », « 30 ans »), a platform's own number.
        return [{"valeur": shown_value(v), "age": formats.plural(v, "an") if isinstance(v, int) else shown_value(v)}
                for v in rows["_age_entree"].to_list()]
    values = rows[rule.column].to_list() if rule.column in rows.columns else [None] * rows.height
    others: list[Any] = [None] * rows.height
    other_codes = None
    if rule.kind == "compare":
        others = rows[gx_engine.other_column(rule)].to_list()
    elif rule.kind == "pair_in_set":
        others = rows[rule.params["other"]].to_list()
        other_codes = _codes(table, rule.params["other"])
    codes = _codes(table, rule.column)
    return [{"valeur": shown_value(v, identifier=ident, codes=codes), "autre": shown_value(o, codes=other_codes)}
            for v, o in zip(values, others, strict=True)]


# --------------------------------------------------------------------------- project rules


def _project_checks(frame: pl.DataFrame, table: Table, checked: dict[str, pl.DataFrame], batch: _Batch,
                    refused: dict[str, pl.DataFrame]) -> None:
    for rule in table.rules:
        check = _CHECKS.get(rule.kind)
        if check is None:
            continue
        rows, values = check(rule, frame, checked, batch)
        if rows is None:
            continue
        # A refused cell is unknown, not absent: rules on it would only repeat the first finding.
        for operand in _operands(rule):
            if operand in refused and LINE in rows.columns:
                rows = rows.join(refused[operand], on=[DEPOT, LINE], how="anti")
        batch.record(rule, table, rows, values)


def _known_site(rule, frame, checked, batch):
    known = pl.DataFrame({DEPOT: [i for i, c in enumerate(batch.contexts) for _ in c.known_sites or ()],
                          rule.column: [s for c in batch.contexts for s in c.known_sites or ()]},
                         schema={DEPOT: pl.Int64, rule.column: pl.String})
    rows = frame.filter(pl.col(rule.column).is_not_null()).join(known, on=[DEPOT, rule.column], how="anti")
    return rows, lambda r: [{"valeur": shown_value(v)} for v in r[rule.column].to_list()]


def _not_after_receipt(rule, frame, checked, batch):
    """The manifest's date_extraction later than the day the file was received."""
    today = day_of_receipt()
    days = pl.DataFrame({DEPOT: list(range(len(batch.contexts))),
                         RECEIPT: [c.received_on or today for c in batch.contexts]},
                        schema={DEPOT: pl.Int64, RECEIPT: pl.Date})
    rows = frame.join(days, on=DEPOT, how="left").filter(pl.col(rule.column) > pl.col(RECEIPT))
    return rows, lambda r: [{"valeur": shown_value(v), "autre": shown_value(d)}
                            for v, d in zip(r[rule.column].to_list(), r[RECEIPT].to_list(), strict=True)]


def _present_iff(rule, frame, checked, batch):
    col, other = rule.column, rule.params["other"]
    rows = frame.filter(pl.col(col).is_null() != pl.col(other).is_null())

    def values(r):
        return [{"detail": f"{col} renseigné sans {other}" if v is not None else f"{other} renseignée sans {col}"}
                for v in r[col].to_list()]
    return rows, values


def _exclusive(rule, frame, checked, batch):
    return frame.filter(pl.col(rule.column).is_not_null() & pl.col(rule.params["other"]).is_not_null()), None


def _foreign_key(rule, frame, checked, batch):
    parent_table, parent_column = rule.params["references"].split(".")
    parent = checked.get(parent_table)
    if parent is None:
        return None, None
    keys = parent.select(DEPOT, pl.col(parent_column).alias(rule.column)).drop_nulls().unique()
    # Only the submissions whose parent table was checked: alone, a file whose parent table is unusable
    # has no references to compare with, and the rule is not applied to it (its other files' parents are
    # no reason to report each of its rows).
    usable = [i for i, s in enumerate(batch.subs) if parent_table in s.tables and parent_table not in s.unusable]
    rows = frame.filter(pl.col(rule.column).is_not_null() & pl.col(DEPOT).is_in(usable))
    return rows.join(keys, on=[DEPOT, rule.column], how="anti"), None


def _parent_value_required(rule, frame, checked, batch):
    p = rule.params
    parent = checked.get(p["parent_table"])
    if parent is None:
        return None, None
    ref = (parent.select(DEPOT, pl.col(p["parent_key"]).alias(p["key"]),
                         pl.col(p["parent_column"]).alias("_parent_value"))
           .drop_nulls([p["key"]]).unique([DEPOT, p["key"]], keep="first"))
    joined = frame.join(ref, on=[DEPOT, p["key"]], how="inner")
    rows = joined.filter(pl.col(p["when_column"]).is_in(p["when_values"]) & pl.col("_parent_value").is_null())
    return rows, lambda r: [{"valeur": Shown(v)} for v in r[p["when_column"]].to_list()]  # one of when_values


def _unique_per_key(rule, frame, checked, batch):
    p = rule.params
    col = rule.column
    ranked = (frame.filter(pl.col(col).is_in(p["values"]) & pl.col(p["key"]).is_not_null())
              .with_columns(pl.col(LINE).rank("ordinal").over(DEPOT, p["key"], col).alias("_rang")))
    rows = ranked.filter(pl.col("_rang") > 1)

    def values(r):  # one of the rule's values, and every line of the key holding it
        keys = [DEPOT, p["key"], col]
        return [{"valeur": Shown(v), "lignes": lines}
                for v, lines in zip(r[col].to_list(), shared_lines(r, ranked, keys), strict=True)]
    return rows, values


def _consistent_per_key(rule, frame, checked, batch):
    p = rule.params
    col, key = rule.column, p["key"]
    base = frame.filter(pl.col(key).is_not_null() & pl.col(col).is_not_null())
    latest = (base.sort([DEPOT, p["order_by"], LINE], nulls_last=False)
              .group_by([DEPOT, key], maintain_order=True).agg(pl.col(col).last().alias("_retenu")))
    rows = base.join(latest, on=[DEPOT, key]).filter(pl.col(col) != pl.col("_retenu"))
    return rows, None


def _no_overlap(rule, frame, checked, batch):
    p = rule.params
    key, start, end = p["key"], p["start"], p["end"]
    far = date(9999, 12, 31)
    ordered = (frame.filter(pl.col(key).is_not_null() & pl.col(start).is_not_null())
               .sort([DEPOT, key, start, LINE])
               .with_columns(pl.col(end).fill_null(far).alias("_fin"))
               .with_columns(pl.col("_fin").cum_max().shift(1).over(DEPOT, key).alias("_fin_precedente"),
                             pl.col(LINE).shift(1).over(DEPOT, key).alias("_ligne_precedente")))
    # A pathway that opens on the day the previous one closes is a hand-over, not an overlap.
    rows = ordered.filter(pl.col("_fin_precedente").is_not_null() & (pl.col(start) < pl.col("_fin_precedente")))
    return rows, lambda r: [{"autre": shown_value(v)} for v in r["_ligne_precedente"].to_list()]


def _table_level(depots: list[int]) -> pl.DataFrame:
    return pl.DataFrame({DEPOT: depots, LINE: [None] * len(depots)}, schema={DEPOT: pl.Int64, LINE: pl.Int64})


def _non_empty(rule, frame, checked, batch):
    present = set(frame[DEPOT].unique().to_list())
    empty = [i for i, s in enumerate(batch.subs)
             if rule.table in s.tables and rule.table not in s.unusable and i not in present]
    return _table_level(empty), None


def _volume_vs_in_force(rule, frame, checked, batch):
    counts = dict(frame.group_by(DEPOT).len().iter_rows())
    low = [i for i, c in enumerate(batch.contexts)
           if c.in_force_parcours and 0 < counts.get(i, 0) < rule.params["ratio"] * c.in_force_parcours]

    def values(r):
        return [{"valeur": shown_value(counts[d]), "autre": shown_value(batch.contexts[d].in_force_parcours)}
                for d in r[DEPOT].to_list()]
    return _table_level(low), values


_CHECKS = {
    "known_site": _known_site,
    "not_after_receipt": _not_after_receipt,
    "present_iff": _present_iff,
    "exclusive": _exclusive,
    "foreign_key": _foreign_key,
    "parent_value_required": _parent_value_required,
    "unique_per_key": _unique_per_key,
    "consistent_per_key": _consistent_per_key,
    "no_overlap": _no_overlap,
    "non_empty": _non_empty,
    "volume_vs_in_force": _volume_vs_in_force,
}

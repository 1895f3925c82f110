"""Check a read submission against the data contracts.

Order of work, per table: column rules through Great Expectations (required, code lists,
patterns, ranges, uniqueness); values refused there are set aside so that one bad cell does not
cascade into more findings; then comparisons between columns (GX again), then the project's own
checks (foreign keys, conditional presence, per-child consistency, overlaps…) in polars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pre_eval import gx_engine
from pre_eval.contracts import AVERTISSEMENT, BLOQUANT, Contracts, Rule, Table, load_contracts
from pre_eval.findings import Findings, shown_value
from pre_eval.reader import LINE, Submission, read_submission

PHASE1 = frozenset({"required", "in_set", "pattern", "not_pattern", "range", "unique", "age_range"})
PHASE2 = frozenset({"compare", "pair_in_set"})
# After phase 1, cells refused by these kinds are cleared before anything else reads them.
CLEARING = frozenset({"in_set", "pattern", "not_pattern", "range"})


@dataclass
class Context:
    """What the checks need beyond the file itself."""

    known_sites: set[str] | None = None  # None: the referential of the data home
    in_force_parcours: int | None = None  # pathways of the snapshot in force, if any


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
        return self.submission.manifest.get("date_extraction")

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


def validate(sub: Submission, context: Context | None = None,
             contracts: Contracts | None = None) -> Report:
    contracts = contracts or load_contracts()
    context = context or Context()
    if context.known_sites is None:
        from pre_eval.referential import known_codes

        context.known_sites = known_codes()
    findings = Findings()
    findings.extend(sub.findings)
    checked: dict[str, pl.DataFrame] = {}
    manifest = sub.manifest
    for name, table in contracts.tables.items():
        frame = sub.tables.get(name)
        if frame is None or name in sub.unusable:
            continue
        frame = _with_references(frame, table, manifest, checked)
        frame = _run_gx(frame, table, [r for r in table.rules if r.kind in PHASE1], findings, sub)
        frame = _clear_refused(frame, table, findings)
        frame = _with_references(frame, table, manifest, checked)  # refresh after clearing
        _run_gx(frame, table, [r for r in table.rules if r.kind in PHASE2], findings, sub)
        _project_checks(frame, table, checked, sub, context, findings)
        checked[name] = frame
    rows = {name: sub.raw_rows.get(name, 0) for name in contracts.tables if name != "manifeste"}
    return Report(sub.source, sub, findings, rows)


# --------------------------------------------------------------------------- GX rules


def _with_references(frame: pl.DataFrame, table: Table, manifest: dict,
                     checked: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Add the operands that come from elsewhere: date_extraction, the pathway's entry date, age."""
    extraction = manifest.get("date_extraction") if isinstance(manifest.get("date_extraction"), date) else None
    frame = frame.with_columns(pl.lit(extraction, dtype=pl.Date).alias("_ref_manifeste_date_extraction"))
    if table.name == "parcours":
        frame = frame.with_columns(
            (pl.col("date_entree").dt.year() - pl.col("annee_naissance")).alias("_age_entree"))
    if "id_parcours" in table.column_names and table.name != "parcours":
        parent = checked.get("parcours")
        frame = frame.drop("_ref_parcours_date_entree", strict=False)
        if parent is not None:
            ref = parent.filter(pl.col("id_parcours").is_not_null()).unique("id_parcours", keep="first")
            frame = frame.join(ref.select("id_parcours", pl.col("date_entree").alias("_ref_parcours_date_entree")),
                               on="id_parcours", how="left", maintain_order="left")
        else:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias("_ref_parcours_date_entree"))
    return frame


def _line_of(sub: Submission, table: Table, rule: Rule, line: int) -> int | None:
    if table.key_value:  # manifeste: the line of the key, not of a row
        return sub.manifest_lines.get(rule.column)
    return line


def _run_gx(frame: pl.DataFrame, table: Table, rules: list[Rule], findings: Findings,
            sub: Submission) -> pl.DataFrame:
    rules = [r for r in rules if _applicable(r, frame)]
    failures = gx_engine.run_suite(table.name, frame, rules)
    by_code = {r.code: r for r in rules}
    for code, lines in failures.items():
        rule = by_code[code]
        rows = frame.filter(pl.col(LINE).is_in(lines)).sort(LINE)
        findings.add_many(rule, table=table.name, column=rule.column,
                          lines=[_line_of(sub, table, rule, x) for x in rows[LINE].to_list()],
                          values=_message_values(rule, table, rows))
    return _mark(frame, failures) if failures else frame


def _applicable(rule: Rule, frame: pl.DataFrame) -> bool:
    needed = [rule.column] if rule.column else []
    if rule.kind == "compare":
        needed.append(gx_engine.other_column(rule))
    if rule.kind == "pair_in_set":
        needed.append(rule.params["other"])
    if rule.kind == "age_range":
        needed = ["_age_entree"]
    return all(c in frame.columns for c in needed)


def _mark(frame: pl.DataFrame, failures: dict[str, list[int]]) -> pl.DataFrame:
    # Remember which lines failed which rule, for clearing refused cells afterwards.
    marks = [pl.col(LINE).is_in(lines).alias(f"_echec_{code}") for code, lines in failures.items()]
    return frame.with_columns(marks)


def _message_values(rule: Rule, table: Table, rows: pl.DataFrame) -> list[dict[str, Any]]:
    ident = rule.column in table.column_names and table.column(rule.column).nature == "identifiant"
    if rule.kind == "age_range":
        return [{"valeur": v} for v in rows["_age_entree"].to_list()]
    values = rows[rule.column].to_list() if rule.column in rows.columns else [None] * rows.height
    others: list[Any] = [None] * rows.height
    if rule.kind == "compare":
        others = rows[gx_engine.other_column(rule)].to_list()
    elif rule.kind == "pair_in_set":
        others = rows[rule.params["other"]].to_list()
    return [{"valeur": shown_value(v, identifier=ident), "autre": shown_value(o)} for v, o in zip(values, others, strict=True)]


def _clear_refused(frame: pl.DataFrame, table: Table, findings: Findings) -> pl.DataFrame:
    exprs = []
    for rule in table.rules:
        mark = f"_echec_{rule.code}"
        if rule.kind in CLEARING and rule.blocking and mark in frame.columns:
            exprs.append(pl.when(pl.col(mark)).then(None).otherwise(pl.col(rule.column)).alias(rule.column))
    if exprs:
        for e in exprs:  # one at a time: two rules may clear the same column
            frame = frame.with_columns(e)
    return frame.drop([c for c in frame.columns if c.startswith("_echec_")])


# --------------------------------------------------------------------------- project rules


def _project_checks(frame: pl.DataFrame, table: Table, checked: dict[str, pl.DataFrame],
                    sub: Submission, context: Context, findings: Findings) -> None:
    for rule in table.rules:
        check = _CHECKS.get(rule.kind)
        if check is None:
            continue
        rows, values = check(rule, frame, table, checked, context)
        if rows is None or rows.height == 0:
            continue
        rows = rows.sort(LINE)
        lines = [_line_of(sub, table, rule, x) for x in rows[LINE].to_list()]
        findings.add_many(rule, table=table.name, column=rule.column, lines=lines,
                          values=values(rows) if values else None)


def _known_site(rule, frame, table, checked, context):
    if not context.known_sites:
        return None, None
    rows = frame.filter(pl.col(rule.column).is_not_null() & ~pl.col(rule.column).is_in(sorted(context.known_sites)))
    return rows, lambda r: [{"valeur": shown_value(v)} for v in r[rule.column].to_list()]


def _present_iff(rule, frame, table, checked, context):
    col, other = rule.column, rule.params["other"]
    rows = frame.filter(pl.col(col).is_null() != pl.col(other).is_null())

    def values(r):
        return [{"detail": f"{col} renseigné sans {other}" if v is not None else f"{other} renseignée sans {col}"}
                for v in r[col].to_list()]
    return rows, values


def _exclusive(rule, frame, table, checked, context):
    return frame.filter(pl.col(rule.column).is_not_null() & pl.col(rule.params["other"]).is_not_null()), None


def _foreign_key(rule, frame, table, checked, context):
    parent_table, parent_column = rule.params["references"].split(".")
    parent = checked.get(parent_table)
    if parent is None:
        return None, None
    keys = parent[parent_column].drop_nulls().unique()
    return frame.filter(pl.col(rule.column).is_not_null() & ~pl.col(rule.column).is_in(keys.implode())), None


def _parent_value_required(rule, frame, table, checked, context):
    p = rule.params
    parent = checked.get(p["parent_table"])
    if parent is None:
        return None, None
    ref = parent.select(pl.col(p["parent_key"]).alias(p["key"]),
                        pl.col(p["parent_column"]).alias("_parent_value")).unique(p["key"], keep="first")
    joined = frame.join(ref, on=p["key"], how="inner")
    rows = joined.filter(pl.col(p["when_column"]).is_in(p["when_values"]) & pl.col("_parent_value").is_null())
    return rows, lambda r: [{"valeur": v} for v in r[p["when_column"]].to_list()]


def _unique_per_key(rule, frame, table, checked, context):
    p = rule.params
    col = rule.column
    ranked = (frame.filter(pl.col(col).is_in(p["values"]) & pl.col(p["key"]).is_not_null())
              .with_columns(pl.col(LINE).rank("ordinal").over(p["key"], col).alias("_rang")))
    rows = ranked.filter(pl.col("_rang") > 1)
    return rows, lambda r: [{"valeur": v} for v in r[col].to_list()]


def _consistent_per_key(rule, frame, table, checked, context):
    p = rule.params
    col, key = rule.column, p["key"]
    base = frame.filter(pl.col(key).is_not_null() & pl.col(col).is_not_null())
    latest = (base.sort([p["order_by"], LINE], nulls_last=False)
              .group_by(key, maintain_order=True).agg(pl.col(col).last().alias("_retenu")))
    rows = base.join(latest, on=key).filter(pl.col(col) != pl.col("_retenu"))
    return rows, None


def _no_overlap(rule, frame, table, checked, context):
    p = rule.params
    key, start, end = p["key"], p["start"], p["end"]
    far = date(9999, 12, 31)
    ordered = (frame.filter(pl.col(key).is_not_null() & pl.col(start).is_not_null())
               .sort([key, start, LINE])
               .with_columns(pl.col(end).fill_null(far).alias("_fin"))
               .with_columns(pl.col("_fin").cum_max().shift(1).over(key).alias("_fin_precedente"),
                             pl.col(LINE).shift(1).over(key).alias("_ligne_precedente")))
    # A pathway that opens on the day the previous one closes is a hand-over, not an overlap.
    rows = ordered.filter(pl.col("_fin_precedente").is_not_null() & (pl.col(start) < pl.col("_fin_precedente")))
    return rows, lambda r: [{"autre": v} for v in r["_ligne_precedente"].to_list()]


def _non_empty(rule, frame, table, checked, context):
    if frame.height == 0:
        return pl.DataFrame({LINE: [None]}, schema={LINE: pl.Int64}), None
    return None, None


def _volume_vs_in_force(rule, frame, table, checked, context):
    before = context.in_force_parcours
    if not before or frame.height == 0 or frame.height >= rule.params["ratio"] * before:
        return None, None
    return (pl.DataFrame({LINE: [None]}, schema={LINE: pl.Int64}),
            lambda r: [{"valeur": frame.height, "autre": before}])


_CHECKS = {
    "known_site": _known_site,
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

"""Compile contract rules of the GX kinds into Great Expectations 1.x suites and run them.

Each expectation carries its rule code in `meta`, so a result maps back to the contract rule;
failing rows come back through `unexpected_index_column_names` as physical line numbers.
GX is imported lazily: it costs seconds to import and most commands never need it.
"""

from __future__ import annotations

import itertools
import logging
import os
from typing import Any

import polars as pl

from pre_eval.contracts import Rule

LINE = "_ligne"
_counter = itertools.count()
_context = None


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    return gx, gxe


def _get_context():
    global _context
    if _context is None:
        gx, _ = _gx()
        _context = gx.get_context(mode="ephemeral")
        _context.data_sources.add_pandas("soumissions")
    return _context


def other_column(rule: Rule) -> str:
    """Name of the frame column holding the comparison operand of a `compare` rule."""
    other = rule.params["other"]
    return other if "." not in other else "_ref_" + other.replace(".", "_")


def expectation(rule: Rule, gxe) -> Any:
    """The GX expectation implementing one contract rule."""
    meta = {"regle": rule.code}
    col, p = rule.column, rule.params
    kind = rule.kind
    if kind == "required":
        return gxe.ExpectColumnValuesToNotBeNull(column=col, meta=meta)
    if kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(p["values"]), meta=meta)
    if kind == "pattern":
        return gxe.ExpectColumnValuesToMatchRegex(column=col, regex=p["pattern"], meta=meta)
    if kind == "not_pattern":
        return gxe.ExpectColumnValuesToNotMatchRegexList(column=col, regex_list=list(p["patterns"]), meta=meta)
    if kind == "range":
        return gxe.ExpectColumnValuesToBeBetween(column=col, min_value=_bound(p.get("min")),
                                                 max_value=_bound(p.get("max")), meta=meta)
    if kind == "age_range":
        return gxe.ExpectColumnValuesToBeBetween(column="_age_entree", min_value=p.get("min"),
                                                 max_value=p.get("max"), meta=meta)
    if kind == "unique":
        return gxe.ExpectColumnValuesToBeUnique(column=col, meta=meta)
    if kind == "compare":
        op, other = p["op"], other_column(rule)
        # GX states "A > B" (or >=): put the larger side first.
        a, b = (other, col) if op in ("<", "<=") else (col, other)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=op in ("<=", ">="),
            ignore_row_if="either_value_is_missing", meta=meta)
    if kind == "pair_in_set":
        pairs = [(v, t) for v, types in p["pairs"].items() for t in types]
        return gxe.ExpectColumnPairValuesToBeInSet(
            column_A=p["other"], column_B=col, value_pairs_set=pairs,
            ignore_row_if="either_value_is_missing", meta=meta)
    raise ValueError(f"règle {rule.code} : nature {kind} sans expectation GX")


def _bound(value):
    if isinstance(value, str):  # a date bound, compared with datetime64 columns
        import pandas as pd

        return pd.Timestamp(value)
    return value


def run_suite(table: str, frame: pl.DataFrame, rules: list[Rule]) -> dict[str, list[int]]:
    """Run the rules on `frame`; return, per rule code, the lines of the failing rows."""
    if not rules:
        return {}
    gx, gxe = _gx()
    context = _get_context()
    n = next(_counter)
    source = context.data_sources.get("soumissions")
    asset = source.add_dataframe_asset(f"{table}_{n}")
    batch = asset.add_batch_definition_whole_dataframe("tout")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{table}_{n}"))
    for rule in rules:
        suite.add_expectation(expectation(rule, gxe))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name=f"{table}_{n}"))
    try:
        frame_pd = frame.to_pandas()
        result = validation.run(
            batch_parameters={"dataframe": frame_pd},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [LINE]})
    finally:
        context.validation_definitions.delete(validation.name)
        context.suites.delete(suite.name)
        source.delete_asset(asset.name)
    failures: dict[str, list[int]] = {}
    for r in result.results:
        code = r.expectation_config.meta["regle"]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"GX : la règle {code} n'a pas pu être évaluée : "
                               f"{r.exception_info.get('exception_message')}")
        if r.success:
            continue
        index = r.result.get("unexpected_index_list") or []
        failures[code] = [int(row[LINE]) for row in index]
    return failures

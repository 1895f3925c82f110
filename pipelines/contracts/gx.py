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

from pipelines.contracts.model import Rule
from pipelines.contracts.reader import LINE

DEPOT = "_depot"  # which submission of a batch a row comes from
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
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # No tqdm bars: reports and logs are read by people, not terminals.
        _context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        _context.data_sources.add_pandas("soumissions")
    return _context


def other_column(rule: Rule) -> str:
    """Name of the frame column holding the comparison operand of a `compare` rule."""
    other = rule.params["other"]
    return other if "." not in other else "_ref_" + other.replace(".", "_")


PAIR_SEPARATOR = "\x1f"  # never in a code: codes match [A-Z0-9_]


def pair_column(rule: Rule) -> str:
    """Name of the frame column joining the two operands of a `pair_in_set` rule."""
    return f"_paire_{rule.params['other']}_{rule.column}"


def pair_value(first: str, second: str) -> str:
    return f"{first}{PAIR_SEPARATOR}{second}"


def with_pair_columns(frame: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """Add the joined columns the `pair_in_set` rules are checked on."""
    joined = [pl.concat_str([pl.col(r.params["other"]), pl.col(r.column)], separator=PAIR_SEPARATOR)
              .alias(pair_column(r)) for r in rules if r.kind == "pair_in_set"]
    return frame.with_columns(joined) if joined else frame


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
        # Unique within each submission of the batch.
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=[DEPOT, col], ignore_row_if="any_value_is_missing",
                                                   meta=meta)
    if kind == "compare":
        op, other = p["op"], other_column(rule)
        # GX states "A > B" (or >=): put the larger side first.
        a, b = (other, col) if op in ("<", "<=") else (col, other)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=op in ("<=", ">="),
            ignore_row_if="either_value_is_missing", meta=meta)
    if kind == "pair_in_set":
        # GX's pandas ExpectColumnPairValuesToBeInSet walks rows one by one (iterrows: about
        # 6 minutes for a million actions). The same rule on a joined column is vectorised; the
        # joined value is null when either side is, which skips the row as
        # ignore_row_if="either_value_is_missing" would.
        pairs = [pair_value(v, t) for v, types in p["pairs"].items() for t in types]
        return gxe.ExpectColumnValuesToBeInSet(column=pair_column(rule), value_set=pairs, meta=meta)
    raise ValueError(f"règle {rule.code} : nature {kind} sans expectation GX")


def _bound(value):
    if isinstance(value, str):  # a date bound, compared with datetime64 columns
        import pandas as pd

        return pd.Timestamp(value)
    return value


_validations: dict[tuple, Any] = {}


def _validation(table: str, rules: list[Rule]):
    """The validation definition for these rules, built once per process and reused.

    A suite depends only on the contract, never on the data.
    """
    key = (table, tuple(r.code for r in rules))
    validation = _validations.get(key)
    if validation is None:
        gx, gxe = _gx()
        context = _get_context()
        name = f"{table}_{next(_counter)}"
        source = context.data_sources.get("soumissions")
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("tout")
        # All expectations at once: adding them one by one re-serialises the suite into the
        # store each time (seconds for the hundred-odd rules of the contracts).
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=[expectation(r, gxe) for r in rules]))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(data=batch, suite=suite, name=name))
        _validations[key] = validation
    return validation


def prepare(table: str, rules: list[Rule]) -> None:
    """Build (once per process) the validation these rules will run with."""
    _validation(table, rules)


def run_suite(table: str, frame: pl.DataFrame, rules: list[Rule]) -> dict[str, list[tuple[int, int]]]:
    """Run the rules on `frame`; return, per rule code, the (submission, line) of failing rows.

    Two passes: every rule with GX's cheapest result format (did it pass?), then only the
    failing rules with the failing rows' keys. Listing failing rows is what costs in GX (it
    builds them for every expectation, passed or not), and most rules pass.
    """
    if not rules:
        return {}
    data = with_pair_columns(frame, rules).to_pandas()
    verdicts = _run(_validation(table, rules), data, {"result_format": "BOOLEAN_ONLY"})
    failing = [r for r in rules if not verdicts[r.code].success]
    if not failing:
        return {}
    detailed = _run(_validation(table, failing), data, {"result_format": "COMPLETE"})
    keys = frame.select(DEPOT, LINE)
    failures: dict[str, list[tuple[int, int]]] = {}
    for code, r in detailed.items():
        if r.success:
            continue
        # Row positions in the frame (its pandas index is 0..n-1), mapped back to (submission, line).
        positions = pl.Series(r.result.get("unexpected_index_list") or [], dtype=pl.Int64)
        failures[code] = list(keys[positions].iter_rows())
    return failures


def _run(validation, data, result_format: dict) -> dict[str, Any]:
    """Results keyed by rule code; a rule GX could not evaluate is an internal error, never a pass.

    Only row positions are read from a result (`unexpected_index_list`), never GX's summaries of values
    (`partial_unexpected_list`…); an error names the rule and GX's exception type, not its message,
    which may quote cells of the file."""
    results = {}
    for r in validation.run(batch_parameters={"dataframe": data}, result_format=result_format).results:
        code = r.expectation_config.meta["regle"]
        if r.exception_info and r.exception_info.get("raised_exception"):
            kind = str(r.exception_info.get("exception_traceback") or "").strip().rsplit("\n", 1)[-1]
            kind = kind.split(":", 1)[0].strip() or "erreur"
            raise RuntimeError(f"GX : la règle {code} n'a pas pu être évaluée ({kind[:80]}).")
        results[code] = r
    return results

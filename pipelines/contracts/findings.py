"""Findings of a submission's checks, grouped per rule (count + first examples)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.common import formats
from pipelines.contracts.model import BLOQUANT, Rule

MAX_EXAMPLES = 10  # examples kept per rule for the human report
MAX_LINES = 1000  # line numbers kept per rule for the machine-readable report

MASKED = "valeur masquée"

# Values that may identify a person are never echoed back in a report.
_PERSONAL = [
    re.compile(r"@"),
    re.compile(r"^(\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}$"),
    re.compile(r"^[12][0-9]{12}([0-9]{2})?$"),
    re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]+([ '-][A-ZÀ-Ýa-zà-ÿ][a-zà-ÿ]+)*$"),  # Capitalised word(s): a name?
]


def looks_personal(value: str) -> bool:
    return any(p.search(value) for p in _PERSONAL)


def shown_value(value: Any, *, identifier: bool = False) -> str:
    """How a cell value may appear in a report: masked if it could identify a child."""
    if value is None:
        return "vide"
    if hasattr(value, "isoformat"):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return formats.number(value, 2).removesuffix(",00")
    text = str(value)
    if identifier or looks_personal(text):
        return MASKED
    if len(text) > 40:
        text = text[:37] + "…"
    return formats.neutralise(text)


@dataclass(frozen=True)
class Finding:
    """One occurrence: where (table, line, column), which rule, and what to fix."""

    table: str | None
    line: int | None
    column: str | None
    rule: str
    severity: str
    message: str


@dataclass
class RuleFindings:
    rule: Rule
    table: str | None
    column: str | None
    count: int = 0
    examples: list[tuple[int | None, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return self.rule.severity


class Findings:
    """Accumulates findings per (rule, table, column), keeping exact counts."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str | None, str | None], RuleFindings] = {}

    def _group(self, rule: Rule, table: str | None, column: str | None) -> RuleFindings:
        key = (rule.code, table, column)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = RuleFindings(rule, table, column)
        return group

    def add(self, rule: Rule, *, table: str | None, line: int | None = None,
            column: str | None = None, **values: Any) -> None:
        """One occurrence; `table` is None for what concerns the whole file."""
        self.add_many(rule, table=table, column=column, lines=[line], values=[values])

    def add_many(self, rule: Rule, *, table: str | None, column: str | None,
                 lines: Sequence[int | None], values: Sequence[dict[str, Any]] | None = None,
                 count: int | None = None) -> None:
        """Record occurrences at `lines` (sorted or not); `values` fill the message, per line."""
        if not lines and not count:
            return
        group = self._group(rule, table, column)
        group.count += count if count is not None else len(lines)
        room = MAX_LINES - len(group.lines)
        if room > 0:
            group.lines.extend(int(x) for x in list(lines)[:room] if x is not None)
        room = MAX_EXAMPLES - len(group.examples)
        for i, line in enumerate(list(lines)[:room]):
            fill = (values[i] if values else {}) or {}
            group.examples.append((None if line is None else int(line), render(rule, fill)))

    def to_list(self) -> list[dict]:
        """Plain data (for staging between pipeline steps and for JSON reports)."""
        return [{"regle": g.rule.code, "table": g.table, "colonne": g.column, "nombre": g.count,
                 "lignes": g.lines, "exemples": [list(e) for e in g.examples]} for g in self.groups()]

    @classmethod
    def from_list(cls, items: list[dict], rules: dict[str, Rule]) -> Findings:
        found = cls()
        for item in items:
            group = found._group(rules[item["regle"]], item["table"], item["colonne"])
            group.count = item["nombre"]
            group.lines = list(item["lignes"])
            group.examples = [(e[0], e[1]) for e in item["exemples"]]
        return found

    def extend(self, other: Findings) -> None:
        for group in other.groups():
            mine = self._group(group.rule, group.table, group.column)
            mine.count += group.count
            mine.lines.extend(group.lines[: max(0, MAX_LINES - len(mine.lines))])
            mine.examples.extend(group.examples[: max(0, MAX_EXAMPLES - len(mine.examples))])

    def groups(self) -> list[RuleFindings]:
        def order(g: RuleFindings) -> tuple:
            return (g.severity != BLOQUANT, g.table or "", g.rule.code, g.column or "")
        for g in self._groups.values():
            g.examples.sort(key=lambda e: (e[0] is None, e[0] or 0))
            g.lines.sort()
        return sorted(self._groups.values(), key=order)

    def __iter__(self) -> Iterator[Finding]:
        """Each kept example as a Finding (all occurrences up to MAX_EXAMPLES per rule)."""
        for g in self.groups():
            for line, message in g.examples:
                yield Finding(g.table, line, g.column, g.rule.code, g.severity, message)

    def count(self, severity: str | None = None) -> int:
        return sum(g.count for g in self._groups.values()
                   if severity is None or g.severity == severity)

    @property
    def blocking(self) -> bool:
        return any(g.rule.blocking and g.count for g in self._groups.values())

    def rules(self) -> set[str]:
        return {code for code, _, _ in self._groups}

    def by_rule(self, code: str) -> Iterable[RuleFindings]:
        return [g for g in self._groups.values() if g.rule.code == code]


def render(rule: Rule, values: dict[str, Any]) -> str:
    """The rule's French message with its placeholders filled (missing ones left readable)."""
    fill = {"valeur": "", "autre": "", "detail": "", **{k: v for k, v in rule.params.items()
                                                         if isinstance(v, (int, float, str))}}
    fill.update({k: v for k, v in values.items() if v is not None})
    try:
        return rule.message.format(**fill)
    except (KeyError, IndexError, ValueError):
        return rule.message

"""Findings of a submission's checks, grouped per rule (count + first examples).

What a report may repeat of a file is decided here, once (`shown_value`, `shown_name`): a cell value
only when it is a short token of a safe character set that cannot be a person's name, e-mail, phone
number or NIR; a name (ZIP member, sheet, column header) only when it is short and free of path
separators, control and bidirectional characters. Every value that fills a message goes through
`render`, which applies the rule to anything not already made safe: forgetting to do so hides a value,
it never echoes one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipelines.common import formats
from pipelines.contracts.model import BLOQUANT, Rule

MAX_EXAMPLES = 10  # examples kept per rule for the human report
MAX_LINES = 1000  # line numbers kept per rule for the machine-readable report

NOT_SHOWN = "valeur non reproduite"
VARIANT = "variant"  # key of a finding's values that picks one of the rule's message variants
NAME_UNREADABLE = "nom illisible"
NAME_NOT_SHOWN = "nom non reproduit"
MAX_NAME = 60  # characters of a name (member, sheet, header) a report may repeat

# The only cell values a report repeats: short tokens of upper-case letters, digits and a few
# separators (codes, dates, numbers), judged on the value as written in the file.
_SAFE_VALUE = re.compile(r"[A-Z0-9_.,/-]{1,20}")
# Letters with the separators of a name (no digit, no underscore): a surname written in capitals
# ("DURAND", "J.DUPONT", "LE-GALL") looks like this, so it is not repeated. One letter is not a name.
_NAME_LIKE = re.compile(r"[A-Z]+([.' -][A-Z]+)*\.?")

# Values that surely identify a person: e-mail address, French phone number, NIR (with or without its key),
# INE (national pupil number). One home: the warehouse's checks search its text columns for the same.
STRONG_PERSONAL_PATTERNS = (
    r"@",
    r"^(\+33|0033|0)[1-9]([ ./-]?[0-9]{2}){4}$",
    r"^[12][0-9]{12}([0-9]{2})?$",
    r"^[0-9]{9,10}[A-Z]{1,2}$",
)
# Values that may identify a person are never echoed back in a report: those, and capitalised word(s).
_PERSONAL = [re.compile(p) for p in STRONG_PERSONAL_PATTERNS] + [
    re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]+([ '-][A-ZÀ-Ýa-zà-ÿ][a-zà-ÿ]+)*$"),  # Capitalised word(s): a name?
]
# Phone numbers and NIR as names (headers, sheets) may carry them: digits with spaces or dots.
_PERSONAL_NAME = [re.compile(r"@"), re.compile(r"(\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}"),
                  re.compile(r"(?<![0-9])[12][0-9]{12}([0-9]{2})?(?![0-9])")]
# Characters a name may hold: letters, marks, digits, punctuation, symbols and plain spaces. Not
# control or format characters (bidirectional overrides such as U+202E, zero-width joiners), line or
# paragraph separators, private-use or unassigned code points, nor a path separator.
_NAME_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd",
                              "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs"})


class Shown(str):
    """A text already judged safe to appear in a report (platform text, or a value let through)."""


def looks_personal(value: str) -> bool:
    return any(p.search(value) for p in _PERSONAL)


def quotable(text: str) -> bool:
    """Whether a cell value, as written in the file, may be repeated in a report."""
    return bool(_SAFE_VALUE.fullmatch(text)) and not (len(text) > 1 and _NAME_LIKE.fullmatch(text)) \
        and not looks_personal(text)


def shown_value(value: Any, *, identifier: bool = False, codes: Collection[str] | None = None) -> Shown:
    """How a cell value may appear in a report.

    Values typed by the platform (dates, numbers) are shown in French; a value of the column's own
    code list (`codes`) is shown as is; any other text only if `quotable`, else « valeur non
    reproduite ». Identifiers are never shown.
    """
    if isinstance(value, Shown):
        return value
    if value is None:
        return Shown("vide")
    if isinstance(value, bool):
        return Shown(NOT_SHOWN)
    if isinstance(value, date):
        return Shown(value.strftime("%d/%m/%Y"))
    if isinstance(value, int):
        return Shown(str(value))
    if isinstance(value, float):
        return Shown(formats.number(value, 2).removesuffix(",00"))
    text = str(value)
    if identifier:
        return Shown(NOT_SHOWN)
    if codes is not None and text in codes:
        return Shown(text)
    if not quotable(text):
        return Shown(NOT_SHOWN)
    return Shown(formats.neutralise(text))


def shown_name(name: Any) -> Shown:
    """How a name read in a file (ZIP member, sheet, column header, manifest key) may appear in a report.

    At most `MAX_NAME` characters, none of them a path separator, a control or bidirectional
    character: else « nom illisible ». A name that looks like an e-mail, a phone number or a NIR:
    « nom non reproduit ».
    """
    if isinstance(name, Shown):
        return name
    text = "" if name is None else str(name).strip()
    if not text or len(text) > MAX_NAME or "/" in text or "\\" in text \
            or any(unicodedata.category(ch) not in _NAME_CATEGORIES for ch in text):
        return Shown(NAME_UNREADABLE)
    if any(p.search(text) for p in _PERSONAL_NAME):
        return Shown(NAME_NOT_SHOWN)
    return Shown(formats.neutralise(text))


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

    def add_per_file(self, rule: Rule, *, table: str | None, column: str | None, lines: Sequence[int],
                     count: int, values: dict[str, Any]) -> None:
        """`count` occurrences said in one message (`Rule.per_file`): it names how many lines and which
        (`lignes`), it is the rule's variant `one` for a single line; `lines`, the first of them, are kept
        for the machine-readable report. The count stays the number of occurrences (exchange format §5)."""
        listed = line_list(lines, count if count > len(lines) else None)
        self.add_many(rule, table=table, column=column, lines=[None], count=count,
                      values=[{**values, "lignes": listed, VARIANT: "one" if count == 1 else None}])
        group = self._group(rule, table, column)
        group.lines.extend(int(x) for x in list(lines)[:max(0, MAX_LINES - len(group.lines))])

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


MIN_RANGE = 4  # consecutive lines written as a range (« 6–10 »); shorter runs are listed one by one
MAX_LISTED = 100  # items (lines or ranges) a report lists for one rule; the rest is counted


def line_list(lines: Iterable[int], total: int | None = None, *, limit: int = MAX_LISTED) -> str:
    """Line numbers as a coordinator reads them: « ligne 5 », « lignes 14 et 87 »,
    « lignes 2, 3, 4, 6–10 et 12–15 ».

    Runs of `MIN_RANGE` consecutive lines or more are ranges. At most `limit` items are listed;
    the lines left out (beyond `limit`, or beyond `lines` when `total`, the number of lines in all,
    is larger) are counted: « lignes 2, 4, 6 et 1 234 autres lignes ». Line numbers are written as
    a spreadsheet shows them (« ligne 1234 »), counts in French (« 1 234 »)."""
    distinct = sorted(set(lines))
    runs: list[list[int]] = []
    for line in distinct:
        if runs and line == runs[-1][-1] + 1:
            runs[-1].append(line)
        else:
            runs.append([line])
    items: list[tuple[str, int]] = []  # (text, lines it covers)
    for run in runs:
        if len(run) >= MIN_RANGE:
            items.append((f"{run[0]}–{run[-1]}", len(run)))
        else:
            items += [(str(line), 1) for line in run]
    shown = items[:limit]
    covered = sum(n for _, n in shown)
    rest = max(len(distinct), total or 0) - covered
    if not shown:
        return formats.plural(rest, "ligne") if rest else ""
    texts = [text for text, _ in shown]
    if rest > 0:
        texts.append(formats.plural(rest, "autre ligne", "autres lignes"))
    word = "lignes" if covered + max(rest, 0) > 1 else "ligne"
    if len(texts) == 1:
        return f"{word} {texts[0]}"
    return f"{word} {', '.join(texts[:-1])} et {texts[-1]}"


def render(rule: Rule, values: dict[str, Any]) -> str:
    """The rule's French message with its placeholders filled (missing ones left readable).

    `valeur` and `autre` come from the file: whatever was not made safe by the caller goes through
    `shown_value` here. `detail` is the platform's own French text, `lignes` the lines a finding
    names (`line_list`). `VARIANT` names the rule's message for a particular case (`Rule.variant`).
    """
    message = rule.variant(values.get(VARIANT))
    fill = {"valeur": "", "autre": "", "detail": "", "lignes": "lignes signalées",
            **{k: v for k, v in rule.params.items() if isinstance(v, (int, float, str))}}
    fill.update({k: (shown_value(v) if k in ("valeur", "autre") else v)
                 for k, v in values.items() if v is not None and k != VARIANT})
    try:
        return message.format(**fill)
    except (KeyError, IndexError, ValueError):
        return message

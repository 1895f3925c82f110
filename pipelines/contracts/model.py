"""Load the ODCS data contracts into a compact model the reader and the validator compile from.

The contracts in `data_contracts/` (installed as `pipelines.contracts.odcs`) are the single
source of truth: columns, types, code lists with their French labels, and every rule with its
stable code, severity and French message. This module only parses them (with the ODCS pydantic
model) and checks that each rule is of a kind the platform knows.

A code list lives once, in its column's `libelles` (code → French label, in display order); the
column's `in_set` rule takes its values from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard, SchemaProperty

from pipelines.common import yamlfile

CONTRACTS_DIR = Path(str(files("pipelines.contracts.odcs")))

BLOQUANT = "bloquant"
AVERTISSEMENT = "avertissement"
SEVERITIES = (BLOQUANT, AVERTISSEMENT)

# The exchanged tables, in the order a submission lists them.
TABLES = ("manifeste", "parcours", "actions", "bilans", "attentes")
# The tables of a site's records (all but the manifest): what the warehouse keeps per site.
DATA_TABLES = TABLES[1:]
ENVELOPE = "depot"

# Closed set of rule kinds. GX kinds compile to Great Expectations expectations; the others run
# as project checks (polars). A rule of an unknown kind makes loading fail.
GX_KINDS = frozenset({
    "required", "in_set", "pattern", "not_pattern", "range", "unique", "compare",
    "pair_in_set", "age_range",
})
PROJECT_KINDS = frozenset({
    # column and row level
    "type", "known_site", "present_iff", "exclusive", "foreign_key",
    "parent_value_required", "unique_per_key", "consistent_per_key", "no_overlap",
    # table level
    "non_empty", "volume_vs_in_force", "unknown_key", "duplicate_key",
    # the submission against its receipt (manifest)
    "not_after_receipt",
    # envelope (file, tables, columns), run by the reader
    "file_readable", "table_present", "table_once", "no_extra_table", "no_extra_column",
    "no_personal_column", "required_column", "optional_column", "column_once", "row_shape",
    "leading_zero_repair", "integer_text_repair", "empty_sheet",
})
KINDS = GX_KINDS | PROJECT_KINDS

LOGICAL_TYPES = ("string", "integer", "number", "date")


class ContractError(ValueError):
    """A contract file is malformed or uses something the platform does not support."""


@dataclass(frozen=True)
class Rule:
    code: str
    table: str
    column: str | None
    kind: str
    severity: str
    engine: str
    title: str
    message: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def blocking(self) -> bool:
        return self.severity == BLOQUANT

    def has_variant(self, name: str) -> bool:
        return name in self.params.get("variants", {})

    def variant(self, name: str | None) -> str:
        """The rule's message, or its variant `name` for a particular case (`implementation.variants`:
        same rule, same code, a message that says what is really wrong, e.g. a date that does not exist)."""
        return self.message if name is None else self.params["variants"][name]

    @property
    def per_file(self) -> bool:
        """Said once per file, with its count and lines, as information: there is nothing to correct
        (`implementation.per_file`; its message is plural, its variant `one` singular)."""
        return bool(self.params.get("per_file"))


@dataclass(frozen=True)
class Column:
    name: str
    logical_type: str
    required: bool
    description: str
    instruction: str
    nature: str  # identifiant | code | texte | entier | decimal | date
    example: Any = None
    rules: tuple[Rule, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # code list → French label

    @property
    def codes(self) -> list[str] | None:
        """The code list of the column, when one of its rules declares it."""
        for rule in self.rules:
            if rule.kind == "in_set":
                return list(rule.params["values"])
        return None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    order: int
    columns: tuple[Column, ...]
    table_rules: tuple[Rule, ...]
    key_value: bool = False  # manifeste: two columns cle,valeur pivoted to one row

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def rules(self) -> list[Rule]:
        out = [r for c in self.columns for r in c.rules]
        return out + list(self.table_rules)


def _custom(props: list | None, key: str, default: Any = None) -> Any:
    for p in props or []:
        if p.property == key:
            return p.value
    return default


def _rules(table: str, column: str | None, quality: list | None, path: Path) -> tuple[Rule, ...]:
    rules = []
    for q in quality or []:
        impl = q.implementation
        if not isinstance(impl, dict) or "kind" not in impl:
            raise ContractError(f"{path.name}: règle {q.id!r} sans implementation.kind")
        kind = impl["kind"]
        if kind not in KINDS:
            raise ContractError(f"{path.name}: règle {q.id!r} de nature inconnue {kind!r}")
        if q.severity not in SEVERITIES:
            raise ContractError(f"{path.name}: règle {q.id!r} de gravité inconnue {q.severity!r}")
        expected_engine = "great-expectations" if kind in GX_KINDS else "pre-eval"
        if q.engine != expected_engine:
            raise ContractError(f"{path.name}: règle {q.id!r} : moteur {q.engine!r}, attendu {expected_engine!r}")
        if not q.id or not q.description:
            raise ContractError(f"{path.name}: règle sans code ou sans message")
        params = {k: v for k, v in impl.items() if k != "kind"}
        variants = params.get("variants", {})
        if not isinstance(variants, dict) or not all(isinstance(v, str) and v for v in variants.values()):
            raise ContractError(f"{path.name}: règle {q.id!r} : « variants » associe un nom à un message")
        if params.get("per_file") and (q.severity != AVERTISSEMENT or "one" not in variants):
            raise ContractError(f"{path.name}: règle {q.id!r} : « per_file » veut un avertissement et une variante "
                                "« one » (le message d'une seule ligne)")
        rule_column = params.pop("column", column)
        rules.append(Rule(q.id, table, rule_column, kind, q.severity, q.engine, q.name or q.id,
                          q.description, params))
    return tuple(rules)


def _column(table: str, prop: SchemaProperty, path: Path) -> Column:
    if prop.logicalType not in LOGICAL_TYPES:
        raise ContractError(f"{path.name}: colonne {prop.name!r} de type {prop.logicalType!r}")
    labels = {str(code): str(label) for code, label in (_custom(prop.customProperties, "libelles") or {}).items()}
    rules = _rules(table, prop.name, prop.quality, path)
    for rule in rules:
        if rule.kind != "in_set":
            continue
        if labels and "values" in rule.params:
            raise ContractError(f"{path.name}: règle {rule.code!r} : la liste de codes est déjà dans « libelles »")
        if labels:
            rule.params["values"] = list(labels)
        elif "values" not in rule.params:
            raise ContractError(f"{path.name}: règle {rule.code!r} sans liste de valeurs ni « libelles »")
    return Column(
        name=prop.name,
        logical_type=prop.logicalType,
        required=bool(prop.required),
        description=prop.description or "",
        instruction=_custom(prop.customProperties, "consigne", ""),
        nature=_custom(prop.customProperties, "nature", "texte"),
        example=(prop.examples or [None])[0],
        rules=rules,
        labels=labels,
    )


def load_table(path: Path) -> Table:
    # Parsed with libyaml, then validated by the ODCS model (its own from_file uses the slow parser).
    contract = OpenDataContractStandard(**yamlfile.load(path))
    if not contract.schema_ or len(contract.schema_) != 1:
        raise ContractError(f"{path.name}: un contrat décrit exactement une table")
    obj = contract.schema_[0]
    columns = tuple(_column(obj.name, p, path) for p in obj.properties or [])
    return Table(
        name=obj.name,
        description=obj.description or "",
        order=int(_custom(contract.customProperties, "ordre", 99)),
        columns=columns,
        table_rules=_rules(obj.name, None, obj.quality, path),
        key_value=_custom(obj.customProperties, "forme") == "cle_valeur",
    )


@dataclass(frozen=True)
class Contracts:
    tables: dict[str, Table]
    envelope: Table

    def rule(self, code: str) -> Rule:
        return self.rules_by_code[code]

    @property
    def rules_by_code(self) -> dict[str, Rule]:
        return {r.code: r for t in [*self.tables.values(), self.envelope] for r in t.rules}

    def envelope_rule(self, kind: str) -> Rule:
        for r in self.envelope.table_rules:
            if r.kind == kind:
                return r
        raise KeyError(kind)

    def all_rules(self) -> list[Rule]:
        return [r for t in [*self.tables.values(), self.envelope] for r in t.rules]

    def code_list(self, name: str) -> dict[str, str]:
        """The codes of column `table.column` with their French labels, in display order."""
        table, _, column = name.partition(".")
        labels = self.tables[table].column(column).labels
        if not labels:
            raise KeyError(f"{name} n'a pas de liste de codes")
        return dict(labels)


@cache
def load_contracts(directory: Path = CONTRACTS_DIR) -> Contracts:
    tables = {}
    for path in sorted(directory.glob("*.odcs.yaml")):
        table = load_table(path)
        tables[table.name] = table
    missing = [t for t in (*TABLES, ENVELOPE) if t not in tables]
    if missing:
        raise ContractError(f"contrats manquants : {', '.join(missing)}")
    envelope = tables.pop(ENVELOPE)
    codes = [r.code for t in [*tables.values(), envelope] for r in t.rules]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        raise ContractError(f"codes de règle en double : {', '.join(sorted(dupes))}")
    ordered = dict(sorted(tables.items(), key=lambda kv: kv[1].order))
    return Contracts(tables=ordered, envelope=envelope)

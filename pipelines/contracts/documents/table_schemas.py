"""The exchange format as Table Schemas (frictionless), generated from the data contracts.

Sites can check a file with tools they already know (`frictionless validate`, Open Data
validators) before sending it. A Table Schema describes the canonical form of each CSV member
(UTF-8, `,`, dates `AAAA-MM-JJ`, `.` as decimal mark): the platform itself tolerates more (see
the French documentation), and only its own check decides. What a schema can say comes from the
contracts: types, required columns, code lists, patterns, blocking bounds, unique keys and the
links between tables; the other rules (consistency between columns or rows) only the platform checks.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.contracts.model import BLOQUANT, Column, Contracts, Table, load_contracts

TYPES = {"string": "string", "integer": "integer", "number": "number", "date": "date"}


def schema_name(table: str) -> str:
    return f"{table}.schema.json"


def _field(column: Column) -> dict:
    field = {"name": column.name, "type": TYPES[column.logical_type], "title": column.description}
    if column.logical_type == "date":
        field["format"] = "%Y-%m-%d"
    constraints: dict = {}
    if column.required:
        constraints["required"] = True
    for rule in column.rules:
        if not rule.blocking:
            continue
        if rule.kind == "in_set":
            constraints["enum"] = list(rule.params["values"])
        elif rule.kind == "pattern":
            constraints["pattern"] = rule.params["pattern"].removeprefix("^").removesuffix("$")
        elif rule.kind == "range" and column.logical_type in ("integer", "number"):
            if rule.params.get("min") is not None:
                constraints["minimum"] = rule.params["min"]
            if rule.params.get("max") is not None:
                constraints["maximum"] = rule.params["max"]
        elif rule.kind == "unique":
            constraints["unique"] = True
    if column.labels:
        field["description"] = "; ".join(f"{code} : {label}" for code, label in column.labels.items())
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema(table: Table) -> dict:
    if table.key_value:
        fields = [{"name": "cle", "type": "string", "title": "Clé", "constraints": {
                      "required": True, "enum": table.column_names}},
                  {"name": "valeur", "type": "string", "title": "Valeur"}]
        return {"name": table.name, "title": table.description, "fields": fields, "missingValues": [""]}
    schema: dict = {"name": table.name, "title": table.description, "fields": [_field(c) for c in table.columns],
                    "missingValues": [""]}
    keys = [c.name for c in table.columns if any(r.kind == "unique" and r.severity == BLOQUANT for r in c.rules)]
    if keys:
        schema["primaryKey"] = keys
    links = [(r.column, r.params["references"]) for c in table.columns for r in c.rules
             if r.kind == "foreign_key" and r.blocking]
    if links:
        schema["foreignKeys"] = [{"fields": column, "reference": {"resource": ref.split(".")[0],
                                                                  "fields": ref.split(".")[1]}}
                                 for column, ref in links]
    return schema


def write_table_schemas(out_dir: Path, contracts: Contracts | None = None) -> list[Path]:
    contracts = contracts or load_contracts()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for table in contracts.tables.values():
        path = out_dir / schema_name(table.name)
        path.write_text(json.dumps(table_schema(table), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written

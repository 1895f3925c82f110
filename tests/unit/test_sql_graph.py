"""The SQL graph is read once from the SQL, and Dagster builds exactly what it says.

The references of each SQL file are found here by another route than the registry's: DuckDB's own
parser (`json_serialize_sql`) on the query of each statement, whose table nodes name what it reads.
"""

from __future__ import annotations

import json
import re

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs
from pipelines.defs.warehouse import SOURCE_ASSETS
from pipelines.warehouse import models
from pipelines.warehouse.catalogue import indicator_files
from pipelines.warehouse.store import ensure_schema

# A table or view, or a table macro (its body is the query): what follows is parsed.
_CREATE = re.compile(r"^\s*create\s+(or\s+replace\s+)?"
                     r"((table|view)\s+[a-z_.]+|macro\s+[a-z_.]+\([a-z_, ]*\)\s+as\s+table)\s+(as\s+)?",
                     re.IGNORECASE | re.DOTALL)


def _tables(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
            found.add(f"{node['schema_name']}.{node['table_name']}")
        # A model's table macro (intermediaire.km_courbes(observations)) is a reference to that model.
        if node.get("type") == "TABLE_FUNCTION" and node.get("function", {}).get("schema"):
            found.add(f"{node['function']['schema']}.{node['function']['function_name']}")
        for value in node.values():
            _tables(value, found)
    elif isinstance(node, list):
        for value in node:
            _tables(value, found)
    return found


def parsed_references(sql: str) -> set[str]:
    """Schema-qualified tables read by the queries of an SQL text, according to DuckDB's parser."""
    con = duckdb.connect()
    found: set[str] = set()
    code = "\n".join(line.partition("--")[0] for line in sql.splitlines())
    for statement in (s for s in code.split(";") if s.strip()):
        body = statement.strip()
        if body.lower().startswith("create schema"):
            continue
        query = _CREATE.sub("", body)
        tree = json.loads(con.execute("select json_serialize_sql(?)", [query]).fetchone()[0])
        assert not tree["error"], (tree, query[:200])
        _tables(tree, found)
    return found


SQL_MODELS = [m for m in models.registry().values() if m.files]


@pytest.mark.parametrize("model", SQL_MODELS, ids=lambda m: m.key)
def test_each_model_reads_what_its_sql_references(model):
    expected = set().union(*(parsed_references(models.sql_text(f)) for f in model.files)) - {model.key}
    assert model.reads == expected


@pytest.mark.parametrize("model", list(models.registry().values()), ids=lambda m: m.key)
def test_each_asset_depends_on_what_its_model_reads(model):
    key = dg.AssetKey([model.schema, model.name])
    asset = defs.get_assets_def(key)
    expected = {dg.AssetKey(r.split(".")) for r in model.reads if not r.startswith("ingestion.")}
    expected |= {a.key for r in model.reads if r.startswith("ingestion.") for a in SOURCE_ASSETS[r]}
    assert set(asset.asset_deps[key]) == expected
    assert defs.resolve_asset_graph().get(key).group_name == model.schema


def test_indicator_table_is_built_from_the_catalogue_files():
    indicators = models.registry()[models.INDICATORS]
    assert list(indicators.files) == indicator_files()
    assert models.CATEGORIES in indicators.reads  # category lists come from the contracts, not from SQL literals


def test_every_source_read_is_written_by_an_asset():
    assert models.sources() <= set(SOURCE_ASSETS)


def test_build_order_puts_each_model_after_what_it_reads():
    order = [m.key for m in models.build_order()]
    assert sorted(order) == sorted(models.registry())
    for model in models.build_order():
        for read in model.reads:
            if read in models.registry():
                assert order.index(read) < order.index(model.key), (read, model.key)


def test_build_order_of_one_target_holds_only_its_ancestors():
    order = [m.key for m in models.build_order(["marts.periodes"])]
    # marts.periodes <- intermediaire.periodes <- staging.parcours, staging.sites_en_vigueur (read by hand)
    assert set(order) == {"staging.parcours", "staging.sites_en_vigueur", "intermediaire.periodes", "marts.periodes"}
    assert order[-1] == "marts.periodes" and order[-2] == "intermediaire.periodes"


def test_build_creates_every_model_on_an_empty_warehouse():
    con = duckdb.connect()
    ensure_schema(con)
    models.build(con)
    for key in models.registry():
        schema, name = key.split(".")
        con.execute(f"select count(*) from {schema}.{name}").fetchone()
    con.close()


def test_a_reference_to_no_model_is_refused(monkeypatch):
    monkeypatch.setattr(models, "references", lambda sql: {"intermediaire.inexistante"})
    models.registry.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"intermediaire\.inexistante"):
            models.registry()
    finally:
        monkeypatch.undo()
        models.registry.cache_clear()

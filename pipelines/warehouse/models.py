"""The warehouse's SQL graph: every model, what it reads (from its own SQL), one build order.

A model is a table or view `<schema>.<name>`:
- built by `sql/<schema>/<name>.sql`, for the layers `staging` → `intermediaire` → `marts`;
- or built from package data: `referentiel.categories` (the catalogue's category sets, with
  their codes, labels and order), `referentiel.normes` (the referential of norms),
  `referentiel.actions_evaluees` (the evaluated action types and their related care services) and
  `marts.indicateurs` (the union of the indicator files the catalogue names, in `sql/indicateurs/`).

What a model reads is taken from the schema-qualified names its SQL references (comments
excluded), here and only here: the Dagster assets (`pipelines.defs.warehouse`), the tests and the
benchmarks all build from this registry, in the order it gives. Names of schema `ingestion` are
sources, written by ingestion rather than by a model.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import duckdb
import polars as pl

from pipelines.warehouse.catalogue import catalogue, catalogue_categories, evaluated_actions, indicator_files, norms

SQL_DIR = Path(str(files("pipelines.warehouse.sql")))
SQL_LAYERS = ("staging", "intermediaire", "marts")
SOURCE_SCHEMA = "ingestion"
CATEGORIES = "referentiel.categories"
NORMS = "referentiel.normes"
EVALUATED_ACTIONS = "referentiel.actions_evaluees"
INDICATORS = "marts.indicateurs"
Z = 1.959963984540054  # the normal 97.5 % quantile: every 95 % interval of marts.indicateurs

_REFERENCE = re.compile(r"\b(ingestion|referentiel|staging|intermediaire|marts)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Model:
    key: str  # "<schema>.<name>"
    description: str
    reads: frozenset[str]  # keys of the models and sources its SQL references
    files: tuple[str, ...] = ()  # relative to sql/

    @property
    def schema(self) -> str:
        return self.key.partition(".")[0]

    @property
    def name(self) -> str:
        return self.key.partition(".")[2]


def sql_text(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def references(sql: str) -> set[str]:
    """Schema-qualified names an SQL text references, comments excluded."""
    return {f"{schema}.{name}" for schema, name in _REFERENCE.findall(_COMMENT.sub("", sql))}


def _first_comment(sql: str) -> str:
    first = sql.lstrip().splitlines()[0]
    return first.removeprefix("--").strip() if first.startswith("--") else ""


@cache
def registry() -> dict[str, Model]:
    """Every model by key."""
    found: dict[str, Model] = {
        CATEGORIES: Model(CATEGORIES, "Ensembles de catégories des indicateurs (codes, libellés, ordre).", frozenset()),
        NORMS: Model(NORMS, "Référentiel des normes de service (valeurs modifiables par les analystes).", frozenset()),
        EVALUATED_ACTIONS: Model(EVALUATED_ACTIONS, "Types d'action évalués et structures de soin liées (référentiel "
                                 "modifiable par les analystes).", frozenset()),
    }
    for layer in SQL_LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            key = f"{layer}.{path.stem}"
            text = sql_text(f"{layer}/{path.name}")
            found[key] = Model(key, _first_comment(text), frozenset(references(text) - {key}),
                               (f"{layer}/{path.name}",))
    parts = indicator_files()
    found[INDICATORS] = Model(
        INDICATORS, "Indicateurs du catalogue pour chaque période, territoire et catégorie (valeurs non arrondies).",
        frozenset(set().union(*(references(sql_text(f)) for f in parts)) - {INDICATORS}), tuple(parts))
    unknown = {r for m in found.values() for r in m.reads
               if r not in found and not r.startswith(f"{SOURCE_SCHEMA}.")}
    if unknown:
        raise ValueError(f"références SQL sans modèle : {', '.join(sorted(unknown))}")
    return found


def sources() -> set[str]:
    """The tables of schema `ingestion` the models read."""
    return {r for m in registry().values() for r in m.reads if r.startswith(f"{SOURCE_SCHEMA}.")}


def build_order(targets: Iterable[str] | None = None) -> list[Model]:
    """The models to build for `targets` (default: all), each after everything it reads."""
    models = registry()
    wanted = set(models) if targets is None else set()
    stack = list(targets or [])
    while stack:
        key = stack.pop()
        if key not in wanted:
            wanted.add(key)
            stack += [r for r in models[key].reads if r in models]
    graph = {key: sorted(r for r in models[key].reads if r in models) for key in sorted(wanted)}
    return [models[key] for key in graphlib.TopologicalSorter(graph).static_order()]


def run(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """Build one model in the warehouse."""
    if model.key == CATEGORIES:
        _write_categories(con)
    elif model.key == NORMS:
        _write_norms(con)
    elif model.key == EVALUATED_ACTIONS:
        _write_evaluated_actions(con)
    elif model.key == INDICATORS:
        _build_indicator_table(con, model)
    else:
        for relative in model.files:
            con.execute(sql_text(relative))


def build(con: duckdb.DuckDBPyConnection, targets: Iterable[str] | None = None) -> None:
    """Build `targets` (default: every model) and what they read, from the sources in `ingestion`."""
    for model in build_order(targets):
        run(con, model)


def _write_categories(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(liste, code, libelle, ordre) for liste, labels in catalogue_categories().items()
            for ordre, (code, libelle) in enumerate(labels.items(), start=1)]
    schema = {"liste": pl.String, "categorie": pl.String, "libelle": pl.String, "ordre": pl.Int32}
    frame = pl.DataFrame(rows, schema=schema, orient="row")  # noqa: F841 - read by DuckDB by name
    con.execute("create or replace table referentiel.categories as select * from frame")


def _write_norms(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(name, float(n["valeur"]), n["unite"], n["libelle"]) for name, n in norms().items()]
    schema = {"norme": pl.String, "valeur": pl.Float64, "unite": pl.String, "libelle": pl.String}
    frame = pl.DataFrame(rows, schema=schema, orient="row")  # noqa: F841 - read by DuckDB by name
    con.execute("create or replace table referentiel.normes as select * from frame")


def _write_evaluated_actions(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(type_action, structure, ordre_type, ordre_structure)
            for ordre_type, (type_action, structures) in enumerate(evaluated_actions().items(), start=1)
            for ordre_structure, structure in enumerate(structures, start=1)]
    schema = {"type_action": pl.String, "structure": pl.String, "ordre_type": pl.Int32, "ordre_structure": pl.Int32}
    frame = pl.DataFrame(rows, schema=schema, orient="row")  # noqa: F841 - read by DuckDB by name
    con.execute("create or replace table referentiel.actions_evaluees as select * from frame")


def _build_indicator_table(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """`marts.indicateurs`: the union of the catalogue's files, restricted to catalogue codes, with the
    95 % interval of the indicators whose catalogue entry names one (indicators.md v2, "Uncertainty"):
    `wilson` is computed here from valeur and effectif; `kaplan_meier` comes from the indicator's SQL
    file (its `borne_basse` and `borne_haute` columns); every other indicator gets NULL bounds."""
    parts = [f"select * from ({sql_text(f)})" for f in model.files]
    codes = [i.code for i in catalogue()]
    wilson = [i.code for i in catalogue() if i.intervalle == "wilson"]
    from_sql = [i.code for i in catalogue() if i.intervalle == "kaplan_meier"]
    # By name: files without bounds get NULL ones.
    con.execute("create or replace temp table indicateurs_calcules as " + "\nunion all by name\n".join(parts))
    present = {row[0] for row in con.execute("describe indicateurs_calcules").fetchall()}
    for column in ("borne_basse", "borne_haute"):
        if column not in present:
            con.execute(f"alter table indicateurs_calcules add column {column} double")
    z = f"cast({Z!r} as double)"
    con.execute(f"""
        create or replace table marts.indicateurs as
        with lignes as (
            select
                cast(indicateur as varchar) as indicateur,
                cast(categorie as varchar) as categorie,
                cast(niveau as varchar) as niveau,
                cast(territoire as varchar) as territoire,
                cast(periode as varchar) as periode,
                cast(valeur as double) as valeur,
                cast(effectif as bigint) as effectif,
                cast(borne_basse as double) as borne_basse,
                cast(borne_haute as double) as borne_haute
            from indicateurs_calcules
            where indicateur in (select unnest($codes))
        ),

        -- Wilson score interval of a count k over n = effectif, k = valeur × effectif / 100 (a whole number).
        wilson as (
            select
                *,
                cast(round(valeur * effectif / 100.0) as double) / effectif as p,
                {z} * {z} / effectif as z2_n
            from lignes
            where indicateur in (select unnest($wilson)) and effectif > 0 and valeur is not null
        ),

        bornes_wilson as (
            select
                indicateur, categorie, niveau, territoire, periode,
                (p + z2_n / 2) / (1 + z2_n) as centre,
                {z} * sqrt(p * (1 - p) / effectif + z2_n / (4.0 * effectif)) / (1 + z2_n) as demi
            from wilson
        )

        select
            l.indicateur, l.categorie, l.niveau, l.territoire, l.periode, l.valeur, l.effectif,
            case
                when l.indicateur in (select unnest($wilson)) and w.centre is not null
                    then 100 * greatest(0.0, w.centre - w.demi)
                when l.indicateur in (select unnest($from_sql)) then l.borne_basse
            end as borne_basse,
            case
                when l.indicateur in (select unnest($wilson)) and w.centre is not null
                    then 100 * least(1.0, w.centre + w.demi)
                when l.indicateur in (select unnest($from_sql)) then l.borne_haute
            end as borne_haute
        from lignes as l
        left join bornes_wilson as w using (indicateur, categorie, niveau, territoire, periode)
        -- In the order the protection reads them (disclosure.ROW_KEY): period by period, so it needs no sort.
        order by l.periode, l.indicateur, l.niveau, l.territoire, l.categorie
    """, {"codes": codes, "wilson": wilson, "from_sql": from_sql})

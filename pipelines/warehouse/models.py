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
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts.model import DATA_TABLES
from pipelines.warehouse.catalogue import CATALOGUE as CATALOGUE_FILE
from pipelines.warehouse.catalogue import catalogue, catalogue_categories, evaluated_actions, indicator_files, norms

SQL_DIR = Path(str(files("pipelines.warehouse.sql")))
SQL_LAYERS = ("staging", "intermediaire", "marts")
SOURCE_SCHEMA = "ingestion"
CATEGORIES = "referentiel.categories"
NORMS = "referentiel.normes"
EVALUATED_ACTIONS = "referentiel.actions_evaluees"
INDICATORS = "marts.indicateurs"
Z = 1.959963984540054  # the normal 97.5 % quantile: every 95 % interval of marts.indicateurs
# The order of marts.indicateurs' rows: period by period, the key the protection reads them by.
INDICATOR_ORDER = ("periode", "indicateur", "niveau", "territoire", "categorie")

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


def run(con: duckdb.DuckDBPyConnection, model: Model, *, whole: bool = False) -> IndicatorBuild | None:
    """Build one model in the warehouse; for the indicator table, what was recomputed
    (`whole`: every territory, whatever changed)."""
    if model.key == CATEGORIES:
        _write_categories(con)
    elif model.key == NORMS:
        _write_norms(con)
    elif model.key == EVALUATED_ACTIONS:
        _write_evaluated_actions(con)
    elif model.key == INDICATORS:
        return _build_indicator_table(con, model, whole=whole)
    else:
        for relative in model.files:
            con.execute(sql_text(relative))
    return None


def build(con: duckdb.DuckDBPyConnection, targets: Iterable[str] | None = None, *, whole: bool = False) -> None:
    """Build `targets` (default: every model) and what they read, from the sources in `ingestion`
    (`whole`: the indicator table recomputed for every territory, as on a first build)."""
    for model in build_order(targets):
        run(con, model, whole=whole)


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


def _build_indicator_table(con: duckdb.DuckDBPyConnection, model: Model, *, whole: bool = False) -> IndicatorBuild:
    """`marts.indicateurs`: the union of the catalogue's files, restricted to catalogue codes, with the
    95 % interval of the indicators whose catalogue entry names one (indicators.md v2, "Uncertainty"):
    `wilson` is computed here from valeur and effectif; `kaplan_meier` comes from the indicator's SQL
    file (its `borne_basse` and `borne_haute` columns); every other indicator gets NULL bounds.

    A territory's rows depend only on its own sites' data and on what every territory shares (the
    periods, the referentials, the code): when only some sites changed since the last build, only the
    territories holding them (their PRE, département, région and the nation) are computed again, and
    the table is rewritten with the other territories' rows as they were (`_changed_territories`)."""
    shared = _shared_fingerprint(con, model)
    # A site's row in force and its file in force (a content hash: a new file always counts as a change,
    # whatever its rows' hashes add up to), and its rows.
    con.execute(f"""create or replace temp table empreintes_sites as
        select coalesce(d.code_pre, r.code_pre) as code_pre,
               hash(r, v.fichiers) as empreinte_site, d.empreinte_donnees
        from ({_DATA_FINGERPRINT}) as d
        full join staging.sites_en_vigueur as r using (code_pre)
        left join (select code_pre, string_agg(sha256, ',' order by sha256) as fichiers
                   from ingestion.depots where en_vigueur group by 1) as v
            on v.code_pre = coalesce(d.code_pre, r.code_pre)""")
    territories = con.execute("select count(*) from (select distinct niveau, territoire "
                              "from intermediaire.territoires_sites)").fetchall()[0][0]
    touched = None if whole else _changed_territories(con, shared)
    if touched is None:
        _compute_indicators(con, model, into="marts.indicateurs")
        recomputed = territories
    elif touched:
        # The territories holding a changed site, before or after the change.
        con.execute("create or replace temp table territoires_touches as "
                    "select distinct niveau, territoire from touches")
        for name in _TERRITORY_TABLES:
            con.execute(f"create or replace temp table {_restricted(name)} as select * from {name} "
                        "semi join territoires_touches using (niveau, territoire)")
        _compute_indicators(con, model, into="indicateurs_recalcules", restricted=True)
        con.execute(f"""
            create or replace table marts.indicateurs as
            select * from marts.indicateurs anti join territoires_touches using (niveau, territoire)
            union all
            select * from indicateurs_recalcules
            order by {_ROW_ORDER}""")
        recomputed = con.execute("select count(*) from territoires_touches").fetchall()[0][0]
    else:
        recomputed = 0
    _save_fingerprints(con, shared)
    return IndicatorBuild(whole=touched is None, territories_recomputed=recomputed, territories=territories)


def _compute_indicators(con: duckdb.DuckDBPyConnection, model: Model, *, into: str, restricted: bool = False) -> None:
    """The catalogue's indicators with their intervals into table `into` (a name of this module's), for
    every territory or (`restricted`) for those of the restricted territory tables only."""
    texts = [sql_text(f) for f in model.files]
    if restricted:
        texts = [_restrict(text) for text in texts]
    parts = [f"select * from ({text})" for text in texts]
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
    temp = "temp " if into != INDICATORS else ""
    con.execute(f"""
        create or replace {temp}table {into} as
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
        -- In the order the protection reads them (INDICATOR_ORDER): period by period, so it needs no sort.
        order by {_ROW_ORDER_L}
    """, {"codes": codes, "wilson": wilson, "from_sql": from_sql})


# --------------------------------------------------------------------------- the indicators, territory by territory

# The tables keyed by territory that the indicator files read: restricted to the changed territories.
_TERRITORY_TABLES = ("intermediaire.territoires_sites", "intermediaire.grille")
_ROW_ORDER = ", ".join(INDICATOR_ORDER)
_ROW_ORDER_L = ", ".join(f"l.{c}" for c in INDICATOR_ORDER)
# What the last build of the indicator table was computed from (not models: bookkeeping of this module).
SITE_FINGERPRINTS = "intermediaire.indicateurs_empreintes_sites"
SHARED_FINGERPRINT = "intermediaire.indicateurs_empreinte_commune"
TERRITORIES_BUILT = "intermediaire.indicateurs_territoires"
# Each site's rows of the four source tables, as a sum of row hashes (order-free; a duplicate row counts).
_PER_TABLE = " union all ".join(
    f"select code_pre, '{t}' as source, sum(hash(t)::hugeint) as h, count(*) as n from ingestion.{t} as t group by 1"
    for t in DATA_TABLES)
_DATA_FINGERPRINT = (f"select code_pre, hash(list((source, h, n) order by source)) as empreinte_donnees "
                     f"from ({_PER_TABLE}) group by 1")


@dataclass(frozen=True)
class IndicatorBuild:
    whole: bool  # every territory computed (first build, or something every territory shares changed)
    territories_recomputed: int
    territories: int


def _restricted(name: str) -> str:
    return "restreint_" + name.partition(".")[2]


def _restrict(sql: str) -> str:
    for name in _TERRITORY_TABLES:
        sql = re.sub(rf"\b{re.escape(name)}\b", _restricted(name), sql)
    return sql


def _shared_fingerprint(con: duckdb.DuckDBPyConnection, model: Model) -> str:
    """What every territory's rows depend on: this module and the SQL of every model the indicators
    read (the code), the catalogue, DuckDB's version (its hash function), the periods and the referentials."""
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(CATALOGUE_FILE.read_bytes())
    digest.update(duckdb.__version__.encode())
    for upstream in build_order([model.key]):
        for relative in upstream.files:
            digest.update(sql_text(relative).encode("utf-8"))
    for table in ("intermediaire.periodes", CATEGORIES, NORMS, EVALUATED_ACTIONS):
        # Fixed names of this module. Order-free: a sum of row hashes, and the count.
        content = con.execute(f"select sum(hash(t)::hugeint), count(*) from {table} as t").fetchall()
        digest.update(repr(content).encode())
    return digest.hexdigest()


def _changed_territories(con: duckdb.DuckDBPyConnection, shared: str) -> bool | None:
    """Fills temp table `touches` with the territories of the sites changed since the last build and
    says whether there are any; None when every territory must be computed (no previous build, or a
    change every territory shares, or an indicator table that is not the one last built)."""
    known = {row[0] for row in con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database()"
    ).fetchall()}
    if not {SITE_FINGERPRINTS, SHARED_FINGERPRINT, TERRITORIES_BUILT, INDICATORS} <= known:
        return None
    last = con.execute(f"select empreinte, lignes from {SHARED_FINGERPRINT}").fetchall()
    rows = con.execute(f"select count(*) from {INDICATORS}").fetchall()[0][0]
    if len(last) != 1 or last[0][0] != shared or last[0][1] != rows:
        return None
    con.execute(f"""
        create or replace temp table touches as
        with changes as (
            select coalesce(n.code_pre, o.code_pre) as code_pre
            from empreintes_sites as n
            full join {SITE_FINGERPRINTS} as o using (code_pre)
            where n.empreinte_site is distinct from o.empreinte_site
                or n.empreinte_donnees is distinct from o.empreinte_donnees
        )
        select niveau, territoire from {TERRITORIES_BUILT} where code_pre in (select code_pre from changes)
        union
        select niveau, territoire from intermediaire.territoires_sites where code_pre in (select code_pre from changes)
    """)
    return con.execute("select count(*) from touches").fetchall()[0][0] > 0


def _save_fingerprints(con: duckdb.DuckDBPyConnection, shared: str) -> None:
    """Written after the table: a build that stops between the two only makes the next one compute more."""
    rows = con.execute(f"select count(*) from {INDICATORS}").fetchall()[0][0]
    con.execute(f"create or replace table {SITE_FINGERPRINTS} as select * from empreintes_sites")
    con.execute(f"create or replace table {TERRITORIES_BUILT} as "
                "select code_pre, niveau, territoire from intermediaire.territoires_sites")
    con.execute(f"create or replace table {SHARED_FINGERPRINT} as select $shared as empreinte, $rows as lignes",
                {"shared": shared, "rows": rows})

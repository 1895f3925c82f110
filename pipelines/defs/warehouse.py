"""The warehouse's models as Dagster assets: one asset per model of the SQL graph, built in one step.

Keys, descriptions and dependencies all come from `pipelines.warehouse.models` (which reads them
from the SQL); this module only maps the ingestion tables the models read to the assets that
write them.
"""

from __future__ import annotations

import dagster as dg

from pipelines.common import timings
from pipelines.contracts.model import DATA_TABLES
from pipelines.defs.ingestion import depot, donnees_site
from pipelines.defs.metadata import contract_schema, live_schema
from pipelines.defs.referential import referentiel_sites
from pipelines.defs.resources import DataHomeResource
from pipelines.warehouse import models
from pipelines.warehouse.catalogue import catalogue
from pipelines.warehouse.store import connect

# Which assets write each ingestion table (the sources of the SQL graph).
SOURCE_ASSETS: dict[str, list[dg.AssetsDefinition]] = {
    "ingestion.sites": [referentiel_sites],
    "ingestion.depots": [depot, donnees_site],
    **{f"ingestion.{table}": [donnees_site] for table in DATA_TABLES},
}


def asset_key(model_key: str) -> dg.AssetKey:
    return dg.AssetKey(model_key.split("."))


def model_deps(model: models.Model) -> list[dg.AssetKey]:
    """The asset keys a model's asset depends on: the models and sources its SQL reads."""
    keys = {asset_key(r) for r in model.reads if r in models.registry()}
    keys |= {source.key for r in model.reads if r.startswith(f"{models.SOURCE_SCHEMA}.")
             for source in SOURCE_ASSETS[r]}
    return sorted(keys, key=lambda k: k.to_user_string())


def model_spec(model: models.Model) -> dg.AssetSpec:
    """The asset of one model: its key, group, description, what it reads and, where the SQL makes them plain,
    its columns: a mart of a site table is that table's columns one for one (schema from the contract, lineage
    to the loaded table); marts.indicateurs carries the catalogue's French definitions."""
    metadata: dict = {"sql": ", ".join(f"sql/{f}" for f in model.files) or "—"}
    description = model.description
    schema, _, name = model.key.partition(".")
    if schema == "marts" and name in DATA_TABLES:
        table = contract_schema(name)
        metadata["dagster/column_schema"] = table
        metadata["dagster/column_lineage"] = dg.TableColumnLineage(deps_by_column={
            c.name: [dg.TableColumnDep(asset_key=donnees_site.key, column_name=c.name)] for c in table.columns})
    if model.key == models.INDICATORS:
        rows = [f"| `{i.code}` | {i.libelle} | {i.definition} | {i.effectif} |" for i in catalogue()]
        metadata["catalogue"] = dg.MetadataValue.md("\n".join(
            ["| code | libellé | définition | effectif |", "| --- | --- | --- | --- |", *rows]))
        description = (f"{description}\n\nIndicateurs du catalogue (définitions complètes : docs/indicateurs.md) :\n"
                       + "\n".join(f"- {i.libelle} (`{i.code}`) : {i.definition}" for i in catalogue()))
    return dg.AssetSpec(asset_key(model.key), group_name=model.schema, kinds={"duckdb", "sql"},
                        deps=model_deps(model), description=description, metadata=metadata)


@dg.multi_asset(specs=[model_spec(m) for m in models.registry().values()], can_subset=True, name="modeles_sql")
def warehouse_models(context, data_home: DataHomeResource):
    """Every model of the SQL graph (or the selected ones), built in one step on one connection.

    One asset per model, as the UI shows them, but one step: a step per model cost one warehouse
    connection and about a dozen event-log writes each: 7,4 of the 8,6 s of a publication run that had
    nothing new to mask (3 sites, docs/performance.md)."""
    wanted = {".".join(key.path) for key in context.selected_asset_keys}
    with connect(data_home.home) as con, timings.measure("marts"):
        for model in models.build_order():
            if model.key not in wanted:
                continue
            built = models.run(con, model)
            # Schema and name come from the registry (file names of the package), never from input.
            count = con.execute(f"select count(*) from {model.key}").fetchone()[0]
            metadata = {"dagster/row_count": count, "dagster/column_schema": live_schema(con, model.key)}
            if isinstance(built, models.IndicatorBuild):
                # Only the territories of the sites changed since the last build are computed again.
                metadata["territoires_recalcules"] = built.territories_recomputed
                metadata["territoires"] = built.territories
            yield dg.MaterializeResult(asset_key=asset_key(model.key), metadata=metadata)


model_assets = [warehouse_models]

defs = dg.Definitions(assets=model_assets)

"""The site referential and the data contracts, as Dagster assets."""

import dagster as dg

from pipelines.contracts.model import load_contracts
from pipelines.contracts.referential import load_sites
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import DataHomeResource
from pipelines.warehouse.store import connect


@dg.asset(group_name="referentiel", kinds={"polars", "duckdb"})
def referentiel_sites(data_home: DataHomeResource) -> dg.MaterializeResult:
    """Sites PRE connus : référentiel livré et fichiers ajoutés dans le dossier de données."""
    home = data_home.home
    sites = load_sites(home)
    with connect(home) as con:
        con.begin()
        con.execute("delete from ingestion.sites")
        con.execute("insert into ingestion.sites by name select * from sites")
        con.commit()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sites.height,
        "apercu": dg.MetadataValue.md(markdown_table(sites.head(20))),
    })


@dg.asset(group_name="referentiel", kinds={"yaml"})
def contrats_de_donnees() -> dg.MaterializeResult:
    """Contrats ODCS du format d'échange : tables, colonnes et règles de contrôle."""
    contracts = load_contracts()
    rules = contracts.all_rules()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rules),
        "tables": len(contracts.tables),
        "regles": len(rules),
        "regles_bloquantes": sum(r.blocking for r in rules),
    })


defs = dg.Definitions(assets=[referentiel_sites, contrats_de_donnees])

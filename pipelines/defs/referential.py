"""The site referential and the data contracts, as Dagster assets."""

import dagster as dg

from pipelines.contracts import load_contracts
from pipelines.defs.metadata import markdown_table
from pipelines.paths import DataHome
from pipelines.referential import load_sites


@dg.asset(group_name="referentiel", kinds={"polars"})
def referentiel_sites() -> dg.MaterializeResult:
    """Sites PRE connus : référentiel livré et fichiers ajoutés dans le dossier de données."""
    sites = load_sites(DataHome.from_env())
    return dg.MaterializeResult(metadata={
        "row_count": sites.height,
        "preview": dg.MetadataValue.md(markdown_table(sites.head(20))),
    })


@dg.asset(group_name="referentiel", kinds={"yaml"})
def contrats_de_donnees() -> dg.MaterializeResult:
    """Contrats ODCS du format d'échange : tables, colonnes et règles de contrôle."""
    contracts = load_contracts()
    rules = contracts.all_rules()
    return dg.MaterializeResult(metadata={
        "tables": len(contracts.tables),
        "regles": len(rules),
        "regles_bloquantes": sum(r.blocking for r in rules),
    })


defs = dg.Definitions(assets=[referentiel_sites, contrats_de_donnees])

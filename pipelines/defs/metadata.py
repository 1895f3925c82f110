"""Small helpers for materialization metadata shown in the Dagster UI."""

import dagster as dg
import polars as pl

PREVIEW_ROWS = 30  # a run over hundreds of sites repeats its metadata on every partition's event


def markdown_table(frame: pl.DataFrame, limit: int = PREVIEW_ROWS) -> str:
    """A Markdown table of the first `limit` rows of a frame, for `MetadataValue.md` previews."""
    def cell(value) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.head(limit).iter_rows()]
    more = [f"\n… et {frame.height - limit} autres lignes (voir les rapports)"] if frame.height > limit else []
    return "\n".join([header, rule, *rows, *more])


# --------------------------------------------------------------------------- column schemas and lineage

# The columns of marts.indicateurs (indicators.md), and the site code every site table gains at loading.
_OWN_COLUMNS = {
    "code_pre": "code du site (PRE suivi de cinq caractères)",
    "indicateur": "code de l'indicateur (catalogue des indicateurs)",
    "categorie": "catégorie de la ventilation (vide quand l'indicateur n'en a pas)",
    "niveau": "niveau territorial : pre, departement, region, national",
    "territoire": "code du territoire à ce niveau",
    "periode": "période : année civile AAAA ou scolaire AAAA-AAAA",
    "valeur": "valeur non arrondie et non masquée (entrepôt des analystes)",
    "effectif": "effectif de base de la valeur",
    "borne_basse": "borne basse de l'intervalle de confiance à 95 % (Wilson, Kaplan-Meier), vide sinon",
    "borne_haute": "borne haute de l'intervalle de confiance à 95 %, vide sinon",
}


def column_descriptions() -> dict[str, str]:
    """French description of a column name: the contracts' for the exchange format's columns, ours otherwise."""
    from pipelines.contracts.model import load_contracts

    found: dict[str, str] = {}
    for table in load_contracts().tables.values():
        for column in table.columns:
            found.setdefault(column.name, column.description)
    return found | _OWN_COLUMNS


def contract_schema(table: str) -> dg.TableSchema:
    """The schema of a site table as the warehouse holds it: code_pre, then the contract's columns."""
    from pipelines.contracts.model import load_contracts

    columns = [dg.TableColumn("code_pre", "varchar", description=_OWN_COLUMNS["code_pre"])]
    columns += [dg.TableColumn(c.name, c.logical_type, description=c.description)
                for c in load_contracts().tables[table].columns]
    return dg.TableSchema(columns=columns)


def live_schema(con, key: str) -> dg.TableSchema:
    """The schema of a built model (`schema.name`, from the registry), its types read from DuckDB."""
    schema, _, name = key.partition(".")
    described = column_descriptions()
    return dg.TableSchema(columns=[
        dg.TableColumn(column, data_type.lower(), description=described.get(column, ""))
        for column, data_type in con.execute(
            "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
            "order by column_index", [schema, name]).fetchall()])

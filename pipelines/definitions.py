"""Entry point of the Dagster code location: only assembles the per-domain definitions."""

import dagster as dg

from pipelines.defs import alerts, ingestion, publication, referential, warehouse
from pipelines.defs.resources import DataHomeResource

defs = dg.Definitions.merge(
    referential.defs,
    ingestion.defs,
    warehouse.defs,
    publication.defs,
    alerts.defs,
    dg.Definitions(resources={"data_home": DataHomeResource()}),
)

"""Entry point of the Dagster code location: only assembles the per-domain definitions."""

import dagster as dg

from pipelines.defs import alerts, ingestion, publication, referential, retention, warehouse
from pipelines.defs.resources import DataHomeResource

defs = dg.Definitions.merge(
    referential.defs,
    ingestion.defs,
    warehouse.defs,
    publication.defs,
    alerts.defs,
    retention.defs,
    dg.Definitions(resources={"data_home": DataHomeResource()}),
)

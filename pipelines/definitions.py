"""Entry point of the Dagster code location: only assembles the per-domain definitions."""

import dagster as dg

from pipelines.common.datahome import restrict_umask
from pipelines.defs import alerts, checks, ingestion, publication, referential, retention, warehouse
from pipelines.defs.resources import DataHomeResource

# Whatever process loads the code location (code server, run workers, `dagster dev`) writes
# owner-only files; published/, reports/ and editions/ are opened to the dashboard's group by the
# code that writes them (pipelines/common/datahome.py).
restrict_umask()

defs = dg.Definitions.merge(
    referential.defs,
    ingestion.defs,
    warehouse.defs,
    checks.defs,
    publication.defs,
    alerts.defs,
    retention.defs,
    dg.Definitions(resources={"data_home": DataHomeResource()}),
)

"""Entry point of the Dagster code location: only assembles the per-domain definitions."""

import dagster as dg

from pipelines.defs import referential

defs = dg.Definitions.merge(referential.defs)

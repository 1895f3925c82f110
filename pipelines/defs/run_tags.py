"""Tags the platform puts on Dagster runs, for the sensors that read them back (one home for their names)."""

from __future__ import annotations

# Set by `pipelines.process.fail_interrupted_runs` on a run killed with its service: the inbox sensor asks
# again for an interrupted ingestion, the publication sensor for an interrupted publication.
INTERRUPTED_TAG = "pre/interrompue"

"""Dagster resources."""

from __future__ import annotations

import dagster as dg

from pipelines.paths import DataHome


class DataHomeResource(dg.ConfigurableResource):
    """The data home ($PRE_HOME): inbox, archive, quarantine, reports, warehouse, published copy.

    Empty `racine`: the PRE_HOME environment variable, else `data/` at the repository root.
    """

    racine: str = ""

    @property
    def home(self) -> DataHome:
        from pathlib import Path

        return DataHome(Path(self.racine).resolve()) if self.racine else DataHome.from_env()

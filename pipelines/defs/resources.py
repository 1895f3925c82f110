"""Dagster resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.common.datahome import DataHome


class DataHomeResource(dg.ConfigurableResource):
    """The data home: inbox, archive, quarantine, reports, warehouse, published copy.

    Empty `root`: the `PRE_HOME` setting (`pipelines.settings`), read when a run starts.
    """

    root: str = ""

    @property
    def home(self) -> DataHome:
        return DataHome(Path(self.root).resolve()) if self.root else DataHome.from_settings()

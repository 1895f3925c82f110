"""Dagster resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.common.datahome import DataHome


class DataHomeResource(dg.ConfigurableResource):
    """The data home: inbox, archive, quarantine, reports, warehouse, published copy.

    Empty `root`: the `PRE_HOME` setting (`pipelines.settings`), read when a run starts. A run's
    configuration may come from the Dagster UI: any other `root` than the configured data home
    is refused (a run must not read or move files elsewhere).
    """

    root: str = ""

    @property
    def home(self) -> DataHome:
        configured = DataHome.from_settings()
        if not self.root:
            return configured
        asked = Path(self.root)
        if not asked.is_absolute() or asked.resolve() != configured.root:
            raise dg.Failure(description="Configuration d'exécution refusée : le dossier de données ne peut pas être "
                                         "changé au lancement ; il est fixé par PRE_HOME.", allow_retries=False)
        return configured

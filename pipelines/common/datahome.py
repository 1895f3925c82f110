"""Locations inside the data home (`PRE_HOME`, see `pipelines.settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines import settings as settings_


@dataclass(frozen=True)
class DataHome:
    root: Path

    @classmethod
    def from_settings(cls, settings: settings_.Settings | None = None) -> DataHome:
        return cls((settings or settings_.load()).HOME.resolve())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def ledger(self) -> Path:
        """One file per content ever handled, named by its SHA-256 (`registre/<sha256>.json`)."""
        return self.root / "registre"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def referentiel(self) -> Path:
        return self.root / "referentiel"

    @property
    def secret(self) -> Path:
        return self.root / "secret"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def access(self) -> Path:
        """`acces/`: the authorisations file (`habilitations.csv`)."""
        return self.root / "acces"

    @property
    def journal(self) -> Path:
        """`journal/`: the access journal and the platform's other journals."""
        return self.root / "journal"

    def ensure(self) -> DataHome:
        for folder in (self.inbox, self.archive, self.quarantine, self.reports,
                       self.referentiel, self.dagster, self.published):
            folder.mkdir(parents=True, exist_ok=True)
        self.secret.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

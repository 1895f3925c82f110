"""Locations inside the data home ($PRE_HOME, default `data/` at the repository root)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = REPO_ROOT / "data_contracts"
SQL_DIR = REPO_ROOT / "sql"


@dataclass(frozen=True)
class DataHome:
    root: Path

    @classmethod
    def from_env(cls) -> DataHome:
        return cls(Path(os.environ.get("PRE_HOME", REPO_ROOT / "data")).resolve())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

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

    def ensure(self) -> DataHome:
        for folder in (self.inbox, self.archive, self.quarantine, self.reports,
                       self.referentiel, self.dagster, self.published):
            folder.mkdir(parents=True, exist_ok=True)
        self.secret.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

"""Locations inside the data home (`PRE_HOME`, see `pipelines.settings`), and the modes of what the
platform writes there.

Everything the platform writes is owner-only: every entry point sets the umask to `UMASK` (0077) at
start, so files come out 0600 and folders 0700 whatever the caller's umask. Three folders hold what
the dashboard reads, and the dashboard runs under an account of its own (deploy/systemd/README.md):
`published/`, `reports/` and `editions/` are readable by the data home's group —
folders 2750 (setgid: what is created inside keeps the folder's group, the dashboard's), files 0640
— set explicitly by the code that writes them (`share_dir`, `share_file`). Nothing is ever readable
by other accounts.
"""

from __future__ import annotations

import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines import settings as settings_

UMASK = 0o077  # the platform's processes: owner-only
# The dashboard's process: what it writes (a file sent through the portal into inbox/, the access
# journal) must stay readable by the platform's account through the shared group.
DASHBOARD_UMASK = 0o027
SHARED_DIR_MODE = 0o2750
SHARED_FILE_MODE = 0o640
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def restrict_umask(mask: int = UMASK) -> None:
    """Set the process's umask (one system call: safe while other threads create files)."""
    os.umask(mask)


def share_dir(path: Path) -> Path:
    """Create `path` (and its missing parents) and make it readable by the group: 2750.

    Under systemd's `RestrictSUIDSGID=yes` no process may set a setgid bit: the folder is then 0750
    (the services' accounts share the group `pre`, so what is created inside gets it anyway)."""
    path.mkdir(parents=True, exist_ok=True)
    for mode in (SHARED_DIR_MODE, SHARED_DIR_MODE & ~stat.S_ISGID):
        if (path.stat().st_mode & 0o7777) == mode:
            break
        try:
            path.chmod(mode)
            break
        except PermissionError:  # setgid refused (RestrictSUIDSGID), or another account's folder: kept
            continue
    return path


def share_file(path: Path) -> Path:
    """Make a file just written readable by the group: 0640."""
    path.chmod(SHARED_FILE_MODE)
    return path


def fsync_dir(path: Path) -> None:
    """Make the creation, renaming or removal of entries of `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_once(path: Path, data: bytes) -> bool:
    """Create `path` holding `data`, atomically and exclusively; False if it already existed.

    The bytes go to a temporary file of the same folder (owner-only), synced, then linked under the
    final name — a hard link never replaces an existing file, so of two processes creating the same
    file one wins and the other reads the winner's; a reader never sees a partial file — then the
    folder is synced.
    """
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


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
    def editions(self) -> Path:
        """`editions/`: frozen editions (`pipelines.publication.editions`)."""
        return self.root / "editions"

    @property
    def access(self) -> Path:
        """`acces/`: the authorisations file (`habilitations.csv`)."""
        return self.root / "acces"

    @property
    def journal(self) -> Path:
        """`journal/`: the access journal and the platform's other journals."""
        return self.root / "journal"

    @property
    def shared(self) -> tuple[Path, ...]:
        """The folders the dashboard's group may read (2750, files 0640); everything else is owner-only."""
        return (self.published, self.reports, self.editions)

    def ensure(self) -> DataHome:
        for folder in (self.inbox, self.archive, self.quarantine, self.referentiel, self.dagster):
            folder.mkdir(parents=True, exist_ok=True)
        for folder in self.shared:
            share_dir(folder)
        self.secret.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        return self

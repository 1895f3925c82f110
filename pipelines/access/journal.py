"""The access journal `$PRE_HOME/journal/acces.jsonl` (access.md): one JSON object per event
(`horodatage` in UTC, `email`, `role`, `evenement`, `detail`), appended under a lock so that
concurrent sessions never interleave lines."""

from __future__ import annotations

import fcntl
import json
from datetime import UTC, datetime

from pipelines.common.datahome import DataHome

JOURNAL_NAME = "acces.jsonl"
EVENTS = ("connexion", "acces_refuse", "page", "telechargement", "verification", "envoi", "deconnexion")


def record(home: DataHome, evenement: str, *, email: str = "", role: str = "", detail: dict | None = None) -> None:
    """Append one event to `$PRE_HOME/journal/acces.jsonl`."""
    if evenement not in EVENTS:
        raise ValueError(f"unknown journal event {evenement!r}")
    home.journal.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"horodatage": datetime.now(tz=UTC).isoformat(timespec="milliseconds"), "email": email,
                       "role": role, "evenement": evenement, "detail": detail or {}}, ensure_ascii=False)
    with (home.journal / JOURNAL_NAME).open("a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.write(line + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_journal(home: DataHome, limit: int = 1000) -> list[dict]:
    """The journal's last `limit` events, newest first (damaged lines are skipped)."""
    file = home.journal / JOURNAL_NAME
    if not file.is_file():
        return []
    events = []
    for text in file.read_text(encoding="utf-8", errors="replace").splitlines()[-limit:]:
        try:
            events.append(json.loads(text))
        except ValueError:
            continue
    return events[::-1]

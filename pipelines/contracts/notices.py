"""A submission's verdict notice, `reports/avis/<sha256>.json`: its status (accepted or refused), its
counts of findings and its report, written as soon as the file is checked (by the inbox sensor, or by its
run), so that /mes-depots can show the verdict before the file is filed and the figures published.

It holds no value of the file, like the reports beside it (kept, never purged: operations.md).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime

from pipelines.common.datahome import DataHome, share_dir, share_file

FOLDER = "avis"  # under reports/
_SHA = re.compile(r"[0-9a-f]{64}")


def write(home: DataHome, sha256: str, verdict: dict) -> None:
    """`verdict`: a staged file's `verdict.json` (accepted, blocking, warnings, report, code_pre)."""
    target = share_dir(home.reports / FOLDER) / f"{sha256}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({
        "statut": "accepte" if verdict["accepted"] else "refuse", "code_pre": verdict["code_pre"],
        "nb_bloquants": verdict["blocking"], "nb_avertissements": verdict["warnings"],
        "rapport": verdict["report"], "controle_le": datetime.now(tz=UTC).isoformat(timespec="seconds"),
    }, ensure_ascii=False), encoding="utf-8")
    share_file(tmp)
    os.replace(tmp, target)


def read(home: DataHome, sha256: str) -> dict | None:
    """The notice of this content; None when there is none (not checked yet) or it is unreadable."""
    if not _SHA.fullmatch(sha256 or ""):
        return None
    try:
        found = json.loads((home.reports / FOLDER / f"{sha256}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("statut") not in ("accepte", "refuse"):
        return None
    return found

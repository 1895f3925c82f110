"""What many tests share: where things are, and the environment a `pre-eval` child process gets."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PRE_EVAL = str(BIN / "pre-eval")


def isolated_env(home_root: Path, user_home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for a child process: system PATH, its own HOME, the data home
    `home_root`, and nothing else of the test runner's environment (no stray PRE_* setting)."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(user_home), "PRE_HOME": str(home_root), **extra}

"""Where the time goes: wall-clock seconds per pipeline phase, within one process.

The phases are the benchmark's (issue « échelle nationale »): reading, validating, loading,
building marts and indicators, publishing. Whatever a run spends outside them (Dagster runs,
steps, event log, sensors' bookkeeping) is orchestration. `pre-eval process --mesures FICHIER`
writes these figures as JSON (`measure` adds time to a phase).
"""

from __future__ import annotations

import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines import settings
from pipelines.common import workers

PHASES = {
    "lecture": "lecture des fichiers",
    "controle": "contrôle des contrats",
    "chargement": "chargement de l'entrepôt",
    "marts": "marts et indicateurs",
    "secret": "secret statistique",
    "publication": "publication",
}

_seconds: dict[str, float] = defaultdict(float)
_rows: dict[str, int] = defaultdict(int)


@contextmanager
def measure(name: str, rows: int = 0) -> Iterator[None]:
    """Add the time spent in this block to phase `name` (and `rows` to its row count)."""
    if name not in PHASES:
        raise ValueError(f"phase inconnue : {name}")
    start = time.perf_counter()
    try:
        yield
    finally:
        _seconds[name] += time.perf_counter() - start
        _rows[name] += rows


_walls: dict[str, float] = defaultdict(float)


def wall(name: str, seconds: float) -> None:
    """Wall time of a stretch of `pre-eval process` (before the runs, each Dagster run)."""
    _walls[name] += seconds


def add_rows(name: str, rows: int) -> None:
    _rows[name] += rows


def reset() -> None:
    _seconds.clear()
    _rows.clear()
    _walls.clear()


def snapshot() -> dict:
    """Seconds and rows per phase so far, this process's peak resident memory, and that of its
    largest worker process (`workers`)."""
    peak_kb = workers.peak_kb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes
    worker_kb = workers.peak_worker_kb
    return {
        "phases": {name: round(_seconds.get(name, 0.0), 3) for name in PHASES},
        "lignes": {name: _rows.get(name, 0) for name in PHASES},
        "rss_max_mo": round(peak_kb / 1024, 1),
        "rss_max_auxiliaire_mo": round(worker_kb / 1024, 1),
        "processus_auxiliaires": settings.load().workers,
        "etapes": {name: round(seconds, 3) for name, seconds in _walls.items()},
    }

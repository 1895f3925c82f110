"""CPU-bound work on the files of a run, spread over the machine's cores.

Reading submissions and pseudonymising their identifiers are pure Python/polars work per file:
on a national load they run in worker processes (spawned, not forked: forking after polars has
started its thread pool can hang). Small runs, where starting workers costs more than it
saves, stay in the calling process. Results come back in submission order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

# Below this many files, one process is faster than starting workers (about 1 s each).
PARALLEL_FROM = int(os.environ.get("PRE_PARALLELE_DES", "8"))
MAX_WORKERS = int(os.environ.get("PRE_PROCESSUS", str(min(os.cpu_count() or 1, 8))))


def ordered_map(function: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
    """`map(function, jobs)`, in worker processes when it pays; `function` must be importable."""
    jobs = list(jobs)
    if len(jobs) < PARALLEL_FROM or MAX_WORKERS < 2:
        yield from map(function, jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(MAX_WORKERS, mp_context=context) as pool:
        yield from pool.map(function, jobs, chunksize=1)

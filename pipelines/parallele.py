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
from pathlib import Path
from typing import Any

# Below this many files, one process is faster than starting workers (about 1 s each).
PARALLEL_FROM = int(os.environ.get("PRE_PARALLELE_DES", "8"))
MAX_WORKERS = int(os.environ.get("PRE_PROCESSUS", str(min(os.cpu_count() or 1, 8))))


# Largest peak resident memory of a worker so far, in kilobytes (for `pre-eval process --mesures`).
peak_worker_kb = 0


def peak_kb() -> int:
    """This process's own peak resident memory (VmHWM). Not `getrusage`: for a spawned worker it
    also counts the parent's memory at the fork that preceded the exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _measured(call: tuple[Callable[[Any], Any], Any]) -> tuple[Any, int]:
    function, job = call
    return function(job), peak_kb()


def ordered_map(function: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Any]:
    """`map(function, jobs)`, in worker processes when it pays; `function` must be importable."""
    global peak_worker_kb
    jobs = list(jobs)
    if len(jobs) < PARALLEL_FROM or MAX_WORKERS < 2:
        yield from map(function, jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(MAX_WORKERS, mp_context=context) as pool:
        for result, peak in pool.map(_measured, [(function, job) for job in jobs], chunksize=1):
            peak_worker_kb = max(peak_worker_kb, peak)
            yield result

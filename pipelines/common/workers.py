"""CPU-bound work spread over the machine's cores: the one worker pool of the platform.

Reading submissions, pseudonymising their identifiers and simulating demo sites are pure
Python/polars work per item: for many items they run in worker processes (spawned, not forked:
forking after polars has started its thread pool can hang). Small batches, where starting
workers costs more than it saves, stay in the calling process. Results come back in order.

`PRE_PROCESSUS` sets the number of workers (default: the cores, 8 at most) and
`PRE_PARALLELE_DES` the number of items from which they are used.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pipelines import settings

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


def ordered_map(function: Callable[[Any], Any], jobs: Iterable[Any], *, parallel_from: int | None = None,
                chunksize: int = 1) -> Iterator[Any]:
    """`map(function, jobs)`, in worker processes when there are at least `parallel_from` jobs
    (default `PRE_PARALLELE_DES`); `function` must be importable."""
    global peak_worker_kb
    config = settings.load()
    jobs = list(jobs)
    if len(jobs) < (parallel_from or config.PARALLELE_DES) or config.workers < 2:
        yield from map(function, jobs)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(config.workers, mp_context=context) as pool:
        for result, peak in pool.map(_measured, [(function, job) for job in jobs], chunksize=chunksize):
            peak_worker_kb = max(peak_worker_kb, peak)
            yield result

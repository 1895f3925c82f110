"""Progress of long work (`generate`, `process` on the national set), in French.

On a terminal, a bar redrawn in place (rich): files done / total, rows per second, time left.
Elsewhere (logs, CI, pipes), plain lines: one every `PLAIN_EVERY_SECONDS` seconds and one at
the end, so a log shows that work goes on without being flooded.

The pipeline steps report to the *current* progress (set by the command running them), so
the same Dagster assets stay silent when the daemon runs them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pipelines.common import formats

PLAIN_EVERY_SECONDS = 10.0


def duration(seconds: float) -> str:
    """A duration as people read it: « 45 s », « 3 min 05 s », « 1 h 02 min »."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Progress of one phase over `total` files."""

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None, terminal: bool | None = None,
                 clock=time.monotonic) -> None:
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.clock = clock
        self.started = clock()
        self.done = self.rows = 0
        self._last_line = self.started
        self._bar = None
        if self.terminal and total > 0:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.fields[detail]}"),
                                     console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, detail=self.detail())

    def detail(self) -> str:
        """« 12/530 fichiers · 45 678 lignes/s · reste 3 min 05 s »"""
        elapsed = self.clock() - self.started
        parts = [f"{formats.number(self.done)}/{formats.number(self.total)} fichiers"]
        if self.rows and elapsed > 0:
            parts.append(f"{formats.number(round(self.rows / elapsed))} lignes/s")
        if 0 < self.done < self.total and elapsed > 0:
            parts.append(f"reste {duration(elapsed / self.done * (self.total - self.done))}")
        elif self.done >= self.total:
            parts.append(f"en {duration(elapsed)}")
        return " · ".join(parts)

    def advance(self, files: int = 1, rows: int = 0) -> None:
        self.done += files
        self.rows += rows
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, detail=self.detail())
            return
        now = self.clock()
        if now - self._last_line >= PLAIN_EVERY_SECONDS and self.done < self.total:
            self._last_line = now
            self._print()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, detail=self.detail())
            self._bar.stop()
            self._bar = None
        elif self.total:
            self._print()

    def _print(self) -> None:
        print(f"{self.label} : {self.detail()}", file=self.stream, flush=True)


class _Silent:
    def advance(self, files: int = 1, rows: int = 0) -> None:
        pass


_enabled = False


@contextmanager
def reporting(enabled: bool = True) -> Iterator[None]:
    """Within this block, pipeline phases show their progress on standard error."""
    global _enabled
    previous, _enabled = _enabled, enabled
    try:
        yield
    finally:
        _enabled = previous


@contextmanager
def phase(label: str, total: int) -> Iterator[Progress | _Silent]:
    """Progress of one pipeline phase; silent unless a command asked for it (`reporting`)."""
    if not _enabled or total <= 1:
        yield _Silent()
        return
    progress = Progress(label, total)
    try:
        yield progress
    finally:
        progress.close()

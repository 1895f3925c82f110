"""Progress of long work: French figures on a terminal (a bar) and plain lines elsewhere."""

from __future__ import annotations

import io

from pipelines.common import progress
from pipelines.common.progress import Progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_french_text():
    assert [duration(s) for s in (0, 45.4, 60, 185, 3720)] == ["0 s", "45 s", "1 min 00 s", "3 min 05 s", "1 h 02 min"]


def test_plain_lines_every_ten_seconds_and_at_the_end():
    out, clock = io.StringIO(), Clock()
    progress = Progress("Lecture", 4, stream=out, terminal=False, clock=clock)
    clock.now = 5
    progress.advance(1, rows=50_000)  # 5 s after the start: too early for a line
    assert out.getvalue() == ""
    clock.now = 12
    progress.advance(1, rows=70_000)  # 2 of 4 files in 12 s: 10 000 rows/s, 12 s left
    clock.now = 20
    progress.advance(2, rows=80_000)
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "Lecture : 2/4 fichiers · 10 000 lignes/s · reste 12 s",
        "Lecture : 4/4 fichiers · 10 000 lignes/s · en 20 s",
    ]


def test_a_terminal_gets_a_bar_redrawn_in_place():
    out = io.StringIO()
    progress = Progress("Contrôle", 3, stream=out, terminal=True)
    progress.advance(1, rows=10)
    progress.advance(2, rows=20)
    progress.close()
    text = out.getvalue()
    assert "Contrôle" in text and "3/3 fichiers" in text
    assert "files" not in text and "remaining" not in text  # no English from the library


def test_phases_are_silent_unless_a_command_asks(capsys):
    with progress.phase("Lecture", 10) as bar:
        bar.advance(10, rows=5)
    assert capsys.readouterr().err == ""
    with progress.reporting(), progress.phase("Lecture", 10) as bar:
        bar.advance(10, rows=5)
    assert "Lecture : 10/10 fichiers" in capsys.readouterr().err

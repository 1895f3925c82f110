"""How a run's files are split into contract-check batches (`lifecycle._lots`): never over
`PRE_LOT_LIGNES` rows, one batch when they fit, and, when the batches go to worker processes, as many
batches as keeps every worker busy until the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest.inbox import InboxFile
from pipelines.ingest.lifecycle import Staged, _lots


def _staged(rows: list[int]) -> list[Staged]:
    items = []
    for i, n in enumerate(rows):
        item = Staged(InboxFile(f"f{i}.zip", 1, 0.0, f"{i:064x}"), Path(f"/nulle-part/{i}"))
        item.__dict__["meta"] = {"raw_rows": {"parcours": n // 2, "actions": n - n // 2}}  # as read from lecture.json
        items.append(item)
    return items


def _sizes(lots: list[list[Staged]]) -> list[int]:
    return [sum(sum(item.meta["raw_rows"].values()) for item in lot) for lot in lots]


@pytest.mark.parametrize(("workers", "rows", "cap", "expected"), [
    # 1 200 rows, cap 500: three batches are needed; two workers check them two at a time, so four of 300
    # (three batches would be 500, 500 and 200: the last one checked alone while the other worker waits).
    (2, [100] * 12, 500, [300, 300, 300, 300]),
    # one worker: three batches, evened out (400 each) rather than filled to the cap
    (1, [100] * 12, 500, [400, 400, 400]),
    # everything fits under the cap: one batch, checked in the run's process
    (2, [100] * 5, 500, [500]),
    # a file is never split: a file bigger than the cap is a batch of its own
    (2, [100, 900, 100, 100], 500, [100, 900, 200]),
])
def test_batches_stay_under_the_cap_and_keep_workers_busy(monkeypatch, workers, rows, cap, expected):
    monkeypatch.setenv("PRE_PROCESSUS", str(workers))
    monkeypatch.setenv("PRE_LOT_LIGNES", str(cap))
    items = _staged(rows)
    lots = _lots(items)
    assert _sizes(lots) == expected
    assert [item for lot in lots for item in lot] == items  # every file once, in order
    assert all(size <= cap or len(lot) == 1 for size, lot in zip(_sizes(lots), lots, strict=True))


def test_no_file_no_batch():
    assert _lots([]) == []

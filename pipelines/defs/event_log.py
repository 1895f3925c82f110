"""Dagster's SQLite event log, writing a batch of events in one transaction per database.

Dagster's SQLite event log (the instance's storage on a machine without PostgreSQL) stores each
event on its own: a new connection and a commit on the run's database, then another connection and
commit on the index database for an asset event. A run over a range of site partitions records a
planned and a materialised event per site and per asset: a national load of 530 sites writes about
2 100 events that way, about 15 ms each on this machine's disk (half a minute).

Dagster already groups these events into batches (the planned events of a run, the materialisations
of one step's output) and hands a batch to `store_event_batch` when `DAGSTER_EVENT_BATCH_SIZE` is set;
its SQLite storage then stores them one by one. This storage writes the batch's consecutive asset
events in one transaction on the run's database and one on the index, with the rows `store_event`
writes for each (same order, same tags) and the same asset records in the end; any other event of
a batch goes through `store_event`. The PostgreSQL storage (production) has its own batch writing,
enabled by the same variable (deploy/systemd).

pre-eval's `dagster.yaml` names this class (pipelines/process.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result

# Dagster reads it at each event; larger than any batch a run makes (the planned events of a run:
# two per site and asset), so that a batch is written at its end, in one go.
BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
BATCH_SIZE = 10_000


class SqliteEventLogBatches(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with `store_event_batch` in one transaction per database."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        # Batches are only handed to the storage when this is set (in the process that records the
        # events: the run's, or the daemon's for the planned events of the runs it launches).
        os.environ.setdefault(BATCH_SIZE_VARIABLE, str(BATCH_SIZE))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> SqliteEventLogBatches:
        """This class, not its parent (whose method names `SqliteEventLogStorage`)."""
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Consecutive asset events of one run together; anything else as `store_event` does."""
        chunk: list[EventLogEntry] = []
        for event in events:
            asset = event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS
            if chunk and (not asset or event.run_id != chunk[0].run_id):
                self._store_asset_events(chunk)
                chunk = []
            if asset:
                chunk.append(event)
            else:
                self.store_event(event)
        self._store_asset_events(chunk)

    def _store_asset_events(self, events: list[EventLogEntry]) -> None:
        """What `store_event` does for each asset event, in one transaction per database."""
        if len(events) < 2:
            for event in events:
                self.store_event(event)
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:  # a transaction (see `_connect`)
            for statement in statements:
                conn.execute(statement)
        with self.index_transaction() as conn:
            ids = []
            for statement in statements:
                with db_result(conn, statement) as result:
                    ids.append(result.inserted_primary_key[0])
            if any(event_id is None for event_id in ids):
                raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, events, ids)
            # The asset's record keeps, per kind of event, columns the last event of that kind overwrites
            # (its last materialisation, its last planned run…): writing it for the last event of each asset
            # and kind, in the order of those last events, leaves it as writing it for every event does.
            last = {(e.dagster_event.asset_key, e.dagster_event_type): i for i, e in enumerate(events)}
            for i in sorted(last.values()):
                self._store_asset_event(conn, events[i], ids[i])

"""Rotation of the pseudonymisation key: every pseudonym of the warehouse re-made with a new key.

Pseudonyms are one-way: they cannot be turned into another key's. The warehouse holds the rows of
each site's snapshot in force, and the archive keeps that snapshot's file (retention never deletes
it), so a rotation reads each of those files again, pseudonymises it with the new key as a load
does (`lifecycle.ready_frames`) and replaces the site's rows (`lifecycle.replace_site_rows`). The
ledger (`ingestion.depots`) is not touched: each submission keeps its dates and counts.

Order, under the warehouse's writer lock for the whole rotation:

1. the current key is read and checked (`pseudonym.load_key`, which also settles a rotation that
   stopped halfway);
2. every archived snapshot in force must be there, else nothing starts;
3. the new key is written as `secret/cle_pseudonymisation.nouvelle` (atomically, synced);
4. one transaction: each site's rows replaced — the re-read rows must be the ones the warehouse
   holds, identifiers aside, or the rotation is abandoned —, the models rebuilt from them (no table
   keeps an old pseudonym), the new key's fingerprint stored;
5. the new key replaces the old one (`os.replace`, folder synced): the old key is gone.

A crash before the commit of 4 leaves the old key, the old pseudonyms and the old fingerprint: the
next load (or rotation) removes the pending new key. A crash after it leaves the new pseudonyms and
the new fingerprint beside the pending new key: the next load moves the new key into place.
Either way the key in place always matches the warehouse (`pseudonym.settle_rotation`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines import settings
from pipelines.common import workers
from pipelines.common.datahome import DataHome, fsync_dir, write_once
from pipelines.contracts.model import DATA_TABLES, load_contracts
from pipelines.contracts.reader import read_submission
from pipelines.ingest import pseudonym
from pipelines.ingest.lifecycle import identifier_columns, ready_frames, replace_site_rows
from pipelines.warehouse import models
from pipelines.warehouse.store import connect

JOURNAL_NAME = "cle.jsonl"


class RotationError(RuntimeError):
    """The rotation did not start or was abandoned; nothing changed (French message)."""


@dataclass(frozen=True)
class Rotation:
    sites: int
    rows: int
    previous: str  # fingerprints (never the keys)
    new: str


def rotate(home: DataHome) -> Rotation:
    """Re-key the whole warehouse with a new key, then put the new key in place of the old one."""
    if settings.load().CLE_PSEUDONYMISATION is not None:
        raise RotationError(
            f"La clé vient de la variable {pseudonym.ENV_SOURCE} : la rotation ne peut pas la remplacer. Placez la "
            f"clé actuelle dans {pseudonym.FILE_SOURCE} (droits 0600), retirez la variable des services, puis "
            f"relancez « pre-eval cle rotation » ({pseudonym.PROCEDURE}).")
    if not home.warehouse.exists():
        raise RotationError("Aucun entrepôt : rien à pseudonymiser de nouveau.")
    contracts = load_contracts()
    identifiers = identifier_columns(contracts)
    with connect(home) as con:
        old_key = pseudonym.load_key(home, con)
        snapshots = _snapshots(home, con)
        new_key = pseudonym.new_key()
        pending = pseudonym.pending_key_path(home)
        if not write_once(pending, new_key):  # settled by load_key just before: only a bug leaves one
            raise RotationError(f"Une nouvelle clé attend déjà ({pending.name}) : rotation non lancée.")
        try:
            rows = _rekey(con, snapshots, new_key, identifiers)
        except BaseException:
            pending.unlink(missing_ok=True)
            fsync_dir(home.secret)
            raise
        os.replace(pending, pseudonym.key_path(home))
        fsync_dir(home.secret)
    done = Rotation(len(snapshots), rows, pseudonym.fingerprint(old_key), pseudonym.fingerprint(new_key))
    _journal(home, done)
    return done


@dataclass(frozen=True)
class _Snapshot:
    code_pre: str
    path: Path
    name: str


def _snapshots(home: DataHome, con: duckdb.DuckDBPyConnection) -> list[_Snapshot]:
    """Each site's snapshot in force, its archived file checked present; every row of the warehouse
    must belong to one of them (else it could not be re-keyed)."""
    found = [_Snapshot(code, home.root / chemin, fichier) for code, chemin, fichier in con.execute(
        "select code_pre, chemin, fichier from ingestion.depots where en_vigueur and statut = 'accepte' "
        "order by code_pre").fetchall()]
    missing = [s.code_pre for s in found if not s.path.is_file()]
    if missing:
        raise RotationError(
            f"Fichier archivé du dépôt en vigueur introuvable pour {', '.join(missing)} : sans lui, les pseudonymes de "
            "ce site ne peuvent pas être refaits. Rotation non lancée, rien n'a changé ; restaurez l'archive depuis "
            f"la sauvegarde ({pseudonym.PROCEDURE}).")
    codes = {s.code_pre for s in found}
    orphans = sorted({code for table in DATA_TABLES for (code,) in con.execute(
        f"select distinct code_pre from ingestion.{table}").fetchall()} - codes)  # fixed table names
    if orphans:
        raise RotationError(f"Des lignes de l'entrepôt n'ont pas de dépôt en vigueur ({', '.join(orphans)}) : "
                            "rotation non lancée, rien n'a changé.")
    return found


def _read(job: tuple[str, str, str, bytes, dict[str, list[str]]]) -> dict[str, pl.DataFrame]:
    """One archived snapshot read again and pseudonymised with the new key (in a worker for many sites)."""
    path, name, code, key, identifiers = job
    sub = read_submission(Path(path), load_contracts(), name=name)
    return ready_frames(sub.tables, code, key, identifiers)


def _rekey(con: duckdb.DuckDBPyConnection, snapshots: list[_Snapshot], key: bytes,
           identifiers: dict[str, list[str]]) -> int:
    """One transaction: every site's rows, the models built from them and the fingerprint."""
    jobs = [(str(s.path), s.name, s.code_pre, key, identifiers) for s in snapshots]
    rows = 0
    con.begin()
    try:
        for snapshot, frames in zip(snapshots, workers.ordered_map(_read, jobs), strict=True):
            for table in DATA_TABLES:
                _same_rows(con, snapshot, table, frames[table], identifiers[table])
            replace_site_rows(con, snapshot.code_pre, frames)
            rows += sum(frame.height for frame in frames.values())
        models.build(con)  # the intermediate tables and marts hold pseudonyms too
        pseudonym.replace_fingerprint(con, key)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return rows


def _same_rows(con: duckdb.DuckDBPyConnection, snapshot: _Snapshot, table: str, frame: pl.DataFrame,
               ids: list[str]) -> None:
    """The file read again must give the rows the warehouse holds for the site, identifiers aside
    (a reader that changed since the load would otherwise change the indicators)."""
    columns = ", ".join(f'"{c}"' for c in frame.columns if c not in ids)  # the contract's names
    held = con.execute(f"select count(*) from ingestion.{table} where code_pre = ?", [snapshot.code_pre]).fetchone()[0]
    differing = con.execute(
        f"select (select count(*) from (select {columns} from ingestion.{table} where code_pre = $code "
        f"except all select {columns} from frame)) + (select count(*) from (select {columns} from frame "
        f"except all select {columns} from ingestion.{table} where code_pre = $code))",
        {"code": snapshot.code_pre}).fetchone()[0]
    if held != frame.height or differing:
        raise RotationError(
            f"Le fichier archivé de {snapshot.code_pre} ({snapshot.name}), relu, ne redonne pas les lignes de "
            f"l'entrepôt (table {table} : {held} lignes chargées, {frame.height} relues, {differing} différentes) : "
            "rotation abandonnée, rien n'a changé (ancienne clé et anciens pseudonymes conservés).")


def _journal(home: DataHome, done: Rotation) -> None:
    home.journal.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"horodatage": datetime.now(tz=UTC).isoformat(timespec="seconds"), "evenement": "rotation",
                       "sites": done.sites, "lignes": done.rows, "empreinte_precedente": done.previous,
                       "empreinte_nouvelle": done.new}, ensure_ascii=False)
    with (home.journal / JOURNAL_NAME).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")

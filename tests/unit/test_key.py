"""The pseudonymisation key: created atomically and once, at least 32 bytes, its fingerprint kept in the
warehouse and checked at every load, a rotation stopped halfway completed or rolled back.

Real DuckDB warehouses in temporary folders, real processes racing for the key file."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import stat
from pathlib import Path

import duckdb
import pytest

from pipelines.common.datahome import DataHome, write_once
from pipelines.ingest import pseudonym
from pipelines.ingest.pseudonym import KeyRefused, load_key, remember_key, settle_rotation, stored_fingerprint
from pipelines.warehouse.store import connect

LABEL = b"pre-eval/empreinte-cle-pseudonymisation/v1"  # docs/exploitation/cle.md
KEY = b"0123456789abcdef0123456789abcdef-cle-de-test"
OTHER = b"fedcba9876543210fedcba9876543210-autre-cle"
MISMATCH = "La clé de pseudonymisation ne correspond pas à celle de l'entrepôt"


@pytest.fixture
def home(tmp_path) -> DataHome:
    return DataHome(tmp_path / "donnees").ensure()


def key_file(home: DataHome) -> Path:
    return home.secret / "cle_pseudonymisation"


def record(home: DataHome, key: bytes) -> None:
    """A first load's transaction, as lifecycle.apply does it (rows, then the fingerprint)."""
    with connect(home) as con:
        con.begin()
        remember_key(con, key)
        con.commit()


def test_a_generated_key_is_random_long_owner_only_and_left_alone_afterwards(home):
    with connect(home) as con:
        first = load_key(home, con)
    assert len(first) == 64 and all(c in b"0123456789abcdef" for c in first)
    assert stat.S_IMODE(key_file(home).stat().st_mode) == 0o600
    assert stat.S_IMODE(home.secret.stat().st_mode) == 0o700
    assert sorted(p.name for p in home.secret.iterdir()) == ["cle_pseudonymisation"]  # no temporary left
    with connect(home) as con:
        assert load_key(home, con) == first
    other_home = DataHome(home.root.parent / "autre").ensure()
    with connect(other_home) as con:
        assert load_key(other_home, con) != first


def _race(path: Path, data: bytes, start, results) -> None:
    start.wait()
    created = write_once(path, data)
    results.put((created, path.read_bytes()))


def test_two_processes_never_both_create_the_key(tmp_path):
    """Twelve processes create the same file at once: one wins, every one reads the winner's whole key."""
    path = tmp_path / "cle"
    candidates = [bytes([65 + i]) * (1 << 22) for i in range(12)]
    context = multiprocessing.get_context("fork")  # the children only write a file: forking is safe here
    start, queue = context.Barrier(len(candidates)), context.Queue()
    racers = [context.Process(target=_race, args=(path, c, start, queue)) for c in candidates]
    for racer in racers:
        racer.start()
    results = [queue.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join(10)
    winners = [data for created, data in results if created]
    assert len(winners) == 1
    assert all(read == winners[0] for _, read in results)
    assert path.read_bytes() == winners[0] and winners[0] in candidates
    assert [p.name for p in tmp_path.iterdir()] == ["cle"]


@pytest.mark.parametrize("length", [0, 1, 16, 31])
def test_a_short_key_file_is_refused(home, length):
    short = (b"Zq9#" * 8)[:length]
    key_file(home).write_bytes(short)
    with connect(home) as con, pytest.raises(KeyRefused) as refused:
        load_key(home, con)
    assert f"trop courte : {length} octets, il en faut au moins 32" in str(refused.value)
    if length >= 4:
        assert short.decode() not in str(refused.value)  # the key is never echoed
    with connect(home) as con:
        assert stored_fingerprint(con) is None


def test_a_short_key_from_the_environment_is_refused_and_32_bytes_pass(home, monkeypatch):
    monkeypatch.setenv("PRE_CLE_PSEUDONYMISATION", "x" * 31)
    with connect(home) as con, pytest.raises(KeyRefused, match=r"PRE_CLE_PSEUDONYMISATION.*trop courte : 31 octets"):
        load_key(home, con)
    monkeypatch.setenv("PRE_CLE_PSEUDONYMISATION", "x" * 32)
    with connect(home) as con:
        assert load_key(home, con) == b"x" * 32
    assert not key_file(home).exists()  # the environment's key: no file created beside it


def test_the_fingerprint_is_a_keyed_hash_of_a_label_not_the_key_nor_its_hash():
    expected = hmac.new(KEY, LABEL, hashlib.sha256).hexdigest()
    assert pseudonym.fingerprint(KEY) == expected
    assert expected != hashlib.sha256(KEY).hexdigest()
    assert KEY.hex() not in expected and KEY.decode() not in expected
    assert pseudonym.fingerprint(OTHER) != expected


def test_the_first_load_records_the_fingerprint_once(home):
    key_file(home).write_bytes(KEY)
    record(home, KEY)
    record(home, KEY)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("select empreinte from ingestion.cle_pseudonymisation").fetchall()
    finally:
        con.close()
    assert rows == [(hmac.new(KEY, LABEL, hashlib.sha256).hexdigest(),)]


def test_another_key_is_refused_in_french_never_replaced(home, monkeypatch):
    key_file(home).write_bytes(KEY)
    record(home, KEY)
    key_file(home).write_bytes(OTHER)
    with connect(home) as con, pytest.raises(KeyRefused) as refused:
        load_key(home, con)
    message = str(refused.value)
    assert message.startswith(MISMATCH) and "pre-eval cle rotation" in message and "sauvegarde" in message
    assert OTHER.decode() not in message
    assert key_file(home).read_bytes() == OTHER  # left as found: the operator decides
    monkeypatch.setenv("PRE_CLE_PSEUDONYMISATION", OTHER.decode())
    with connect(home) as con, pytest.raises(KeyRefused, match=MISMATCH):
        load_key(home, con)
    monkeypatch.setenv("PRE_CLE_PSEUDONYMISATION", KEY.decode())  # the right key, from the environment
    with connect(home) as con:
        assert load_key(home, con) == KEY


def test_a_missing_key_file_beside_a_fingerprint_is_refused_and_no_key_is_made(home):
    key_file(home).write_bytes(KEY)
    record(home, KEY)
    key_file(home).unlink()
    with connect(home) as con, pytest.raises(KeyRefused, match=MISMATCH + ".*introuvable"):
        load_key(home, con)
    assert not key_file(home).exists()


def test_a_missing_key_file_beside_loaded_data_without_fingerprint_is_refused(home):
    """A warehouse loaded before fingerprints existed: its data still need their key."""
    with connect(home) as con:
        con.execute("insert into ingestion.depots (sha256, fichier, code_pre, recu_le, traite_le, statut, en_vigueur, "
                    "nb_bloquants, nb_avertissements, rapport, chemin) values ('a', 'x.zip', 'PRE51454', now(), now(), "
                    "'accepte', true, 0, 0, 'r', 'c')")
    with connect(home) as con, pytest.raises(KeyRefused, match=MISMATCH):
        load_key(home, con)
    assert not key_file(home).exists()


def test_a_rotation_that_committed_is_completed_at_the_next_load(home):
    """Crash after the re-keying's commit, before the new key was moved into place."""
    key_file(home).write_bytes(KEY)
    (home.secret / "cle_pseudonymisation.nouvelle").write_bytes(OTHER)
    with connect(home) as con:
        con.execute("insert into ingestion.cle_pseudonymisation values (?, now())",
                    [hmac.new(OTHER, LABEL, hashlib.sha256).hexdigest()])
    with connect(home) as con:
        assert load_key(home, con) == OTHER
    assert key_file(home).read_bytes() == OTHER
    assert sorted(p.name for p in home.secret.iterdir()) == ["cle_pseudonymisation"]


def test_a_rotation_that_did_not_commit_is_rolled_back_at_the_next_load(home):
    """Crash before the re-keying's commit: the pending key and a half-written one are removed."""
    key_file(home).write_bytes(KEY)
    record(home, KEY)
    (home.secret / "cle_pseudonymisation.nouvelle").write_bytes(OTHER)
    (home.secret / ".cle_pseudonymisation.nouvelle.0a1b.tmp").write_bytes(OTHER[:7])
    with connect(home) as con:
        assert load_key(home, con) == KEY
    assert sorted(p.name for p in home.secret.iterdir()) == ["cle_pseudonymisation"]
    (home.secret / "cle_pseudonymisation.nouvelle").write_bytes(OTHER)
    with connect(home) as con:
        assert settle_rotation(home, stored_fingerprint(con)) == "annulee"

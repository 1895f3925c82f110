"""Re-keying of identifiers with a keyed hash (HMAC-SHA256) salted with the site code, and the key.

The key comes from the environment variable PRE_CLE_PSEUDONYMISATION, else from the data home's
`secret/cle_pseudonymisation` (created on first use, owner-only); it is never logged, copied nor
published. The same child keeps the same pseudonym across a site's successive submissions; two
sites' identifiers never collide, and nobody without the key can link a pseudonym back to the site's
own identifier.

The key is guarded (docs/exploitation/cle.md):
- a key shorter than `MIN_KEY_BYTES` is refused;
- a generated key is written atomically and exclusively (`datahome.write_once`): two processes
  starting at once never both create one;
- its fingerprint (HMAC-SHA256 of a fixed label, keyed with the key: neither the key nor a plain
  hash of it) is kept in the warehouse, `ingestion.cle_pseudonymisation`, written in the same
  transaction as the first load, so it always describes the pseudonyms it sits beside (the table is
  outside `marts`, so never published). Every load compares the key with it: another key, or a key
  file gone while the warehouse holds pseudonyms, is a French error — never a silent new key, which
  would give the same child two pseudonyms;
- a rotation (`pipelines.ingest.rotation`) writes the new key as `cle_pseudonymisation.nouvelle`
  until the warehouse is re-keyed; `load_key` completes or rolls back a rotation that crashed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import duckdb
import polars as pl

from pipelines import settings
from pipelines.common.datahome import PRIVATE_DIR_MODE, DataHome, fsync_dir, write_once
from pipelines.warehouse.store import connect

KEY_FILE = "cle_pseudonymisation"
PENDING_SUFFIX = ".nouvelle"  # a rotation's new key, until the warehouse holds its pseudonyms
MIN_KEY_BYTES = 32
FINGERPRINT_LABEL = b"pre-eval/empreinte-cle-pseudonymisation/v1"
FINGERPRINT_TABLE = "ingestion.cle_pseudonymisation"  # created by sql/entrepot/schema.sql
DIGEST_CHARS = 32  # 128 bits: no collision in practice, half the storage of the full digest
ENV_SOURCE = "PRE_CLE_PSEUDONYMISATION"
FILE_SOURCE = f"secret/{KEY_FILE}"
PROCEDURE = "docs/exploitation/cle.md"


class KeyRefused(RuntimeError):
    """The key cannot be used (French message, never holding the key)."""


def key_path(home: DataHome) -> Path:
    return home.secret / KEY_FILE


def pending_key_path(home: DataHome) -> Path:
    return home.secret / (KEY_FILE + PENDING_SUFFIX)


def fingerprint(key: bytes) -> str:
    """HMAC-SHA256(key, fixed label), hex: tells two keys apart without revealing either."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def new_key() -> bytes:
    """A fresh random key: 32 random bytes written as 64 hexadecimal characters (the key is the text)."""
    return secrets.token_hex(32).encode("ascii")


def read_key_file(path: Path) -> bytes:
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def check_length(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise KeyRefused(
            f"La clé de pseudonymisation ({source}) est trop courte : {len(key)} octets, il en faut au moins "
            f"{MIN_KEY_BYTES}. Rien n'a été chargé. Utilisez une clé aléatoire (par exemple 64 caractères "
            f"hexadécimaux : « python3 -c 'import secrets; print(secrets.token_hex(32))' ») ; voir {PROCEDURE}.")
    return key


def stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute(f"select empreinte from {FINGERPRINT_TABLE} limit 1").fetchone()
    return row[0] if row else None


def holds_pseudonyms(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a submission was ever loaded (warehouses older than the fingerprint have none)."""
    return con.execute("select 1 from ingestion.depots where statut = 'accepte' limit 1").fetchone() is not None


def mismatch(detail: str) -> KeyRefused:
    return KeyRefused(
        f"La clé de pseudonymisation ne correspond pas à celle de l'entrepôt : {detail} Rien n'a été chargé "
        "(les nouveaux pseudonymes ne correspondraient pas à ceux de l'entrepôt : un même enfant en aurait deux). "
        f"Remettez en place la clé d'origine depuis sa sauvegarde ({FILE_SOURCE}, ou la variable {ENV_SOURCE}), "
        f"puis relancez le traitement ; pour changer de clé, suivez la procédure de rotation "
        f"(« pre-eval cle rotation », {PROCEDURE}).")


def load_key(home: DataHome, con: duckdb.DuckDBPyConnection, *, create: bool = True) -> bytes:
    """The pseudonymisation key, checked against the warehouse's fingerprint.

    `con` is a warehouse connection from `pipelines.warehouse.store.connect` (under the writer lock):
    the key read here is the one the loads of this connection use. PRE_CLE_PSEUDONYMISATION wins over
    the key file; the key file is created (if `create`) only for a warehouse that never held pseudonyms.
    """
    stored = stored_fingerprint(con)
    settle_rotation(home, stored)
    from_env = settings.load().CLE_PSEUDONYMISATION
    if from_env is not None:
        key, source = from_env.get_secret_value().encode("utf-8"), ENV_SOURCE
    else:
        path, source = key_path(home), FILE_SOURCE
        if not path.exists():
            if stored is not None or holds_pseudonyms(con):
                raise mismatch(f"le fichier {FILE_SOURCE} est introuvable, alors que l'entrepôt contient des "
                               "données pseudonymisées : aucune nouvelle clé n'est créée.")
            if not create:
                raise KeyRefused(f"Aucune clé de pseudonymisation ({FILE_SOURCE}) : elle sera créée au premier "
                                 "chargement d'un dépôt.")
            secret_folder(home)
            write_once(path, new_key())
        key = read_key_file(path)
    check_length(key, source)
    if stored is not None and not hmac.compare_digest(fingerprint(key), stored):
        raise mismatch(f"la clé lue ({source}) n'est pas celle avec laquelle les données ont été chargées.")
    return key


def verify(home: DataHome) -> tuple[str, bool]:
    """`pre-eval cle verifier`: the key in place checked against the warehouse, nothing created.
    Returns the key's fingerprint and whether the warehouse holds one; raises `KeyRefused`."""
    if not home.warehouse.exists():
        raise KeyRefused("Aucun entrepôt dans ce dossier de données : rien à comparer.")
    with connect(home) as con:
        key = load_key(home, con, create=False)
        return fingerprint(key), stored_fingerprint(con) is not None


def check_before_loading(home: DataHome) -> None:
    """The key that loads would use, checked before a batch is read (raises `KeyRefused`): a wrong key
    stops `pre-eval process` at once, the files left in the inbox, instead of after every file's check.
    A warehouse that never held pseudonyms gets its key here, as at its first load."""
    if not home.warehouse.exists():
        return  # a new data home: the first load creates the key
    with connect(home) as con:
        load_key(home, con)


def secret_folder(home: DataHome) -> Path:
    home.secret.mkdir(parents=True, exist_ok=True)
    os.chmod(home.secret, PRIVATE_DIR_MODE)
    return home.secret


def remember_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Record the key's fingerprint if the warehouse has none: call it inside the load's transaction."""
    con.execute(f"insert into {FINGERPRINT_TABLE} (empreinte, enregistree_le) select ?, now() "
                f"where not exists (select 1 from {FINGERPRINT_TABLE})", [fingerprint(key)])


def replace_fingerprint(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """The warehouse now holds `key`'s pseudonyms: call it inside the re-keying transaction."""
    con.execute(f"delete from {FINGERPRINT_TABLE}")
    con.execute(f"insert into {FINGERPRINT_TABLE} (empreinte, enregistree_le) values (?, now())", [fingerprint(key)])


def settle_rotation(home: DataHome, stored: str | None) -> str | None:
    """Complete or roll back a rotation that stopped halfway (under the writer lock).

    A pending new key whose fingerprint the warehouse holds means the re-keying committed: the new
    key replaces the old one ("terminee"). Any other pending key belongs to a re-keying that never
    committed: it is removed, the old key stays ("annulee"). Returns what was done, or None.
    """
    for leftover in home.secret.glob(f".{KEY_FILE}*.tmp") if home.secret.is_dir() else []:
        leftover.unlink(missing_ok=True)  # a key being written when the process died: never linked
    pending = pending_key_path(home)
    if not pending.exists():
        return None
    if stored is not None and hmac.compare_digest(fingerprint(read_key_file(pending)), stored):
        os.replace(pending, key_path(home))
        outcome = "terminee"
    else:
        pending.unlink()
        outcome = "annulee"
    fsync_dir(home.secret)
    return outcome


HMAC_BLOCK = 64  # SHA-256's block size: HMAC pads (or first hashes) the key to it (RFC 2104)


def pseudonymise_values(values: list[str], code_pre: str, key: bytes) -> list[str]:
    """HMAC-SHA256(key, code_pre + 0x1F + value), hex, first DIGEST_CHARS characters.

    HMAC written out (RFC 2104) over two SHA-256 states computed once: the inner one after the key's inner
    block and the site's salt, the outer one after the key's outer block. Each value then costs a copy and
    an update of each: about half the time of copying a salted `hmac` object (which wraps the same two
    states in Python objects) or of `hmac.digest` (which hashes the key's blocks again for each value). The tests
    check the digests against the standard library's `hmac.new` for keys shorter and longer than the block.
    """
    block = (hashlib.sha256(key).digest() if len(key) > HMAC_BLOCK else key).ljust(HMAC_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block) + code_pre.encode("utf-8") + b"\x1f")
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    out = []
    for value in values:
        h = inner.copy()
        h.update(value.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        out.append(o.hexdigest()[:DIGEST_CHARS])
    return out


def pseudonymise_tables(frames: dict[str, pl.DataFrame], columns: dict[str, list[str]], code_pre: str,
                        key: bytes) -> dict[str, pl.DataFrame]:
    """Replace the values of the identifier columns of each table by their pseudonyms (nulls stay
    null), each distinct value of the submission hashed once.

    The pseudonym depends only on the site and the value, so a pathway's identifier, found in
    all four tables, is hashed once rather than four times.
    """
    values = [frames[t][c].drop_nulls() for t in frames for c in columns.get(t, []) if c in frames[t].columns]
    if not values:
        return frames
    distinct = pl.concat(values).unique()
    pseudonyms = pl.Series(pseudonymise_values(distinct.to_list(), code_pre, key), dtype=pl.String)
    # The mapping as two Series: given as a dict, polars converts it again for every column (three times
    # slower: about 20 s of CPU over a national load).
    return {t: frame.with_columns(pl.col(c).replace_strict(distinct, pseudonyms, default=None, return_dtype=pl.String)
                                  for c in columns.get(t, []) if c in frame.columns)
            for t, frame in frames.items()}

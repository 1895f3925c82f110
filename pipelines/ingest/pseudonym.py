"""Re-keying of identifiers with a keyed hash (HMAC-SHA256) salted with the site code.

The key lives in `$PRE_HOME/secret/` (created on first use, owner-only) or comes from the
environment variable PRE_CLE_PSEUDONYMISATION; it is never logged, copied nor published. The same child
keeps the same pseudonym across a site's successive submissions; two sites' identifiers never
collide, and nobody without the key can link a pseudonym back to the site's own identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

from pipelines import settings
from pipelines.common.datahome import DataHome

KEY_FILE = "cle_pseudonymisation"
DIGEST_CHARS = 32  # 128 bits: no collision in practice, half the storage of the full digest


def _key_file(home: DataHome) -> Path:
    return home.secret / KEY_FILE


def load_key(home: DataHome) -> bytes:
    """The pseudonymisation key: PRE_CLE_PSEUDONYMISATION, else the data home's key file (created if absent)."""
    from_env = settings.load().CLE_PSEUDONYMISATION
    if from_env is not None:
        return from_env.get_secret_value().encode("utf-8")
    path = _key_file(home)
    if not path.exists():
        home.secret.mkdir(parents=True, exist_ok=True)
        os.chmod(home.secret, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # created meanwhile by another process
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def pseudonymise_values(values: list[str], code_pre: str, key: bytes) -> list[str]:
    """HMAC-SHA256(key, code_pre + 0x1F + value), hex, first DIGEST_CHARS characters.

    HMAC is streaming: the state after the site's salt is computed once and copied for each
    value, which gives the same digest as `hmac.new(key, salt + value)` for a quarter less time.
    """
    salted = hmac.new(key, code_pre.encode("utf-8") + b"\x1f", hashlib.sha256)
    out = []
    for value in values:
        h = salted.copy()
        h.update(value.encode("utf-8"))
        out.append(h.hexdigest()[:DIGEST_CHARS])
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
    distinct = pl.concat(values).unique().to_list()
    mapping = dict(zip(distinct, pseudonymise_values(distinct, code_pre, key), strict=True))
    return {t: frame.with_columns(pl.col(c).replace_strict(mapping, default=None, return_dtype=pl.String)
                                  for c in columns.get(t, []) if c in frame.columns)
            for t, frame in frames.items()}

"""Pseudonyms are HMAC-SHA256(key, site code + 0x1F + identifier), computed by DuckDB from the key's
inner and outer blocks (`pseudonym_sql`), checked against the standard library's one-shot `hmac.new`:
through `pseudonymise_values` (replay, rotation) and through the loading's insert (`insert_staged`)."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import polars as pl
import pytest

from pipelines.ingest.lifecycle import LINE, insert_staged
from pipelines.ingest.pseudonym import DIGEST_CHARS, pseudonymise_tables, pseudonymise_values

KEY = b"une-cle-de-test-de-32-octets-!!!"
# Every kind of value a file may hold once read: ASCII, accents (composed and not), characters outside the
# basic plane, control characters, a NUL, quotes, very long, empty, spaces.
VALUES = ["P1", "E000123", "", " ", "é-ü", "e\u0301", "😀x", "a\x00b", "\x1f", "'; drop table x; --", '"',
          "x" * 200, "Ωmega√2", "\t\n"]
# The key as the platform makes it (64 hexadecimal characters), shorter, one byte over HMAC's block (hashed
# first), much longer, and bytes that are not text.
KEYS = [KEY, b"0123456789abcdef" * 4, b"k" * 65, b"long" * 50, bytes(range(256))[:40]]


def reference(value: str, code: str, key: bytes = KEY) -> str:
    return hmac.new(key, f"{code}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:DIGEST_CHARS]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{len(k)}-octets")
@pytest.mark.parametrize("code", ["PRE51454", "PRÉ-1"])
def test_values_match_the_standard_hmac(key, code):
    got = pseudonymise_values(pl.Series([*VALUES, None]), code, key)
    assert got.to_list() == [reference(v, code, key) for v in VALUES] + [None]


def test_the_site_code_salts_the_hash():
    one = pl.Series(["P1"])
    assert pseudonymise_values(one, "PRE51454", KEY).to_list() != pseudonymise_values(one, "PRE51108", KEY).to_list()


@pytest.mark.parametrize("key", KEYS[:3], ids=lambda k: f"{len(k)}-octets")
@pytest.mark.parametrize("folder", ["lot", "lot[1] *?"])  # wildcard characters: read by polars instead
def test_the_loading_insert_gives_the_standard_hmac(tmp_path, key, folder):
    """The loading pseudonymises inside its insert, in DuckDB: the same digests as the standard library's,
    each file salted with its own site's code, line numbers dropped, other columns untouched."""
    con = duckdb.connect()
    con.execute("create schema ingestion")
    con.execute("create table ingestion.actions (code_pre varchar, id_action varchar, id_parcours varchar, n integer)")
    staged = []
    for i, code in enumerate(["PRE51454", "PRE51108"]):
        path = tmp_path / folder / str(i) / "actions.parquet"
        path.parent.mkdir(parents=True)
        pl.DataFrame({"id_action": VALUES, "id_parcours": [None, *VALUES[1:]], "n": range(len(VALUES)),
                      LINE: range(2, len(VALUES) + 2)}).write_parquet(path)
        staged.append((code, path))
    insert_staged(con, "actions", staged, ["id_action", "id_parcours"], key)
    got = con.execute("select code_pre, n, id_action, id_parcours from ingestion.actions order by 1, 2").fetchall()
    assert got == [(code, n, reference(v, code, key), None if n == 0 else reference(v, code, key))
                   for code in ["PRE51108", "PRE51454"] for n, v in enumerate(VALUES)]


def test_tables_share_one_mapping_and_keep_nulls():
    frames = {
        "parcours": pl.DataFrame({"id_parcours": ["P1", "P2"], "id_enfant": ["E1", None], "sexe": ["F", "M"]}),
        "actions": pl.DataFrame({"id_action": ["A1", "A2"], "id_parcours": ["P2", "P1"]}),
    }
    columns = {"parcours": ["id_parcours", "id_enfant"], "actions": ["id_action", "id_parcours"]}
    out = pseudonymise_tables(frames, columns, "PRE10387", KEY)
    assert out["parcours"]["id_parcours"].to_list() == [reference("P1", "PRE10387"), reference("P2", "PRE10387")]
    assert out["parcours"]["id_enfant"].to_list() == [reference("E1", "PRE10387"), None]
    assert out["parcours"]["sexe"].to_list() == ["F", "M"]
    assert out["actions"]["id_parcours"].to_list() == [reference("P2", "PRE10387"), reference("P1", "PRE10387")]
    assert out["actions"]["id_action"].to_list() == [reference("A1", "PRE10387"), reference("A2", "PRE10387")]
    single = pseudonymise_tables({"actions": frames["actions"]}, {"actions": ["id_action"]}, "PRE10387", KEY)
    assert single["actions"]["id_action"].to_list() == out["actions"]["id_action"].to_list()
    assert single["actions"]["id_parcours"].to_list() == ["P2", "P1"]


def test_identifier_columns_without_a_value_stay_empty():
    frames = {"parcours": pl.DataFrame({"id_parcours": [None, None], "id_enfant": [None, None]},
                                       schema={"id_parcours": pl.String, "id_enfant": pl.String}),
              "actions": pl.DataFrame({"id_action": [], "id_parcours": []},
                                      schema={"id_action": pl.String, "id_parcours": pl.String})}
    columns = {"parcours": ["id_parcours", "id_enfant"], "actions": ["id_action", "id_parcours"]}
    out = pseudonymise_tables(frames, columns, "PRE10387", KEY)
    assert out["parcours"].to_dicts() == [{"id_parcours": None, "id_enfant": None}] * 2
    assert out["actions"].height == 0 and out["actions"].schema == frames["actions"].schema

"""Pseudonyms are HMAC-SHA256(key, site code + 0x1F + identifier), computed from the key's inner and outer
blocks (`pseudonymise_values`), checked against the standard library's one-shot `hmac.new`."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

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
    assert pseudonymise_values(VALUES, code, key) == [reference(v, code, key) for v in VALUES]


def test_the_site_code_salts_the_hash():
    assert pseudonymise_values(["P1"], "PRE51454", KEY) != pseudonymise_values(["P1"], "PRE51108", KEY)


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

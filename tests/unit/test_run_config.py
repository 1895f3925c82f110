"""A run's configuration can be typed in the Dagster UI: it must not reach outside the inbox or the
configured data home (a name such as `../secret/cle_pseudonymisation` would have moved the key)."""

from __future__ import annotations

import hashlib
import os

import dagster as dg
import pytest

from pipelines.common.datahome import DataHome
from pipelines.defs.resources import DataHomeResource
from pipelines.ingest.inbox import UntrustedFile, from_config

KEY = b"la-cle-secrete"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    (home.secret / "cle_pseudonymisation").write_bytes(KEY)
    (home.inbox / "depot.zip").write_bytes(b"PK contenu")
    return home


def item(name, content: bytes = b"PK contenu", sha256: str | None = None) -> dict:
    return {"name": name, "size": 1, "mtime": 0.0, "sha256": sha256 or hashlib.sha256(content).hexdigest()}


def test_a_file_waiting_in_the_inbox_is_accepted_with_its_own_size_and_time(home):
    [file] = from_config(home, [item("depot.zip")])
    stat = (home.inbox / "depot.zip").stat()
    assert (file.name, file.size, file.mtime) == ("depot.zip", stat.st_size, stat.st_mtime)


@pytest.mark.parametrize("name", [
    "../secret/cle_pseudonymisation", "/etc/passwd", "sous/depot.zip", "..\\secret\\cle", "..", ".", "",
    ".cache", "depot.zip.part", "depot.tmp", "dep\x00ot.zip", "dep\not.zip", "a" * 256 + ".zip", None, 12,
])
def test_anything_but_a_bare_inbox_name_is_refused_in_french(home, name):
    with pytest.raises(UntrustedFile) as refused:
        from_config(home, [item("depot.zip"), item(name, KEY)])
    message = str(refused.value)
    assert message.startswith("Configuration d'exécution refusée, fichier n° 2 :")
    if isinstance(name, str) and len(name) > 2:
        assert name not in message  # the raw value is never echoed
    assert (home.secret / "cle_pseudonymisation").read_bytes() == KEY


@pytest.mark.parametrize("digest", ["../../registre/x", "A" * 64, "0" * 63, "0" * 65, "g" * 64, "", None])
def test_a_malformed_sha256_is_refused(home, digest):
    with pytest.raises(UntrustedFile, match="empreinte sha256"):
        from_config(home, [{"name": "depot.zip", "size": 1, "mtime": 0.0, "sha256": digest}])


def test_a_content_that_does_not_match_its_hash_is_refused(home):
    with pytest.raises(UntrustedFile, match="ne correspond pas"):
        from_config(home, [item("depot.zip", sha256="0" * 64)])


def test_a_link_in_the_inbox_is_not_followed(home):
    os.symlink(home.secret / "cle_pseudonymisation", home.inbox / "lien.zip")
    with pytest.raises(UntrustedFile, match="fichier ordinaire"):
        from_config(home, [item("lien.zip", KEY)])
    (home.inbox / "dossier.zip").mkdir()
    with pytest.raises(UntrustedFile, match="fichier ordinaire"):
        from_config(home, [item("dossier.zip")])


def test_a_file_handled_meanwhile_is_left_out(home):
    assert from_config(home, [item("parti.zip")]) == []


def test_the_data_home_cannot_be_changed_at_launch(home, tmp_path):
    assert DataHomeResource().home == home
    assert DataHomeResource(root=str(home.root)).home == home
    assert DataHomeResource(root=str(home.root) + "/inbox/..").home == home  # the same folder, spelt otherwise
    for other in (str(tmp_path / "ailleurs"), "/", "donnees", str(home.root / "secret")):
        with pytest.raises(dg.Failure, match="fixé par PRE_HOME"):
            DataHomeResource(root=other).home  # noqa: B018

"""One settings object: every PRE_* variable declared once, typed, validated at start with a French
message naming the variable (never its value), read when asked and never at import."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pipelines import settings
from support import PRE_EVAL, REPO_ROOT, isolated_env


def test_defaults(monkeypatch):
    loaded = settings.load()
    assert loaded.HOME == REPO_ROOT / "data"  # a source checkout keeps its data home at its root
    assert loaded.SEUIL_SECRET == 11
    assert loaded.CLE_PSEUDONYMISATION is None
    assert loaded.LOT_LIGNES == 1_000_000
    assert loaded.workers >= 1


def test_values_are_typed(monkeypatch, tmp_path):
    monkeypatch.setenv("PRE_HOME", str(tmp_path))
    monkeypatch.setenv("PRE_SEUIL_SECRET", "15")
    monkeypatch.setenv("PRE_DELAI_STABILITE_S", "0.5")
    monkeypatch.setenv("PRE_PROCESSUS", "3")
    loaded = settings.load()
    assert (loaded.HOME, loaded.SEUIL_SECRET, loaded.DELAI_STABILITE_S, loaded.workers) == (tmp_path, 15, 0.5, 3)


@pytest.mark.parametrize(("name", "raw", "accepted"), [
    ("PRE_SEUIL_SECRET", "onze", "entier supérieur ou égal à 1"),
    ("PRE_SEUIL_SECRET", "0", "entier supérieur ou égal à 1"),
    ("PRE_MAX_MEMBRES", "-5", "entier ≥ 1"),
    ("PRE_ATTENTE_VERROU_S", "longtemps", "nombre de secondes"),
    ("PRE_LOT_LIGNES", "1e6x", "entier ≥ 1"),
    ("PRE_MEMOIRE_DUCKDB_MO", "100", "256 au moins"),
])
def test_a_bad_value_names_the_variable_in_french_without_echoing_it(monkeypatch, name, raw, accepted):
    monkeypatch.setenv(name, raw)
    with pytest.raises(settings.SettingsError) as caught:
        settings.load()
    message = str(caught.value)
    assert name in message and accepted in message and "invalide" in message
    assert raw not in message.replace(name, "")


def test_a_changed_variable_is_seen_at_the_next_call_and_an_unchanged_environment_is_validated_once(monkeypatch):
    built = []
    real = settings.Settings
    monkeypatch.setattr(settings, "Settings", lambda: built.append(1) or real())
    monkeypatch.setenv("PRE_SEUIL_SECRET", "13")
    assert settings.load().SEUIL_SECRET == 13
    monkeypatch.setenv("PRE_SEUIL_SECRET", "14")  # the value seen at the next call, not the cached one
    assert settings.load().SEUIL_SECRET == 14
    assert settings.load().SEUIL_SECRET == 14
    monkeypatch.setenv("PRE_LOT_LIGNES", "1000")  # any other PRE_ variable counts as a change too
    assert settings.load().LOT_LIGNES == 1000
    monkeypatch.setenv("PRE_SEUIL_SECRET", "zéro")  # a bad value after a good one is still refused
    with pytest.raises(settings.SettingsError):
        settings.load()
    monkeypatch.setenv("NOT_PRE_VARIABLE", "x")  # not a setting: no new validation
    monkeypatch.setenv("PRE_SEUIL_SECRET", "14")  # back to the last good environment: nothing validated
    assert settings.load().SEUIL_SECRET == 14
    assert settings.load().SEUIL_SECRET == 14
    assert len(built) == 4  # 13; 14; 14 with 1000; the bad value


def test_every_bad_variable_is_named_at_once(monkeypatch):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "x")
    monkeypatch.setenv("PRE_MAX_MEMBRES", "y")
    with pytest.raises(settings.SettingsError) as caught:
        settings.load()
    message = str(caught.value)
    assert "PRE_SEUIL_SECRET" in message and "PRE_MAX_MEMBRES" in message


def test_blank_means_default(monkeypatch):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "   ")
    assert settings.load().SEUIL_SECRET == 11


def test_the_key_is_never_shown(monkeypatch):
    monkeypatch.setenv("PRE_CLE_PSEUDONYMISATION", "ne-jamais-afficher")
    loaded = settings.load()
    assert "ne-jamais-afficher" not in repr(loaded) and "ne-jamais-afficher" not in str(loaded)
    assert loaded.CLE_PSEUDONYMISATION.get_secret_value() == "ne-jamais-afficher"


def test_nothing_reads_the_environment_at_import(tmp_path):
    """Importing every module with broken settings works; only using them fails."""
    code = ("import pipelines.definitions, pipelines.cli, pipelines.dev, pipelines.process; "
            "import pipelines.contracts.reader, pipelines.publication.disclosure, pipelines.common.workers")
    env = isolated_env(tmp_path / "data", tmp_path, PRE_MAX_MEMBRES="beaucoup", PRE_SEUIL_SECRET="onze")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_command_refuses_to_start_with_a_bad_variable(tmp_path):
    env = isolated_env(tmp_path / "data", tmp_path, PRE_LOT_LIGNES="mille")
    run = subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "Configuration invalide" in run.stderr and "PRE_LOT_LIGNES" in run.stderr
    assert "Traceback" not in run.stderr and "mille" not in run.stderr
    assert not (tmp_path / "data").exists()  # nothing was done


def test_settings_are_the_only_reader_of_pre_variables():
    """No module reads a PRE_* variable from the environment itself (the settings object is the one home)."""
    offenders = []
    for path in (REPO_ROOT / "pipelines").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "settings.py" and re.search(r"environ(\.get)?\(?\[?[\"']PRE_|getenv\([\"']PRE_", text):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    for path in (REPO_ROOT / "dashboards").rglob("*.py"):
        if re.search(r"environ(\.get)?\(?\[?[\"']PRE_|getenv\([\"']PRE_", path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


def test_readme_documents_every_variable_in_one_table():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert settings.table_markdown() in readme, "régénérez la table : .venv/bin/python -m pipelines.settings"


def test_the_writer_s_connection_bounds_duckdb_s_memory(monkeypatch, tmp_path):
    from pipelines.common.datahome import DataHome
    from pipelines.warehouse.store import connect

    home = DataHome(tmp_path / "data")
    with connect(home) as con:  # by default 2 000 Mo: 2e9 bytes / 2^20 = 1 907,3 MiB, as DuckDB shows it
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "1.8 GiB"
    monkeypatch.setenv("PRE_MEMOIRE_DUCKDB_MO", "300")
    with connect(home) as con:  # 3e8 / 2^20 = 286,1 MiB
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"

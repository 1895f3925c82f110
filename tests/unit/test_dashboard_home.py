"""The dashboard reads its data home once per environment, not once per query (each read of the settings
parses the environment: 1 240 reads were 3 s of a national Synthèse page), and follows a changed `PRE_HOME`."""

from __future__ import annotations

import sys

from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "dashboards"))
import data

from pipelines import settings


def test_the_home_is_read_once_per_environment_and_follows_pre_home(tmp_path, monkeypatch):
    reads = []
    real = settings.load
    monkeypatch.setattr(settings, "load", lambda: reads.append(1) or real())
    data._home_for.cache_clear()
    monkeypatch.setenv("PRE_HOME", str(tmp_path / "un"))
    assert all(data.home().root == tmp_path / "un" for _ in range(50))
    assert len(reads) == 1
    monkeypatch.setenv("PRE_HOME", str(tmp_path / "deux"))
    assert data.home().root == tmp_path / "deux"
    monkeypatch.setenv("PRE_SEUIL_SECRET", "12")  # any PRE_ variable: the settings are read again
    assert data.home().root == tmp_path / "deux"
    assert len(reads) == 3

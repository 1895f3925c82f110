"""The Dagster definitions load and their assets materialize."""

from __future__ import annotations

import dagster as dg

from pre_eval.definitions import defs


def test_definitions_load():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"referentiel_sites", "contrats_de_donnees"} <= keys


def test_referential_assets_materialize(tmp_path, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(tmp_path))
    (tmp_path / "referentiel").mkdir()
    (tmp_path / "referentiel" / "autres.csv").write_text(
        "code_pre,nom,code_commune,departement,region,porteur\n"
        "PRE13055,Marseille,13055,13,93,Commune de Marseille\n", encoding="utf-8")
    assets = [defs.get_assets_def("referentiel_sites"), defs.get_assets_def("contrats_de_donnees")]
    result = dg.materialize(assets, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert meta["referentiel_sites"]["row_count"].value == 16  # 15 shipped + 1 added as data
    assert meta["contrats_de_donnees"]["tables"].value == 5

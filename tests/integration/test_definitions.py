"""The Dagster definitions load and their assets materialize."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.definitions import defs


def test_definitions_load():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"referentiel_sites", "contrats_de_donnees", "depot", "donnees_site", "marts/depots",
            "entrepot_publie"} <= keys
    assert {s.name for s in repo.sensor_defs} >= {"boite_de_depot", "publication_groupee"}


def test_referential_assets_materialize(tmp_path, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(tmp_path))
    (tmp_path / "referentiel").mkdir()
    (tmp_path / "referentiel" / "autres.csv").write_text(
        "code_pre,nom,code_commune,departement,region,porteur\n"
        "PRE13055,Marseille,13055,13,93,Commune de Marseille\n", encoding="utf-8")
    assets = [defs.get_assets_def("referentiel_sites"), defs.get_assets_def("contrats_de_donnees")]
    from pipelines.defs.resources import DataHomeResource

    result = dg.materialize(assets, instance=dg.DagsterInstance.ephemeral(),
                            resources={"data_home": DataHomeResource(root=str(tmp_path))})
    assert result.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert meta["referentiel_sites"]["dagster/row_count"].value == 16  # 15 shipped + 1 added as data
    assert meta["contrats_de_donnees"]["tables"].value == 5
    import duckdb

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("select nom from ingestion.sites where code_pre = 'PRE13055'").fetchone() == ("Marseille",)
    con.close()


@pytest.mark.slow
def test_workspace_and_dg_load_the_definitions():
    """`dagster … -w workspace.yaml` and `dg` both find the code location (as `dagster dev` / `dg dev` would)."""
    import subprocess

    from support import BIN as bin_dir
    from support import REPO_ROOT as root

    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": "/tmp", "DAGSTER_HOME": "", "PRE_HOME": "/tmp/pre-defs"}
    env.pop("DAGSTER_HOME")
    validate = subprocess.run([str(bin_dir / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                              cwd=root, capture_output=True, text=True, timeout=180, env=env)
    assert validate.returncode == 0, validate.stderr[-2000:]
    check = subprocess.run([str(bin_dir / "dg"), "check", "defs"], cwd=root, capture_output=True, text=True,
                           timeout=180, env=env)
    assert check.returncode == 0, (check.stdout + check.stderr)[-2000:]


def test_marts_carry_their_columns_lineage_and_the_catalogue():
    """Column schemas from the contracts (types and French descriptions), lineage of the site marts to the loaded
    tables, the catalogue's definitions on marts/indicateurs, and a check on every mart."""
    from pipelines.contracts.model import load_contracts
    from pipelines.warehouse.catalogue import catalogue

    graph = defs.resolve_asset_graph()
    contracts = load_contracts()
    for table in ("parcours", "actions", "bilans", "attentes"):
        node = graph.get(dg.AssetKey(["marts", table]))
        schema = node.metadata["dagster/column_schema"]
        expected = [("code_pre", "code du site (PRE suivi de cinq caractères)")] + [
            (c.name, c.description) for c in contracts.tables[table].columns]
        assert [(c.name, c.description) for c in schema.columns] == expected
        lineage = node.metadata["dagster/column_lineage"].deps_by_column
        assert set(lineage) == {name for name, _ in expected}
        assert {d.asset_key for deps in lineage.values() for d in deps} == {dg.AssetKey("donnees_site")}
    node = graph.get(dg.AssetKey(["marts", "indicateurs"]))
    for ind in catalogue():
        assert ind.definition in node.description and f"`{ind.code}`" in node.metadata["catalogue"].value
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    marts = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert {m for m, name in checks if name == "aucun_identifiant_en_clair"} == marts
    assert {("marts/indicateurs", "indicateurs_coherents"), ("marts/depots", "volume_stable"),
            ("marts/depots", "fraicheur_des_sites"), ("marts/actions", "cles_uniques")} <= checks

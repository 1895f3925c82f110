"""Replay of the snapshots in force (`pre-eval rejouer`, and the `depot` partition materialised without run
config as the Dagster UI does it), on a copy of three sites processed by `pre-eval process`.

The expected pseudonyms are computed from the archived files by the key-rotation tests' independent HMAC
(`expected_pseudonyms`); the expected indicators are the warehouse's own before the rows were damaged."""

from __future__ import annotations

import duckdb
import pytest
from test_key_rotation import expected_pseudonyms, held_pseudonyms, key_of, query, snapshots

from pipelines.common.datahome import DataHome
from support import THREE_SITES

SITES = THREE_SITES["sites"]


@pytest.fixture
def home(processed_homes, tmp_path, monkeypatch) -> DataHome:
    home = processed_homes.get(**THREE_SITES).copy(tmp_path / "donnees")
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PRE_PROCESSUS", "1")
    return home


def indicators(home: DataHome) -> list[tuple]:
    return sorted(query(home.warehouse, "select * from marts.indicateurs"), key=repr)


def damage(home: DataHome, code: str) -> None:
    """What a faulty loading code could have left: half of a site's actions gone, the marts rebuilt."""
    from pipelines.warehouse import models

    con = duckdb.connect(str(home.warehouse))
    try:
        con.execute("delete from ingestion.actions where code_pre = ? and hash(id_action) % 2 = 0", [code])
        models.build(con)
    finally:
        con.close()


def ledger(home: DataHome) -> list[tuple]:
    return sorted(query(home.warehouse, "select * from ingestion.depots"), key=repr)


@pytest.mark.slow
def test_replaying_every_site_after_a_key_rotation_restores_the_figures_on_the_new_key(home):
    from pipelines.ingest import replay as replays
    from pipelines.ingest.rotation import rotate
    from pipelines.process import replay

    before, files, entries = indicators(home), snapshots(home), ledger(home)
    copy = home.published / "entrepot.duckdb"
    published, inode = sorted(query(copy, "select * from marts.indicateurs"), key=repr), copy.stat().st_ino
    old_key = key_of(home)
    rotate(home)  # the warehouse re-keyed; the analyst then replays with the new key
    new_key = key_of(home)
    assert new_key != old_key
    damage(home, SITES[1])
    assert indicators(home) != before

    result = replay(home, None, reason="nouvelle clé et correctif du chargement", by="analyste")
    assert result.errors == []
    assert len(result.lines) == 3 and all(" : rejoué, " in line and "lignes chargées de nouveau" in line
                                          for line in result.lines), result.lines
    assert indicators(home) == before  # the damaged site is whole again; every figure as before
    for code, path in files.items():  # every identifier is the new key's HMAC, computed independently
        assert held_pseudonyms(home, code) == expected_pseudonyms(path, code, new_key), code
    assert ledger(home) == entries  # the same submissions in force, received the same days
    # The publication run materialised every mart with its row count and live column schema, and ran the checks.
    import dagster as dg

    from pipelines.process import dagster_instance

    instance = dagster_instance(home)
    event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "indicateurs"]))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == len(before)
    assert [c.name for c in metadata["dagster/column_schema"].schema.columns][:7] == [
        "indicateur", "categorie", "niveau", "territoire", "periode", "valeur", "effectif"]
    # The published copy's step tells where its time went (read by benchmarks/chemin_direct.py): the
    # protection and the copies, each a part of the step's own duration.
    copy_event = instance.get_latest_materialization_event(dg.AssetKey("entrepot_publie"))
    parts = copy_event.asset_materialization.metadata
    step = {e.dagster_event.event_type_value: e.timestamp for e in instance.all_logs(copy_event.run_id)
            if e.dagster_event and e.dagster_event.step_key == "entrepot_publie"}
    assert parts["secret_statistique_s"].value > 0
    assert parts["copie_publiee_s"].value > 0
    assert parts["secret_statistique_s"].value + parts["copie_publiee_s"].value <= (
        step["STEP_SUCCESS"] - step["STEP_START"] + 0.02)
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey(["marts", "indicateurs"]), "indicateurs_coherents")])
    assert next(iter(check.values())).status.value == "SUCCEEDED"
    # Republished (a new file swapped in), with the same masked figures as before.
    assert copy.stat().st_ino != inode
    assert sorted(query(copy, "select * from marts.indicateurs"), key=repr) == published
    (entry,) = replays.journal(home)
    assert entry["par"] == "analyste" and entry["motif"] == "nouvelle clé et correctif du chargement"
    assert entry["execution"] and [s["resultat"] for s in entry["sites"]] == ["rejoue"] * 3
    assert new_key.decode() not in (home.journal / replays.JOURNAL_NAME).read_text(encoding="utf-8")
    for site in entry["sites"]:  # each replay has its report beside the site's others
        report = (home.root / site["rapport"]).read_text(encoding="utf-8")
        assert "Rejeu du dépôt en vigueur" in report and "accepté" in report.lower()


@pytest.mark.slow
def test_a_partition_materialised_as_the_ui_does_replays_that_site_only(home):
    """No run config at all, as « Materialize » on one partition of `depot` in the UI."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.ingest import replay as replays
    from pipelines.process import dagster_instance

    damage(home, SITES[2])
    damage(home, SITES[0])
    damaged_first = held_pseudonyms(home, SITES[0])
    job = defs.resolve_implicit_global_asset_job_def()
    run = job.execute_in_process(partition_key=SITES[2], asset_selection=[dg.AssetKey("depot")],
                                 instance=dagster_instance(home), raise_on_error=False)
    assert run.success
    (entry,) = replays.journal(home)
    assert entry["par"] == "interface Dagster" and "interface Dagster" in entry["motif"]
    assert entry["execution"] == run.run_id
    assert [(s["code_pre"], s["resultat"]) for s in entry["sites"]] == [(SITES[2], "rejoue")]
    assert held_pseudonyms(home, SITES[0]) == damaged_first  # the other damaged site is left as it was
    files = snapshots(home)
    assert held_pseudonyms(home, SITES[2]) == expected_pseudonyms(files[SITES[2]], SITES[2], key_of(home))
    materialised = run.asset_materializations_for_node("depot")
    assert materialised and materialised[0].metadata["sites_rejoues"].value == 1


@pytest.mark.slow
def test_a_site_whose_archived_file_is_gone_is_told_and_left_unchanged(home):
    """Through the UI's path (no run config), over a range of two partitions: the site whose file the retention
    rules removed keeps its rows, the other one is replayed, and the journal and the terminal line say which."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.ingest import replay as replays
    from pipelines.process import dagster_instance

    files = snapshots(home)
    gone = SITES[0]
    files[gone].unlink()  # removed by the retention rules, say
    damage(home, gone)
    held, entries = held_pseudonyms(home, gone), ledger(home)
    instance = dagster_instance(home)
    known = instance.get_dynamic_partitions("sites")
    first, second = sorted([gone, SITES[1]], key=known.index)
    run = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[dg.AssetKey("depot")], instance=instance, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": second})
    assert run.success
    (entry,) = replays.journal(home)
    outcomes = {s["code_pre"]: s["resultat"] for s in entry["sites"]}
    assert outcomes[gone] == "fichier_absent" and outcomes[SITES[1]] == "rejoue"
    (line,) = [r.line() for r in replays.from_journal(entry) if r.code_pre == gone]
    assert line == (f"{gone} ({files[gone].name.split('_', 2)[2]}) : fichier archivé supprimé (règles de "
                    "conservation) ou introuvable ; rejeu impossible, les données en vigueur restent inchangées")
    assert held_pseudonyms(home, gone) == held and ledger(home) == entries


def test_a_replay_needs_a_reason_and_well_formed_sites(home, capsys):
    from pipelines import cli
    from pipelines.ingest.replay import ReplayError, checked_reason, checked_sites

    for bad in ("", "   ", "x" * 301, "motif\x1b[31m", "retour\x08"):
        with pytest.raises(ReplayError, match="Motif du rejeu"):
            checked_reason(bad)
    assert checked_reason("  après   correctif ") == "après correctif"
    assert checked_reason("ligne\nforgée") == "ligne forgée"  # one journal line, whatever the input
    with pytest.raises(ReplayError) as error:
        checked_sites(["PRE51454", "../../etc/passwd"])
    assert "passwd" not in str(error.value) and "code de site invalide" in str(error.value)
    before = ledger(home)
    assert cli.main(["rejouer", "--tous", SITES[0], "--motif", "x"]) == 2
    assert "pas les deux" in capsys.readouterr().err
    assert cli.main(["rejouer", "PRE99999", "--motif", "\x07"]) == 2
    assert "caractères de contrôle" in capsys.readouterr().err
    assert ledger(home) == before
    assert not (home.journal / "rejeux.jsonl").exists()  # nothing was replayed, nothing journaled

"""Retention (operations.md, "Retention"): `pre-eval purger` and the daily schedule on real files
that went through the real pipeline, with `--date` in the future.

The data home of the module: site PRE55545 in force since 2026-01-01 (T); a refused file received
2026-01-03 (R); site PRE57227's snapshot received 2026-01-05 (A), replaced by the one received
2026-01-10 (B); an older extraction of PRE57227 received 2026-01-12, ignored (I). Receipt times are
set on the files before they are processed (10:00 UTC, 11:00 in Paris), so every expected date below
is worked out by hand from those days: R goes from 2026-01-03 + 30 = 2026-02-02, A from
2026-01-10 + 90 = 2026-04-10, I from 2026-01-12 + 90 = 2026-04-12; B and T never.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines import cli
from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from pipelines.ingest import retention
from pipelines.process import dagster_instance, process
from support import PRE_EVAL, isolated_env

SITE_T, SITE_S = "PRE55545", "PRE57227"
RECEIVED = {"T": date(2026, 1, 1), "R": date(2026, 1, 3), "A": date(2026, 1, 5), "B": date(2026, 1, 10),
            "I": date(2026, 1, 12)}


def _drop(home: DataHome, source: Path, name: str, day: date) -> None:
    target = home.inbox / name
    shutil.copy(source, target)
    moment = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC).timestamp()
    os.utime(target, (moment, moment))


def _ledger(home: DataHome) -> list[tuple]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute("select * from marts.depots order by all").fetchall()
    finally:
        con.close()


def _chemins(home: DataHome) -> dict[str, dict]:
    """fichier → its ledger row (read straight from the warehouse)."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("select fichier, chemin, sha256, code_pre, statut, en_vigueur "
                           "from ingestion.depots").fetchall()
    finally:
        con.close()
    return {f: {"chemin": c, "sha256": s, "code_pre": p, "statut": st, "en_vigueur": v} for f, c, s, p, st, v in rows}


def _indicators(home: DataHome) -> list[tuple]:
    con = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        return con.execute("select * from marts.indicateurs order by all").fetchall()
    finally:
        con.close()


def _files(root: Path, *folders: str) -> dict[str, str]:
    """Relative path → SHA-256 of every regular file under these folders of the data home."""
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and not path.is_symlink():
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    root = tmp_path_factory.mktemp("conservation")
    scratch = DataHome(root / "generation")
    files = {
        "T": generate(root / "t", seed=5, sites=[SITE_T], from_year=2024, to_year=2024, with_errors=True,
                      home=scratch),
        "A": generate(root / "a", seed=5, sites=[SITE_S], from_year=2024, to_year=2024, home=scratch),
        "B": generate(root / "b", seed=5, sites=[SITE_S], from_year=2024, to_year=2025, home=scratch),
        "I": generate(root / "i", seed=5, sites=[SITE_S], from_year=2023, to_year=2023, home=scratch),
    }
    refused = next(f for f in files["T"] if f.expected_rule and f.expected_rule.startswith("parcours.")
                   and f.code_pre == SITE_T)
    home = DataHome(root / "data").ensure()
    sources = {"T": files["T"][0].path, "R": refused.path, "A": files["A"][0].path, "B": files["B"][0].path,
               "I": files["I"][0].path}
    names = {key: f"depot_{key.lower()}{path.suffix}" for key, path in sources.items()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRE_HOME", str(home.root))
        mp.setenv("DAGSTER_HOME", str(root / "dagster"))
        for key in ("T", "R", "A"):
            _drop(home, sources[key], names[key], RECEIVED[key])
        assert process(home).ok
        for key in ("B", "I"):  # a second run: B replaces A, I is older than A and ignored
            _drop(home, sources[key], names[key], RECEIVED[key])
        assert process(home).ok
    ledger = _chemins(home)
    roles = {key: ledger[name] for key, name in names.items()}
    assert [roles[k]["statut"] for k in "TRABI"] == ["accepte", "refuse", "accepte", "accepte", "ignore"]
    assert [roles[k]["en_vigueur"] for k in "TRABI"] == [True, False, False, True, False]
    return home, roles


@pytest.fixture
def home(processed, tmp_path, monkeypatch):
    """A copy of the processed data home, for one test."""
    source, _ = processed
    copy = DataHome(tmp_path / "data")
    shutil.copytree(source.root, copy.root, symlinks=True)
    monkeypatch.setenv("PRE_HOME", str(copy.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    return copy


@pytest.fixture
def roles(processed):
    return processed[1]


def purger(capsys, *args: str) -> tuple[int, list[str]]:
    """`pre-eval purger ARGS` through the command's entry point (umask restored after)."""
    capsys.readouterr()  # what earlier steps printed (Dagster's run logs) is not this command's
    mask = os.umask(0o022)
    os.umask(mask)
    try:
        code = cli.main(["purger", *args])
    finally:
        os.umask(mask)
    out = capsys.readouterr()
    return code, out.out.splitlines() + out.err.splitlines()


def _listed(lines: list[str], prefix: str) -> list[str]:
    """The paths of the lines `prefix : <path> (…) — motif`."""
    return sorted(line.removeprefix(f"{prefix} : ").split(" (")[0] for line in lines if line.startswith(f"{prefix} : "))


# --------------------------------------------------------------------------- the timeline


@pytest.mark.slow  # the module's data home: two runs of the pipeline (about 1 min)
def test_purge_follows_the_ledger_dates(home, roles, capsys):
    root = home.root
    chemin = {k: roles[k]["chemin"] for k in roles}
    kept = _files(root, "reports", "registre") | {"journal/arrivees.jsonl": _files(root, "journal")[
        "journal/arrivees.jsonl"]}
    ledger_before = _ledger(home)
    everything = _files(root, "quarantine", "archive")
    assert set(everything) == set(chemin.values())

    # R + 29 days: nothing goes, in simulation or not.
    code, lines = purger(capsys, "--date", "2026-02-01", "--simulation")
    assert code == 0 and lines[-1] == "Rien à supprimer." and not _listed(lines, "À supprimer")
    code, lines = purger(capsys, "--date", "2026-02-01")
    assert code == 0 and lines[-1] == "Rien n'a été supprimé."
    assert _files(root, "quarantine", "archive") == everything
    assert retention.read_journal(home) == []

    # R + 30 and + 31: the refused file would go, and only it; the simulation deletes nothing.
    for day in ("2026-02-02", "2026-02-03"):
        code, lines = purger(capsys, "--date", day, "--simulation")
        assert code == 0 and _listed(lines, "À supprimer") == [chemin["R"]]
    size_r = (root / chemin["R"]).stat().st_size
    assert lines[-1] == f"Total : 1 élément à supprimer, {formats.size(size_r)}."
    assert "refusé reçu le 2026-01-03, conservé 30 jours" in next(line for line in lines if chemin["R"] in line)
    assert _files(root, "quarantine", "archive") == everything and retention.read_journal(home) == []

    code, lines = purger(capsys, "--date", "2026-02-03")
    assert code == 0 and _listed(lines, "Supprimé") == [chemin["R"]]
    assert _files(root, "quarantine", "archive") == {p: h for p, h in everything.items() if p != chemin["R"]}
    journal = retention.read_journal(home)
    assert len(journal) == 1
    line = journal[0]
    assert (line["evenement"], line["chemin"], line["sha256"], line["code_pre"], line["date_reference"],
            line["motif"], line["taille_octets"]) == (
        "suppression", chemin["R"], roles["R"]["sha256"], SITE_T, "2026-02-03",
        "refusé reçu le 2026-01-03, conservé 30 jours", size_r)
    assert datetime.fromisoformat(line["purge_le"]).date() == datetime.now(tz=UTC).date()

    # A second purge on the same day is a no-op.
    code, lines = purger(capsys, "--date", "2026-02-03")
    assert code == 0 and lines[-1] == "Rien n'a été supprimé." and len(retention.read_journal(home)) == 1

    # A stopped being in force when B was received (2026-01-10): kept 90 days, to 2026-04-09 included.
    code, lines = purger(capsys, "--date", "2026-04-09")
    assert code == 0 and not _listed(lines, "Supprimé")
    code, lines = purger(capsys, "--date", "2026-04-13", "--simulation")
    assert _listed(lines, "À supprimer") == sorted([chemin["A"], chemin["I"]])
    sizes = (root / chemin["A"]).stat().st_size + (root / chemin["I"]).stat().st_size
    assert lines[-1] == f"Total : 2 éléments à supprimer, {formats.size(sizes)}."
    code, lines = purger(capsys, "--date", "2026-04-11")
    assert code == 0 and _listed(lines, "Supprimé") == [chemin["A"]]
    assert retention.read_journal(home)[-1]["motif"] == (
        "remplacé par le dépôt du site reçu le 2026-01-10, conservé 90 jours après")

    # The daily schedule, evaluated for 2026-04-13 03:30 in Paris, and its run through the definitions.
    from pipelines.definitions import defs

    schedule = defs.resolve_schedule_def("purge_quotidienne")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * *", "Europe/Paris")
    instance = dagster_instance(home)
    tick = datetime(2026, 4, 13, 1, 30, tzinfo=UTC)  # 03:30 in Paris (summer time)
    request = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=tick))
    [run_request] = request.run_requests
    run = defs.resolve_job_def(schedule.job_name).execute_in_process(
        run_config=run_request.run_config, instance=instance, tags=run_request.tags)
    assert run.success
    journal = retention.read_journal(home)
    assert [(j["chemin"], j["date_reference"]) for j in journal] == [
        (chemin["R"], "2026-02-03"), (chemin["A"], "2026-04-11"), (chemin["I"], "2026-04-13")]
    assert journal[-1]["motif"].startswith("ignoré") and "reçu le 2026-01-12" in journal[-1]["motif"]

    # The snapshots in force keep their files, however old; ledger, reports, registry, arrivals intact.
    code, lines = purger(capsys, "--date", "2036-01-01")
    assert code == 0 and lines[-1] == "Rien n'a été supprimé."
    assert _files(root, "quarantine", "archive") == {chemin["T"]: everything[chemin["T"]],
                                                     chemin["B"]: everything[chemin["B"]]}
    assert _ledger(home) == ledger_before
    assert _files(root, "reports", "registre") | {"journal/arrivees.jsonl": _files(root, "journal")[
        "journal/arrivees.jsonl"]} == kept
    assert len(retention.read_journal(home)) == 3


@pytest.mark.slow  # the module's data home: two runs of the pipeline (about 1 min)
def test_indicators_unchanged_after_a_purge(home, capsys):
    before = _indicators(home)
    code, _ = purger(capsys, "--date", "2036-01-01")
    assert code == 0 and len(retention.read_journal(home)) == 3
    result = process(home)  # empty inbox: rebuilds the marts from the warehouse and publishes again
    assert result.ok and result.handled == 0
    assert _indicators(home) == before


# --------------------------------------------------------------------------- attacks and anomalies


@pytest.mark.slow  # the module's data home: two runs of the pipeline (about 1 min)
def test_links_and_unknown_files_are_left_and_reported(home, roles, tmp_path, capsys):
    root = home.root
    outside = tmp_path / "dehors"
    outside.mkdir()
    precious = outside / "precieux.txt"
    precious.write_text("ne pas supprimer", encoding="utf-8")
    # The refused file, due at R + 31, replaced by a link to a file outside the data home.
    refused = root / roles["R"]["chemin"]
    refused.unlink()
    refused.symlink_to(precious)
    # Links planted in quarantine and archive, a folder link, and files the ledger does not know.
    (root / "quarantine" / SITE_T / "lien.zip").symlink_to(precious)
    (root / "archive" / "lien-dossier").symlink_to(outside, target_is_directory=True)
    (root / "quarantine" / "INCONNU").mkdir(exist_ok=True)
    (root / "quarantine" / "INCONNU" / "orphelin.zip").write_bytes(b"PK")
    (root / "archive" / SITE_T / "orphelin.zip").write_bytes(b"PK")
    planted = [roles["R"]["chemin"], f"quarantine/{SITE_T}/lien.zip", "archive/lien-dossier",
               "quarantine/INCONNU/orphelin.zip", f"archive/{SITE_T}/orphelin.zip"]
    outside_before = _files(tmp_path, "dehors")

    # As of 2026-04-11, R (a link now) and A are due: A goes, the link stays, nothing outside changes.
    code, lines = purger(capsys, "--date", "2026-04-11")
    assert code == 0
    assert _files(tmp_path, "dehors") == outside_before
    assert _listed(lines, "Supprimé") == [roles["A"]["chemin"]]
    assert refused.is_symlink() and (root / "quarantine" / SITE_T / "lien.zip").is_symlink()
    assert (root / "archive" / "lien-dossier").is_symlink()
    assert (root / "quarantine" / "INCONNU" / "orphelin.zip").exists()
    assert (root / "archive" / SITE_T / "orphelin.zip").exists()
    left = [line for line in lines if line.startswith("Laissé en place : ")]
    for expected in planted:
        assert any(line.startswith(f"Laissé en place : {expected} : ") for line in left), (expected, left)
    assert len(left) == len(planted)

    # Then the site's archive folder (holding I, due from 2026-04-12, and B) is swapped for a link to a
    # folder outside: I is reached only through the link, so it is left where it is.
    site_folder = (root / roles["I"]["chemin"]).parent
    moved = outside / "archive-deplacee"
    shutil.move(site_folder, moved)
    site_folder.symlink_to(moved, target_is_directory=True)
    outside_before = _files(tmp_path, "dehors")
    code, lines = purger(capsys, "--date", "2036-01-01")
    assert code == 0 and not _listed(lines, "Supprimé")
    assert _files(tmp_path, "dehors") == outside_before
    left = [line for line in lines if line.startswith("Laissé en place : ")]
    assert any(line.startswith(f"Laissé en place : {roles['I']['chemin']} : ") for line in left), left
    assert any(line.startswith(f"Laissé en place : archive/{SITE_S} : lien symbolique") for line in left), left
    assert [j["chemin"] for j in retention.read_journal(home)] == [roles["A"]["chemin"]]


def test_staging_of_interrupted_runs_goes_but_never_a_run_in_progress(tmp_path, monkeypatch, capsys):
    from pipelines.definitions import defs

    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    instance = dagster_instance(home)
    staging = home.root / "staging"
    crashed = staging / "a1b2c3d4-0000-4000-8000-000000000000" / ("f" * 64)
    crashed.mkdir(parents=True)
    (crashed / "parcours.parquet").write_bytes(b"x" * 1500)
    running = instance.create_run_for_job(defs.resolve_job_def("ingestion"), status=dg.DagsterRunStatus.STARTED,
                                          run_config={"ops": {"depot": {"config": {"files": []}}}})
    (staging / running.run_id / ("e" * 64)).mkdir(parents=True)
    (staging / running.run_id / ("e" * 64) / "lecture.json").write_text("{}", encoding="utf-8")

    code, lines = purger(capsys, "--date", "2026-01-20", "--simulation")
    assert code == 0 and _listed(lines, "À supprimer") == ["staging/a1b2c3d4-0000-4000-8000-000000000000"]
    assert crashed.exists()
    code, lines = purger(capsys, "--date", "2026-01-20")
    assert _listed(lines, "Supprimé") == ["staging/a1b2c3d4-0000-4000-8000-000000000000"]
    assert not crashed.parent.exists() and (staging / running.run_id).is_dir()
    assert any(line.startswith(f"Laissé en place : staging/{running.run_id} : exécution en cours")
               for line in lines)
    [line] = retention.read_journal(home)
    assert line["chemin"] == "staging/a1b2c3d4-0000-4000-8000-000000000000" and line["taille_octets"] == 1500

    instance.report_run_failed(running)  # the run ends (here: fails): its staging goes at the next purge
    code, lines = purger(capsys, "--date", "2026-01-20")
    assert _listed(lines, "Supprimé") == [f"staging/{running.run_id}"]
    assert list(staging.iterdir()) == []


@pytest.mark.slow
def test_an_ingestion_run_clears_a_crashed_runs_staging(home, roles, capsys):
    """The ingestion job itself (as the daemon runs it, without `pre-eval process`'s own clean-up)."""
    from pipelines.definitions import defs
    from pipelines.defs.ingestion import pending_requests, run_config

    crashed = home.root / "staging" / "0badc0de-0000-4000-8000-000000000000" / ("d" * 64)
    crashed.mkdir(parents=True)
    (crashed / "lecture.json").write_text("{}", encoding="utf-8")
    source = home.root / roles["B"]["chemin"]
    copy = home.root.parent / "renvoi.zip"
    shutil.copy(source, copy)
    with open(copy, "ab") as handle:  # a new content (ZIP readers ignore trailing bytes after the directory)
        handle.write(b"\0")
    _drop(home, copy, "renvoi.zip", date(2026, 2, 1))
    instance = dagster_instance(home)
    [(site, file)], _ = pending_requests(home, stable_seconds=0)
    instance.add_dynamic_partitions("sites", [site])
    run = defs.resolve_job_def("ingestion").execute_in_process(
        run_config=run_config([file]).to_config_dict(), instance=instance, partition_key=site, raise_on_error=False)
    assert not crashed.parent.exists()
    assert [j["chemin"] for j in retention.read_journal(home)] == ["staging/0badc0de-0000-4000-8000-000000000000"]
    assert run.run_id  # the run itself went its way (accepted or refused, not our concern here)


# --------------------------------------------------------------------------- the command line


def test_bad_date_is_a_french_error_and_deletes_nothing(tmp_path):
    """The installed console script: exit 2 and a French message for a bad date, before anything is read."""
    home = DataHome(tmp_path / "data").ensure()
    (home.quarantine / "INCONNU").mkdir()
    (home.quarantine / "INCONNU" / "sans_registre.zip").write_bytes(b"PK")
    env = isolated_env(home.root, tmp_path, DAGSTER_HOME=str(tmp_path / "dagster"))
    for bad in ("2026-02-30", "31/01/2036", "2036-1-1", "demain"):
        result = subprocess.run([PRE_EVAL, "purger", "--date", bad], capture_output=True, text=True, timeout=120,
                                env=env)
        assert result.returncode == 2, (bad, result.stderr)
        assert result.stderr.startswith("Date invalide : ") and "AAAA-MM-JJ" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    ok = subprocess.run([PRE_EVAL, "purger", "--date", "2036-01-01", "--simulation"], capture_output=True,
                        text=True, timeout=120, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        "Simulation de la purge au 01/01/2036 : rien n'est supprimé.",
        "Laissé en place : quarantine/INCONNU/sans_registre.zip : inconnu du registre des dépôts",
        "Rien à supprimer."]
    assert (home.quarantine / "INCONNU" / "sans_registre.zip").exists() and retention.read_journal(home) == []


def test_a_tampered_ledger_cannot_send_the_purge_outside(tmp_path):
    """Ledger paths that leave quarantine/, point into the wrong folder, or go through links: left alone."""
    from pipelines.warehouse.store import connect

    home = DataHome(tmp_path / "data").ensure()
    outside = tmp_path / "dehors"
    (outside / "dossier").mkdir(parents=True)
    for name in ("cible.txt", "r2.zip", "dossier/r5.zip"):
        (outside / name).write_text("à garder", encoding="utf-8")
    (home.quarantine / SITE_T).mkdir()
    (home.quarantine / SITE_T / "r1.zip").write_bytes(b"refuse")
    (home.archive / SITE_T).mkdir()
    (home.archive / SITE_T / "r3.zip").write_bytes(b"accepte ailleurs")
    (home.quarantine / SITE_T / "r4.zip").symlink_to(outside / "cible.txt")
    (home.quarantine / "lien").symlink_to(outside / "dossier", target_is_directory=True)
    chemins = {"r1": f"quarantine/{SITE_T}/r1.zip", "r2": "quarantine/../../dehors/r2.zip",
               "r3": f"archive/{SITE_T}/r3.zip", "r4": f"quarantine/{SITE_T}/r4.zip", "r5": "quarantine/lien/r5.zip"}
    received = datetime(2026, 1, 3, 10, tzinfo=UTC)
    with connect(home) as con:
        for key, chemin in chemins.items():
            con.execute("insert into ingestion.depots (sha256, fichier, code_pre, recu_le, traite_le, statut, "
                        "en_vigueur, nb_bloquants, nb_avertissements, rapport, chemin) values "
                        "(?, ?, ?, ?, ?, 'refuse', false, 1, 0, 'reports/x.md', ?)",
                        [key * 32, f"{key}.zip", SITE_T, received, received, chemin])
    before = _files(tmp_path, "dehors")

    result = retention.purge(home, date(2026, 2, 2))
    assert [d.chemin for d in result.deletions] == [chemins["r1"]] and not result.failures
    assert _files(tmp_path, "dehors") == before
    assert (home.archive / SITE_T / "r3.zip").exists() and (home.quarantine / SITE_T / "r4.zip").is_symlink()
    left = "\n".join(result.left)
    assert f"{chemins['r2']} : chemin hors de quarantine/" in left
    assert f"{chemins['r3']} : chemin hors de quarantine/" in left
    assert f"{chemins['r4']} : lien symbolique" in left
    assert f"{chemins['r5']} : « lien » n'est pas un dossier ordinaire" in left
    assert "quarantine/lien : lien symbolique (dossier)" in left
    assert [j["chemin"] for j in retention.read_journal(home)] == [chemins["r1"]]
    assert retention.purge(home, date(2026, 2, 2)).deletions == []


# --------------------------------------------------------------------------- the rules alone


def _record(sha: str, statut: str, received: datetime, applied: datetime, in_force: bool = False,
            code: str | None = SITE_S) -> retention.Record:
    return retention.Record(sha, code, received, applied, statut, in_force, f"archive/{code}/{sha}")


def test_rules_on_hand_made_ledgers():
    paris_midnight = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2 March 00:30 in Paris
    chain = [_record("a", "accepte", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC)),
             # b received before a but applied after it (older file time): it replaced a all the same
             _record("b", "accepte", paris_midnight, datetime(2026, 3, 2, tzinfo=UTC)),
             _record("c", "accepte", datetime(2026, 6, 1, 12, tzinfo=UTC), datetime(2026, 6, 1, 13, tzinfo=UTC),
                     in_force=True),
             _record("other", "accepte", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC),
                     in_force=True, code="PRE55545")]

    def due(as_of: date) -> list[str]:
        return sorted(d.record.sha256 for d in retention.assess(chain, as_of, 30, 90).due)

    # a stopped on 2 March (Paris day of b's receipt): 2 March + 90 = 31 May.
    assert due(date(2026, 5, 30)) == [] and due(date(2026, 5, 31)) == ["a"]
    # b stopped on 1 June: + 90 = 30 August; c and `other`, in force, never.
    assert due(date(2026, 8, 29)) == ["a"] and due(date(2026, 8, 30)) == ["a", "b"]
    assert due(date(2100, 1, 1)) == ["a", "b"]
    # An accepted file out of force with no successor known is kept and reported.
    orphan = retention.assess([chain[0]], date(2100, 1, 1), 30, 90)
    assert orphan.due == [] and "aucun dépôt remplaçant" in orphan.kept_anomalies[0]


def test_french_sizes():
    assert [formats.size(n) for n in (0, 1, 850, 12_345, 1_500_000, 2_000_000_000)] == [
        "0 octet", "1 octet", "850 octets", "12,3 ko", "1,5 Mo", "2,0 Go"]


def test_dates_are_checked():
    assert retention.parse_date("2026-02-28") == date(2026, 2, 28)
    for bad in ("2026-02-29", "2026-2-28", "28/02/2026", "", "2026-02-28T00:00", "２０２６-02-28"):
        with pytest.raises(ValueError, match=r"^Date invalide"):
            retention.parse_date(bad)
    assert retention.today() - date.today() in (timedelta(0), timedelta(days=1), timedelta(days=-1))

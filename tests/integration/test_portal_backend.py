"""The portal's check and send, without the pages: same verdict as `pre-eval validate`, only one's
own site, never a file with blocking anomalies, one submission per content, nothing outside the inbox."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from pipelines.access.authorisations import Person
from pipelines.access.portal import PortalError, check, pending, safe_name, send, sender_of
from pipelines.common.datahome import DataHome
from pipelines.contracts import notices
from pipelines.demo.generate import generate
from pipelines.ingest.inbox import ready_files
from support import PRE_EVAL, isolated_env


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("portail")
    generated = generate(root / "depots", seed=5, sites=["PRE51454", "PRE10387"], from_year=2023, to_year=2024,
                         with_errors=True, home=DataHome(root / "gen"))
    valid = {f.code_pre: f for f in generated if f.expected_rule is None}
    flawed = next(f for f in generated if f.expected_rule == "actions.volet.liste")
    return valid, flawed


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    return home


REIMS = Person("coord@reims.fr", "site", ("PRE51454",), "Coordination Reims")
TROYES = Person("coord@troyes.fr", "site", ("PRE10387",))


def test_a_valid_file_of_ones_own_site_is_checked_like_the_command_and_sent_once(home, files, tmp_path):
    valid, _ = files
    file = valid["PRE51454"]
    checked = check(home, REIMS, file.path.name, file.path.read_bytes())
    assert checked.sendable and checked.code_pre == "PRE51454"
    # The same verdict line as `pre-eval validate --resume` (whose last line says a check sends nothing: the
    # portal has its own « Envoyer » button).
    cli = subprocess.run([PRE_EVAL, "validate", "--resume", str(file.path)], capture_output=True, text=True,
                         env=isolated_env(home.root, tmp_path), timeout=300)
    verdict, check_only = cli.stdout.strip().splitlines()
    assert cli.returncode == 0 and checked.verdict == verdict
    assert check_only.startswith("Contrôle seulement : rien n'a été envoyé.")
    assert "Verdict : accepté" in checked.report_markdown

    sent = send(home, REIMS, checked)
    assert not sent.already and "Fichier reçu" in sent.message
    [waiting] = ready_files(home)
    assert waiting.name == sent.name == file.path.name and waiting.sha256 == checked.sha256
    assert sender_of(home, checked.sha256) == "coord@reims.fr"
    assert not any(p.name.endswith(".tmp") for p in home.inbox.iterdir())
    # A second click: no second submission.
    again = send(home, REIMS, checked)
    assert again.already and len(ready_files(home)) == 1
    # « en attente » until the platform has handled it (published, or in the ledger).
    [waiting] = pending(home, set())
    assert (waiting["fichier"], waiting["code_pre"], waiting["depose_par"], waiting["statut"]) == (
        file.path.name, "PRE51454", "coord@reims.fr", "en attente")
    assert pending(home, {checked.sha256}) == []
    # Checked by the inbox sensor: its verdict and report at once, before the file is filed.
    verdict = {"accepted": True, "blocking": 0, "warnings": 2, "report": "reports/PRE51454/r.md",
               "code_pre": "PRE51454"}
    notices.write(home, checked.sha256, verdict)
    [waiting] = pending(home, set())
    assert (waiting["statut"], waiting["rapport"]) == ("accepté, chargement en cours", "reports/PRE51454/r.md")
    (home.root / "registre").mkdir(exist_ok=True)
    (home.root / "registre" / f"{checked.sha256}.json").write_text('{"statut": "accepte"}', encoding="utf-8")
    [waiting] = pending(home, set())
    assert (waiting["statut"], waiting["rapport"]) == ("accepté, publication à venir", "reports/PRE51454/r.md")
    assert pending(home, {checked.sha256}) == []  # published: the page shows it from the published copy
    # Filed before verdicts had notices: shown once published, as before.
    (home.reports / notices.FOLDER / f"{checked.sha256}.json").unlink()
    assert pending(home, set()) == []


def test_the_check_reports_its_progress_table_by_table_in_french(home, files):
    from pipelines.contracts.model import load_contracts

    valid, _ = files
    file = valid["PRE10387"]
    steps: list[tuple[float, str]] = []
    check(home, TROYES, file.path.name, file.path.read_bytes(),
          progress=lambda fraction, label: steps.append((fraction, label)))
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert "Lecture du fichier" in steps[0][1] and " Mo)" in steps[0][1]
    tables = list(load_contracts().tables)  # every table of the contract is announced, in order
    announced = [label for _, label in steps if label.startswith("Contrôle de la table")]
    assert announced == [f"Contrôle de la table « {t} » ({i} sur {len(tables)})…" for i, t in enumerate(tables, 1)]


def test_concurrent_clicks_give_one_submission(home, files):
    valid, _ = files
    file = valid["PRE51454"]
    checks = [check(home, REIMS, file.path.name, file.path.read_bytes()) for _ in range(4)]
    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(send(home, REIMS, c))) for c in checks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.already for r in results) == [False, True, True, True]
    assert len(ready_files(home)) == 1


def test_a_file_of_another_site_is_refused_at_the_check_naming_ones_sites(home, files):
    valid, _ = files
    checked = check(home, REIMS, "troyes.zip", valid["PRE10387"].path.read_bytes())
    assert not checked.sendable and not checked.allowed
    assert "autre site que le vôtre" in checked.verdict and "PRE51454 (Reims)" in checked.verdict
    assert checked.report_markdown == ""  # another site's details are not shown
    with pytest.raises(PortalError, match="pas habilité"):
        send(home, REIMS, checked)
    assert ready_files(home) == [] and sender_of(home, checked.sha256) is None


def test_a_file_with_blocking_anomalies_cannot_be_sent(home, files):
    _, flawed = files
    checked = check(home, TROYES, flawed.path.name, flawed.path.read_bytes())
    assert checked.allowed and not checked.accepted and not checked.sendable
    assert "REFUSÉ" in checked.verdict and "volet" in checked.report_markdown
    with pytest.raises(PortalError, match="anomalies bloquantes"):
        send(home, TROYES, checked)
    assert ready_files(home) == []


def test_an_operator_sends_for_any_site(home, files):
    valid, _ = files
    ops = Person("ops@pre.fr", "exploitant", ("FR",))
    checked = check(home, ops, "troyes.zip", valid["PRE10387"].path.read_bytes())
    assert checked.sendable and not send(home, ops, checked).already


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.txt", b"bonjour", "ou un classeur Excel"),
    ("depot.zip", b"", "vide"),
    ("depot.xls", b"\xd0\xcf", "archive ZIP"),
])
def test_what_cannot_be_checked_is_refused_in_french(home, name, data, message):
    with pytest.raises(PortalError, match=message):
        check(home, REIMS, name, data)
    assert ready_files(home) == []


def test_a_file_too_big_is_refused_before_being_written(home, monkeypatch):
    monkeypatch.setenv("PRE_MAX_FICHIER_OCTETS", "1000")
    with pytest.raises(PortalError, match="la limite est de"):
        check(home, REIMS, "gros.zip", b"PK" + b"0" * 2000)
    assert not (home.root / "portail" / "verifications").exists() or not any(
        (home.root / "portail" / "verifications").iterdir())


def test_a_file_that_is_not_a_zip_gets_the_readers_french_report(home):
    checked = check(home, REIMS, "faux.zip", b"ceci n'est pas une archive")
    assert not checked.sendable and "REFUSÉ" in checked.verdict


@pytest.mark.parametrize(("given", "expected"), [
    ("../../secret/cle.zip", "cle.zip"),
    ("C:\\Users\\moi\\Dépôt Reims.ZIP", "Dépôt Reims.zip"),
    (".cache.zip", "cache.zip"),
    ("=HYPERLINK(x).xlsx", "_HYPERLINK_x_.xlsx"),
    ("a\x00b\n.zip", "a_b_.zip"),
    ("", "depot"),
])
def test_upload_names_are_reduced_to_safe_bare_names(given, expected):
    assert safe_name(given) == expected


def test_the_checked_copy_is_private(home, files):
    valid, _ = files
    checked = check(home, REIMS, "x.zip", valid["PRE51454"].path.read_bytes())
    assert oct(os.stat(checked.copy).st_mode & 0o777) == "0o600"
    assert oct(os.stat(checked.copy.parent).st_mode & 0o777) == "0o700"


def test_the_sender_reaches_marts_depots_and_other_channels_stay_null(home, files):
    import shutil

    import duckdb

    from pipelines.process import process

    valid, _ = files
    checked = check(home, REIMS, "export reims.zip", valid["PRE51454"].path.read_bytes())
    send(home, REIMS, checked)
    shutil.copy(valid["PRE10387"].path, home.inbox / "par_sftp.zip")  # another channel
    assert process(home).ok
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = dict(con.execute("select fichier, depose_par from marts.depots").fetchall())
    finally:
        con.close()
    assert rows == {"export reims.zip": "coord@reims.fr", "par_sftp.zip": None}


def test_a_warehouse_from_before_the_portal_gains_the_column(home):
    import duckdb

    from pipelines.warehouse.store import connect

    old = duckdb.connect(str(home.warehouse))
    old.execute("create schema ingestion")
    old.execute("create table ingestion.depots (sha256 varchar primary key, fichier varchar not null)")
    old.execute("insert into ingestion.depots values ('a', 'ancien.zip')")
    old.close()
    with connect(home) as con:
        assert con.execute("select fichier, depose_par from ingestion.depots").fetchall() == [("ancien.zip", None)]

"""`pre-eval dev`'s French event lines, from a data home written by hand (ledger, reports, arrivals
journal, inbox, published copy), and the owner-only files that take the services' own logs."""

from __future__ import annotations

import json
import os
import re
import stat

from pipelines.common.datahome import DataHome
from pipelines.dev import DAGSTER_LOG, EventWatcher, open_log, without_instance_secret

STEM = "20261201-104203_abcdef123456_troyes.zip"
CLOCK = re.compile(r"^\d\d:\d\d:\d\d  ")


def _texts(lines: list[str]) -> list[str]:
    assert all(CLOCK.match(line) for line in lines), lines
    return [CLOCK.sub("", line) for line in lines]


def _ledger(home: DataHome, sha: str, entry: dict | str) -> None:
    home.ledger.mkdir(parents=True, exist_ok=True)
    text = entry if isinstance(entry, str) else json.dumps(entry)
    (home.ledger / f"{sha}.json").write_text(text, encoding="utf-8")


def _report(home: DataHome, site: str, stem: str, blocking) -> None:
    folder = home.reports / site
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.md").write_text("# Rapport\n", encoding="utf-8")
    (folder / f"{stem}.json").write_text(json.dumps({"nb_bloquants": blocking}), encoding="utf-8")


def test_each_event_gives_one_french_line(tmp_path):
    home = DataHome(tmp_path).ensure()
    # Already there when `pre-eval dev` starts: an old verdict and a publication are not news; a file
    # waiting in the inbox is (it is about to be handled).
    _ledger(home, "0" * 64, {"statut": "accepte", "chemin": "archive/PRE51454/ancien.zip", "fichier": "ancien.zip"})
    (home.published / "entrepot.duckdb").write_bytes(b"v1")
    (home.inbox / "reims.zip").write_bytes(b"x")
    watcher = EventWatcher(home)
    assert _texts(watcher.poll()) == ["Fichier reçu : reims.zip"]
    assert watcher.poll() == []

    (home.inbox / ".troyes.zip.part").write_bytes(b"x")  # still being written: not yet received
    assert watcher.poll() == []
    os.rename(home.inbox / ".troyes.zip.part", home.inbox / "troyes.zip")
    assert _texts(watcher.poll()) == ["Fichier reçu : troyes.zip"]

    (home.inbox / "troyes.zip").rename(home.archive / "troyes.zip")
    _report(home, "PRE10387", STEM, 0)
    _ledger(home, "a" * 64, {"statut": "accepte", "chemin": f"archive/PRE10387/{STEM}", "fichier": "troyes.zip"})
    assert _texts(watcher.poll()) == [
        "Accepté : troyes.zip (PRE10387) — rapport : reports/PRE10387/20261201-104203_abcdef123456_troyes.zip.md"]

    refused = "20261201-104300_bbbbbbbbbbbb_inconnu.xlsx"
    _report(home, "INCONNU", refused, 3)
    _ledger(home, "b" * 64, {"statut": "refuse", "chemin": f"quarantine/INCONNU/{refused}", "fichier": "inconnu.xlsx"})
    ignored = "20261201-104400_cccccccccccc_vieux.zip"
    _report(home, "PRE51454", ignored, 0)
    _ledger(home, "c" * 64, {"statut": "ignore", "chemin": f"archive/PRE51454/{ignored}", "fichier": "vieux.zip"})
    # The arrivals journal: a verdict line (the ledger tells it already) and a duplicate.
    home.journal.mkdir(exist_ok=True)
    with (home.journal / "arrivees.jsonl").open("a", encoding="utf-8") as journal:
        journal.write(json.dumps({"fichier": "troyes.zip", "issue": "accepte"}) + "\n")
        journal.write(json.dumps({"fichier": "troyes (2).zip", "issue": "doublon",
                                  "identique_a": f"archive/PRE10387/{STEM}"}) + "\n")
    assert sorted(_texts(watcher.poll())) == sorted([
        "Doublon : troyes (2).zip — contenu identique à archive/PRE10387/20261201-104203_abcdef123456_troyes.zip, "
        "retiré de la boîte de dépôt",
        "Refusé : inconnu.xlsx (site non lu) — 3 anomalies bloquantes — rapport : "
        "reports/INCONNU/20261201-104300_bbbbbbbbbbbb_inconnu.xlsx.md",
        "Ignoré : vieux.zip (PRE51454) — plus ancien que les données en vigueur du site — rapport : "
        "reports/PRE51454/20261201-104400_cccccccccccc_vieux.zip.md",
    ])

    # The published copy replaced by a new file (as `os.replace` does).
    (home.published / ".nouveau.tmp").write_bytes(b"v2")
    os.replace(home.published / ".nouveau.tmp", home.published / "entrepot.duckdb")
    assert _texts(watcher.poll()) == ["Publication terminée"]
    assert watcher.poll() == []


def test_one_refusal_counts_in_the_singular(tmp_path):
    home = DataHome(tmp_path).ensure()
    watcher = EventWatcher(home)
    stem = "20261201-104300_dddddddddddd_a.zip"
    _report(home, "PRE51454", stem, 1)
    _ledger(home, "d" * 64, {"statut": "refuse", "chemin": f"quarantine/PRE51454/{stem}", "fichier": "a.zip"})
    assert _texts(watcher.poll()) == [
        f"Refusé : a.zip (PRE51454) — 1 anomalie bloquante — rapport : reports/PRE51454/{stem}.md"]


def test_nothing_raw_reaches_the_terminal(tmp_path):
    home = DataHome(tmp_path).ensure()
    watcher = EventWatcher(home)
    # A name with an escape sequence (recolours or clears a terminal), a right-to-left override, a
    # newline that would forge a second event line, and a lone surrogate (undecodable bytes).
    hostile = "a\x1b[2J\x1b[31mb\u202ec\nRefusé : d\udcff.zip"
    (home.inbox / "x\x1b]0;titre\x07.zip").write_bytes(b"x")
    _ledger(home, "e" * 64, {"statut": "accepte", "chemin": f"archive/PRE10387/{STEM}", "fichier": hostile})
    # A ledger entry pointing outside the data home, a count that is not a number, and a broken entry.
    _report(home, "PRE10387", STEM, "3; rm -rf /")
    _ledger(home, "f" * 64, {"statut": "refuse", "chemin": "quarantine/../../../etc/passwd", "fichier": "p.zip"})
    _ledger(home, "1" * 64, {"statut": "refuse", "chemin": f"quarantine/PRE10387/{STEM}", "fichier": "q.zip"})
    _ledger(home, "2" * 64, "{pas du json")
    _ledger(home, "3" * 64, {"statut": "perdu", "chemin": 5})
    lines = watcher.poll()
    assert all(c.isprintable() for line in lines for c in line), lines
    assert sorted(_texts(lines)) == sorted([
        "Fichier reçu : x]0;titre.zip",
        "Accepté : a[2J[31mbcRefusé : d.zip (PRE10387) — rapport : "
        "reports/PRE10387/20261201-104203_abcdef123456_troyes.zip.md",
        "Refusé : p.zip (site non lu)",
        "Refusé : q.zip (PRE10387) — rapport : reports/PRE10387/20261201-104203_abcdef123456_troyes.zip.md",
    ])
    # A journal line still being written is read once it is complete.
    home.journal.mkdir(exist_ok=True)
    line = json.dumps({"fichier": "b.zip", "issue": "doublon", "identique_a": "inbox/a.zip"}) + "\n"
    with (home.journal / "arrivees.jsonl").open("a", encoding="utf-8") as journal:
        journal.write(line[:20])
    assert watcher.poll() == []
    with (home.journal / "arrivees.jsonl").open("a", encoding="utf-8") as journal:
        journal.write(line[20:])
    assert _texts(watcher.poll()) == ["Doublon : b.zip — contenu identique à inbox/a.zip, retiré de la boîte de dépôt"]


def test_a_very_long_name_is_cut(tmp_path):
    home = DataHome(tmp_path).ensure()
    watcher = EventWatcher(home)
    (home.inbox / ("n" * 200 + ".zip")).write_bytes(b"x")
    assert _texts(watcher.poll()) == ["Fichier reçu : " + "n" * 119 + "…"]


def test_service_logs_are_owner_only_and_the_previous_one_is_kept(tmp_path):
    home = DataHome(tmp_path)
    path, out = open_log(home, DAGSTER_LOG)
    out.write("première session\n")
    out.close()
    os.chmod(path, 0o644)  # whatever the previous file's mode was
    path2, out = open_log(home, DAGSTER_LOG)
    out.write("seconde session\n")
    out.close()
    assert path2 == path == home.root / "journal" / "dagster-dev.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "seconde session\n"
    assert (home.journal / "dagster-dev.log.1").read_text() == "première session\n"


def test_only_dagster_gets_the_instance_database_url():
    env = {"PATH": "/usr/bin", "PRE_HOME": "/d", "PRE_DAGSTER_POSTGRES_URL": "postgresql://u:p@h/b"}
    assert without_instance_secret(env) == {"PATH": "/usr/bin", "PRE_HOME": "/d"}

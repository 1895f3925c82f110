"""Hardening of what comes in (issue 13): a future extraction date, values and names a report may
repeat, Markdown escaping, member/sheet/header names, memory on crafted files, the sensor's hash cache.

Expected values are written by hand (dates, lines, escaped forms) or computed by an independent route
(hashlib for SHA-256, zoneinfo for the day in Paris); crafted files are built here with zipfile,
openpyxl and plain bytes, never by the platform.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.common.datahome import DataHome
from pipelines.contracts import reader as reader_module
from pipelines.contracts.findings import NAME_UNREADABLE, NOT_SHOWN, quotable, shown_name, shown_value
from pipelines.contracts.reader import read_submission
from pipelines.contracts.report import escape_markdown, to_json, to_markdown
from pipelines.contracts.validator import Context, day_of_receipt, validate_file, validate_many
from pipelines.ingest import inbox
from submission_builder import COLUMNS, base_tables, copy_tables, csv_text, write_zip
from support import BIN, PRE_EVAL, REPO_ROOT, isolated_env

SITES = {"PRE51454"}
FUTURE_RULE = "manifeste.date_extraction.apres_reception"
EXTRACTION_LINE = 3  # manifest: header on line 1, code_pre on 2, date_extraction on 3


def _with_extraction(value: str) -> dict:
    tables = copy_tables(base_tables())
    for row in tables["manifeste"]:
        if row["cle"] == "date_extraction":
            row["valeur"] = value
    return tables


def _paris_today() -> date:
    return datetime.now(ZoneInfo("Europe/Paris")).date()


# --------------------------------------------------------------------------- 1. future extraction date


def test_an_extraction_dated_tomorrow_is_refused_and_today_accepted(tmp_path):
    tomorrow = _paris_today() + timedelta(days=1)
    report = validate_file(write_zip(tmp_path / "demain.zip", _with_extraction(tomorrow.isoformat())),
                           Context(known_sites=set(SITES)))
    assert not report.accepted
    found = [f for f in report.findings if f.rule == FUTURE_RULE]
    assert [(f.table, f.line, f.column, f.severity) for f in found] == [
        ("manifeste", EXTRACTION_LINE, "date_extraction", "bloquant")]
    message = found[0].message
    assert message.startswith(f"La date d'extraction ({tomorrow:%d/%m/%Y}) est postérieure au jour où le "
                              f"fichier a été reçu ({_paris_today():%d/%m/%Y})")
    assert [f.rule for f in report.findings] == [FUTURE_RULE]  # nothing else in the file is wrong
    text = to_markdown(report)
    assert f"Règle `{FUTURE_RULE}`" in text and "(ligne date\\_extraction du manifeste)" in text
    assert f"- ligne {EXTRACTION_LINE} : La date d'extraction" in text

    today = validate_file(write_zip(tmp_path / "jour.zip", _with_extraction(_paris_today().isoformat())),
                          Context(known_sites=set(SITES)))
    assert today.accepted, list(today.findings)


def test_the_day_of_receipt_is_the_files_not_the_clocks(tmp_path):
    """A file received on 14/12/2024 and dated 15/12/2024 stays refused when checked again years later."""
    path = write_zip(tmp_path / "d.zip", base_tables())  # date_extraction 2024-12-15
    late = validate_file(path, Context(known_sites=set(SITES), received_on=date(2024, 12, 14)))
    assert [(f.rule, f.line) for f in late.findings] == [(FUTURE_RULE, EXTRACTION_LINE)]
    assert "(15/12/2024)" in next(iter(late.findings)).message and "(14/12/2024)" in next(iter(late.findings)).message
    same_day = validate_file(path, Context(known_sites=set(SITES), received_on=date(2024, 12, 15)))
    assert same_day.accepted


def test_the_day_of_receipt_is_counted_in_paris():
    # 23:30 UTC on 31 December is 00:30 on 1 January in Paris (winter time, UTC+1).
    assert day_of_receipt(datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == date(2025, 1, 1)
    # 21:30 UTC on 30 June is 23:30 in Paris (summer time, UTC+2): still 30 June.
    assert day_of_receipt(datetime(2025, 6, 30, 21, 30, tzinfo=UTC)) == date(2025, 6, 30)
    with pytest.raises(ValueError):
        day_of_receipt(datetime(2025, 6, 30, 21, 30))  # a time without its zone is refused


@pytest.mark.slow  # about a minute: a real `pre-eval process`
def test_an_inbox_file_is_judged_on_the_day_it_was_received(tmp_path, monkeypatch):
    """Through `pre-eval process`: the file's reception time (its modification time, the ledger's
    recu_le) decides, not the day the check runs."""
    home = DataHome(tmp_path / "data").ensure()
    early = write_zip(home.inbox / "recu_la_veille.zip", base_tables())
    received = datetime(2024, 12, 14, 12, 0, tzinfo=UTC).timestamp()
    os.utime(early, (received, received))
    monkeypatch.setenv("PRE_HOME", str(home.root))  # in this process: the command's own code, without the
    monkeypatch.setenv("DAGSTER_HOME", str(home.root / "dagster"))  # start-up of another interpreter
    monkeypatch.setenv("PRE_PROCESSUS", "1")
    from pipelines.process import process

    assert process(home).ok
    [report_path] = (home.root / "reports").rglob("*recu_la_veille.zip.json")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["verdict"] == "refuse" and report["recu_le"].startswith("2024-12-14T12:00:00")
    assert [(c["regle"], c["lignes"], c["colonne"]) for c in report["constats"]] == [
        (FUTURE_RULE, [EXTRACTION_LINE], "date_extraction")]


# --------------------------------------------------------------------------- 2. values never echoed

PLANTED = [
    "MME DURAND", "Mme Durand", "Jean Dupont", "dupont@mail.fr", "06 12 34 56 78", "<script>alert(1)</script>",
    "x" * 500, "AB\x07CD\x1b[31mEF", "**gras**", "[lien](http://x)", "DURAND", "J.DUPONT",
]


def _forms(value: str) -> list[str]:
    """What of a planted value must not appear: itself, upper-cased, Markdown-escaped, and for a long
    value any 30-character piece of it."""
    forms = {value, value.upper(), escape_markdown(value), escape_markdown(value.upper())}
    if len(value) > 40:
        forms |= {value[:30], value.upper()[:30]}
    return sorted(forms)


PLACES = [
    ("actions", "partenaire", "actions.partenaire.liste"),  # a code column (upper-cased before: the bug)
    ("parcours", "date_entree", "parcours.date_entree.type"),  # a date column
    ("bilans", "type_bilan", "bilans.type_bilan.liste"),
]
CASES = [(value, *place) for value in PLANTED for place in PLACES]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Every planted submission, checked in one batch (the platform's batch path)."""
    folder = tmp_path_factory.mktemp("valeurs")
    subs = []
    for i, (value, table, column, _) in enumerate(CASES):
        tables = copy_tables(base_tables())
        tables[table][1][column] = value
        subs.append(read_submission(write_zip(folder / f"{i}.zip", tables)))
    return validate_many(subs, [Context(known_sites=set(SITES)) for _ in subs])


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{t}.{c}-{v[:12]!r}" for v, t, c, _ in CASES])
def test_a_planted_value_never_reaches_a_report(planted, case):
    value, table, column, rule = CASES[case]
    report = planted[case]
    # The coordinator still learns where and why.
    found = [(f.table, f.line, f.column, f.severity) for f in report.findings if f.rule == rule]
    assert found == [(table, 3, column, "bloquant")], [(f.rule, f.line, f.message) for f in report.findings]
    assert any(NOT_SHOWN in f.message for f in report.findings if f.rule == rule)
    for text in (to_json(report), to_markdown(report)):
        for form in _forms(value):
            assert form not in text, (form, text)
    assert "\x1b" not in to_json(report) and "\\u001b" not in to_json(report)


@pytest.mark.parametrize(("value", "shown"), [
    ("ASSOC", NOT_SHOWN),  # letters only: could be a surname in capitals
    ("CE3", "CE3"), ("EDUCATION_NAT", "EDUCATION_NAT"), ("X", "X"), ("31/02/2024", "31/02/2024"),
    ("2024-13-45", "2024-13-45"), ("12,5", "12,5"), ("assoc", NOT_SHOWN), ("1850578006048", NOT_SHOWN),
    ("0612345678", NOT_SHOWN), ("06/12/34/56/78", NOT_SHOWN), ("1234567890A", NOT_SHOWN),
    ("A" * 21, NOT_SHOWN), ("-2", "'-2"), ("", NOT_SHOWN),
])
def test_which_values_a_report_may_quote(value, shown):
    assert shown_value(value) == shown
    assert quotable(value) == (shown != NOT_SHOWN)


def test_typed_values_and_code_list_values_are_shown():
    assert shown_value(date(2024, 12, 15)) == "15/12/2024"
    assert shown_value(150.5) == "150,50" and shown_value(800.0) == "800" and shown_value(-3) == "-3"
    assert shown_value(None) == "vide"
    assert shown_value("SANTE") == NOT_SHOWN  # letters only, unknown origin: not quoted
    assert shown_value("SANTE", codes=["SANTE", "EDUCATIF"]) == "SANTE"  # one of the column's own codes
    assert shown_value("P0001", identifier=True) == NOT_SHOWN


def test_a_value_wrongly_typed_keeps_its_spelling_a_valid_one_is_upper_cased(tmp_path):
    tables = copy_tables(base_tables())
    tables["actions"][0]["partenaire"] = "association"  # valid once upper-cased
    tables["actions"][1]["partenaire"] = "Mme Durand"  # not a code whatever its case
    sub = read_submission(write_zip(tmp_path / "d.zip", tables))
    assert sub.tables["actions"]["partenaire"].to_list()[:2] == ["ASSOCIATION", "Mme Durand"]


def test_a_malformed_site_code_is_not_repeated(tmp_path):
    tables = copy_tables(base_tables())
    tables["manifeste"][0]["valeur"] = "Mme Durand"
    report = validate_file(write_zip(tmp_path / "d.zip", tables), Context(known_sites=set(SITES)))
    assert "manifeste.code_pre.format" in report.findings.rules()
    assert json.loads(to_json(report))["code_pre"] is None
    for text in (to_json(report), to_markdown(report)):
        assert "Durand" not in text and "DURAND" not in text


# --------------------------------------------------------------------------- 3. Markdown escaped

HOSTILE_NAME = "**[clic](http://evil)**.zip"
HOSTILE_SHEET = "<img src=x>"
HOSTILE_HEADER = "# titre"


def _base_book() -> openpyxl.Workbook:
    """The base tables as a workbook, one sheet each (header, then rows)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in base_tables().items():
        sheet = book.create_sheet(name)
        header = ["cle", "valeur"] if name == "manifeste" else COLUMNS[name]
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(c) or None for c in header])
    return book


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markdown")
    cols = {"actions": [*COLUMNS["actions"], HOSTILE_HEADER]}
    zip_path = write_zip(folder / "depot.zip", base_tables(), columns=cols)
    book = _base_book()
    book.create_sheet(HOSTILE_SHEET).append(["x"])
    xlsx_path = folder / "classeur.xlsx"
    book.save(xlsx_path)
    context = Context(known_sites=set(SITES))
    return (to_markdown(validate_file(zip_path, context, name=HOSTILE_NAME)),
            to_markdown(validate_file(xlsx_path, context)))


def test_file_sheet_and_header_names_render_literally(hostile_reports):
    from_zip, from_xlsx = hostile_reports
    assert "# Rapport de contrôle du dépôt « \\*\\*\\[clic\\]\\(http\\://evil\\)\\*\\*.zip »" in from_zip
    assert "](" not in from_zip and "**[" not in from_zip and "http://" not in from_zip
    assert "La colonne « \\# titre » ne fait pas partie du format" in from_zip
    assert "colonne \\#\\_titre)" in from_zip  # the finding's column, in the heading of its group
    assert "L'onglet « \\<img src=x\\> »" in from_xlsx
    assert "<img" not in from_xlsx.replace("\\<img", "")


def test_markdown_escaping_covers_markdowns_punctuation():
    assert escape_markdown("\\ ` * _ { } [ ] ( ) # + - ! | < > ~ $ & @") == (
        "\\\\ \\` \\* \\_ \\{ \\} \\[ \\] \\( \\) \\# \\+ \\- \\! \\| \\< \\> \\~ \\$ \\& \\@")
    assert escape_markdown("voir www.exemple.fr ou https://exemple.fr") == (
        "voir www\\.exemple.fr ou https\\://exemple.fr")


DASHBOARD = """
import sys
sys.path.insert(0, {folder!r})
from display import show_report
show_report({text!r})
"""


def _dashboard_markdown(text: str) -> list:
    at = AppTest.from_string(DASHBOARD.format(folder=str(REPO_ROOT / "dashboards"), text=text),
                             default_timeout=60).run()
    assert not at.exception, at.exception
    return list(at.markdown)


def test_the_dashboard_shows_a_report_literally_and_without_html(hostile_reports):
    from_zip, from_xlsx = hostile_reports
    [shown] = _dashboard_markdown(from_zip + "\n" + from_xlsx)
    assert not shown.proto.allow_html
    body = shown.value
    assert "## Rapport de contrôle du dépôt « \\*\\*\\[clic\\]\\(http\\://evil\\)\\*\\*.zip »" in body
    assert "L'onglet « \\<img src=x\\> »" in body and "« \\# titre »" in body
    assert "](" not in body and "<img" not in body.replace("\\<img", "")


def test_the_dashboard_defuses_an_older_unescaped_report():
    """Reports written before the escaping: links, images, HTML, formulas and bare addresses are shown as
    text; the report's own layout (headings, bold, lists) stays."""
    old = ("# Rapport de contrôle du dépôt « **[clic](http://evil)** »\n\n- **Verdict : refusé**\n"
           "- ![](http://tracker/p.png) <img src=x onerror=alert(1)> $x^2$ www.evil.fr a@b.fr\n")
    [shown] = _dashboard_markdown(old)
    body = shown.value
    assert body.startswith("## Rapport de contrôle")
    assert "- **Verdict : refusé**" in body
    assert "\\[clic\\](http\\://evil)" in body and "!\\[\\](http\\://tracker/p.png)" in body
    assert "\\<img src=x onerror=alert(1)\\>" in body and "\\$x^2\\$" in body
    assert "www\\.evil.fr" in body and "a\\@b.fr" in body
    # An already escaped report is not escaped twice.
    assert _dashboard_markdown("a \\[b\\] \\$ \\<")[0].value == "a \\[b\\] \\$ \\<"


# --------------------------------------------------------------------------- 4. names sanitised


@pytest.mark.parametrize(("name", "shown"), [
    ("Notes internes", "Notes internes"), ("Prénom", "Prénom"), ("# titre", "# titre"),
    ("rapport\u202ecsv.exe", NAME_UNREADABLE),  # right-to-left override
    ("a\u200bb", NAME_UNREADABLE),  # zero-width space
    ("a\u2066b\u2069", NAME_UNREADABLE),  # isolates
    ("ligne\nsuivante", NAME_UNREADABLE), ("bip\x07", NAME_UNREADABLE), ("export/parcours", NAME_UNREADABLE),
    ("..\\x", NAME_UNREADABLE), ("n" * 61, NAME_UNREADABLE), ("n" * 60, "n" * 60), ("", NAME_UNREADABLE),
    ("jean.dupont@mail.fr", "nom non reproduit"), ("06 12 34 56 78", "nom non reproduit"),
    ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
])
def test_which_names_a_report_may_repeat(name, shown):
    assert shown_name(name) == shown


MEMBERS = [
    ("../../etc/passwd", NAME_UNREADABLE), ("/etc/passwd", NAME_UNREADABLE), ("..\\..\\x.csv", NAME_UNREADABLE),
    ("C:/Windows/x.csv", NAME_UNREADABLE), ("export/parcours.csv", "parcours.csv (dans un dossier de l'archive)"),
    ("notes\u202etxt.csv", NAME_UNREADABLE), ("bip\x07.csv", NAME_UNREADABLE), ("notes.txt", "notes.txt"),
]


def test_unknown_members_are_refused_and_named_safely(tmp_path):
    path = write_zip(tmp_path / "d.zip", base_tables(), extra_members={m: b"x" for m, _ in MEMBERS})
    report = validate_file(path, Context(known_sites=set(SITES)))
    assert not report.accepted
    [group] = report.findings.by_rule("depot.membre_inconnu")
    assert group.count == len(MEMBERS) and group.rule.blocking
    messages = [m for _, m in group.examples]
    for _, shown in MEMBERS:
        assert any(m.startswith(f"Le fichier « {shown} » n'est pas reconnu : ") for m in messages), (shown, messages)
    text = to_json(report) + to_markdown(report)
    for leak in ("etc/passwd", "..", "Windows", "\u202e", "\x07", "export/"):
        assert leak not in text.replace("…", ""), leak
    # The reader never writes a member anywhere: nothing appeared beside the file or in /etc.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.zip"]


def test_headers_with_invisible_characters_are_named_safely(tmp_path):
    header = "nom\u202eeciov"  # a personal column disguised by a right-to-left override
    cols = {"parcours": [*COLUMNS["parcours"], header, "x" * 200]}
    report = validate_file(write_zip(tmp_path / "d.zip", base_tables(), columns=cols), Context(known_sites=set(SITES)))
    found = {(f.rule, f.column, f.message.split(" ne ")[0].split(" semble")[0]) for f in report.findings
             if f.rule in ("depot.colonne_inconnue", "depot.colonne_personnelle")}
    assert found == {("depot.colonne_inconnue", NAME_UNREADABLE, f"La colonne « {NAME_UNREADABLE} »")}
    text = to_json(report) + to_markdown(report)
    assert "\u202e" not in text and "x" * 61 not in text


# --------------------------------------------------------------------------- 5. memory


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _members(**replace: bytes) -> dict[str, bytes]:
    tables = base_tables()
    members = {f"{n}.csv": csv_text(rows, ["cle", "valeur"] if n == "manifeste" else COLUMNS[n]).encode()
               for n, rows in tables.items()}
    members.update({f"{k}.csv": v for k, v in replace.items()})
    return members


def _workbook(far_cell: str | None = None, shared: bytes | None = None) -> bytes:
    book = _base_book()
    if far_cell:
        book["parcours"][far_cell] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    if shared is None:
        return buffer.getvalue()
    # The same workbook with a shared-strings part that unpacks to `shared`.
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info.filename))
        archive.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


MIB = 1 << 20


def _crafted() -> dict[str, tuple[bytes, str]]:
    """name: (content, fragment of the French refusal naming the limit)."""
    return {
        "ligne_unique.zip": (_zip(_members(actions=b"a" * (45 * MIB))),
                             "la ligne 1 du fichier actions.csv fait plus de 1 000 000 octets"),
        "colonnes.zip": (_zip(_members(actions=b"," * 900_000 + b"\n")),
                         "l'en-tête du fichier actions.csv compte 900 001 colonnes (limite de la plateforme : 1 000)"),
        "cellules.zip": (_zip(_members(actions=(b"," * 999 + b"\n") * 45_000)),
                         "soit plus de 30 000 000 cellules (limite de la plateforme)"),
        "champ_geant.zip": (_zip(_members(actions=b'id_action\n"' + b"a\n" * (20 * MIB) + b'"\n')),
                            "un champ entre guillemets dépasse 131 072 caractères"),
        "cellule_lointaine.xlsx": (_workbook(far_cell="XFD1048576"),
                                   "un onglet s'étend sur 16 384 colonnes (limite de la plateforme : 1 000"),
        "ligne_lointaine.xlsx": (_workbook(far_cell="P1048576"),
                                 "1 048 576 lignes et 16 colonnes, soit plus de 5 000 000 cellules"),
        "chaines_partagees.xlsx": (_workbook(shared=b"<sst>" + b"<si><t>a</t></si>" * (20 * MIB) + b"</sst>"),
                                   "bombe de décompression"),
    }


def test_the_quoted_field_limit_holds_whatever_the_process_imported(tmp_path):
    # frictionless raises the csv module's process-wide field limit when imported; the reader keeps its own.
    import csv

    import frictionless  # noqa: F401

    raised = csv.field_size_limit(1 << 30)
    try:
        path = tmp_path / "champ_geant.zip"
        path.write_bytes(_zip(_members(actions=b'id_action\n"' + b"a\n" * (2 * MIB) + b'"\n')))
        messages = [f.message for f in read_submission(path).findings if f.rule == "depot.ligne_malformee"]
        assert any("un champ entre guillemets dépasse 131 072 caractères" in m for m in messages), messages
        assert csv.field_size_limit() == 1 << 30  # the process's own setting given back
    finally:
        csv.field_size_limit(raised)


def test_crafted_files_are_refused_by_the_reader(tmp_path):
    """The same crafted files, read in this process (the quick loop's guard; memory is measured below)."""
    for name, (content, fragment) in _crafted().items():
        path = tmp_path / name
        path.write_bytes(content)
        messages = [f.message for f in read_submission(path).findings
                    if f.rule in ("depot.illisible", "depot.ligne_malformee")]
        assert any(fragment in m for m in messages), (name, messages)
        path.unlink()


@pytest.mark.slow  # half a minute to a minute: a `pre-eval validate` child over seven crafted files
def test_crafted_files_are_refused_in_french_within_bounded_memory(tmp_path):
    """Each crafted file is a few kilobytes to a megabyte; checked together by `pre-eval validate` in a
    child process, whose peak memory (measured by a wrapper that has no other child) stays under
    600 MB — the platform's own imports (Great Expectations, Dagster-free) take about 350 MB."""
    crafted = _crafted()
    for name, (content, _) in crafted.items():
        (tmp_path / name).write_bytes(content)
        assert len(content) < 2 * MIB, (name, len(content))
    out = tmp_path / "rapports"
    wrapper = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n"
               "sys.stderr.write(r.stderr[-3000:])\n")
    env = isolated_env(tmp_path / "data", tmp_path)
    started = time.monotonic()
    result = subprocess.run([str(BIN / "python"), "-c", wrapper, PRE_EVAL, "validate", "--resume",
                             "--rapports", str(out), *sorted(str(tmp_path / n) for n in crafted)],
                            env=env, capture_output=True, text=True, timeout=600)
    peak_kib, code = map(int, result.stdout.split())
    assert code == 1, result.stderr  # refused files, no internal failure
    assert peak_kib < 600 * 1024, f"pic mémoire {peak_kib / 1024:.0f} Mo"
    print(f"pic mémoire de pre-eval validate : {peak_kib / 1024:.0f} Mo")
    assert time.monotonic() - started < 300
    for name, (_, fragment) in crafted.items():
        report = json.loads((out / f"{name}.rapport.json").read_text(encoding="utf-8"))
        assert report["verdict"] == "refuse", name
        messages = [e["message"] for c in report["constats"] for e in c["exemples"]
                    if c["regle"] in ("depot.illisible", "depot.ligne_malformee")]
        assert any(fragment in m for m in messages), (name, messages)


def test_a_part_that_lies_about_its_size_is_refused_as_damaged(tmp_path):
    """A workbook part whose declared size is smaller than what it unpacks to never reaches the
    spreadsheet library: zipfile stops at the declared size and the CRC check fails."""
    data = bytearray(_workbook(shared=b"<sst>" + b"<si><t>a</t></si>" * 1000 + b"</sst>"))
    name = b"xl/sharedStrings.xml"
    local = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name.decode()).header_offset
    # Central directory entry (signature, then the name at offset 46): uncompressed size at offset 24;
    # local header: at offset 22.
    central = next(i - 46 for i in range(len(data)) if data[i:i + len(name)] == name
                   and data[i - 46:i - 42] == b"PK\x01\x02")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")
    data[local + 22:local + 26] = (100).to_bytes(4, "little")
    path = tmp_path / "menteur.xlsx"
    path.write_bytes(bytes(data))
    findings = list(read_submission(path).findings)
    assert [(f.rule, f.table) for f in findings] == [("depot.illisible", None)]
    assert "endommagé" in findings[0].message


def test_a_sheet_stored_under_another_name_is_measured_too(tmp_path):
    """The workbook's relationships may name any part as a sheet (`xl/feuille.bin`): the library would
    lay it out as a grid all the same, so it is measured like the others."""
    source = zipfile.ZipFile(io.BytesIO(_workbook(far_cell="P1048576")))
    parcours = next(i.filename for i in source.infolist() if i.filename.startswith("xl/worksheets/")
                    and b"P1048576" in source.read(i.filename))
    target = parcours.removeprefix("xl/")
    path = tmp_path / "deplace.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename).replace(target.encode(), b"feuille.bin")
            archive.writestr("xl/feuille.bin" if info.filename == parcours else info.filename, data)
    assert "xl/feuille.bin" in zipfile.ZipFile(path).namelist()
    [finding] = read_submission(path).findings
    assert finding.rule == "depot.illisible" and "1 048 576 lignes et 16 colonnes" in finding.message


def test_a_normal_workbook_is_measured_quickly_and_exactly(tmp_path):
    """The grid bound of a real workbook is its real extent: header + 3 rows × 16 columns for parcours."""
    archive = zipfile.ZipFile(io.BytesIO(_workbook()))
    extents = sorted(reader_module.sheet_extent(archive.open(i)) for i in archive.infolist()
                     if i.filename.startswith("xl/worksheets/"))
    assert extents == sorted([(6, 2), (4, 16), (4, 11), (4, 10), (4, 7)])


def test_sheet_extent_without_references_and_with_a_prefix():
    """Cells without `r` follow one another; a namespace prefix is still a cell."""
    xml = (b'<x:worksheet xmlns:x="s"><x:sheetData><x:row><x:c><x:v>1</x:v></x:c><x:c><x:v>2</x:v></x:c>'
           b'<x:c><x:v>3</x:v></x:c></x:row><x:row r="9"><x:c r="B9"><x:v>4</x:v></x:c></x:row>'
           b'<x:row r="10"><x:c r="Z10" s="1"/></x:row></x:sheetData></x:worksheet>')
    rows, columns = reader_module.sheet_extent(io.BytesIO(xml))
    # Rows: the last row tag with a reference is 10 (its only cell is self-closed, but the tag counts),
    # + 1 for the row without a reference. Columns: B (2) + the 3 cells of the row without references;
    # the self-closed cell in Z10 holds no value and does not widen the grid.
    assert (rows, columns) == (11, 5)


# --------------------------------------------------------------------------- 6. the sensor's hash cache


def _tick(sensor, instance, home: DataHome, cursor: str | None):
    from pipelines.defs.resources import DataHomeResource

    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"data_home": DataHomeResource(root=str(home.root))})
    return sensor(context)


def test_the_sensor_hashes_a_waiting_file_once_and_again_when_it_changes(tmp_path, monkeypatch):
    from pipelines.defs import ingestion

    home = DataHome(tmp_path / "data").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    old = time.time() - 3600  # older than the sensor's stability delay
    paths = []
    for i in range(3):
        tables = copy_tables(base_tables())
        tables["parcours"][0]["id_referent"] = f"R{i}"  # three different contents
        path = write_zip(home.inbox / f"depot_{i}.zip", tables)
        os.utime(path, (old, old))
        paths.append(path)
    hashed, peeked = [], []
    real_hash, real_peek = inbox.sha256_of, ingestion.peek_site
    monkeypatch.setattr(inbox, "sha256_of", lambda p: hashed.append(Path(p).name) or real_hash(p))
    monkeypatch.setattr(ingestion, "peek_site", lambda p: peeked.append(Path(p).name) or real_peek(p))

    def expected() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}

    instance = dg.DagsterInstance.ephemeral()
    cursor = None
    for _ in range(3):
        result = _tick(ingestion.boite_de_depot, instance, home, cursor)
        cursor = result.cursor
        assert {r.tags["fichier"]: r.run_key for r in result.run_requests} == expected()
        assert {r.partition_key for r in result.run_requests} == {"PRE51454"}
    assert sorted(hashed) == ["depot_0.zip", "depot_1.zip", "depot_2.zip"]  # three files, hashed once each
    assert sorted(peeked) == ["depot_0.zip", "depot_1.zip", "depot_2.zip"]  # and their manifest read once

    with zipfile.ZipFile(paths[1], "a") as archive:  # changed in place, its time put back
        archive.writestr("notes.txt", "modifié")
    os.utime(paths[1], (old, old))
    result = _tick(ingestion.boite_de_depot, instance, home, cursor)
    assert {r.tags["fichier"]: r.run_key for r in result.run_requests} == expected()
    assert sorted(hashed) == ["depot_0.zip", "depot_1.zip", "depot_1.zip", "depot_2.zip"]

    # A cursor that is not the sensor's (or a lying hash in it) costs a hash, never a wrong key.
    for bad in ("pas du json", json.dumps({"empreintes": {"x": "y"}, "sites": []}), json.dumps([1])):
        result = _tick(ingestion.boite_de_depot, instance, home, bad)
        assert {r.tags["fichier"]: r.run_key for r in result.run_requests} == expected()


def test_the_cache_holds_only_the_files_waiting(tmp_path):
    home = DataHome(tmp_path / "data").ensure()
    a = home.inbox / "a.zip"
    a.write_bytes(b"contenu a")
    cache: dict[str, str] = {"1:2:3:4:5": "0" * 64}
    [found] = inbox.ready_files(home, known_hashes=cache)
    assert found.sha256 == hashlib.sha256(b"contenu a").hexdigest()
    assert list(cache.values()) == [found.sha256]  # the departed file's entry is gone
    a.unlink()
    assert inbox.ready_files(home, known_hashes=cache) == [] and cache == {}

"""Messages that say what is really wrong (issue 17, items 9 and 10).

Item 9: a key of the manifest is a line of its `cle,valeur` sheet, never a column (« la ligne code_pre du
manifeste »), and a site whose code could not be read is « non lu », not « inconnu » (kept for a code read
but absent from the register). Item 10: a date in the right shape that is no day of the calendar says so;
an amount written with « € » is told to drop the sign; planned end dates are said once per file, with
their count and lines, as information: nothing to correct. Expected strings are written by hand; files
are built with the test's own submission builder.
"""

from __future__ import annotations

import pytest

from pipelines.contracts.model import load_contracts
from pipelines.contracts.reader import impossible_date
from pipelines.contracts.report import summary_line, to_json, to_markdown, to_text
from pipelines.contracts.validator import Context, validate_file
from submission_builder import COLUMNS, base_tables, copy_tables, write_zip

SITES = {"PRE51454"}
CALENDAR_TAIL = " : vérifiez le jour et le mois."


def _check(tmp_path, tables, name="d.zip"):
    return validate_file(write_zip(tmp_path / name, tables), Context(known_sites=SITES))


def _set_key(tables, key, value):
    next(r for r in tables["manifeste"] if r["cle"] == key)["valeur"] = value


# --------------------------------------------------------------------------- item 9: the manifest


@pytest.mark.parametrize("key", ["code_pre", "date_extraction", "version_format"])
def test_required_keys_are_lines_of_the_manifest(key):
    rule = load_contracts().rule(f"manifeste.{key}.obligatoire")
    assert rule.message == f"La ligne {key} du manifeste est obligatoire et sa valeur est vide."


def test_no_manifest_rule_speaks_of_a_column_for_a_key():
    manifest = load_contracts().tables["manifeste"]
    assert not [r.code for r in manifest.rules if "colonne" in r.message.lower()]


def test_empty_site_code_is_a_line_and_the_site_is_not_read(tmp_path):
    tables = copy_tables(base_tables())
    _set_key(tables, "code_pre", "")  # line 2 of the manifest
    report = _check(tmp_path, tables)
    text = to_markdown(report)
    assert "### Valeur obligatoire — 1 occurrence (ligne code\\_pre du manifeste)" in text
    assert "- ligne 2 : La ligne code\\_pre du manifeste est obligatoire et sa valeur est vide." in text
    assert "colonne code" not in text
    assert "- Site : non lu" in text
    line = summary_line(report)
    assert line.startswith("d.zip : REFUSÉ — site non lu, 3 parcours")
    assert "inconnu" not in line


def test_missing_key_is_a_missing_line_not_a_column(tmp_path):
    tables = copy_tables(base_tables())
    tables["manifeste"] = [r for r in tables["manifeste"] if r["cle"] != "version_format"]
    report = _check(tmp_path, tables)
    [group] = report.findings.by_rule("depot.colonne_manquante")  # the rule code does not change
    assert group.examples == [(None, "La ligne version_format du manifeste est absente : ajoutez-la (la clé "
                                     "version_format dans la colonne cle, sa valeur dans la colonne valeur).")]
    text = to_text(report)
    assert "Ligne obligatoire du manifeste absente — 1 occurrence (ligne version_format du manifeste)" in text
    assert "Colonne obligatoire absente" not in text
    assert '"intitule": "Ligne obligatoire du manifeste absente"' in to_json(report)


def test_a_missing_column_of_a_table_stays_a_column(tmp_path):
    tables = copy_tables(base_tables())
    cols = [c for c in COLUMNS["parcours"] if c != "sexe"]
    report = validate_file(write_zip(tmp_path / "c.zip", tables, columns={"parcours": cols}),
                           Context(known_sites=SITES))
    [group] = report.findings.by_rule("depot.colonne_manquante")
    assert group.examples == [(1, "La colonne obligatoire « sexe » est absente.")]
    assert "Colonne obligatoire absente — 1 occurrence (table parcours, colonne sexe)" in to_text(report)


def test_the_site_docs_list_the_manifest_rules_by_key():
    from pipelines.contracts.documents.site_docs import render_codes_page, render_table_page

    contracts = load_contracts()
    page = render_table_page(contracts.tables["manifeste"])
    assert "| code | clé | gravité | intitulé | message |" in page and "| code | colonne |" not in page
    codes = render_codes_page(contracts)
    manifest = codes[codes.index("## Table [manifeste]"):codes.index("## Table [parcours]")]
    assert "| code | clé | gravité |" in manifest
    assert "| code | colonne | gravité |" in codes[codes.index("## Table [parcours]"):]


def test_an_extra_column_of_the_manifest_is_a_column(tmp_path):
    """A third column named like a key is a column of the manifest's header, not a key's line."""
    tables = copy_tables(base_tables())
    for row in tables["manifeste"]:
        row["code_pre"] = ""
    report = validate_file(write_zip(tmp_path / "m.zip", tables, columns={"manifeste": ["cle", "valeur", "code_pre"]}),
                           Context(known_sites=SITES))
    assert "Colonne inconnue — 1 occurrence (table manifeste, colonne code_pre)" in to_text(report)


def test_a_code_read_but_not_registered_is_unknown(tmp_path):
    tables = copy_tables(base_tables())
    _set_key(tables, "code_pre", "PRE99999")
    report = _check(tmp_path, tables)
    assert summary_line(report).startswith("d.zip : REFUSÉ — PRE99999, 3 parcours")
    text = to_text(report)
    assert "Site inconnu — 1 occurrence (ligne code_pre du manifeste)" in text
    assert "- Site : PRE99999" in text


# --------------------------------------------------------------------------- item 10 a: dates that do not exist


@pytest.mark.parametrize(("text", "expected"), [
    ("31/02/2023", "ce mois n'a que 28 jours"),
    ("29/02/2023", "ce mois n'a que 28 jours"),
    ("30/02/2024", "ce mois n'a que 29 jours"),
    ("2023-04-31", "ce mois n'a que 30 jours"),
    ("15/13/2023", "il n'y a pas de mois 13"),
    ("12/25/2023", "il n'y a pas de mois 25"),  # month and day swapped
    ("2023-00-10", "il n'y a pas de mois 0"),
    ("00/01/2023", "il n'y a pas de jour 0"),
    ("29/02/2024", None),  # a leap year: a real day
    ("1/2/2023", None),
    ("2023/11/20", None),  # not one of the two shapes: a format problem
    ("hier", None),
    ("31-12-2023", None),
])
def test_impossible_date(text, expected):
    assert impossible_date(text) == expected


def test_impossible_dates_say_so_and_bad_formats_keep_their_message(tmp_path):
    tables = copy_tables(base_tables())
    tables["parcours"][0]["date_entree"] = "31/02/2023"  # line 2
    tables["parcours"][1]["date_orientation"] = "2023-13-05"  # line 3
    tables["attentes"][0]["date_premier_rdv"] = "2023/11/20"  # line 2
    _set_key(tables, "date_debut_donnees", "31/04/2019")  # line 4 of the manifest
    report = _check(tmp_path, tables)
    found = {(f.rule, f.line): f.message for f in report.findings}
    assert found == {
        ("parcours.date_entree.type", 2):
            "La date « 31/02/2023 » n'existe pas dans le calendrier (ce mois n'a que 28 jours)" + CALENDAR_TAIL,
        ("parcours.date_orientation.type", 3):
            "La date « 2023-13-05 » n'existe pas dans le calendrier (il n'y a pas de mois 13)" + CALENDAR_TAIL,
        ("manifeste.date_debut_donnees.type", 4):
            "La date « 31/04/2019 » n'existe pas dans le calendrier (ce mois n'a que 30 jours)" + CALENDAR_TAIL,
        ("attentes.date_premier_rdv.type", 2):
            "La valeur « 2023/11/20 » n'est pas une date valide (formats admis : AAAA-MM-JJ ou JJ/MM/AAAA).",
    }
    assert not report.accepted


def test_every_date_rule_knows_the_calendar():
    contracts = load_contracts()
    date_rules = [r for t in contracts.tables.values() for c in t.columns if c.logical_type == "date"
                  for r in c.rules if r.kind == "type"]
    assert len(date_rules) == 12
    assert [r.code for r in date_rules if not r.has_variant("impossible_date")] == []


# --------------------------------------------------------------------------- item 10 b: the € sign


def test_amount_with_euro_sign_is_told_to_drop_it(tmp_path):
    tables = copy_tables(base_tables())
    model = tables["actions"][1]
    tables["actions"] += [model | {"id_action": f"A{i}"} for i in (4, 5)]
    costs = ["350 €", "350,00 €", "€350", "€ 1 200,50", "douze €"]  # lines 2 to 6
    for row, cost in zip(tables["actions"], costs, strict=True):
        row["cout_euros"] = cost
    report = _check(tmp_path, tables)
    [group] = report.findings.by_rule("actions.cout_euros.type")
    sign = ("Le montant est écrit avec le symbole € : retirez le symbole € et ne laissez que le nombre "
            "(exemples admis : 12,5 ou 1 200,00).")
    assert group.examples == [(2, sign), (3, sign), (4, sign), (5, sign),
                              (6, "La valeur « valeur non reproduite » n'est pas un nombre (exemples admis : 12,5 "
                                  "ou 1 200,00).")]
    assert not report.accepted  # the spec admits no € sign: only the advice changed
    assert "350" not in to_markdown(report)


# --------------------------------------------------------------------------- item 10 c: planned end dates


def _planned_ends(tmp_path, rows: list[int], *, refused: bool = False):
    tables = copy_tables(base_tables())
    model = tables["actions"][1]  # P2, ongoing: its copies add no other finding
    tables["actions"] += [model | {"id_action": f"A{i}"} for i in range(4, 15)]  # lines 2 to 15
    for i in rows:
        tables["actions"][i]["date_fin"] = "2025-03-31"  # after the extraction, 15/12/2024
    if refused:
        tables["parcours"][0]["sexe"] = "X"
    return _check(tmp_path, tables)


def test_planned_ends_are_said_once_per_file(tmp_path):
    report = _planned_ends(tmp_path, [0, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13])  # lines 2, 3, 4, 6–10, 12–15
    assert report.accepted
    [group] = report.findings.by_rule("actions.date_fin.prevue")
    # Said once, but counted as occurrences (exchange format §5: counts of findings are counts of occurrences).
    assert group.count == 12 and report.warning_count == 12
    assert group.examples == [(None, "Les dates de fin de 12 actions (lignes 2, 3, 4, 6–10 et 12–15) sont "
                                     "postérieures à la date d'extraction (15/12/2024) : elles sont lues comme des "
                                     "fins prévues. Il n'y a rien à corriger.")]
    assert group.lines == [2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15]  # all of them, for the JSON report
    text = to_text(report)
    assert ("Pour information (rien à corriger)\n----------------------------------\n\n"
            "Date de fin prévue — 12 occurrences (table actions, colonne date_fin)\n") in text
    assert "Avertissements" not in text
    assert "- ligne 2 :" not in text and "autres occurrences" not in text


def test_one_planned_end_is_singular(tmp_path):
    report = _planned_ends(tmp_path, [2])
    [group] = report.findings.by_rule("actions.date_fin.prevue")
    assert group.examples == [(None, "La date de fin d'une action (ligne 4) est postérieure à la date d'extraction "
                                     "(15/12/2024) : elle est lue comme une fin prévue. Il n'y a rien à corriger.")]


def test_a_refused_file_does_not_ask_to_correct_planned_ends(tmp_path):
    report = _planned_ends(tmp_path, [0, 1], refused=True)
    assert not report.accepted
    text = to_markdown(report)
    information = text.index("## Pour information (rien à corriger)")
    assert text.index("### Date de fin prévue") > information
    assert "## Avertissements (à corriger aussi)" not in text

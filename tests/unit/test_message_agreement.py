"""French agreement of the coordinator's messages (issue 17, items 2, 5 and 7), and what they say
(items 3, 4, 6 and 8).

Every template touched is run on 0, 1 and 2 (the singular for 0 and 1, the plural from 2), the
list rules' « inconnu(e) » agrees with its noun, a refused report's warnings heading does not say
« accepté », and `pre-eval validate` says it sent nothing. A report lists every line of a rule
(item 3); a letter-only identifier is told to take a digit (item 4); a duplicate names every line
of its value and an orphan says which table lacks its pathway (item 6); no jargon, no English, no
Markdown symbols on a terminal (item 8). Expected strings are written by hand; the files are built
with the test's own submission builder, never by the platform.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re

import pytest

from pipelines import cli
from pipelines.common import formats
from pipelines.common.french_parser import translate
from pipelines.contracts.findings import Findings, Shown, line_list, render
from pipelines.contracts.model import load_contracts
from pipelines.contracts.reader import Submission, read_submission
from pipelines.contracts.report import CHECK_ONLY, row_counts, summary_line, to_markdown, to_text
from pipelines.contracts.validator import Context, Report, validate_file
from submission_builder import base_tables, copy_tables, write_zip

SITES = {"PRE51454"}


def _rule(code: str):
    return next(r for t in load_contracts().tables.values() for r in t.rules if r.code == code)


# --------------------------------------------------------------------------- the plural helper


@pytest.mark.parametrize(("n", "expected"), [(0, "0 an"), (1, "1 an"), (2, "2 ans"), (-1, "-1 an"), (-3, "-3 ans")])
def test_plural_singular_for_zero_and_one(n, expected):
    assert formats.plural(n, "an") == expected


# --------------------------------------------------------------------------- rows read


@pytest.mark.parametrize(("n", "expected"), [
    (0, "0 parcours, 0 action, 0 bilan, 0 demande"),
    (1, "1 parcours, 1 action, 1 bilan, 1 demande"),
    (2, "2 parcours, 2 actions, 2 bilans, 2 demandes"),
])
def test_row_counts_agree(n, expected):
    assert row_counts({"parcours": n, "actions": n, "bilans": n, "attentes": n}) == expected


# --------------------------------------------------------------------------- age rules


@pytest.mark.parametrize(("n", "unit"), [(0, "0 an"), (1, "1 an"), (2, "2 ans")])
def test_age_templates_agree(n, unit):
    impossible = render(_rule("parcours.annee_naissance.age_impossible"),
                        {"valeur": n, "age": formats.plural(n, "an")})
    assert impossible == ("L'âge à l'entrée calculé (année d'entrée − année de naissance = "
                          f"{unit}) n'est pas entre 0 et 25 ans : vérifiez l'année de naissance.")
    unusual = render(_rule("parcours.annee_naissance.age_inhabituel"), {"valeur": n, "age": formats.plural(n, "an")})
    assert unusual == f"L'âge à l'entrée calculé ({unit}) est hors de la tranche habituelle du PRE (2 à 18 ans)."


def _unusual_ages(tmp_path, birth_years: list[str]):
    tables = copy_tables(base_tables())
    for row, year in zip(tables["parcours"], birth_years, strict=True):
        row["annee_naissance"] = year
    return validate_file(write_zip(tmp_path / "ages.zip", tables), Context(known_sites=SITES))


def test_age_messages_from_a_file(tmp_path):
    # Entry years: P1 2022, P2 2023, P3 2023. Born 2022, 2022, 2004: ages 0, 1 and 19.
    report = _unusual_ages(tmp_path, ["2022", "2022", "2004"])
    [group] = report.findings.by_rule("parcours.annee_naissance.age_inhabituel")
    messages = {message for _, message in group.examples}
    tail = " est hors de la tranche habituelle du PRE (2 à 18 ans)."
    assert messages == {f"L'âge à l'entrée calculé ({age}){tail}" for age in ("0 an", "1 an", "19 ans")}


# --------------------------------------------------------------------------- « inconnu » after a feminine noun


@pytest.mark.parametrize(("code", "expected"), [
    ("actions.modalite.liste", "Modalité « INDIV » inconnue."),
    ("attentes.structure.liste", "Structure « INDIV » inconnue."),
    ("parcours.origine_orientation.liste", "Origine d'orientation « INDIV » inconnue."),
    ("actions.volet.liste", "Volet « INDIV » inconnu."),
    ("parcours.sexe.liste", "Sexe « INDIV » inconnu."),
])
def test_unknown_code_agrees_with_its_noun(code, expected):
    assert render(_rule(code), {"valeur": Shown("INDIV")}).startswith(expected + " ")


# --------------------------------------------------------------------------- the report's headings (item 2)


def _with_flaws(tmp_path, *, blocking: bool):
    tables = copy_tables(base_tables())
    tables["parcours"][1]["annee_naissance"] = "2022"  # age 1 at entry: a warning
    if blocking:
        tables["actions"][0]["modalite"] = "INDIV2"
    return validate_file(write_zip(tmp_path / "d.zip", tables), Context(known_sites=SITES))


def test_refused_report_does_not_say_accepted(tmp_path):
    report = _with_flaws(tmp_path, blocking=True)
    assert not report.accepted and report.warning_count >= 1
    text = to_markdown(report)
    assert "**Verdict : refusé**" in text
    assert "## Avertissements (à corriger aussi)" in text
    assert "accepté" not in text
    assert "Modalité « INDIV2 » inconnue." in text


def test_accepted_report_keeps_its_heading(tmp_path):
    report = _with_flaws(tmp_path, blocking=False)
    assert report.accepted and report.warning_count >= 1
    assert "## Avertissements (dépôt accepté, à vérifier)" in to_markdown(report)
    checked = to_markdown(report, check_only=True)
    assert "## Avertissements (à vérifier)" in checked and "dépôt accepté" not in checked


# --------------------------------------------------------------------------- pre-eval validate (item 5)


def test_validate_says_nothing_was_sent(tmp_path, capsys):
    tables = copy_tables(base_tables())
    tables["actions"][0]["modalite"] = "INDIV2"
    path = write_zip(tmp_path / "refuse.zip", tables)
    assert cli.main(["validate", "--rapports", str(tmp_path / "rapports"), str(path)]) == 1
    out = capsys.readouterr().out
    sentence = ("Contrôle seulement : rien n'a été envoyé. Pour envoyer le fichier, déposez-le depuis la page "
                "« Déposer un fichier » du tableau de bord, ou dans le dossier de dépôt que l'opérateur de la "
                "plateforme vous a indiqué.")
    assert sentence == CHECK_ONLY
    assert out.rstrip().splitlines()[-1] == sentence
    assert "restent inchangées" not in out
    assert "- Verdict : refusé — 1 anomalie bloquante à corriger avant l'envoi." in out
    saved = (tmp_path / "rapports" / "refuse.zip.rapport.md").read_text(encoding="utf-8")
    assert sentence in saved and "restent inchangées" not in saved
    assert "- **Verdict : refusé** — 1 anomalie bloquante à corriger avant l'envoi." in saved  # the file: Markdown


def test_validate_resume_ends_with_the_check_line(tmp_path, capsys):
    path = write_zip(tmp_path / "ok.zip", copy_tables(base_tables()))
    assert cli.main(["validate", "--resume", str(path)]) == 0
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert lines[0].startswith("ok.zip : ACCEPTÉ — PRE51454")
    assert "3 parcours, 3 actions, 3 bilans, 3 demandes ;" in lines[0]
    assert lines[-1].startswith("Contrôle seulement : rien n'a été envoyé.")


def test_summary_line_agrees_on_one(tmp_path):
    tables = copy_tables(base_tables())
    for name in ("parcours", "actions", "bilans", "attentes"):
        tables[name] = tables[name][:1]
    tables["attentes"][0]["id_parcours"] = "P1"
    line = summary_line(validate_file(write_zip(tmp_path / "un.zip", tables), Context(known_sites=SITES)))
    assert "1 parcours, 1 action, 1 bilan, 1 demande ;" in line


# --------------------------------------------------------------------------- every line of a rule (item 3)


def test_report_lists_every_line_compactly(tmp_path):
    """Twelve unknown sexes: ten examples, and the twelve lines in the report itself, not only in the JSON."""
    tables = copy_tables(base_tables())
    model = tables["parcours"][1]  # P2, no later pathway of its child: copies add no other finding
    for i in range(4, 15):
        tables["parcours"].append(model | {"id_parcours": f"P{i}", "id_enfant": f"E{i}", "id_famille": f"F{i}"})
    tables["attentes"] = tables["attentes"][:2]
    for row in (0, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13):  # lines 2, 3, 4, 6–10, 12–15
        tables["parcours"][row]["sexe"] = "X"
    report = validate_file(write_zip(tmp_path / "sexes.zip", tables), Context(known_sites=SITES))
    [group] = report.findings.by_rule("parcours.sexe.liste")
    assert group.count == 12
    text = to_markdown(report)
    assert "- … et 2 autres occurrences ; en tout, lignes 2, 3, 4, 6–10 et 12–15." in text
    assert "rapport JSON" not in text
    assert "- … et 2 autres occurrences ; en tout, lignes 2, 3, 4, 6–10 et 12–15." in to_text(report)


@pytest.mark.parametrize(("lines", "total", "expected"), [
    ([5], None, "ligne 5"),
    ([87, 14], None, "lignes 14 et 87"),
    ([2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15], None, "lignes 2, 3, 4, 6–10 et 12–15"),
    ([7, 7, 8], None, "lignes 7 et 8"),
    (range(2, 1002), 12_345, "lignes 2–1001 et 11 345 autres lignes"),  # a huge file: the count, not the lines
])
def test_line_list(lines, total, expected):
    assert line_list(lines, total) == expected


def test_line_list_is_capped():
    """Two hundred scattered lines: the first hundred are listed, the others counted."""
    listed = ", ".join(str(n) for n in range(2, 202, 2))
    assert line_list(range(2, 402, 2)) == f"lignes {listed} et 100 autres lignes"


def test_report_of_a_huge_file_gives_the_count(tmp_path):
    rule = load_contracts().rule("parcours.sexe.liste")
    findings = Findings()
    findings.add_many(rule, table="parcours", column="sexe", lines=range(2, 5002))  # 1 000 lines kept of 5 000
    report = Report("gros.zip", Submission(source="gros.zip", kind="zip"), findings)
    assert "- … et 4 990 autres occurrences ; en tout, lignes 2–1001 et 4 000 autres lignes." in to_markdown(report)


# --------------------------------------------------------------------------- letter-only identifiers (item 4)


def test_letter_only_identifier_is_told_to_take_a_digit(tmp_path):
    tables = copy_tables(base_tables())
    tables["parcours"][0]["id_referent"] = "ABC"
    tables["parcours"][1]["id_referent"] = "LE-GALL"
    report = validate_file(write_zip(tmp_path / "lettres.zip", tables), Context(known_sites=SITES))
    [group] = report.findings.by_rule("parcours.id_referent.donnee_personnelle")
    assert [line for line, _ in group.examples] == [2, 3]
    assert {message for _, message in group.examples} == {
        "L'identifiant ressemble à une donnée personnelle (nom, adresse électronique, téléphone ou NIR) : "
        "remplacez-le par le numéro pseudonymisé de votre logiciel. Un identifiant sans chiffre, fait seulement de "
        "lettres, tirets ou apostrophes (« JDU », « EDUC-A »), est pris pour un nom : ajoutez-y un chiffre "
        "(« R012 »). La valeur n'est pas reproduite ici."}
    text = to_markdown(report)
    assert "ABC" not in text and "GALL" not in text


# --------------------------------------------------------------------------- finding the row (item 6)


def test_duplicate_names_every_line_of_its_value(tmp_path):
    tables = copy_tables(base_tables())
    tables["parcours"][2]["id_parcours"] = "P1"  # lines 2 and 4 share P1
    report = validate_file(write_zip(tmp_path / "double.zip", tables), Context(known_sites=SITES))
    [group] = report.findings.by_rule("parcours.id_parcours.unique")
    expected = ("Le même identifiant de parcours figure aux lignes 2 et 4 : chaque parcours doit avoir un "
                "identifiant unique.")
    assert group.examples == [(2, expected), (4, expected)]
    assert "P1" not in to_markdown(report).replace("PRE", "")


def test_duplicate_bilan_and_manifest_key_name_their_lines(tmp_path):
    tables = copy_tables(base_tables())
    tables["bilans"][1]["type_bilan"] = "ENTREE"  # P1's two bilans are both ENTREE: lines 2 and 3
    tables["manifeste"].append({"cle": "logiciel", "valeur": "Autre"})  # logiciel on lines 6 and 7
    report = validate_file(write_zip(tmp_path / "double.zip", tables), Context(known_sites=SITES))
    [bilans] = report.findings.by_rule("bilans.type_bilan.plusieurs")
    assert bilans.examples == [(3, "Le parcours a plusieurs bilans de type ENTREE (lignes 2 et 3) : "
                                   "un seul est attendu.")]
    [key] = report.findings.by_rule("manifeste.cle_en_double")
    assert key.examples == [(7, "La clé « logiciel » figure plusieurs fois dans le manifeste (lignes 6 et 7) : "
                                "n'en gardez qu'une.")]


def test_orphan_action_gives_its_line_and_the_table_lacking_the_pathway(tmp_path):
    tables = copy_tables(base_tables())
    tables["actions"][1]["id_parcours"] = "P9"
    report = validate_file(write_zip(tmp_path / "orphelin.zip", tables), Context(known_sites=SITES))
    [group] = report.findings.by_rule("actions.id_parcours.parcours_inconnu")
    assert group.examples == [(3, "L'action de cette ligne (table actions) renvoie à un parcours qui manque dans la "
                                  "table parcours : aucune ligne de la table parcours ne porte cet identifiant. "
                                  "Ajoutez le parcours à la table parcours ou corrigez l'identifiant de l'action.")]
    assert group.rule.title == "Parcours absent de la table parcours"
    assert "ligne 3 : L'action de cette ligne (table actions)" in to_text(report)


# --------------------------------------------------------------------------- jargon and English (item 8)


@pytest.mark.parametrize(("code", "title"), [
    ("actions.cout_euros.type", "Nombre attendu"),
    ("parcours.annee_naissance.type", "Nombre entier attendu"),
    ("parcours.date_entree.type", "Date non reconnue"),
    ("manifeste.date_extraction.type", "Date non reconnue"),
])
def test_type_rules_have_plain_titles(code, title):
    assert load_contracts().rule(code).title == title


def test_no_rule_speaks_jargon():
    contracts = load_contracts()
    titles = [r.title for r in contracts.all_rules()]
    assert not [t for t in titles if t.startswith("Type ") and "d'action" not in t], titles
    texts = [r.message for r in contracts.all_rules()] + [c.description for t in contracts.tables.values()
                                                          for c in t.columns]
    assert not [t for t in texts if "si et seulement si" in t]


def test_exit_reason_without_exit_date_in_plain_french(tmp_path):
    tables = copy_tables(base_tables())
    tables["parcours"][1]["motif_sortie"] = "AUTRE"  # P2 is ongoing: no date_sortie
    report = validate_file(write_zip(tmp_path / "motif.zip", tables), Context(known_sites=SITES))
    [group] = report.findings.by_rule("parcours.motif_sortie.sans_date_sortie")
    assert group.examples == [(3, "Le motif de sortie et la date de sortie vont ensemble : renseignez les deux, ou "
                                  "aucun des deux (motif_sortie renseigné sans date_sortie).")]


def test_damaged_archive_without_exception_name(tmp_path):
    data = write_zip(tmp_path / "ok.zip", base_tables()).read_bytes()
    path = tmp_path / "tronque.zip"
    path.write_bytes(data[: len(data) // 2])
    [finding] = list(read_submission(path).findings)
    assert finding.message == (
        "Le fichier ne peut pas être lu : l'archive ou le classeur est endommagé (fichier incomplet ou abîmé, par "
        "exemple lors d'une copie ou d'un téléchargement) ; exportez-le ou enregistrez-le à nouveau, puis déposez "
        "la nouvelle version.")
    assert "BadZipFile" not in finding.message


def test_terminal_report_has_no_markdown_symbols(tmp_path, capsys):
    tables = copy_tables(base_tables())
    tables["parcours"][1]["sexe"] = "X"
    path = write_zip(tmp_path / "mauvais-fichier_v2.zip", tables)  # `-` and `_`: escaped in Markdown, not here
    assert cli.main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Rapport de contrôle du dépôt « mauvais-fichier_v2.zip »\n"
                          "=======================================================\n")
    assert "Anomalies bloquantes (à corriger)\n---------------------------------\n" in out
    assert "Code hors liste — 1 occurrence (table parcours, colonne sexe)\nRègle parcours.sexe.liste.\n" in out
    assert "- ligne 3 : Sexe « X » inconnu. Valeurs admises : F, M." in out
    for symbol in ("**", "\\", "`", "#"):
        assert symbol not in out, symbol


# --------------------------------------------------------------------------- argparse in French (item 8)


def _parse(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(args)
    return exit_.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("args", "last_line"), [
    ([], "pre-eval : erreur : argument obligatoire manquant : commande"),
    (["validate"], "pre-eval validate : erreur : argument obligatoire manquant : FICHIER"),
    (["validate", "a.zip", "--bidule"], "pre-eval : erreur : argument non reconnu : --bidule"),
    (["validate", "--rapports"], "pre-eval validate : erreur : argument --rapports : une valeur est attendue"),
    (["generate", "--out", "x", "--seed", "abc"],
     "pre-eval generate : erreur : argument --seed : valeur invalide : « abc » (un nombre entier est attendu)"),
    (["dashboard", "--port", "0"],
     "pre-eval dashboard : erreur : argument --port : le port doit être un entier entre 1 et 65535"),
])
def test_argparse_errors_in_french(args, last_line):
    code, _, err = _parse(args)
    assert code == 2
    lines = err.rstrip("\n").splitlines()
    assert lines[0].startswith("utilisation : pre-eval")
    assert lines[-1] == last_line


def test_unknown_command_in_french():
    code, _, err = _parse(["valider"])
    assert code == 2
    assert err.splitlines()[-1].startswith(
        "pre-eval : erreur : argument commande : choix invalide : « valider » (choix possibles : validate, modele, ")


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_every_help_is_in_french():
    helps = [p.format_help() for p in _parsers(cli.build_parser())]
    assert len(helps) > 15  # the commands and their own sub-commands
    for text in helps:
        assert text.startswith("utilisation : pre-eval"), text
        assert "-h, --help" in text and "affiche cette aide et quitte" in text, text
        for english in ("usage:", "show this help message", "positional arguments", "options:", "subcommands"):
            assert english not in text, (english, text)
    code, out, _ = _parse(["validate", "--help"])
    assert code == 0
    assert re.search(r"^options :$", out, re.M) and re.search(r"^arguments positionnels :$", out, re.M)


@pytest.mark.parametrize(("english", "french"), [
    ("one of the arguments --a --b is required", "l'un des arguments --a --b est obligatoire"),
    ("argument --a: not allowed with argument --b", "argument --a : incompatible avec l'argument --b"),
    ("ambiguous option: --re could match --rapports, --resume",
     "option ambiguë : --re peut désigner --rapports, --resume"),
    ("argument --x: expected at least one argument", "argument --x : au moins une valeur est attendue"),
    ("argument --x: invalid _port value: 'abc'", "argument --x : valeur invalide : « abc »"),
    ("le port doit être un entier entre 1 et 65535", "le port doit être un entier entre 1 et 65535"),
])
def test_translate_argparse_messages(english, french):
    assert translate(english) == french


def test_generate_summary_agrees_with_its_counts(tmp_path, monkeypatch, capsys):
    # One valid file and no flawed one: « 1 dépôt valide et 0 dépôt volontairement erroné écrit » (was « 0 dépôts
    # volontairement erronés écrits »).
    from pipelines import cli

    monkeypatch.setenv("PRE_HOME", str(tmp_path / "home"))
    assert cli.main(["generate", "--out", str(tmp_path / "out"), "--sites", "PRE51454", "--from-year", "2024",
                     "--to-year", "2024"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"1 dépôt valide et 0 dépôt volontairement erroné écrit dans {tmp_path / 'out'}")

"""French agreement of the coordinator's messages (issue 17, items 2, 5 and 7).

Every template touched is run on 0, 1 and 2 (the singular for 0 and 1, the plural from 2), the
list rules' « inconnu(e) » agrees with its noun, a refused report's warnings heading does not say
« accepté », and `pre-eval validate` says it sent nothing. Expected strings are written by hand;
the files are built with the test's own submission builder, never by the platform.
"""

from __future__ import annotations

import pytest

from pipelines import cli
from pipelines.common import formats
from pipelines.contracts.findings import Shown, render
from pipelines.contracts.model import load_contracts
from pipelines.contracts.report import CHECK_ONLY, row_counts, summary_line, to_markdown
from pipelines.contracts.validator import Context, validate_file
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
    assert "**Verdict : refusé** — 1 anomalie bloquante à corriger avant l'envoi." in out
    saved = (tmp_path / "rapports" / "refuse.zip.rapport.md").read_text(encoding="utf-8")
    assert sentence in saved and "restent inchangées" not in saved


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

"""The XLSX template and the site documentation are generated from the data contracts.

The template is written with xlsxwriter and read back here with openpyxl, so the checks do not
trust the writer's own view of the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import from_excel

from pipelines.contracts.documents.site_docs import ANNEX_PAGE, CODES_PAGE, INDEX, render_site_docs, write_site_docs
from pipelines.contracts.documents.template import (
    LISTS_SHEET,
    MANIFEST_HEADER,
    README_SHEET,
    TEMPLATE_EXTRA_SHEETS,
    write_template,
)
from pipelines.contracts.model import TABLES
from support import REPO_ROOT

DOCS_DIR = REPO_ROOT / "docs" / "format"

# Words a PRE coordinator (a social worker, a local official) should not meet without an explanation:
# they belong to the technical annex (issue 17, point 11).
JARGON = {
    "HMAC": r"\bHMAC",
    "SHA-256": r"\bSHA-?\d",
    "BOM": r"\bBOM\b",
    "casse": r"\bcasse\b",
    "statut `ignore`": r"`ignore`|statut ignore\b",
    "expression régulière": r"\bregex|expressions? régulières?",
    "motif d'expression régulière": r"motif `|\^\[|\{1,64\}|\]\$",
    "Windows-1252": r"Windows-1252|\bcp1252\b",
    "UTF-16": r"\bUTF-16\b",
    "LF/CRLF": r"\bCR?LF\b",
    "encodage": r"\bencodage\b",
    "Table Schema": r"Table Schema|frictionless",
    "commande pre-eval": r"pre-eval",
}


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    path = write_template(tmp_path_factory.mktemp("modele") / "modele-depot.xlsx")
    return openpyxl.load_workbook(path)


# -- helpers reading the workbook back -------------------------------------------------------

def validation_at(ws, coordinate: str):
    """The data validation that covers a cell (Excel allows at most one)."""
    found = [dv for dv in ws.data_validations.dataValidation if coordinate in dv.sqref]
    assert len(found) <= 1, f"{ws.title}!{coordinate}: plusieurs validations"
    return found[0] if found else None


def cells_of(wb, reference: str) -> list[str]:
    """Values of a range reference such as `listes!$A$2:$A$6` (empty cells skipped)."""
    sheet, _, cells = reference.rpartition("!")
    ws = wb[sheet.strip("'")]
    rows = ws[cells.replace("$", "")]
    rows = rows if isinstance(rows, tuple) else ((rows,),)
    return [c.value for row in rows for c in (row if isinstance(row, tuple) else (row,))
            if c.value is not None]


def list_values(wb, dv) -> list[str]:
    """Allowed values of a list validation: inline list, named range or direct range."""
    assert dv.type == "list"
    formula = dv.formula1
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    if "!" in formula:
        return cells_of(wb, formula)
    defined = wb.defined_names[formula]
    destinations = list(defined.destinations)
    assert len(destinations) == 1
    sheet, cells = destinations[0]
    return cells_of(wb, f"{sheet}!{cells}")


def header(ws) -> list[str]:
    return [c.value for c in ws[1] if c.value is not None]


def column_letter(ws, name: str) -> str:
    return get_column_letter(header(ws).index(name) + 1)


def column_format(ws, letter: str) -> str:
    """Number format of a column (a <col> element may span several equal columns)."""
    index = column_index_from_string(letter)
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= index <= (dim.max or dim.min):
            return dim.number_format
    return "General"


def without_optional_prefix(text: str) -> str:
    head, sep, rest = text.partition(":")
    return rest.strip() if sep and head.strip().lower() == "facultatif" else text


# -- template ---------------------------------------------------------------------------------

def test_sheets(workbook, contracts):
    assert list(contracts.tables) == list(TABLES)
    assert workbook.sheetnames == [README_SHEET, *contracts.tables, LISTS_SHEET]
    extra = {s.lower() for s in workbook.sheetnames} - set(contracts.tables)
    assert extra == set(TEMPLATE_EXTRA_SHEETS)
    assert TEMPLATE_EXTRA_SHEETS == ("lisez-moi", "listes")
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    assert all(workbook[s].sheet_state == "visible" for s in [README_SHEET, *contracts.tables])


def test_headers_are_the_contract_columns_in_order(workbook, contracts):
    for name, table in contracts.tables.items():
        ws = workbook[name]
        expected = list(MANIFEST_HEADER) if table.key_value else table.column_names
        assert header(ws) == expected, name
        assert ws.max_column == len(expected), f"{name}: cellules en trop dans la ligne 1"
        assert ws.freeze_panes == "A2", name
        assert all(c.font.bold for c in ws[1]), name
        if not table.key_value:
            assert ws.max_row == 1, f"{name}: le modèle ne doit contenir aucune donnée"


def test_every_code_list_column_has_its_drop_down(workbook, contracts):
    checked = 0
    for name, table in contracts.tables.items():
        ws = workbook[name]
        for row, column in enumerate(table.columns, start=2):
            cell = f"B{row}" if table.key_value else f"{column_letter(ws, column.name)}2"
            dv = validation_at(ws, cell)
            assert dv is not None, f"{name}.{column.name}: pas de validation"
            if column.codes:
                assert dv.type == "list", f"{name}.{column.name}"
                assert list_values(workbook, dv) == column.codes, f"{name}.{column.name}"
                assert dv.showDropDown in (None, False)  # openpyxl: False means "show arrow"
                checked += 1
            else:
                assert dv.type != "list", f"{name}.{column.name}"
    assert checked == sum(bool(c.codes) for t in contracts.tables.values() for c in t.columns)
    assert checked >= 10


def test_long_code_lists_do_not_use_inline_formulas(workbook, contracts):
    for name in contracts.tables:
        for dv in workbook[name].data_validations.dataValidation:
            if dv.type == "list":
                assert len(dv.formula1) <= 255
    type_action = contracts.tables["actions"].column("type_action")
    assert len(",".join(type_action.codes)) > 255  # the case the hidden sheet exists for
    ws = workbook["actions"]
    dv = validation_at(ws, f"{column_letter(ws, 'type_action')}2")
    assert not dv.formula1.startswith('"')


def test_validations_cover_the_whole_column(workbook, contracts):
    for name, table in contracts.tables.items():
        if table.key_value:
            continue
        ws = workbook[name]
        for column in table.columns:
            letter = column_letter(ws, column.name)
            dv = validation_at(ws, f"{letter}2")
            assert validation_at(ws, f"{letter}50000") is dv
            assert validation_at(ws, f"{letter}1") is None, "l'en-tête ne doit pas être validé"


def test_instructions_on_headers_and_cells(workbook, contracts):
    for name, table in contracts.tables.items():
        ws = workbook[name]
        for row, column in enumerate(table.columns, start=2):
            if table.key_value:
                note_cell, input_cell = ws[f"A{row}"], f"B{row}"
            else:
                letter = column_letter(ws, column.name)
                note_cell, input_cell = ws[f"{letter}1"], f"{letter}2"
            assert column.instruction, f"{name}.{column.name}: consigne absente du contrat"
            assert note_cell.comment is not None, f"{name}.{column.name}: pas de note"
            assert column.instruction in note_cell.comment.text
            assert column.description in note_cell.comment.text
            for code in column.codes or []:
                assert code in note_cell.comment.text
            dv = validation_at(ws, input_cell)
            assert dv.showInputMessage
            assert dv.promptTitle == column.name
            expected = without_optional_prefix(column.instruction)
            assert expected[1:40].lower() in dv.prompt.lower(), f"{name}.{column.name}"
            assert len(dv.prompt) <= 255 and len(dv.promptTitle) <= 32


def test_typed_columns(workbook, contracts):
    for name, table in contracts.tables.items():
        if table.key_value:
            continue
        ws = workbook[name]
        for column in table.columns:
            letter = column_letter(ws, column.name)
            dv = validation_at(ws, f"{letter}2")
            number_format = column_format(ws, letter)
            expected = {"date": "date", "integer": "whole", "number": "decimal"}
            if column.logical_type in expected:
                assert dv.type == expected[column.logical_type], f"{name}.{column.name}"
                assert dv.errorStyle in (None, "stop") and dv.showErrorMessage
            if column.logical_type == "date":
                assert "yyyy" in number_format
            elif column.logical_type == "string":
                assert number_format == "@", f"{name}.{column.name}: texte (zéros initiaux)"


def test_bounds_come_from_blocking_range_rules(workbook, contracts):
    ws = workbook["parcours"]
    dv = validation_at(ws, f"{column_letter(ws, 'date_entree')}2")
    rule = contracts.rule("parcours.date_entree.trop_ancienne")
    assert dv.operator == "greaterThanOrEqual"
    assert from_excel(float(dv.formula1)).date() == dt.date.fromisoformat(rule.params["min"])

    ws = workbook["bilans"]
    dv = validation_at(ws, f"{column_letter(ws, 'note_sante')}2")
    assert (dv.formula1, dv.formula2) == ("1", "4")

    ws = workbook["actions"]  # the > 10 000 € rule is a warning: not enforced by the sheet
    dv = validation_at(ws, f"{column_letter(ws, 'cout_euros')}2")
    assert dv.operator == "greaterThanOrEqual" and float(dv.formula1) == 0


def test_manifest_rows(workbook, contracts):
    manifest = contracts.tables["manifeste"]
    ws = workbook["manifeste"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == manifest.column_names
    values = {r[0]: r[1] for r in rows}
    assert values["version_format"] == "1"
    assert manifest.column("version_format").codes == ["1"]
    assert all(v is None for k, v in values.items() if k != "version_format")
    assert values.keys() == {"code_pre", "date_extraction", "date_debut_donnees",
                             "version_format", "logiciel"}
    date_row = manifest.column_names.index("date_extraction") + 2
    assert "yyyy" in ws[f"B{date_row}"].number_format
    assert validation_at(ws, f"B{date_row}").type == "date"
    keys = validation_at(ws, "A2")
    assert list_values(workbook, keys) == manifest.column_names


def test_readme_sheet(workbook, contracts):
    text = "\n".join(str(c.value) for row in workbook[README_SHEET].iter_rows() for c in row
                     if c.value is not None)
    for needle in ("« Déposer un fichier »", "Un fichier par site", "photographie complète",
                   "JJ/MM/AAAA", "virgule", "liste déroulante", "Données personnelles",
                   "Lisez-moi", "listes", "bloquante", "Avertissement"):
        assert needle in text, needle
    for name in contracts.tables:
        assert name in text
    assert "1 250,50" in text  # French number formatting
    assert ("Déposez le fichier sur la page « Déposer un fichier » de la plateforme d'évaluation : il y est "
            "d'abord vérifié avec exactement les contrôles de la plateforme, et un rapport liste les anomalies "
            "(table, ligne, colonne, code de règle, message). Vous ne l'envoyez qu'ensuite.") in text
    assert "Les majuscules et minuscules comptent : P12 et p12 sont deux numéros différents." in text


def test_readme_prints_on_a4_without_being_cut(workbook):
    """Issue 17, point 11: the printed Lisez-moi lost its right part (a 110-character column, no page setup)."""
    ws = workbook[README_SHEET]
    setup = ws.page_setup
    assert int(setup.paperSize) == 9  # A4
    assert setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert setup.fitToWidth in (None, 1)  # absent means 1 (OOXML default): one page wide
    assert int(setup.fitToHeight) == 0  # as many pages tall as the text needs
    assert ws.page_margins.left == ws.page_margins.right == 0.5
    texts = [c for c in ws["A"] if c.value]
    assert ws.print_area == f"'Lisez-moi'!$A$1:$A${texts[-1].row}"  # column A only, down to the last line
    # A4 is 21 cm wide; 2 × 1,27 cm of margins leave 18,46 cm, 698 pixels at 96 per inch; a column of
    # width w takes 7 w + 5 pixels in Calibri 11, so the text column must be at most 99 wide.
    width = ws.column_dimensions["A"].width
    assert 80 <= width <= 99, width
    assert all(dim.min == dim.max == 1 for dim in ws.column_dimensions.values() if dim.width)
    assert ws.max_column == 1
    for cell in texts:
        assert cell.alignment.wrap_text, f"A{cell.row}"
        # LibreOffice fits at most about 115 characters of Calibri 11 in a line of this column
        # (rendered by hand once): a row must hold at least that many lines of 15 points.
        lines = -(-len(cell.value) // 115)
        height = ws.row_dimensions[cell.row].height or 15
        assert height >= 15 * lines, (cell.row, height, cell.value[:40])
    long = next(c for c in texts if c.value.startswith("• Identifiants"))
    assert ws.row_dimensions[long.row].height >= 60  # 431 characters: four lines at least


def test_coordinator_texts_have_no_jargon(workbook, pages):
    """Issue 17, point 11: the pages and the Lisez-moi speak plain French; the jargon is in the annex."""
    texts = {name: re.sub(r"<!--.*?-->", "", text) for name, text in pages.items() if name != ANNEX_PAGE}
    texts[README_SHEET] = "\n".join(str(c.value) for c in workbook[README_SHEET]["A"] if c.value)
    assert len(texts) == len(pages)  # every page but the annex, plus the Lisez-moi
    found = [(name, word, match.group(0)) for name, text in texts.items() for word, pattern in JARGON.items()
             for match in re.finditer(pattern, text, flags=re.IGNORECASE)]
    assert found == []
    # « UTF-8 » only where it is said how to save a file so.
    for name, text in texts.items():
        for line in text.splitlines():
            if "UTF-8" in line:
                assert "Enregistrer sous" in line, (name, line[:80])
    assert ("- **Fichiers CSV** : enregistrez-les en CSV UTF-8, la forme qui conserve les accents (dans LibreOffice : "
            "*Enregistrer sous…* > type « Texte CSV », jeu de caractères « Unicode (UTF-8) » ; dans Excel : "
            "*Enregistrer sous…* > « CSV UTF-8 (délimité par des virgules) »).") in texts[INDEX]
    assert ("est conservé, mais il n'est pas appliqué : il ne remplace pas les données plus récentes (la page "
            "« Mes dépôts » l'indique comme « ignoré »)") in texts[INDEX]
    assert ("- **Identifiants** : lus tels quels, les majuscules et minuscules comptent (`P12` et `p12` sont deux "
            "numéros différents)") in texts[INDEX]
    assert ("| `code_commune` | texte | oui | Code INSEE de la commune de résidence. | Code INSEE sur 5 caractères "
            "(pas le code postal). | forme contrôlée : voir la règle « Code commune invalide » ci-dessous | `51454` |"
            ) in texts["parcours.md"]


def test_technical_annex(pages, contracts):
    """The technical notes taken out of the pages for coordinators are in the annex, linked from every page."""
    annex = pages[ANNEX_PAGE]
    assert "\n# Annexe technique (pour les informaticiens)\n" in annex
    for needle in ("HMAC-SHA256", "SHA-256", "avec ou sans BOM", "Windows-1252", "UTF-16", "CRLF",
                   "sensibles à la casse", "`ignore`", "`accepte`", "`refuse`", "pre-eval validate",
                   "Table Schema", "parcours.schema.json"):
        assert needle in annex, needle
    assert ("| parcours | `code_commune` | `^([0-9]{5}\\|2[AB][0-9]{3})$` | `parcours.code_commune.format` |"
            in annex)
    assert annex.count("`^[A-Za-z0-9_-]{1,64}$`") == 11  # every identifier column
    for name, text in pages.items():
        if name != INDEX:  # the index has no navigation bar: it links the annex in its first paragraph
            assert f"[Annexe technique]({ANNEX_PAGE})" in text, name
    assert f"l'[annexe technique]({ANNEX_PAGE})" in pages[INDEX]


def test_identifiers_need_a_digit_where_they_are_described(workbook, contracts):
    """Issue 17, point 4: the instructions allowed « JDU », which the rules refuse as a possible name."""
    text = "\n".join(str(c.value) for row in workbook[README_SHEET].iter_rows() for c in row
                     if c.value is not None)
    assert ("• Identifiants : les numéros de votre logiciel de suivi (lettres sans accent, chiffres, « _ » et « - », "
            "64 caractères au plus), avec au moins un chiffre (« R012 », pas « JDU » : sans chiffre, il serait pris "
            "pour un nom).") in text
    assert ("Un identifiant sans chiffre, fait seulement de lettres, tirets ou apostrophes (« JDU », « EDUC-A »), "
            "est pris pour un nom : ajoutez-y un chiffre (« R012 »).") in text
    identifiers = [(name, c) for name, t in contracts.tables.items() for c in t.columns if c.nature == "identifiant"]
    assert len(identifiers) == 11
    for name, column in identifiers:
        dv = validation_at(workbook[name], f"{column_letter(workbook[name], column.name)}2")
        assert dv.prompt.endswith("Lettres sans accent, chiffres, « _ » ou « - », avec au moins un chiffre "
                                  "(« R012 », pas « JDU » : sans chiffre, il serait pris pour un nom)."), dv.prompt
    index = (DOCS_DIR / INDEX).read_text(encoding="utf-8")
    assert ("Un identifiant sans chiffre, fait seulement de lettres, tirets ou apostrophes (« JDU », « EDUC-A »), "
            "est pris pour un nom : donnez à chaque identifiant au moins un chiffre (« R012 »).") in index


def test_template_follows_the_contracts(tmp_path, contracts):
    """Nothing is hard-coded: a new code and a new column show up in the template."""
    parcours = contracts.tables["parcours"]
    sexe = parcours.column("sexe")
    rules = tuple(dataclasses.replace(r, params={"values": [*sexe.codes, "X"]})
                  if r.kind == "in_set" else r for r in sexe.rules)
    new_sexe = dataclasses.replace(sexe, rules=rules)
    extra = dataclasses.replace(parcours.column("code_qpv"), name="nouvelle_colonne",
                                instruction="Consigne de la nouvelle colonne.")
    columns = (*(new_sexe if c.name == "sexe" else c for c in parcours.columns), extra)
    tables = {**contracts.tables, "parcours": dataclasses.replace(parcours, columns=columns)}
    changed = dataclasses.replace(contracts, tables=tables)

    wb = openpyxl.load_workbook(write_template(tmp_path / "m.xlsx", changed))
    ws = wb["parcours"]
    assert header(ws) == [*parcours.column_names, "nouvelle_colonne"]
    dv = validation_at(ws, f"{column_letter(ws, 'sexe')}2")
    assert list_values(wb, dv) == ["F", "M", "X"]
    assert "Consigne de la nouvelle colonne." in ws[f"{column_letter(ws, 'nouvelle_colonne')}1"] \
        .comment.text

    docs = render_site_docs(changed)
    assert "`nouvelle_colonne`" in docs["parcours.md"]
    assert "`X`" in docs["parcours.md"]


def test_filled_template_is_accepted_as_is(tmp_path):
    """The "Lisez-moi" and "listes" sheets do not make the reader refuse a filled template."""
    from pipelines.contracts import reader
    from pipelines.contracts.validator import Context, validate_file

    assert tuple(reader.TEMPLATE_SHEETS) == TEMPLATE_EXTRA_SHEETS
    wb = openpyxl.load_workbook(write_template(tmp_path / "modele.xlsx"))
    manifest = {r[0].value: r[1] for r in wb["manifeste"].iter_rows(min_row=2)}
    manifest["code_pre"].value = "PRE51454"
    manifest["date_extraction"].value = dt.date(2025, 6, 30)
    records = {
        "parcours": {"id_parcours": "P1", "id_enfant": "E1", "sexe": "F",
                     "annee_naissance": 2014, "niveau_scolaire": "CE1", "code_commune": "08105",
                     "date_orientation": dt.date(2023, 9, 15), "origine_orientation": "ECOLE",
                     "motif_orientation": "SCOLARITE", "date_entree": dt.date(2023, 10, 10),
                     "id_referent": "R1"},
        "actions": {"id_action": "A1", "id_parcours": "P1", "volet": "SANTE",
                    "type_action": "ORTHOPHONIE", "modalite": "INDIVIDUELLE",
                    "partenaire": "CMPP", "date_debut": dt.date(2023, 11, 6),
                    "seances_prevues": 10, "seances_realisees": 8, "cout_euros": 1250.5},
        "bilans": {"id_bilan": "B1", "id_parcours": "P1", "type_bilan": "ENTREE",
                   "date_bilan": dt.date(2023, 10, 20), "objectifs_fixes": 3,
                   "objectifs_atteints": 0, "note_sante": 2},
        "attentes": {"id_demande": "D1", "id_enfant": "E1", "id_parcours": "P1",
                     "structure": "CMPP", "date_demande": dt.date(2023, 1, 12)},
    }
    for name, values in records.items():
        ws = wb[name]
        ws.append([values.get(column) for column in header(ws)])
    filled = tmp_path / "rempli.xlsx"
    wb.save(filled)
    report = validate_file(filled, Context(known_sites={"PRE51454"}))
    codes = [g.rule.code for g in report.findings.groups()]
    assert report.accepted, codes
    assert codes == []


# -- site documentation ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages(contracts):
    return render_site_docs(contracts)


def test_pages(pages, contracts):
    assert list(pages) == [INDEX, *(f"{t}.md" for t in contracts.tables), CODES_PAGE, ANNEX_PAGE]
    for name, text in pages.items():
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        for link in re.findall(r"\]\(([^)]+\.md)\)", text):
            assert link in pages, f"{name}: lien mort {link}"


def test_every_rule_code_is_documented(pages, contracts):
    codes_page = pages[CODES_PAGE]
    for rule in contracts.all_rules():
        assert f"`{rule.code}`" in codes_page, rule.code
        home = INDEX if rule.table == contracts.envelope.name else f"{rule.table}.md"
        row = next((line for line in pages[home].splitlines()
                    if line.startswith(f"| `{rule.code}` |")), None)
        assert row is not None, f"{rule.code} absent de {home}"
        assert rule.title.replace("|", "\\|") in row
        assert ("bloquant" if rule.blocking else "avertissement") in row
    assert codes_page.count("| `") == len(contracts.all_rules())


def test_every_column_is_documented(pages, contracts):
    for name, table in contracts.tables.items():
        page = pages[f"{name}.md"]
        for column in table.columns:
            row = next((line for line in page.splitlines()
                        if line.startswith(f"| `{column.name}` |")), None)
            assert row is not None, f"{name}.{column.name}"
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
            type_label = {"string": "texte", "integer": "entier", "number": "décimal",
                          "date": "date"}[column.logical_type]
            assert cells[1] == type_label
            assert cells[2] in ("oui", "non") or cells[2].startswith("si ")
            assert cells[2] != ("non" if column.required else "oui")
            assert cells[3] == column.description
            for code in column.codes or []:
                assert f"`{code}`" in cells[5]


def test_index_covers_the_essentials(pages):
    index = pages[INDEX]
    for needle in ("ZIP", "XLSX", "photographie complète", "bloquant", "avertissement",
                   "Données personnelles", "Vie d'un dépôt", "quarantaine", "« ignoré »",
                   "« Déposer un fichier »", "Enregistrer sous", "JJ/MM/AAAA", "__MACOSX",
                   "Lisez-moi", "pseudonyme"):
        assert needle in index, needle


def test_committed_docs_are_up_to_date(tmp_path):
    """A contract change without `pre-eval docs --out docs/format` fails here."""
    fresh = {p.name: p.read_bytes() for p in write_site_docs(tmp_path)}
    committed = {p.name: p.read_bytes() for p in DOCS_DIR.glob("*.md")}
    hint = "régénérez la documentation : pre-eval docs --out docs/format"
    assert sorted(committed) == sorted(fresh), hint
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"{', '.join(stale)} périmé(s) : {hint}"


def test_docs_command_writes_the_pages(tmp_path, capsys):
    from pipelines.cli import main

    assert main(["docs", "--out", str(tmp_path / "format"), "--methodologie", str(tmp_path / "m.md")]) == 0
    written = sorted(p.name for p in (tmp_path / "format").glob("*.md"))
    assert written == sorted(render_site_docs())
    assert "Méthodologie des indicateurs" in (tmp_path / "m.md").read_text(encoding="utf-8")
    assert "fichiers dans" in capsys.readouterr().out


def test_stale_generated_page_is_removed(tmp_path):
    write_site_docs(tmp_path)
    old = tmp_path / "ancienne-table.md"
    old.write_text((tmp_path / INDEX).read_text(encoding="utf-8"), encoding="utf-8")
    mine = tmp_path / "notes.md"
    mine.write_text("# Notes\n", encoding="utf-8")
    write_site_docs(tmp_path)
    assert not old.exists() and mine.exists()

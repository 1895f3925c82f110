"""The XLSX submission template ("modèle de dépôt") a PRE coordinator fills in.

Everything specific to the tables comes from the data contracts: sheet names, column names and
order, instructions, code lists (drop-down lists) and the simple bounds of blocking rules. The
workbook holds, in order: a "Lisez-moi" sheet with French instructions, the five sheets of the
exchange format, and a hidden "listes" sheet holding the code lists behind the drop-down lists
(named ranges: inline list formulas are limited to 255 characters in Excel).

The exchange format refuses any sheet it does not know; the reader ignores exactly the two
extra sheets of this template, listed in `TEMPLATE_EXTRA_SHEETS` (lower-case, sheet names are
compared case-insensitively), so a filled template can be sent as is.

`pre-eval modele --out modele.xlsx` writes the template.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from pipelines.common import formats
from pipelines.contracts.model import BLOQUANT, Column, Contracts, Table, load_contracts
from pipelines.contracts.reader import TEMPLATE_SHEETS

# Sheets of the template that are not tables of the exchange format; the reader ignores them.
# The reader ignores these sheets; it owns the list so that reading never imports xlsxwriter.
TEMPLATE_EXTRA_SHEETS = TEMPLATE_SHEETS
README_SHEET = "Lisez-moi"
LISTS_SHEET = "listes"

# The manifeste table is exchanged as key/value rows.
MANIFEST_HEADER = ("cle", "valeur")

TYPE_LABELS = {"string": "texte", "integer": "entier", "number": "décimal", "date": "date"}
# An identifier of letters only is refused as a possible name (exchange format §2): the template says so.
IDENTIFIER_DIGIT = "avec au moins un chiffre (« R012 », pas « JDU » : sans chiffre, il serait pris pour un nom)"

DATE_FORMAT = "dd/mm/yyyy"
LAST_ROW = 1_048_575  # last row of a sheet (0-based): validations cover the whole column
MIN_DATE = dt.date(1900, 1, 1)  # a date validation with no bound from the contracts
INT_BOUND = 2_147_483_647  # a whole-number validation with no bound from the contracts

# The "Lisez-moi" sheet prints on A4 portrait: one column of wrapped text, as wide as the page
# between its margins (18.5 cm, 698 pixels; a column of width w takes 7 w + 5 pixels in Calibri 11),
# and the page setup fits it to one page wide, however many pages tall.
README_WIDTH = 90  # characters (Excel column width unit): 635 pixels
README_MARGINS = {"left": 0.5, "right": 0.5, "top": 0.6, "bottom": 0.6}  # inches (1.27 and 1.52 cm)
A4 = 9  # xlsxwriter paper code
# Characters a line of the column holds, by style (font size, bold, indent): LibreOffice with Carlito
# (Calibri's metrics) fits about 113 in a paragraph line; counted about 8 % low, so that a row is never
# too short for its text. Points a line.
README_LINE_CHARS = {"title": 62, "section": 85, "para": 104, "bullet": 100, "code": 72}
README_LINE_HEIGHT = {"title": 21, "section": 16, "para": 15, "bullet": 15, "code": 15}

INPUT_TITLE_MAX = 32  # Excel limits of a data validation
INPUT_MESSAGE_MAX = 255
AUTHOR = "Plateforme PRE"


def required_label(column: Column) -> str:
    return "obligatoire" if column.required else "facultative"


def clip(text: str, limit: int) -> str:
    """Cut text to Excel's limit (counted in UTF-16 units), ending with an ellipsis if cut."""
    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    if units(text) <= limit:
        return text
    while units(text) > limit - 1:
        text = text[:-1]
    return text.rstrip() + "…"


def list_name(table: str, column: str) -> str:
    """Workbook-level name of the range holding a code list in the `listes` sheet."""
    return f"liste_{table}_{column}"


def blocking_bounds(column: Column) -> tuple[Any, Any]:
    """Lower and upper bounds of the column's blocking `range` rules (None when absent)."""
    low = high = None
    for rule in column.rules:
        if rule.kind != "range" or rule.severity != BLOQUANT:
            continue
        if rule.params.get("min") is not None:
            low = rule.params["min"] if low is None else max(low, rule.params["min"])
        if rule.params.get("max") is not None:
            high = rule.params["max"] if high is None else min(high, rule.params["max"])
    return low, high


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _number_bounds_text(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f" entre {formats.exact(low)} et {formats.exact(high)}"
    if low is not None:
        return f" supérieur ou égal à {formats.exact(low)}"
    if high is not None:
        return f" inférieur ou égal à {formats.exact(high)}"
    return ""


def _date_bounds_text(low: dt.date | None, high: dt.date | None) -> str:
    if low is not None and high is not None:
        return f" entre le {formats.day(low)} et le {formats.day(high)}"
    if low is not None:
        return f" à partir du {formats.day(low)}"
    if high is not None:
        return f" jusqu'au {formats.day(high)}"
    return ""


def header_comment(column: Column) -> str:
    """The note on a column header: what the column holds and how to fill it."""
    lines = [f"{column.name} ({TYPE_LABELS[column.logical_type]}, {required_label(column)})",
             column.description]
    if column.instruction:
        lines.append(f"Consigne : {column.instruction}")
    codes = column.codes
    pairs = [r for r in column.rules if r.kind == "pair_in_set"]
    if codes and not pairs:
        lines.append(f"Codes admis : {', '.join(codes)}.")
    for rule in pairs:  # codes listed by the value of another column (type_action by volet)
        lines.append(f"Codes admis selon {rule.params['other']} :")
        lines += [f"- {key} : {', '.join(values)}" for key, values in rule.params["pairs"].items()]
    if column.example is not None:
        lines.append(f"Exemple : {example_text(column)}")
    return "\n".join(line for line in lines if line)


def comment_options(text: str) -> dict[str, Any]:
    """Note box sized to its text (about 48 characters a line, 15 pixels a line)."""
    lines = sum(len(line) // 48 + 1 for line in text.splitlines())
    return {"author": AUTHOR, "width": 340, "height": 20 + 15 * lines}


def example_text(column: Column) -> str:
    value = column.example
    if column.logical_type == "date":
        return formats.day(value)
    if column.logical_type == "number" and isinstance(value, int | float):
        return formats.number(value, 2)
    return str(value)  # integers are years and small counts: no thousands separator


def instruction_text(column: Column) -> str:
    """The column's instruction without a leading "Facultatif :" (said elsewhere)."""
    text = column.instruction or column.description
    head, sep, rest = text.partition(":")
    if sep and head.strip().lower() == "facultatif":
        text = rest.strip()
        text = text[:1].upper() + text[1:]
    return text


def input_message(column: Column) -> tuple[str, str]:
    """Title and text of the message shown when a cell of the column is selected."""
    title = clip(column.name, INPUT_TITLE_MAX)
    text = f"{'Obligatoire' if column.required else 'Facultatif'}. {instruction_text(column)}"
    if column.nature == "identifiant":
        text += f" Lettres sans accent, chiffres, « _ » ou « - », {IDENTIFIER_DIGIT}."
    if column.codes:
        text += " Choisissez dans la liste déroulante."
    elif column.logical_type == "date" and "JJ/MM/AAAA" not in text:
        text += " Date au format JJ/MM/AAAA."
    return title, clip(text, INPUT_MESSAGE_MAX)


def column_validation(table: Table, column: Column) -> dict[str, Any]:
    """The data validation of a column: list, date, whole number, decimal or message only."""
    title, message = input_message(column)
    options: dict[str, Any] = {"input_title": title, "input_message": message,
                               "error_title": "Valeur non admise", "error_type": "stop"}
    codes = column.codes
    low, high = blocking_bounds(column)
    if codes:
        options.update(validate="list", source=f"={list_name(table.name, column.name)}")
        error = f"Choisissez un code de la liste : {', '.join(codes)}."
        if len(error) > INPUT_MESSAGE_MAX:
            error = ("Choisissez un code de la liste déroulante "
                     "(codes admis : voir la note de l'en-tête).")
        options["error_message"] = error
    elif column.logical_type == "date":
        low = _as_date(low) if low is not None else None
        high = _as_date(high) if high is not None else None
        options.update(validate="date", **_criteria(low or MIN_DATE, high))
        options["error_message"] = clip(
            "Saisissez une date valide (JJ/MM/AAAA)" + _date_bounds_text(low, high) + ".",
            INPUT_MESSAGE_MAX)
    elif column.logical_type == "integer":
        options.update(validate="integer",
                       **_criteria(low if low is not None else -INT_BOUND,
                                   high if high is not None else INT_BOUND))
        options["error_message"] = clip(
            "Saisissez un nombre entier" + _number_bounds_text(low, high) + ".",
            INPUT_MESSAGE_MAX)
    elif column.logical_type == "number":
        options.update(validate="decimal",
                       **_criteria(low if low is not None else -float(INT_BOUND), high))
        options["error_message"] = clip(
            "Saisissez un nombre (décimales avec une virgule)"
            + _number_bounds_text(low, high) + ".", INPUT_MESSAGE_MAX)
    else:
        options["validate"] = "any"
        for key in ("error_title", "error_type"):
            options.pop(key)
    return options


def _criteria(low: Any, high: Any) -> dict[str, Any]:
    if high is None:
        return {"criteria": ">=", "value": low}
    return {"criteria": "between", "minimum": low, "maximum": high}


class _Formats:
    def __init__(self, wb: Workbook) -> None:
        base = {"font_name": "Calibri", "font_size": 11}
        header = {**base, "bold": True, "font_color": "#FFFFFF", "border": 1,
                  "valign": "vcenter", "text_wrap": True}
        self.header_required = wb.add_format({**header, "bg_color": "#1F4E79"})
        self.header_optional = wb.add_format({**header, "bg_color": "#5B9BD5"})
        self.text = wb.add_format({**base, "num_format": "@"})
        self.date = wb.add_format({**base, "num_format": DATE_FORMAT})
        self.integer = wb.add_format({**base, "num_format": "0"})
        self.decimal = wb.add_format({**base, "num_format": "#,##0.00"})
        self.key = wb.add_format({**base, "num_format": "@", "bold": True, "bg_color": "#DDEBF7",
                                  "border": 1})
        self.title = wb.add_format({**base, "bold": True, "font_size": 16,
                                    "font_color": "#1F4E79", "text_wrap": True, "valign": "top"})
        self.section = wb.add_format({**base, "bold": True, "font_size": 12,
                                      "font_color": "#1F4E79", "bottom": 1, "text_wrap": True,
                                      "valign": "top"})
        self.para = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.bullet = wb.add_format({**base, "text_wrap": True, "valign": "top", "indent": 1})
        self.code = wb.add_format({"font_name": "Consolas", "font_size": 11, "indent": 1,
                                   "text_wrap": True, "valign": "top"})

    def for_column(self, column: Column):
        return {"date": self.date, "integer": self.integer,
                "number": self.decimal}.get(column.logical_type, self.text)


def _check(status: int, what: str) -> None:
    if status != 0:  # xlsxwriter only warns; a silently dropped validation must not pass
        raise RuntimeError(f"xlsxwriter a refusé {what} (code {status})")


def _width(values: Iterable[str], low: int = 10, high: int = 45) -> int:
    return max(low, min(high, max((len(v) for v in values), default=0) + 3))


def _write_lists(wb: Workbook, ws: Worksheet, contracts: Contracts, fmt: _Formats) -> None:
    """One column per code list, with a workbook name per list; the manifeste keys come first."""
    manifest = contracts.tables["manifeste"]
    lists: list[tuple[str, str, list[str]]] = [("manifeste", "cle", manifest.column_names)]
    for table in contracts.tables.values():
        lists += [(table.name, c.name, c.codes) for c in table.columns if c.codes]
    for col, (table, column, codes) in enumerate(lists):
        ws.write_string(0, col, f"{table}.{column}", fmt.header_required)
        for row, code in enumerate(codes, start=1):
            ws.write_string(row, col, str(code), fmt.text)
        letter = xl_col_to_name(col)
        _check(wb.define_name(list_name(table, column),
                              f"={LISTS_SHEET}!${letter}$2:${letter}${len(codes) + 1}"),
               f"la liste {table}.{column}")
        ws.set_column(col, col, _width([f"{table}.{column}", *map(str, codes)]))
    ws.freeze_panes(1, 0)
    ws.hide()


def _write_table(ws: Worksheet, table: Table, fmt: _Formats) -> None:
    for col, column in enumerate(table.columns):
        header = fmt.header_required if column.required else fmt.header_optional
        ws.write_string(0, col, column.name, header)
        note = header_comment(column)
        ws.write_comment(0, col, note, comment_options(note))
        width = _width([column.name, example_text(column) if column.example is not None else "",
                        *(column.codes or [])])
        ws.set_column(col, col, width, fmt.for_column(column))
        _check(ws.data_validation(1, col, LAST_ROW, col, column_validation(table, column)),
               f"la validation de {table.name}.{column.name}")
    ws.set_row(0, 30)
    ws.freeze_panes(1, 0)


def _write_manifest(ws: Worksheet, table: Table, fmt: _Formats) -> None:
    """Key/value sheet: one row per key, the value pre-filled when the contract fixes it."""
    key_header, value_header = MANIFEST_HEADER
    ws.write_string(0, 0, key_header, fmt.header_required)
    ws.write_comment(0, 0, "Nom de la clé du manifeste : ne modifiez pas cette colonne.",
                     {"author": AUTHOR, "x_scale": 1.5})
    ws.write_string(0, 1, value_header, fmt.header_required)
    ws.write_comment(0, 1, "Valeur de la clé : voir la note de chaque clé.",
                     {"author": AUTHOR, "x_scale": 1.5})
    for row, column in enumerate(table.columns, start=1):
        ws.write_string(row, 0, column.name, fmt.key)
        note = header_comment(column)
        ws.write_comment(row, 0, note, comment_options(note))
        codes = column.codes
        if codes and len(codes) == 1:  # a value fixed by the contract (version_format = 1)
            ws.write_string(row, 1, str(codes[0]), fmt.for_column(column))
        else:
            ws.write_blank(row, 1, None, fmt.for_column(column))
        _check(ws.data_validation(row, 1, row, 1, column_validation(table, column)),
               f"la validation de manifeste.{column.name}")
    _check(ws.data_validation(1, 0, len(table.columns), 0, {
        "validate": "list", "source": f"={list_name(table.name, key_header)}",
        "input_title": "Clé du manifeste",
        "input_message": "Ne modifiez pas les clés ; remplissez la colonne valeur.",
        "error_title": "Clé inconnue",
        "error_message": clip("Clés admises : " + ", ".join(table.column_names) + ".",
                              INPUT_MESSAGE_MAX),
    }), "la validation des clés du manifeste")
    ws.set_column(0, 0, _width([*table.column_names, key_header]))
    ws.set_column(1, 1, 24)
    ws.set_row(0, 30)
    ws.freeze_panes(1, 0)


def readme_lines(contracts: Contracts) -> list[tuple[str, str]]:
    """The "Lisez-moi" sheet as (style, text) lines; style is title, section, para, bullet, code."""
    tables = list(contracts.tables.values())
    names = ", ".join(t.name for t in tables)
    manifest = contracts.tables["manifeste"]
    date_columns = sum(c.logical_type == "date" for t in tables for c in t.columns)
    list_columns = sum(bool(c.codes) for t in tables for c in t.columns)
    lines: list[tuple[str, str]] = [
        ("title", "Modèle de dépôt — Programme de Réussite Éducative "
                  "(format d'échange, version 1)"),
        ("para", "Ce classeur sert à transmettre les données de votre PRE à la plateforme "
                 "d'évaluation. Remplissez les feuilles " + names + ", puis déposez le fichier."),
        ("section", "Ce qu'il faut envoyer"),
        ("bullet", "• Un fichier par site et par dépôt. Le nom du fichier est libre : c'est le "
                   "manifeste qui indique le site (code_pre) et la date d'extraction."),
        ("bullet", "• Un dépôt est une photographie complète de vos données (tous les parcours "
                   "ayant eu une activité depuis la date de début choisie), jamais les seules "
                   "nouveautés : il remplace entièrement le dépôt précédent."),
        ("bullet", "• Le classeur doit contenir les feuilles " + names + ". N'ajoutez ni "
                   "feuille, ni colonne, et ne renommez pas les en-têtes : tout élément hors du "
                   "format fait refuser le dépôt (une feuille entièrement vide est seulement "
                   "signalée). Les feuilles « Lisez-moi » et « listes » de ce modèle sont "
                   "ignorées à la lecture."),
        ("bullet", "• Une ligne par enregistrement, à partir de la ligne 2 ; la ligne 1 porte les "
                   "en-têtes. Laissez vide une cellule sans valeur."),
        ("section", "Les feuilles"),
    ]
    for table in tables:
        count = formats.exact(len(table.columns))
        unit = "clés" if table.key_value else "colonnes"
        lines.append(("bullet", f"• {table.name} ({count} {unit}) — {table.description}"))
    lines += [
        ("section", "Le manifeste"),
        ("para", "La feuille manifeste a deux colonnes, cle et valeur, et une ligne par clé ; "
                 "ne modifiez que la colonne valeur."),
    ]
    for column in manifest.columns:
        lines.append(("bullet", f"• {column.name} (clé {required_label(column)}) : "
                                f"{instruction_text(column)}"))
    lines += [
        ("section", "Comment remplir les colonnes"),
        ("bullet", "• Chaque en-tête porte une note (survolez-le) : description, consigne, codes "
                   "admis, exemple. La même consigne s'affiche quand vous sélectionnez une "
                   "cellule de la colonne."),
        ("bullet", "• En-tête bleu foncé : colonne obligatoire ; bleu clair : colonne "
                   "facultative (elle peut rester vide)."),
        ("bullet", f"• Dates ({formats.exact(date_columns)} colonnes) : saisissez de vraies dates "
                   "(JJ/MM/AAAA, par exemple 15/09/2023) ; dans un fichier CSV, AAAA-MM-JJ ou "
                   "JJ/MM/AAAA. Aucune date ne peut être postérieure à la date d'extraction, "
                   "sauf une date de fin d'action prévue."),
        ("bullet", "• Nombres : entiers sans décimale ; montants en euros avec une virgule "
                   f"décimale ({formats.number(1250.5, 2)}), sans symbole €."),
        ("bullet", f"• Codes ({formats.exact(list_columns)} colonnes) : choisissez la valeur dans "
                   "la liste déroulante ; les codes sont écrits en majuscules, sans accent."),
        ("bullet", "• Identifiants : les numéros de votre logiciel de suivi (lettres sans "
                   f"accent, chiffres, « _ » et « - », 64 caractères au plus), {IDENTIFIER_DIGIT}. "
                   "Les colonnes "
                   "d'identifiants et de codes sont au format texte pour conserver les zéros "
                   "initiaux (code commune 08105, par exemple). Les majuscules et minuscules "
                   "comptent : P12 et p12 sont deux numéros différents."),
        ("section", "Données personnelles : interdites"),
        ("bullet", "• Ne saisissez jamais de nom, prénom, adresse, téléphone, adresse "
                   "électronique, date de naissance complète, NIR (numéro de sécurité sociale), "
                   "INE (identifiant national élève), ni commentaire libre."),
        ("bullet", "• Un identifiant qui ressemble à un nom, une adresse électronique, un numéro "
                   "de téléphone ou un NIR fait refuser tout le dépôt. Utilisez les numéros "
                   "pseudonymisés de votre logiciel. Un identifiant sans chiffre, fait seulement "
                   "de lettres, tirets ou apostrophes (« JDU », « EDUC-A »), est pris pour un "
                   "nom : ajoutez-y un chiffre (« R012 »)."),
        ("bullet", "• L'enfant est décrit par son sexe et son année de naissance (4 chiffres), "
                   "jamais par sa date de naissance."),
        ("section", "Vérifier avant d'envoyer"),
        ("para", "Déposez le fichier sur la page « Déposer un fichier » de la plateforme "
                 "d'évaluation : il y est d'abord vérifié avec exactement les contrôles de la "
                 "plateforme, et un rapport liste les anomalies (table, ligne, colonne, code de "
                 "règle, message). Vous ne l'envoyez qu'ensuite."),
        ("bullet", "• Anomalie bloquante : le dépôt entier est refusé et vos données "
                   "précédentes restent en vigueur. Corrigez puis déposez à nouveau."),
        ("bullet", "• Avertissement : le dépôt est accepté ; l'anomalie vous est signalée pour "
                   "correction au prochain dépôt."),
        ("para", "La documentation du format d'échange détaille chaque colonne, chaque code "
                 "admis et chaque règle, avec son code et son message. Les détails techniques "
                 "(lecture des fichiers CSV, calcul des pseudonymes, vérification sans passer par "
                 "la page) sont réunis dans son annexe technique, destinée aux informaticiens."),
    ]
    return lines


def wrapped_lines(text: str, width: int) -> int:
    """Lines `text` takes once wrapped at word boundaries in `width` characters."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, 0
        used += len(word) + (1 if used else 0)
        while used > width:  # a word longer than the line is broken
            lines, used = lines + 1, used - width
    return lines


def _write_readme(ws: Worksheet, contracts: Contracts, fmt: _Formats) -> None:
    """The instructions, in one column of wrapped text that prints on A4 portrait, one page wide."""
    ws.set_column(0, 0, README_WIDTH)
    ws.hide_gridlines(2)
    styles = {"title": fmt.title, "section": fmt.section, "para": fmt.para,
              "bullet": fmt.bullet, "code": fmt.code}
    row = 0
    for style, text in readme_lines(contracts):
        if style == "section":
            row += 1
        ws.write_string(row, 0, text, styles[style])
        lines = wrapped_lines(text, README_LINE_CHARS[style])
        ws.set_row(row, README_LINE_HEIGHT[style] * lines + (3 if style in ("title", "section") else 0))
        row += 1
    ws.set_paper(A4)
    ws.set_portrait()
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.set_margins(**README_MARGINS)
    ws.print_area(0, 0, row - 1, 0)
    ws.set_footer("&LModèle de dépôt PRE — Lisez-moi&RPage &P")
    ws.activate()


def write_template(path: Path, contracts: Contracts | None = None) -> Path:
    """Write the XLSX template to `path` and return it."""
    contracts = contracts or load_contracts()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({
        "title": "Modèle de dépôt PRE — format d'échange version 1",
        "author": AUTHOR,
        "created": dt.datetime(2025, 1, 1),
    })
    fmt = _Formats(wb)
    readme = wb.add_worksheet(README_SHEET)
    sheets = {name: wb.add_worksheet(name) for name in contracts.tables}
    lists = wb.add_worksheet(LISTS_SHEET)
    _write_readme(readme, contracts, fmt)
    for name, table in contracts.tables.items():
        if table.key_value:
            _write_manifest(sheets[name], table, fmt)
        else:
            _write_table(sheets[name], table, fmt)
    _write_lists(wb, lists, contracts, fmt)
    wb.close()
    return path

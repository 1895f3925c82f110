"""French documentation of the exchange format for PRE sites, generated from the data contracts.

`write_site_docs(out_dir)` writes Markdown pages: an index (`format-echange.md`: what a
submission is, what the platform tolerates, severities, personal data, lifecycle, file-level
checks), one page per table (columns and rules), a page listing every rule code and a technical
annex (`annexe-technique.md`). Columns, codes, rule codes, titles and messages all come from
`data_contracts/`; the committed copy in `docs/format/` is checked against the contracts by the
tests.

Every page but the annex is read by PRE coordinators (social workers, local officials), not by
engineers: it says things in plain words. Technical notes (encodings, hashing, case rules,
patterns, submission statuses, command line) go to the annex, written for the site's IT staff.

Regenerate with: `pre-eval docs --out docs/format`
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipelines.common import formats
from pipelines.contracts.documents.table_schemas import schema_name
from pipelines.contracts.documents.template import (
    LISTS_SHEET,
    MANIFEST_HEADER,
    README_SHEET,
    TYPE_LABELS,
)
from pipelines.contracts.model import (
    AVERTISSEMENT,
    BLOQUANT,
    Column,
    Contracts,
    Rule,
    Table,
    load_contracts,
)

INDEX = "format-echange.md"
CODES_PAGE = "codes-regles.md"
ANNEX_PAGE = "annexe-technique.md"
ANNEX_TITLE = "Annexe technique (pour les informaticiens)"
GENERATED = ("<!-- Page générée à partir des contrats de données (data_contracts/) par "
             "`pre-eval docs --out docs/format` : ne pas la modifier à la main. -->")

SEVERITY_LABELS = {BLOQUANT: "bloquant", AVERTISSEMENT: "avertissement"}

# What the placeholders of rule messages stand for once a report is written.
PLACEHOLDERS = {
    "valeur": "la valeur trouvée dans la cellule (ou le nombre en cause)",
    "autre": "la valeur de comparaison (autre colonne, date d'extraction, autre ligne…)",
    "detail": "une précision donnée par le contrôle",
    "age": "l'âge calculé, en années (« 1 an », « 12 ans »)",
    "lignes": "les lignes en cause (« lignes 14 et 87 », « lignes 2, 3, 4, 6–10 et 12–15 »)",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def table_page(table: Table) -> str:
    return f"{table.name}.md"


def md_cell(text: Any) -> str:
    """Text safe inside a Markdown table cell (GFM: a pipe is escaped, even in code spans)."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def md_code(text: Any) -> str:
    return f"`{text}`"


def md_table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def message_text(rule: Rule) -> str:
    """The rule's message with its placeholders shown in italics (*valeur*)."""
    return _PLACEHOLDER.sub(lambda m: f"*{m.group(1)}*", rule.message)


def severity_label(rule: Rule) -> str:
    return SEVERITY_LABELS[rule.severity]


def required_text(column: Column) -> str:
    for rule in column.rules:
        if rule.kind == "present_iff":
            return f"si {md_code(rule.params['other'])} est renseignée"
    return "oui" if column.required else "non"


def allowed_text(column: Column) -> str:
    """Allowed codes, or a pointer to the rule checking the values' form (its pattern is in the annex)."""
    if column.codes:
        return ", ".join(md_code(c) for c in column.codes)
    titles = list(dict.fromkeys(r.title for r in column.rules if r.kind == "pattern"))
    if titles:
        return "forme contrôlée : voir la règle " + ", ".join(f"« {t} »" for t in titles) + " ci-dessous"
    return "—"


def example_display(column: Column) -> str:
    value = column.example
    if value is None:
        return "—"
    if column.logical_type == "number" and isinstance(value, int | float):
        return formats.number(value, 2)
    if column.logical_type == "integer" and isinstance(value, int):
        return str(value)  # years and small counts: no thousands separator
    return md_code(value)


def example_csv(column: Column) -> str:
    value = column.example
    if value is None:
        return ""
    if column.logical_type == "number" and isinstance(value, int | float):
        return formats.number(value, 2).replace(" ", "")
    return str(value)


def rule_counts(rules: list[Rule]) -> str:
    blocking = sum(r.severity == BLOQUANT for r in rules)
    warning = len(rules) - blocking
    return (f"{formats.exact(len(rules))} règle{'s' if len(rules) > 1 else ''} : "
            f"{formats.exact(blocking)} bloquante{'s' if blocking > 1 else ''}, "
            f"{formats.exact(warning)} avertissement{'s' if warning > 1 else ''}")


def placeholder_legend(rules: list[Rule]) -> list[str]:
    found = {m for r in rules for m in _PLACEHOLDER.findall(r.message)}
    used = [p for p in PLACEHOLDERS if p in found] + sorted(found - set(PLACEHOLDERS))
    if not used:
        return []
    parts = [f"*{name}* : {PLACEHOLDERS.get(name, 'une précision donnée par le contrôle')}"
             for name in used]
    return ["Dans les messages, les mots en italique sont remplacés dans le rapport : "
            + " ; ".join(parts) + "."]


def _rules_table(rules: list[Rule], with_column: bool, key_value: bool = False) -> list[str]:
    """The rules as a table; the manifest's are on its key lines (« clé »), never on columns."""
    if with_column:
        header = ["code", "clé" if key_value else "colonne", "gravité", "intitulé", "message"]
        rows = [[md_code(r.code), r.column or "—", severity_label(r), r.title, message_text(r)]
                for r in rules]
    else:
        header = ["code", "gravité", "intitulé", "message"]
        rows = [[md_code(r.code), severity_label(r), r.title, message_text(r)] for r in rules]
    return md_table(header, rows)


def _nav() -> str:
    return f"[Format d'échange]({INDEX}) · [Codes de règle]({CODES_PAGE}) · [Annexe technique]({ANNEX_PAGE})"


def render_table_page(table: Table) -> str:
    columns = list(table.columns)
    n_required = sum(c.required for c in columns)
    lines = [GENERATED, "", f"# Table {table.name}", "", _nav(), "", table.description, ""]
    if table.key_value:
        key, value = MANIFEST_HEADER
        lines += [
            f"Fichier `{table.name}.csv` du ZIP ou feuille `{table.name}` du classeur. "
            f"Le manifeste a exactement deux colonnes, `{key}` et `{value}`, et une ligne par "
            f"clé : {formats.exact(len(columns))} clés, dont {formats.exact(n_required)} obligatoires. "
            "Une clé inconnue est ignorée (avertissement), une clé en double est bloquante.",
            "",
            "## Clés",
            "",
        ]
        first = "clé"
    else:
        lines += [
            f"Fichier `{table.name}.csv` du ZIP ou feuille `{table.name}` du classeur : "
            f"{formats.exact(len(columns))} colonnes, dont {formats.exact(n_required)} obligatoires, "
            "une ligne par enregistrement sous la ligne d'en-tête. Les en-têtes portent les noms "
            "ci-dessous (majuscules et accents indifférents) ; aucune autre colonne n'est admise.",
            "",
            "## Colonnes",
            "",
        ]
        first = "colonne"
    lines += md_table(
        [first, "type", "obligatoire", "description", "consigne", "codes admis ou format",
         "exemple"],
        [[md_code(c.name), TYPE_LABELS[c.logical_type], required_text(c), c.description,
          c.instruction or "—", allowed_text(c), example_display(c)] for c in columns],
    )
    for column in columns:
        for rule in column.rules:
            if rule.kind == "pair_in_set":
                lines += ["", f"### Codes de `{column.name}` selon `{rule.params['other']}`", ""]
                lines += md_table(
                    [md_code(rule.params["other"]), f"{md_code(column.name)} admis"],
                    [[md_code(key), ", ".join(md_code(v) for v in values)]
                     for key, values in rule.params["pairs"].items()])
                lines += ["", f"Un code d'un autre {rule.params['other']} donne un "
                              f"{severity_label(rule)} ({md_code(rule.code)})."]
    lines += ["", "## Exemple", "", "```csv"]
    if table.key_value:
        lines.append(",".join(MANIFEST_HEADER))
        lines += [f"{c.name},{example_csv(c)}" for c in columns]
    else:
        lines.append(";".join(c.name for c in columns))
        lines.append(";".join(example_csv(c) for c in columns))
    lines += ["```", ""]
    if not table.key_value:
        lines += ["Cet exemple utilise le point-virgule comme séparateur et la virgule "
                  "décimale ; la virgule comme séparateur et le point décimal sont aussi "
                  "acceptés.", ""]
    column_rules = [r for c in columns for r in c.rules]
    lines += ["## Règles", "", rule_counts(table.rules) + ".", ""]
    legend = placeholder_legend(table.rules)
    lines += [*legend, ""] if legend else []
    if column_rules:
        lines += ["### Contrôles de chaque valeur", ""]
        lines += [*_rules_table(column_rules, with_column=True, key_value=table.key_value), ""]
    if table.table_rules:
        title = "### Contrôles du manifeste" if table.key_value else \
            "### Contrôles portant sur plusieurs lignes ou sur la table"
        lines += [title, ""]
        lines += [*_rules_table(list(table.table_rules), with_column=False), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_codes_page(contracts: Contracts) -> str:
    groups = [contracts.envelope, *contracts.tables.values()]
    all_rules = contracts.all_rules()
    lines = [GENERATED, "", "# Codes de règle", "", _nav(), "",
             "Chaque anomalie d'un rapport de dépôt porte un code de règle stable : retrouvez-le "
             "ici, avec sa gravité, son intitulé et son message. "
             f"Le format compte {rule_counts(all_rules)}.", ""]
    lines += [*placeholder_legend(all_rules), ""]
    for table in groups:
        if table is contracts.envelope:
            heading = "## Fichier déposé (dépôt)"
        else:
            heading = f"## Table [{table.name}]({table_page(table)})"
        rules = sorted(table.rules, key=lambda r: r.code)
        lines += [heading, ""]
        lines += [*_rules_table(rules, with_column=table is not contracts.envelope,
                                key_value=getattr(table, "key_value", False)), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_index(contracts: Contracts) -> str:
    tables = list(contracts.tables.values())
    names = [t.name for t in tables]
    csv_names = ", ".join(md_code(f"{n}.csv") for n in names)
    sheet_names = ", ".join(md_code(n) for n in names)
    manifest = contracts.tables["manifeste"]
    key, value = MANIFEST_HEADER
    all_rules = contracts.all_rules()
    envelope_rules = list(contracts.envelope.table_rules)
    lines = [
        GENERATED,
        "",
        "# Format d'échange des Programmes de Réussite Éducative — version 1",
        "",
        "Cette documentation s'adresse aux coordonnateurs et coordonnatrices PRE qui "
        "transmettent les données de leur programme à la plateforme d'évaluation. Elle décrit "
        "ce qu'il faut envoyer, ce qui est accepté, ce qui est refusé et pourquoi. "
        f"Les codes de toutes les règles sont sur la page [Codes de règle]({CODES_PAGE}). "
        f"Les détails techniques, utiles à la personne qui prépare les exports de votre logiciel, "
        f"sont réunis dans l'[annexe technique]({ANNEX_PAGE}).",
        "",
        "## Ce qu'est un dépôt",
        "",
        "Un dépôt est **un seul fichier, pour un seul site**, sous l'une de ces deux formes :",
        "",
        f"- une archive **ZIP** contenant, à sa racine, les cinq fichiers CSV {csv_names} (ou "
        "tous dans un même dossier de l'archive, celui de l'export zippé) ;",
        f"- un classeur **XLSX** contenant les cinq feuilles {sheet_names} (leurs noms peuvent "
        "être écrits en majuscules ou en minuscules).",
        "",
        "Le nom du fichier est libre : c'est le manifeste qui fait foi (site, date "
        "d'extraction, version du format).",
        "",
        "Un dépôt est une **photographie complète** des données du site : tous les parcours "
        "ayant eu une activité depuis la date de début choisie, avec leurs actions, bilans et "
        "demandes en attente. Ce n'est jamais un envoi des seules nouveautés : chaque dépôt "
        "accepté remplace entièrement le précédent.",
        "",
        "| table | contenu | colonnes | règles |",
        "|---|---|---|---|",
    ]
    for table in tables:
        unit = "clés" if table.key_value else "colonnes"
        lines.append(f"| [{table.name}]({table_page(table)}) | {md_cell(table.description)} | "
                     f"{formats.exact(len(table.columns))} {unit} | {rule_counts(table.rules)} |")
    lines += [
        "",
        f"Le [manifeste]({table_page(manifest)}) a deux colonnes, `{key}` et `{value}`, et une "
        "ligne par clé : " + ", ".join(
            md_code(c.name) + (" (obligatoire)" if c.required else " (facultative)")
            for c in manifest.columns) + ".",
        "",
        "### Modèle de classeur",
        "",
        "La plateforme fournit un modèle de classeur XLSX (« modèle de dépôt ») : les cinq "
        "feuilles avec leurs en-têtes, une consigne sur chaque colonne et des listes "
        f"déroulantes pour les codes. Ses feuilles « {README_SHEET} » (consignes) et "
        f"« {LISTS_SHEET} » (listes de codes, masquée) sont ignorées à la lecture : le modèle "
        "rempli peut être déposé tel quel. N'y ajoutez aucune autre feuille.",
        "",
        "## Ce que la plateforme tolère",
        "",
        "Les exports réels viennent de logiciels de suivi ou de tableurs ; la lecture est donc "
        "souple sur la forme, sans rien céder sur le fond :",
        "",
        "- **Fichiers CSV** : enregistrez-les en CSV UTF-8, la forme qui conserve les accents "
        "(dans LibreOffice : *Enregistrer sous…* > type « Texte CSV », jeu de caractères "
        "« Unicode (UTF-8) » ; dans Excel : *Enregistrer sous…* > « CSV UTF-8 (délimité par des "
        "virgules) »). Le type « CSV (séparateur : point-virgule) » d'Excel est aussi accepté. "
        "Séparateur virgule ou point-virgule ; le tableur met de lui-même entre guillemets une "
        "valeur qui contient le séparateur. Un fichier créé sous Windows, sur Mac ou sous Linux "
        "convient.",
        "- **En-têtes** : comparés sans tenir compte des espaces autour, des majuscules ni des "
        "accents (`Date_Entrée` est lu `date_entree`).",
        "- **Dates** : `AAAA-MM-JJ` ou `JJ/MM/AAAA` ; dans un classeur, les cellules de type "
        "date conviennent aussi.",
        f"- **Nombres** : virgule ou point décimal ; espaces (même insécables) entre les "
        f"milliers acceptés ({formats.number(1250.5, 2)} ou 1250.50).",
        "- **Codes** : majuscules ou minuscules indifférentes, espaces autour ignorés. Une "
        "cellule vide est une valeur absente.",
        "- **Identifiants** : lus tels quels, les majuscules et minuscules comptent (`P12` et "
        "`p12` sont deux numéros différents) : écrivez un même numéro de la même façon dans "
        "toutes les tables.",
        "- **Colonnes absentes** : une colonne facultative absente est lue comme vide "
        "(avertissement) ; une colonne obligatoire absente est bloquante.",
        "- **Bruit de fin de fichier** : les lignes et colonnes vides en fin de feuille ou de "
        "CSV sont ignorées, ainsi que les fichiers cachés qu'un Mac ajoute dans un ZIP "
        "(`__MACOSX/…`, `.DS_Store`).",
        "- **Dégâts de tableur** réparés avec un avertissement : un code INSEE qui a perdu son "
        "zéro initial (`8105` dans `code_commune`) est relu `08105` ; un identifiant ou un code "
        "enregistré comme nombre est relu comme texte entier (`100234`, jamais `100234.0`).",
        "",
        "## Gravité des anomalies",
        "",
        f"Le format compte {rule_counts(all_rules)}. Chaque anomalie est de l'une de ces "
        "deux gravités :",
        "",
        "- **bloquant** : le dépôt entier est refusé, rien n'en est chargé ; les données du "
        "site déjà en vigueur restent inchangées. Corrigez l'export et déposez-le à nouveau.",
        "- **avertissement** : le dépôt est accepté ; l'anomalie est signalée dans le rapport "
        "et dans la vue de qualité des données, pour correction au prochain envoi.",
        "",
        "Aucune date d'événement ne peut être postérieure à la date d'extraction du manifeste "
        "(bloquant), sauf la date de fin d'une action, qui peut être une fin prévue "
        "(avertissement).",
        "",
        "## Données personnelles",
        "",
        "Les exports sont pseudonymisés par le site : aucune donnée identifiante ne doit "
        "entrer dans la plateforme.",
        "",
        "- Toute colonne, feuille ou fichier qui ne fait pas partie du format est refusé "
        "(bloquant), sauf une feuille entièrement vide (« Feuil1 »), ignorée avec un "
        "avertissement ; si son nom est proche de celui d'une table (« Parcours 2024 »), le "
        "rapport dit comment le renommer. Une colonne dont le nom évoque une donnée personnelle (nom, prénom, "
        "adresse, téléphone, courriel, date de naissance, NIR (numéro de sécurité sociale), "
        "INE (identifiant national élève), commentaire, observation…) est signalée comme telle.",
        "- Un identifiant qui ressemble à une adresse électronique, à un numéro de téléphone "
        "français, à un NIR ou à un nom de personne est refusé (bloquant) ; la valeur n'est "
        "jamais reproduite dans le rapport. Un identifiant sans chiffre, fait seulement de "
        "lettres, tirets ou apostrophes (« JDU », « EDUC-A »), est pris pour un nom : "
        "donnez à chaque identifiant au moins un chiffre (« R012 »).",
        "- L'enfant est décrit par son sexe et son année de naissance, jamais par sa date de "
        "naissance complète ni par son nom.",
        "- À la réception, chaque identifiant est remplacé par un pseudonyme, calculé avec une "
        "clé secrète qui ne quitte pas la plateforme et différent d'un site à l'autre : "
        "l'entrepôt ne conserve aucun numéro de votre logiciel et les numéros de deux sites ne "
        "peuvent pas se confondre.",
        "",
        "## Vie d'un dépôt",
        "",
        "1. **Réception.** Un fichier dont le contenu est identique à celui d'un fichier déjà "
        "reçu, même sous un autre nom, est reconnu et retiré de la boîte de dépôt : son arrivée "
        "est notée, rien n'est appliqué une seconde fois.",
        "2. **Validation.** Tous les contrôles sont appliqués d'abord, quelle que soit la date "
        "du dépôt.",
        "3. **Refus** (au moins une anomalie bloquante) : le fichier est mis en quarantaine "
        "avec son rapport ; les données en vigueur du site ne changent pas.",
        "4. **Acceptation** : le dépôt remplace le précédent en une seule opération ; le "
        "fichier est archivé et les avertissements sont signalés.",
        "5. **Dépôt plus ancien** : un dépôt valide dont la date d'extraction est strictement "
        "antérieure à celle des données en vigueur est conservé, mais il n'est pas appliqué : "
        "il ne remplace pas les données plus récentes (la page « Mes dépôts » l'indique comme « ignoré ») ; "
        "à date égale, il les remplace. Plusieurs fichiers d'un même site "
        "traités ensemble sont appliqués dans l'ordre de leur date d'extraction, puis de leur "
        "heure de réception.",
        "",
        "Chaque dépôt, quel que soit son sort, est enregistré : date de réception, nom du "
        "fichier, site, date d'extraction, résultat (accepté, refusé ou ignoré), nombre de "
        "lignes par table, nombres d'anomalies bloquantes et d'avertissements, emplacement du "
        "rapport.",
        "",
        "Le rapport liste chaque anomalie avec sa table, son numéro de ligne (dans un CSV, la "
        "ligne du fichier où commence l'enregistrement, l'en-tête étant la ligne 1 ; dans un "
        "classeur, le numéro de ligne de la feuille), sa colonne, son code de règle, sa gravité et un message en "
        "français. Une règle qui se déclenche de nombreuses fois est regroupée (nombre "
        "d'occurrences et premiers exemples).",
        "",
        "## Vérifier un fichier avant de l'envoyer",
        "",
        "Sur la page « Déposer un fichier » de la plateforme, où se télécharge aussi le modèle de "
        "classeur, choisissez votre fichier : il est d'abord vérifié avec exactement les contrôles "
        "de la plateforme, sans rien charger, et le rapport s'affiche. Vous ne l'envoyez qu'ensuite, "
        "s'il n'a aucune anomalie bloquante. Pour vérifier un export sans passer par la page, voir "
        f"l'[annexe technique]({ANNEX_PAGE}).",
        "",
        "## Contrôles du fichier déposé",
        "",
        "Ces contrôles portent sur le fichier lui-même, ses tables et ses colonnes, avant "
        "toute lecture des valeurs.",
        "",
    ]
    lines += [*placeholder_legend(envelope_rules), ""]
    lines += _rules_table(envelope_rules, with_column=False)
    return "\n".join(lines).rstrip() + "\n"


def render_annex(contracts: Contracts) -> str:
    """The technical annex: what the pages for coordinators say in plain words, for IT staff."""
    tables = list(contracts.tables.values())
    patterns = [(t.name, c.name, r) for t in tables for c in t.columns for r in c.rules
                if r.kind == "pattern"]
    personal: dict[tuple[str, ...], list[Rule]] = {}  # the same patterns for every identifier, so far
    for rule in (r for t in tables for c in t.columns for r in c.rules if r.kind == "not_pattern"):
        personal.setdefault(tuple(rule.params["patterns"]), []).append(rule)
    lines = [
        GENERATED,
        "",
        f"# {ANNEX_TITLE}",
        "",
        _nav(),
        "",
        "Cette page réunit les détails techniques du format d'échange, pour la personne qui "
        "prépare les exports d'un logiciel de suivi ou qui contrôle les fichiers avec ses propres "
        f"outils. Les autres pages, à commencer par [le format d'échange]({INDEX}), disent la même "
        "chose sans ces détails ; pour remplir le modèle de classeur, cette page n'est pas utile.",
        "",
        "## Lecture des fichiers CSV",
        "",
        "- **Encodage** : UTF-8, avec ou sans BOM (marque d'ordre des octets `EF BB BF` en tête "
        "de fichier), ou Windows-1252 (« CSV (séparateur : point-virgule) » d'Excel sous "
        "Windows) : un fichier qui n'est pas de l'UTF-8 valide est lu en Windows-1252. Un "
        "fichier UTF-16 (« Texte Unicode » d'Excel) est refusé.",
        "- **Séparateur** `,` ou `;` ; fins de ligne LF (Unix, macOS) ou CRLF (Windows) ; "
        "guillemets doubles `\"` autour d'une valeur qui contient le séparateur, un guillemet ou "
        "un saut de ligne (RFC 4180).",
        "- **Valeurs absentes** : une cellule vide, ou l'une des valeurs `NULL`, `null`, `NaN`, "
        "`nan`, `#N/A`, `N/A`.",
        "- **Numéro de ligne** d'une anomalie : la ligne physique du fichier où commence "
        "l'enregistrement (un enregistrement peut tenir sur plusieurs lignes si une valeur entre "
        "guillemets contient un saut de ligne), l'en-tête étant la ligne 1.",
        "",
        "## Majuscules, minuscules et accents (casse)",
        "",
        "- **Noms de feuilles** du classeur et **noms de fichiers** du ZIP : comparés sans tenir "
        "compte de la casse.",
        "- **En-têtes** : espaces retirés autour, casse et accents ignorés (`Date_Entrée` est lu "
        "`date_entree`).",
        "- **Codes** : espaces retirés autour ; une valeur est mise en majuscules quand cela en "
        "fait un code admis (`ecole` est lu `ECOLE`).",
        "- **Identifiants** : espaces retirés autour, puis comparés octet par octet, sensibles "
        "à la casse (`P12` et `p12` sont deux identifiants différents, y compris entre tables).",
        "",
        "## Formes contrôlées (expressions régulières)",
        "",
        "Une valeur non vide de ces colonnes doit correspondre à l'expression régulière indiquée :",
        "",
    ]
    lines += md_table(["table", "colonne", "expression", "règle"],
                      [[table, md_code(column), md_code(rule.params["pattern"]), md_code(rule.code)]
                       for table, column, rule in patterns])
    for found, rules in personal.items():
        which = (f"Un identifiant (règles {md_code('*.' + rules[0].code.rsplit('.', 1)[-1])})" if len(personal) == 1
                 else "Un identifiant contrôlé par les règles " + ", ".join(md_code(r.code) for r in rules))
        lines += ["", f"{which} est refusé comme donnée personnelle possible ({severity_label(rules[0])}) "
                  "s'il correspond à l'une de ces expressions (adresse électronique, téléphone, NIR, nom) : "
                  + ", ".join(md_code(p) for p in found) + "."]
    lines += [
        "",
        "## Pseudonymisation des identifiants",
        "",
        "À la réception, chaque identifiant (colonnes `id_*`) est remplacé par un HMAC-SHA256 "
        "calculé avec la clé de la plateforme sur le code du site suivi de l'identifiant : la clé "
        "ne quitte jamais la plateforme, l'entrepôt ne conserve aucun identifiant du logiciel du "
        "site, et un même identifiant de deux sites donne deux pseudonymes différents.",
        "",
        "## Empreinte des fichiers",
        "",
        "Chaque fichier reçu est identifié par l'empreinte SHA-256 de son contenu : un fichier "
        "d'empreinte déjà connue, quel que soit son nom, est retiré de la boîte de dépôt sans "
        "être appliqué de nouveau. L'empreinte figure dans l'enregistrement de chaque dépôt.",
        "",
        "## Statuts d'un dépôt",
        "",
        "- `accepte` : le dépôt a remplacé les données du site (« accepté » dans « Mes dépôts »).",
        "- `refuse` : au moins une anomalie bloquante ; le fichier est en quarantaine avec son "
        "rapport (« refusé »).",
        "- `ignore` : dépôt valide dont la date d'extraction est strictement antérieure à celle "
        "des données en vigueur ; archivé, il n'est pas appliqué (« ignoré »).",
        "",
        "## Vérifier un fichier en ligne de commande",
        "",
        "La commande `pre-eval validate` applique exactement les contrôles de la plateforme à "
        "un fichier et affiche le rapport, sans rien charger :",
        "",
        "```sh",
        "pre-eval validate chemin/vers/depot.xlsx",
        "```",
        "",
        "Chaque table est aussi décrite par un schéma au standard Table Schema, lisible par les outils "
        "de données ouvertes (par exemple `frictionless validate --schema parcours.schema.json "
        "parcours.csv`) : " + ", ".join(f"[{schema_name(t.name)}]({schema_name(t.name)})" for t in tables)
        + ". Ces schémas décrivent la forme canonique (UTF-8, virgule, dates AAAA-MM-JJ, point "
        "décimal) et les règles qu'ils savent exprimer ; la plateforme tolère davantage, et seul son "
        "propre contrôle fait foi.",
    ]
    return "\n".join(lines).rstrip() + "\n"


def render_site_docs(contracts: Contracts | None = None) -> dict[str, str]:
    """Every page of the site documentation: file name → Markdown text."""
    contracts = contracts or load_contracts()
    pages = {INDEX: render_index(contracts)}
    for table in contracts.tables.values():
        pages[table_page(table)] = render_table_page(table)
    pages[CODES_PAGE] = render_codes_page(contracts)
    pages[ANNEX_PAGE] = render_annex(contracts)
    return pages


def write_site_docs(out_dir: Path, contracts: Contracts | None = None) -> list[Path]:
    """Write the pages into `out_dir` and return their paths.

    A page generated earlier and no longer produced (a table removed from the contracts) is
    deleted; files not generated by this module are left alone.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = render_site_docs(contracts)
    for stale in sorted(out_dir.glob("*.md")):
        if stale.name not in pages and stale.read_text(encoding="utf-8").startswith(GENERATED):
            stale.unlink()
    written = []
    for name, text in pages.items():
        path = out_dir / name
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written

"""Validation reports for coordinators: French text (Markdown, or plain text for a terminal) and
machine-readable JSON.

Everything of the Markdown that is not the report's own layout (file name, messages, rule titles,
table and column names) is escaped (`escape_markdown`): a file named `**[clic](http://x)**.csv`
or a header `# titre` reads literally, never as emphasis, a link, an image, a heading or HTML.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from pipelines.common import formats
from pipelines.contracts.findings import MAX_LINES, NOT_SHOWN, RuleFindings, line_list, quotable
from pipelines.contracts.model import BLOQUANT, load_contracts
from pipelines.contracts.validator import Report

KIND_LABEL = {"zip": "archive ZIP", "xlsx": "classeur XLSX", "inconnu": "format non reconnu"}
# Each table's rows as a report counts them: (singular, plural) for `formats.plural`.
TABLE_LABEL = {"parcours": ("parcours", "parcours"), "actions": ("action", "actions"), "bilans": ("bilan", "bilans"),
               "attentes": ("demande", "demandes")}
# The one line `pre-eval validate` ends with: a check sends nothing.
CHECK_ONLY = ("Contrôle seulement : rien n'a été envoyé. Pour envoyer le fichier, déposez-le depuis la page "
              "« Déposer un fichier » du tableau de bord, ou dans le dossier de dépôt que l'opérateur de la "
              "plateforme vous a indiqué.")
MAX_FILE_NAME = 120  # characters of a file name shown in a report or a summary line

# Markdown's punctuation, plus `$` (formulas in Streamlit), `&` (entities), `@` (e-mail autolinks).
_MARKDOWN = re.compile(r"[\\`*_{}\[\]()#+\-!|<>~$&@]")
# GFM turns bare addresses into links: `www.` and `scheme://` are broken by an escape.
_AUTOLINK = re.compile(r"(?i)(www)\.|://")


def escape_markdown(text: str) -> str:
    """`text` as Markdown that renders it literally (backslash before every special character)."""
    text = _MARKDOWN.sub(lambda m: "\\" + m.group(0), text)
    return _AUTOLINK.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\://", text)


def file_label(name: str) -> str:
    """A received file's name as a report or a terminal may show it: control, bidirectional and
    other invisible characters replaced by `?` (they could reorder or hide text), cut to
    `MAX_FILE_NAME` characters. The JSON report and the ledger keep the name as dropped."""
    text = "".join("?" if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp") else ch
                   for ch in name)
    return text if len(text) <= MAX_FILE_NAME else text[:MAX_FILE_NAME - 1] + "…"


def site_code(report: Report) -> str | None:
    """The manifest's code_pre as a report may repeat it: a malformed one (« Mme Durand ») is not."""
    code = report.code_pre
    if code is None:
        return None
    return code if isinstance(code, str) and quotable(code) else NOT_SHOWN


def summary_line(report: Report, site_name: str | None = None) -> str:
    """One French line per file, for `pre-eval validate` and `pre-eval process`."""
    site = site_code(report) or "site non lu"  # no code read (a code read but not in the register is quoted)
    if site_name:
        site = f"{site} ({site_name})"
    verdict = "ACCEPTÉ" if report.accepted else "REFUSÉ"
    return (f"{file_label(report.source)} : {verdict} — {site}, {row_counts(report.rows)} ; "
            f"{formats.plural(report.blocking_count, 'anomalie bloquante', 'anomalies bloquantes')}, "
            f"{formats.plural(report.warning_count, 'avertissement')}")


def row_counts(rows: dict[str, int]) -> str:
    """`1 parcours, 0 action, 2 bilans, 0 demande`: the rows read, each table's word agreed."""
    return ", ".join(formats.plural(rows.get(t, 0), one, many) for t, (one, many) in TABLE_LABEL.items())


# Findings on the manifest's own columns (its header), not on one of its key lines.
_MANIFEST_HEADER_KINDS = frozenset({"no_extra_column", "no_personal_column", "column_once"})
# The title of `depot.colonne_manquante` (« Colonne obligatoire absente ») when what is missing is a key.
MISSING_KEY_TITLE = "Ligne obligatoire du manifeste absente"


def _on_manifest_key(group: RuleFindings) -> bool:
    """Whether a group is about one key of the manifest (a line of its `cle,valeur` sheet)."""
    manifest = load_contracts().tables["manifeste"]
    return (group.table == manifest.name and group.column in manifest.column_names
            and group.rule.kind not in _MANIFEST_HEADER_KINDS)


def _title(group: RuleFindings) -> str:
    if group.rule.kind == "required_column" and _on_manifest_key(group):
        return MISSING_KEY_TITLE
    return group.rule.title


def _where(group: RuleFindings, md) -> list[str]:
    """Where a group of findings is, as its heading says it: « table parcours, colonne sexe »; a key of
    the manifest is a line of it, never a column: « ligne code_pre du manifeste »."""
    if _on_manifest_key(group):
        return [f"ligne {md(group.column)} du manifeste"]
    where = []
    if group.table:
        where.append(f"table {md(group.table)}")
    if group.column:
        where.append(f"colonne {md(group.column)}")
    return where


def _warnings_heading(report: Report, check_only: bool) -> str:
    """The warnings' heading follows the verdict: a refused file was not accepted."""
    if not report.accepted:
        return "Avertissements (à corriger aussi)"
    return "Avertissements (à vérifier)" if check_only else "Avertissements (dépôt accepté, à vérifier)"


def to_markdown(report: Report, site_name: str | None = None, check_only: bool = False) -> str:
    """The report in French Markdown. `check_only` (`pre-eval validate`): nothing was sent, so a
    refusal does not speak of the data in force."""
    return _report_text(report, site_name, check_only, markdown=True)


def to_text(report: Report, site_name: str | None = None, check_only: bool = False) -> str:
    """The same report as plain text, for a terminal: no Markdown symbols (`#`, `**`, backslashes)."""
    return _report_text(report, site_name, check_only, markdown=False)


def _heading(text: str, level: int, markdown: bool) -> list[str]:
    if markdown:
        return [f"{'#' * level} {text}"]
    return [text, ("=" if level == 1 else "-") * len(text)] if level < 3 else [text]


def _report_text(report: Report, site_name: str | None, check_only: bool, *, markdown: bool) -> str:
    md = escape_markdown if markdown else str
    bold = "**" if markdown else ""
    source = md(file_label(report.source))
    lines = [*_heading(f"Rapport de contrôle du dépôt « {source} »", 1, markdown), ""]
    lines.append(f"- Fichier : {source} ({KIND_LABEL.get(report.submission.kind, '?')})")
    site = md(site_code(report)) if report.code_pre else "non lu"
    lines.append(f"- Site : {site}{' — ' + md(site_name) if site_name else ''}")
    extraction = formats.day(report.date_extraction) if report.date_extraction else "non lue"
    lines.append(f"- Date d'extraction : {extraction}")
    lines.append("- Lignes lues : " + row_counts(report.rows))
    if report.accepted:
        lines.append(f"- {bold}Verdict : accepté{bold} ({formats.plural(report.warning_count, 'avertissement')})")
    else:
        blocking = formats.plural(report.blocking_count, "anomalie bloquante", "anomalies bloquantes")
        if check_only:
            lines.append(f"- {bold}Verdict : refusé{bold} — {blocking} à corriger avant l'envoi.")
        else:
            lines.append(f"- {bold}Verdict : refusé{bold} — {blocking} à corriger avant un nouvel envoi ; "
                         "les données déjà en vigueur pour le site restent inchangées.")
    lines.append("")
    groups = report.findings.groups()
    # A warning said once per file with nothing to correct (`Rule.per_file`) is information, under its own
    # heading: a refused file's warnings are « à corriger aussi ».
    for title, selected in (
            ("Anomalies bloquantes (à corriger)", [g for g in groups if g.severity == BLOQUANT]),
            (_warnings_heading(report, check_only),
             [g for g in groups if g.severity != BLOQUANT and not g.rule.per_file]),
            ("Pour information (rien à corriger)", [g for g in groups if g.severity != BLOQUANT and g.rule.per_file])):
        if not selected:
            continue
        lines += [*_heading(title, 2, markdown), ""]
        for g in selected:
            where = _where(g, md)
            lines += _heading(f"{md(_title(g))} — {formats.plural(g.count, 'occurrence')}"
                              f"{' (' + ', '.join(where) + ')' if where else ''}", 3, markdown)
            lines.append(f"Règle `{g.rule.code}`." if markdown else f"Règle {g.rule.code}.")
            lines.append("")
            for line, message in g.examples:
                prefix = f"ligne {line} : " if line is not None else ""
                lines.append(f"- {prefix}{md(message)}")
            if g.count > len(g.examples) and not g.rule.per_file:  # a per-file message lists its lines
                # Every line of the rule, compactly (« lignes 2, 3, 4, 6–10 et 12–15 »), in the report itself.
                rest = formats.plural(g.count - len(g.examples), "autre occurrence", "autres occurrences")
                listed = line_list(g.lines, g.count if len(g.lines) >= MAX_LINES else None)
                lines.append(f"- … et {rest} ; en tout, {listed}." if listed else f"- … et {rest}.")
            lines.append("")
    if not groups:
        lines += ["Aucune anomalie : le fichier est conforme au format d'échange.", ""]
    return "\n".join(lines)


def to_json(report: Report, extra: dict[str, Any] | None = None) -> str:
    data = {
        "fichier": report.source,
        "format": report.submission.kind,
        "code_pre": site_code(report) if site_code(report) != NOT_SHOWN else None,
        "date_extraction": report.date_extraction.isoformat() if report.date_extraction else None,
        "verdict": "accepte" if report.accepted else "refuse",
        "nb_bloquants": report.blocking_count,
        "nb_avertissements": report.warning_count,
        "lignes": report.rows,
        "constats": [
            {
                "regle": g.rule.code,
                "intitule": _title(g),
                "gravite": g.severity,
                "table": g.table,
                "colonne": g.column,
                "nombre": g.count,
                "lignes": g.lines,
                "exemples": [{"ligne": line, "message": msg} for line, msg in g.examples],
            }
            for g in report.findings.groups()
        ],
        **(extra or {}),
    }
    return json.dumps(data, ensure_ascii=False, indent=2)

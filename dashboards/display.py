"""What every page shares: the page frame, French tables with CSV/XLSX exports, charts and notes."""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl
import streamlit as st
import xlsxwriter

import access
import accessibility
import data
import labels
import territory_sheet
from filters import MIRROR, Filters, sidebar, site_names, territory_label
from pipelines.access.authorisations import ROLE_LABELS, Person
from pipelines.common import formats
from pipelines.publication import editions
from pipelines.publication.disclosure import SECRET, explanation, threshold
from pipelines.warehouse.catalogue import Indicator

log = logging.getLogger(__name__)
# Report headings one level down, so that a page keeps its own title.
MARKDOWN_HEADING = re.compile(r"^(#{1,5}) ", re.MULTILINE)

NO_DATA = "Aucune donnée publiée : déposez des fichiers puis lancez pre-eval process."
NO_DATA_DETAIL = ("Le tableau de bord lit la copie publiée de l'entrepôt, créée à la fin du traitement "
                  "des dépôts. Dès qu'elle existe, rechargez cette page.")
ERROR = ("Cette page n'a pas pu s'afficher à cause d'une erreur inattendue. Rechargez la page ; si le problème "
         "persiste, signalez-le à l'équipe qui administre la plateforme.")

DECIMALS = {"entier": 0, "decimal1": 1, "pourcentage": 1, "euros": 0}
XLSX_FORMATS = {"entier": "#,##0", "decimal1": "#,##0.0", "pourcentage": '0.0" %"', "euros": '#,##0" €"',
                "date": "dd/mm/yyyy"}
FRENCH_LOCALE = {"number": {"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]}}
DELTA_COLORS = {"hausse_favorable": "normal", "baisse_favorable": "inverse", "neutre": "off"}
# Said in words beside a change's colour (RGAA 3.1: never by colour alone), by the indicator's direction.
DELTA_WORDS = {("hausse_favorable", 1): "favorable", ("hausse_favorable", -1): "défavorable",
               ("baisse_favorable", 1): "défavorable", ("baisse_favorable", -1): "favorable"}
# Units whose singular is the same word (« 1 parcours », « 1 mois »); others drop their final s below 2.
INVARIABLE_UNITS = {"mois", "parcours"}

# Chart colours against the white page (theme.base = "light" in .streamlit/config.toml). Series take
# PALETTE in order; each colour reaches 3:1 (WCAG 1.4.11, graphical objects): Okabe and Ito's
# colour-blind-safe hues that reach it, then darker ones. A chosen territory is dark red and outlined in
# black, the others blue: told apart by the outline and by the legend's words, not by colour alone.
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#7b61a8", "#8c6d1f", "#525252", "#b8336a", "#0e7490",
           "#000000"]  # 10: as many as the longest code list drawn in colour (9 structures, 8 origins)
CHOSEN_COLOR = "#c9191e"
OTHERS_COLOR = "#5b7fa6"
CHART_TEXT = "#3a3a3a"  # axis, legend and title text: at least 4.5:1 (WCAG 1.4.3)


# --- page frame -------------------------------------------------------------------------------------------


def page(title: str, body: Callable[[Filters | None], None], *, filters: bool = True) -> None:
    """Title, sidebar filters, then the body; any failure becomes a French message, never a traceback."""
    st.set_page_config(page_title=page_title(title))  # each page its own title in the browser (RGAA 8.6)
    st.title(title)
    try:
        threshold()  # a malformed PRE_SEUIL_SECRET must stop every figure, with its French message
    except ValueError as exc:
        st.error(f"Configuration du secret statistique invalide : {exc}")
        return
    try:
        if not filters:
            body(None)
            return
        if data.version() is None:
            raise data.NoData
        chosen = sidebar()
        access.record("page", page=title, edition=chosen.source, periode=chosen.period, niveau=chosen.level,
                      territoire=chosen.territory)
        body(chosen)
    except access.OutsidePerimeter:
        st.error("Ce territoire ne fait pas partie de votre périmètre : ses chiffres ne vous sont pas accessibles.")
        if st.button("Revenir à mon périmètre"):
            st.query_params.clear()
            st.session_state.pop(MIRROR, None)
            st.rerun()
    except data.NoData:
        st.info(NO_DATA)
        st.caption(NO_DATA_DETAIL)
    except Exception:
        log.exception("Échec de l'affichage de la page « %s »", title)
        st.error(ERROR)


def page_title(title: str) -> str:
    """The browser's title of a page: `Territoires — Évaluation des PRE`."""
    return f"{title} — {accessibility.SITE_NAME}"


LIVE_WARNING = ("Données en continu, provisoires : elles changent à chaque dépôt accepté. Pour citer un chiffre, "
                "choisissez une édition figée dans le menu « Chiffres ».")
UNMASKED_NOTE = ("Chiffres non masqués de votre site : vous seul(e) les voyez ainsi, en tant que coordination du PRE. "
                 "Ne les diffusez pas : partout ailleurs, ce sont les chiffres masqués qui s'appliquent.")


def header(f: Filters) -> None:
    """Which figures, the territory and period, with a warning when the period is incomplete (the notices
    of `page_notices`, which the printed sheet repeats)."""
    notices = page_notices(f)
    if f.source == editions.LIVE:
        st.warning(notices.pop(0))
    else:
        st.caption(f"Édition {f.source} : chiffres figés, qui ne changent plus.")
    st.markdown(f"**{f.label}** — période **{f.period}**")
    for text in notices:
        if text == UNMASKED_NOTE:
            st.info(text, icon=":material/visibility:")
        else:
            st.warning(text)


def confidentiality_note() -> None:
    with st.expander("Secret statistique : pourquoi certaines cases sont masquées"):
        st.write(explanation())


# --- completeness and data date ---------------------------------------------------------------------------


def completeness(level: str, territory: str, period: str) -> dict | None:
    df = data.completeness().filter((pl.col("niveau") == level) & (pl.col("territoire") == territory)
                                    & (pl.col("periode") == period))
    return df.row(0, named=True) if df.height else None


def completeness_warning(level: str, territory: str, period: str) -> str | None:
    row = completeness(level, territory, period)
    if row is None or row["complet"]:
        return None
    return (f"Période {period} incomplète : les données couvrent toute la période pour "
            f"{formats.plural(row['nb_sites_complets'], 'site')} sur {formats.number(row['nb_sites'])} "
            f"({formats.percent(row['part_sites_complets'], 0)}). Les chiffres sont provisoires.")


def data_date(level: str, territory: str) -> date | None:
    """The latest extraction date of the territory's sites in force."""
    codes = data.territory_sites(level, territory)["code_pre"]
    dates = data.extraction_dates().filter(pl.col("code_pre").is_in(codes.implode()))["date_extraction"]
    return dates.max()


def source_line(f: Filters) -> str:
    return (f"Source : dépôts des PRE, données extraites jusqu'au {formats.day(data_date(f.level, f.territory))} "
            "(date d'extraction la plus récente).")


# Actions still running at extraction count their planned sessions but only the sessions held so far: over
# this span after a period's end, its attendance rate is provisionally low (the demo's 2024 reads 61 % against
# 80 % for 2023 for that reason alone).
RUNNING_ACTIONS_SPAN_DAYS = 365


def attendance_note(f: Filters) -> str | None:
    """Why the attendance rate of a recent period is low, when the territory's data were extracted less than a
    year after the period's end; None otherwise."""
    found = data.periods().filter(pl.col("periode") == f.period)["fin"]
    extracted = data_date(f.level, f.territory)
    if found.is_empty() or found[0] is None or extracted is None:
        return None
    if (extracted - found[0]).days >= RUNNING_ACTIONS_SPAN_DAYS:
        return None
    return (f"Taux d'assiduité : des actions commencées pendant la période {f.period} peuvent être encore en cours à "
            f"la date d'extraction ({formats.day(extracted)}). Leurs séances prévues sont toutes comptées, mais "
            "seules les séances déjà réalisées le sont : le taux de cette période est provisoirement plus bas et "
            "augmentera avec les dépôts suivants, à mesure que ces actions se terminent.")


def note(f: Filters, periods: Sequence[str] | None = None, *, masked: int = 0,
         previous: str | None = None) -> str:
    """Footnote: source and data date, incomplete periods, masked cells, period of the changes shown."""
    periods = list(periods or [f.period])
    parts = [source_line(f)]
    incomplete = [p for p in periods if (row := completeness(f.level, f.territory, p)) and not row["complet"]]
    if incomplete:
        label = "Période incomplète" if len(incomplete) == 1 else "Périodes incomplètes"
        parts.append(f"{label} (données d'au moins un site manquantes sur une partie de la période) : "
                     f"{', '.join(incomplete)}.")
    if masked:
        parts.append(f"{formats.plural(masked, 'valeur non affichée', 'valeurs non affichées')} : {SECRET}.")
    if previous:
        parts.append(f"Variations (sous chaque chiffre) par rapport à {previous}.")
    return " ".join(parts)


# --- indicator lookups and key figures --------------------------------------------------------------------


def indicator_row(df: pl.DataFrame, indicator: str, category: str = "", period: str | None = None) -> dict | None:
    cond = (pl.col("indicateur") == indicator) & (pl.col("categorie") == category)
    if period is not None:
        cond &= pl.col("periode") == period
    found = df.filter(cond)
    return found.row(0, named=True) if found.height else None


def indicator_text(row: dict | None, fmt: str) -> str:
    if row is None:
        return "non calculé"
    return SECRET if row["masque"] else formats.by_kind(row["valeur"], fmt)


def interval_text(low: float | None, high: float | None, fmt: str) -> str:
    """A 95 % interval as `[40,1 ; 50,3]` (decimals of the indicator's display kind); "" without bounds, a
    missing bound as « — » (a median never reached)."""
    if low is None and high is None:
        return ""
    decimals = DECIMALS.get(fmt, 1)
    return f"[{formats.number(low, decimals)} ; {formats.number(high, decimals)}]"


def value_with_interval(row: dict | None, fmt: str) -> str:
    """`45,2 % [40,1 ; 50,3]`: the shown value, then its 95 % interval when it has one (never on a masked row)."""
    text = indicator_text(row, fmt)
    if row is None or row["masque"]:
        return text
    bounds = interval_text(row.get("borne_basse"), row.get("borne_haute"), fmt)
    return f"{text} {bounds}" if bounds else text


INTERVAL_NOTE = ("Intervalle de confiance à 95 % (IC, entre crochets) : méthode de Wilson pour une part, bande "
                 "log(−log) de Greenwood pour une estimation de Kaplan-Meier. Il dit la précision du chiffre : deux "
                 "valeurs dont les intervalles se chevauchent largement ne se distinguent pas nettement.")


def metric(ind: Indicator, row: dict | None, previous: dict | None = None) -> None:
    """One key figure, with its change since the previous period when neither value is masked."""
    delta = words = None
    arrow = "auto"
    if (row and previous and not row["masque"] and not previous["masque"]
            and row["valeur"] is not None and previous["valeur"] is not None):
        change = round(row["valeur"] - previous["valeur"], DECIMALS.get(ind.format, 1))
        change = abs(change) if change == 0 else change  # no "-0,0"
        delta = delta_text(change, ind.format, ind.unite)
        words = DELTA_WORDS.get((ind.sens, (change > 0) - (change < 0)))
        arrow = "off" if change == 0 else "auto"
    base = ""
    if row is not None and not row["masque"]:
        base = f" Effectif : {formats.number(row['effectif'])} ({ind.effectif})."
    st.metric(ind.libelle, indicator_text(row, ind.format), delta,
              delta_color=DELTA_COLORS.get(ind.sens, "off"), delta_arrow=arrow, delta_description=words,
              help=ind.definition + base, border=True)


def delta_text(change: float, fmt: str, unit: str) -> str:
    """A change with its sign and its unit: `+1,8 point`, `-12 enfants`, `+7 €`, `±0 mois`."""
    sign = "+" if change > 0 else "±" if change == 0 else ""
    if fmt == "pourcentage":
        return f"{sign}{formats.number(change, 1)} point" + ("s" if abs(change) >= 2 else "")
    if fmt == "euros":
        return sign + formats.by_kind(change, fmt)
    return f"{sign}{formats.by_kind(change, fmt)} {unit_words(unit, change)}"


def unit_words(unit: str, value: float) -> str:
    """The catalogue's unit (plural) agreed with a value: French singular below 2 (`1,5 enfant par référent`)."""
    first, _, rest = unit.partition(" ")
    if abs(value) < 2 and first.endswith("s") and first not in INVARIABLE_UNITS:
        first = first[:-1]
    return f"{first} {rest}".strip()


# --- tables and exports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    fmt: str | None = None  # None: text; "date"; a catalogue format; "*": the row's `format` column
    mask: str | None = None  # Boolean column: True hides the cell (« secret statistique »)


def _column_format(row: dict, col: Column) -> str | None:
    return row["format"] if col.fmt == "*" else col.fmt


def _hidden(row: dict, col: Column) -> bool:
    return bool(col.mask and row.get(col.mask))


def cell_text(value: object, fmt: str | None) -> str:
    if isinstance(value, bool):
        return "oui" if value else ""
    if value is None:
        return "—" if fmt else ""
    if fmt == "date":
        return formats.day(value)  # type: ignore[arg-type]
    if fmt:
        return formats.by_kind(value, fmt)  # type: ignore[arg-type]
    return str(value)


def displayed(df: pl.DataFrame, columns: Sequence[Column]) -> pl.DataFrame:
    """The table as displayed: French text, masked cells reading « secret statistique »."""
    rows = list(df.iter_rows(named=True))
    return pl.DataFrame({c.label: [SECRET if _hidden(r, c) else cell_text(r[c.name], _column_format(r, c))
                                   for r in rows]
                         for c in columns}, schema={c.label: pl.String for c in columns})


def _export_value(row: dict, col: Column) -> object:
    """A cell for the files: numbers rounded as on screen, masked cells as « secret statistique »."""
    if _hidden(row, col):
        return SECRET
    value, fmt = row[col.name], _column_format(row, col)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else ""
    if fmt in DECIMALS:
        return round(float(value), DECIMALS[fmt])
    return value


def export_csv(df: pl.DataFrame, columns: Sequence[Column]) -> bytes:
    """CSV as French spreadsheets read it: `;` separator, decimal comma, UTF-8 with BOM; text cells
    that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`…) are neutralised as in the reports."""
    out = io.StringIO()
    out.write(";".join(_csv(formats.neutralise(c.label)) for c in columns) + "\r\n")
    for row in df.iter_rows(named=True):
        cells = []
        for col in columns:
            value = _export_value(row, col)
            if isinstance(value, float):
                text = f"{value:.{DECIMALS[_column_format(row, col)]}f}".replace(".", ",")
            elif isinstance(value, date):
                text = formats.day(value)
            elif isinstance(value, int):
                text = str(value)
            else:  # text can come from a site (a file name): never a live formula in a funder's spreadsheet
                text = formats.neutralise(str(value))
            cells.append(_csv(text))
        out.write(";".join(cells) + "\r\n")
    return out.getvalue().encode("utf-8-sig")


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ';"\n\r') else text


def export_xlsx(df: pl.DataFrame, columns: Sequence[Column], notes: Sequence[str] = ()) -> bytes:
    """An Excel workbook: numbers stay numbers (French display comes from Excel), notes below the table."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    sheet = workbook.add_worksheet("Données")
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    cell_formats = {name: workbook.add_format({"num_format": spec}) for name, spec in XLSX_FORMATS.items()}
    for j, col in enumerate(columns):
        sheet.write_string(0, j, col.label, bold)
        sheet.set_column(j, j, max(12, min(45, len(col.label) + 2)))
    i = 0
    for i, row in enumerate(df.iter_rows(named=True), start=1):
        for j, col in enumerate(columns):
            value = _export_value(row, col)
            fmt = cell_formats.get(_column_format(row, col) or "")
            if isinstance(value, int | float):
                sheet.write_number(i, j, value, fmt)
            elif isinstance(value, date):
                sheet.write_datetime(i, j, value, cell_formats["date"])
            else:
                sheet.write_string(i, j, str(value))
    for k, text in enumerate(notes, start=i + 2):
        sheet.write_string(k, 0, text)
    workbook.close()
    return buffer.getvalue()


def table(df: pl.DataFrame, columns: Sequence[Column], *, key: str, file_stem: str,
          notes: Sequence[str] = ()) -> pl.DataFrame:
    """Show a table in French with its CSV and Excel downloads (same masking as on screen)."""
    shown = displayed(df, columns)
    dataframe(shown)
    notes = [*notes]
    if any(_hidden(r, c) for r in df.iter_rows(named=True) for c in columns):
        notes.append(explanation())
    buttons = st.container(horizontal=True)
    person = access.current()  # captured: the file is built later, when asked for

    def logged(name: str, build: Callable[[], bytes]) -> Callable[[], bytes]:
        def run() -> bytes:
            access.record_for(person, "telechargement", fichier=name)
            return build()
        return run

    buttons.download_button("CSV", data=logged(f"{file_stem}.csv", lambda: export_csv(df, columns)),
                            file_name=f"{file_stem}.csv",
                            mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    buttons.download_button("Excel", data=logged(f"{file_stem}.xlsx", lambda: export_xlsx(df, columns, notes)),
                            file_name=f"{file_stem}.xlsx", key=f"{key}_xlsx", on_click="ignore",
                            icon=":material/download:",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return shown


def dataframe(shown: pl.DataFrame) -> None:
    """A table of text on screen (Streamlit's grid) and, for printing only, the same as an HTML table."""
    st.dataframe(shown, hide_index=True, width="stretch")
    st.html(print_table(shown))


def print_table(shown: pl.DataFrame) -> str:
    """The HTML table printed instead of the grid (which prints as an image cut to the screen's width);
    hidden on screen, so screen readers meet the table once. Every cell is escaped."""
    head = "".join(f'<th scope="col">{html.escape(str(name))}</th>' for name in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if value is None else str(value))}</td>" for value in row)
                   + "</tr>" for row in shown.iter_rows())
    return f'<table class="{accessibility.PRINT_ONLY}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def download_stem(f: Filters, subject: str) -> str:
    """The download's file name without extension (users see it: French subject, codes of the choice)."""
    return f"pre_{subject}_{f.level}_{f.territory}_{f.period}"


# --- the printable territory sheet ------------------------------------------------------------------------

PRINT_LABEL = "Imprimer / PDF"
PRINT_HELP = ("Fiche territoire au format PDF (A4, une ou deux pages) : les chiffres de cette page, masqués comme à "
              "l'écran, avec la période, votre périmètre, la source et les dates d'extraction.")
# The level of the territories a role's perimeter codes name.
ROLE_LEVELS = {"national": "national", "exploitant": "national", "region": "region", "departement": "departement",
               "site": "pre"}
PARIS = ZoneInfo("Europe/Paris")  # the time printed on the sheet


def page_notices(f: Filters) -> list[str]:
    """The notices above a page's figures, in order: live figures, own site unmasked, incomplete period."""
    found = [LIVE_WARNING] if f.source == editions.LIVE else []
    if data.shows_unmasked(f.level, f.territory):
        found.append(UNMASKED_NOTE)
    warning = completeness_warning(f.level, f.territory, f.period)
    return found + ([warning] if warning else [])


def perimeter(person: Person) -> str:
    """`département (DDETS, préfecture) : 51 — Marne`: the role and the territories it opens in detail."""
    level = ROLE_LEVELS[person.role]
    return f"{ROLE_LABELS[person.role]} : " + ", ".join(territory_label(level, code) for code in person.codes)


def sheet_dates(f: Filters) -> str:
    """The extraction dates of the territory's sites: each one's for the sites whose submissions the person
    may follow, a count for the others."""
    codes = data.territory_sites(f.level, f.territory)["code_pre"].to_list()
    found = data.extraction_dates().filter(pl.col("code_pre").is_in(codes) & pl.col("date_extraction").is_not_null())
    followed = access.own_submission_sites(found["code_pre"].to_list())
    names = site_names()  # once, not once per site (531 nationally)
    dates = [(labels.territory("pre", code, names), day)
             for code, day in found.select("code_pre", "date_extraction").rows() if code in followed]
    return territory_sheet.extraction_dates(dates, found.height - len(dates))


def print_button(slot, f: Filters, *, page: str, table_title: str, shown: pl.DataFrame, key: str,
                 facts: Sequence[tuple[str, str]] = (), lead: str = "", notes: Sequence[str] = (),
                 pinned: Sequence[bool] = (), subject: str = "") -> None:
    """« Imprimer / PDF » in `slot` (a container near the page's top): the page's table as displayed (`shown`,
    masked cells included), its lead sentence and notes, and the view's facts, as an A4 sheet of one or two
    pages (`territory_sheet`). Nothing is looked up again for the sheet but the facts of the view."""
    person = access.current()  # captured: the file is built later, when asked for
    masked = SECRET in lead or any(SECRET in row for row in shown.rows())
    sheet = territory_sheet.Sheet(
        page=page, territory=f.label, period=f.period,
        facts=[("Territoire", f.label), ("Niveau territorial", labels.LEVELS[f.level]),
               ("Période", f"{f.period} ({labels.PERIOD_TYPES[f.period_type].lower()})"),
               ("Chiffres", data.sources().get(f.source, f.source)), *facts,
               ("Périmètre de consultation", perimeter(person))],
        table_title=table_title, table=shown, notices=page_notices(f), lead=lead,
        notes=[*notes, sheet_dates(f), *([explanation()] if masked else [])], pinned=pinned, source=source_line(f))
    name = territory_sheet.file_name(f.label, f.period, subject)

    def build() -> bytes:
        access.record_for(person, "telechargement", fichier=name)
        return territory_sheet.render(sheet, datetime.now(PARIS))

    slot.download_button(PRINT_LABEL, data=build, file_name=name, mime="application/pdf", key=key,
                         on_click="ignore", icon=":material/print:", help=PRINT_HELP)


# --- charts -----------------------------------------------------------------------------------------------


def chart(spec: alt.TopLevelMixin, caption: str, *, description: str | None = None) -> None:
    """An Altair chart in French number formats and readable colours, followed by its footnote.

    Screen readers get its name (`description`, else its title and where its data are): every chart of
    the dashboard has its data in a table on the same page (« Données du graphique » or the page's table)."""
    # Streamlit squeezes charts with a discrete axis unless it is told their height.
    as_dict = spec.to_dict()
    height = as_dict.get("height")
    st.altair_chart(styled(spec), width="stretch", height=height + 80 if isinstance(height, int) else "content",
                    alt=description or chart_description(as_dict))
    st.caption(caption)


def styled(spec: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """French locale, the accessible palette, dark text for titles, axes and legends. The marks are hidden from
    screen readers (`aria: false`): the chart is named as a whole and its data are in a table beside it, where
    Vega would otherwise expose each mark group, unnamed (axe's `svg-img-alt`: an empty point layer of a trend
    after a new site's first file)."""
    return (spec.configure(locale=FRENCH_LOCALE)
            .configure_mark(aria=False)
            .configure_title(anchor="start", color=CHART_TEXT, subtitleColor=CHART_TEXT)
            .configure_axis(labelColor=CHART_TEXT, titleColor=CHART_TEXT)
            .configure_legend(labelColor=CHART_TEXT, titleColor=CHART_TEXT)
            .configure_range(category=PALETTE))


def chart_description(spec: dict) -> str:
    """`Graphique : <titre>. Ses données sont dans un tableau de cette page.` (`spec`: the chart's dict)"""
    title = spec.get("title") or ""
    if isinstance(title, dict):
        title = title.get("text") or ""
    if isinstance(title, list):
        title = " ".join(title)
    return f"Graphique : {title}. Ses données sont dans un tableau de cette page."


def chart_title(text: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or "")


def comparison(f: Filters) -> tuple[str, str, str] | None:
    """(level, territory, label) of the upper level the chosen territory is compared with."""
    upper = f.upper()
    return (*upper, territory_label(*upper)) if upper else None


# --- trends over periods ----------------------------------------------------------------------------------

# `completeness` reads « complètes » or « incomplètes » (shown in tooltips and tables as « Données »).
TREND_SCHEMA = {"periode": pl.String, "series": pl.String, "indicateur": pl.String, "valeur": pl.Float64,
                "effectif": pl.Int64, "masque": pl.Boolean, "completeness": pl.String,
                "borne_basse": pl.Float64, "borne_haute": pl.Float64}


def trend(series: Sequence[tuple[str, str, str]], periods: Sequence[str], codes: Sequence[str],
          category: str = "") -> pl.DataFrame:
    """Masked values of some indicators over periods, for several (level, territory, label) series."""
    rows = []
    for level, territory, label in series:
        df = data.territory_indicators(level, territory, list(periods))
        for period in periods:
            state = completeness(level, territory, period)
            for code in codes:
                row = indicator_row(df, code, category, period)
                rows.append({
                    "periode": period, "series": label, "indicateur": code,
                    "valeur": None if row is None else row["valeur"],
                    "effectif": None if row is None else row["effectif"],
                    "masque": bool(row and row["masque"]),
                    "completeness": "complètes" if state is None or state["complet"] else "incomplètes",
                    "borne_basse": None if row is None else row["borne_basse"],
                    "borne_haute": None if row is None else row["borne_haute"],
                })
    return pl.DataFrame(rows, schema=TREND_SCHEMA)


def line_chart(df: pl.DataFrame, *, title: str, y_title: str, fmt: str, color: str = "series",
               color_title: str = "Territoire") -> alt.Chart:
    """Lines over periods; masked or undefined points are left out; hollow points for incomplete periods."""
    shown = df.filter(~pl.col("masque") & pl.col("valeur").is_not_null()).with_columns(
        text=pl.col("valeur").map_elements(lambda v: formats.by_kind(v, fmt), return_dtype=pl.String))
    tooltip = [alt.Tooltip(f"{color}:N", title=color_title), alt.Tooltip("periode:N", title="Période"),
               alt.Tooltip("text:N", title="Valeur"), alt.Tooltip("completeness:N", title="Données")]
    if "borne_basse" in shown.columns and shown["borne_basse"].is_not_null().any():
        shown = shown.with_columns(interval=pl.struct("borne_basse", "borne_haute").map_elements(
            lambda b: interval_text(b["borne_basse"], b["borne_haute"], fmt) or "non calculé", return_dtype=pl.String))
        tooltip.append(alt.Tooltip("interval:N", title="Intervalle de confiance à 95 %"))
    base = alt.Chart(shown.to_pandas()).encode(
        x=alt.X("periode:N", title="Période", sort=sorted(df["periode"].unique().to_list())),
        y=alt.Y("valeur:Q", title=y_title),
        color=alt.Color(f"{color}:N", title=color_title),
        tooltip=tooltip,
    )
    points = base.mark_point(size=70, filled=True).encode(
        shape=alt.Shape("completeness:N", title="Données",
                        scale=alt.Scale(domain=["complètes", "incomplètes"], range=["circle", "triangle-down"])))
    # Each series has its own dash pattern as well as its colour (one legend: same field, same title).
    lines = base.mark_line().encode(strokeDash=alt.StrokeDash(f"{color}:N", title=color_title))
    return (lines + points).properties(title=title, height=320)


def report_viewer(submissions: pl.DataFrame, *, label: str, key: str) -> None:
    """Pick one of these submissions (`fichier`, `recu_le`, `statut`, `rapport`) and read its control
    report on the page, with its Markdown download."""
    choices = {r["rapport"] or r["fichier"]: r for r in submissions.iter_rows(named=True)}
    chosen = st.selectbox(label, list(choices), key=key,
                          format_func=lambda k: f"{choices[k]['fichier']} — reçu le "
                                                f"{formats.day(choices[k]['recu_le'])} — "
                                                f"{labels.STATUSES.get(choices[k]['statut'], choices[k]['statut'])}")
    row = choices[chosen]
    text = data.report(row["rapport"])
    if text is None:
        st.warning("Le rapport de ce dépôt est introuvable dans le dossier des rapports.")
        return
    st.download_button("Télécharger le rapport (Markdown)", text.encode("utf-8"), on_click="ignore",
                       file_name=f"{row['fichier']}.rapport.md", mime="text/markdown", key=f"{key}_md")
    show_report(text)


# What could still act in a report's Markdown (an older report, written before the platform escaped the
# file's text): an unescaped bracket (link, image), angle bracket (HTML, autolink), `$` (a formula), `&`
# (an entity), `@` (an e-mail link), `www.` or `://` (a bare address GFM turns into a link). An escaped
# character (`\x`) is left as it is.
_LIVE_MARKDOWN = re.compile(r"\\.|[\[\]<>$&@]|(?i:www)\.|://", re.DOTALL)


def _defuse(match: re.Match) -> str:
    text = match.group(0)
    if text.startswith("\\"):
        return text
    if text == "://":
        return "\\://"
    if text.endswith("."):
        return text[:-1] + "\\."
    return "\\" + text


def show_report(text: str) -> None:
    """A control report in a frame, its headings one level down (the page keeps its own title).

    The report's Markdown already escapes what came from the file; whatever could still make a link, an
    image, HTML or a formula is escaped again here, and HTML stays off (Streamlit's default)."""
    with st.container(border=True):
        st.markdown(_LIVE_MARKDOWN.sub(_defuse, MARKDOWN_HEADING.sub(r"#\1 ", text)), unsafe_allow_html=False)


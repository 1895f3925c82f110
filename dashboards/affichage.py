"""What every page shares: the page frame, French tables with CSV/XLSX exports, charts and notes."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import altair as alt
import polars as pl
import streamlit as st
import xlsxwriter

import donnees
from filtres import Filtres, barre_laterale, libelle_territoire
from pipelines.common import formats
from pipelines.publication.disclosure import SECRET, explanation, threshold
from pipelines.warehouse.catalogue import Indicator

log = logging.getLogger(__name__)

AUCUNE_DONNEE = "Aucune donnée publiée : déposez des fichiers puis lancez pre-eval process."
AUCUNE_DONNEE_DETAIL = ("Le tableau de bord lit la copie publiée de l'entrepôt, créée à la fin du traitement "
                        "des dépôts. Dès qu'elle existe, rechargez cette page.")
ERREUR = ("Cette page n'a pas pu s'afficher à cause d'une erreur inattendue. Rechargez la page ; si le problème "
          "persiste, signalez-le à l'équipe qui administre la plateforme.")

DECIMALES = {"entier": 0, "decimal1": 1, "pourcentage": 1, "euros": 0}
FORMATS_XLSX = {"entier": "#,##0", "decimal1": "#,##0.0", "pourcentage": '0.0" %"', "euros": '#,##0" €"',
                "date": "dd/mm/yyyy"}
LOCALE_FR = {"number": {"decimal": ",", "thousands": "\u202f", "grouping": [3], "currency": ["", "\u00a0€"]}}
SENS_DELTA = {"hausse_favorable": "normal", "baisse_favorable": "inverse", "neutre": "off"}


# --- page frame -------------------------------------------------------------------------------------------


def page(titre: str, corps: Callable[[Filtres | None], None], *, filtres: bool = True) -> None:
    """Title, sidebar filters, then the body; any failure becomes a French message, never a traceback."""
    st.title(titre)
    try:
        threshold()  # a malformed PRE_SEUIL_SECRET must stop every figure, with its French message
    except ValueError as exc:
        st.error(f"Configuration du secret statistique invalide : {exc}")
        return
    try:
        if not filtres:
            corps(None)
            return
        if donnees.version() is None:
            raise donnees.AucuneDonnee
        corps(barre_laterale())
    except donnees.AucuneDonnee:
        st.info(AUCUNE_DONNEE)
        st.caption(AUCUNE_DONNEE_DETAIL)
    except Exception:
        log.exception("Échec de l'affichage de la page « %s »", titre)
        st.error(ERREUR)


def en_tete(f: Filtres) -> None:
    """The territory and period, with a warning when the period is incomplete."""
    st.markdown(f"**{f.libelle}** — période **{f.periode}**")
    alerte = alerte_completude(f.niveau, f.territoire, f.periode)
    if alerte:
        st.warning(alerte)


def secret_statistique() -> None:
    with st.expander("Secret statistique : pourquoi certaines cases sont masquées"):
        st.write(explanation())


# --- completeness and data date ---------------------------------------------------------------------------


def completude(niveau: str, territoire: str, periode: str) -> dict | None:
    df = donnees.completude().filter((pl.col("niveau") == niveau) & (pl.col("territoire") == territoire)
                                     & (pl.col("periode") == periode))
    return df.row(0, named=True) if df.height else None


def alerte_completude(niveau: str, territoire: str, periode: str) -> str | None:
    row = completude(niveau, territoire, periode)
    if row is None or row["complet"]:
        return None
    return (f"Période {periode} incomplète : les données couvrent toute la période pour "
            f"{formats.number(row['nb_sites_complets'])} site(s) sur {formats.number(row['nb_sites'])} "
            f"({formats.percent(row['part_sites_complets'], 0)}). Les chiffres sont provisoires.")


def date_des_donnees(niveau: str, territoire: str) -> date | None:
    """The latest extraction date of the territory's sites in force."""
    codes = donnees.sites_du_territoire(niveau, territoire)["code_pre"]
    dates = donnees.dates_extraction().filter(pl.col("code_pre").is_in(codes.implode()))["date_extraction"]
    return dates.max()


def note(f: Filtres, periodes: Sequence[str] | None = None, *, masques: int = 0,
         precedente: str | None = None) -> str:
    """Footnote: source and data date, incomplete periods, masked cells, period of the changes shown."""
    periodes = list(periodes or [f.periode])
    parts = [f"Source : dépôts des PRE, données extraites jusqu'au "
             f"{formats.day(date_des_donnees(f.niveau, f.territoire))} (date d'extraction la plus récente)."]
    incompletes = [p for p in periodes if (row := completude(f.niveau, f.territoire, p)) and not row["complet"]]
    if incompletes:
        label = "Période incomplète" if len(incompletes) == 1 else "Périodes incomplètes"
        parts.append(f"{label} (données d'au moins un site manquantes sur une partie de la période) : "
                     f"{', '.join(incompletes)}.")
    if masques:
        parts.append(f"{formats.number(masques)} valeur(s) non affichée(s) : {SECRET}.")
    if precedente:
        parts.append(f"Variations (sous chaque chiffre) par rapport à {precedente}.")
    return " ".join(parts)


# --- indicator lookups and key figures --------------------------------------------------------------------


def ligne(df: pl.DataFrame, indicateur: str, categorie: str = "", periode: str | None = None) -> dict | None:
    cond = (pl.col("indicateur") == indicateur) & (pl.col("categorie") == categorie)
    if periode is not None:
        cond &= pl.col("periode") == periode
    found = df.filter(cond)
    return found.row(0, named=True) if found.height else None


def texte_indicateur(row: dict | None, fmt: str) -> str:
    if row is None:
        return "non calculé"
    return SECRET if row["masque"] else formats.by_kind(row["valeur"], fmt)


def metrique(ind: Indicator, row: dict | None, precedent: dict | None = None) -> None:
    """One key figure, with its change since the previous period when neither value is masked."""
    delta = None
    fleche = "auto"
    if (row and precedent and not row["masque"] and not precedent["masque"]
            and row["valeur"] is not None and precedent["valeur"] is not None):
        ecart = round(row["valeur"] - precedent["valeur"], DECIMALES.get(ind.format, 1))
        signe = "+" if ecart > 0 else "±" if ecart == 0 else ""
        ecart = abs(ecart) if ecart == 0 else ecart  # no "-0,0"
        if ind.format == "pourcentage":
            delta = f"{signe}{formats.number(ecart, 1)} point" + ("s" if abs(ecart) >= 2 else "")
        else:
            delta = signe + formats.by_kind(ecart, ind.format)
        fleche = "off" if ecart == 0 else "auto"
    base = ""
    if row is not None and not row["masque"]:
        base = f" Effectif : {formats.number(row['effectif'])} ({ind.effectif})."
    st.metric(ind.libelle, texte_indicateur(row, ind.format), delta,
              delta_color=SENS_DELTA.get(ind.sens, "off"), delta_arrow=fleche,
              help=ind.definition + base, border=True)


# --- tables and exports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Colonne:
    nom: str
    libelle: str
    fmt: str | None = None  # None: text; "date"; a catalogue format; "*": the row's `format` column
    masque: str | None = None  # Boolean column: True hides the cell (« secret statistique »)


def _format(row: dict, col: Colonne) -> str | None:
    return row["format"] if col.fmt == "*" else col.fmt


def _cache(row: dict, col: Colonne) -> bool:
    return bool(col.masque and row.get(col.masque))


def texte(valeur: object, fmt: str | None) -> str:
    if isinstance(valeur, bool):
        return "oui" if valeur else ""
    if valeur is None:
        return "—" if fmt else ""
    if fmt == "date":
        return formats.day(valeur)  # type: ignore[arg-type]
    if fmt:
        return formats.by_kind(valeur, fmt)  # type: ignore[arg-type]
    return str(valeur)


def vue(df: pl.DataFrame, colonnes: Sequence[Colonne]) -> pl.DataFrame:
    """The table as displayed: French text, masked cells reading « secret statistique »."""
    rows = list(df.iter_rows(named=True))
    return pl.DataFrame({c.libelle: [SECRET if _cache(r, c) else texte(r[c.nom], _format(r, c)) for r in rows]
                         for c in colonnes}, schema={c.libelle: pl.String for c in colonnes})


def _valeur_export(row: dict, col: Colonne) -> object:
    """A cell for the files: numbers rounded as on screen, masked cells as « secret statistique »."""
    if _cache(row, col):
        return SECRET
    value, fmt = row[col.nom], _format(row, col)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else ""
    if fmt in DECIMALES:
        return round(float(value), DECIMALES[fmt])
    return value


def export_csv(df: pl.DataFrame, colonnes: Sequence[Colonne]) -> bytes:
    """CSV as French spreadsheets read it: `;` separator, decimal comma, UTF-8 with BOM."""
    out = io.StringIO()
    out.write(";".join(_csv(c.libelle) for c in colonnes) + "\r\n")
    for row in df.iter_rows(named=True):
        cells = []
        for col in colonnes:
            value = _valeur_export(row, col)
            if isinstance(value, float):
                text = f"{value:.{DECIMALES[_format(row, col)]}f}".replace(".", ",")
            elif isinstance(value, date):
                text = formats.day(value)
            else:
                text = str(value)
            cells.append(_csv(text))
        out.write(";".join(cells) + "\r\n")
    return out.getvalue().encode("utf-8-sig")


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ';"\n\r') else text


def export_xlsx(df: pl.DataFrame, colonnes: Sequence[Colonne], notes: Sequence[str] = ()) -> bytes:
    """An Excel workbook: numbers stay numbers (French display comes from Excel), notes below the table."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    sheet = workbook.add_worksheet("Données")
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    formats = {name: workbook.add_format({"num_format": spec}) for name, spec in FORMATS_XLSX.items()}
    for j, col in enumerate(colonnes):
        sheet.write_string(0, j, col.libelle, bold)
        sheet.set_column(j, j, max(12, min(45, len(col.libelle) + 2)))
    i = 0
    for i, row in enumerate(df.iter_rows(named=True), start=1):
        for j, col in enumerate(colonnes):
            value = _valeur_export(row, col)
            fmt = formats.get(_format(row, col) or "")
            if isinstance(value, int | float):
                sheet.write_number(i, j, value, fmt)
            elif isinstance(value, date):
                sheet.write_datetime(i, j, value, formats["date"])
            else:
                sheet.write_string(i, j, str(value))
    for k, text in enumerate(notes, start=i + 2):
        sheet.write_string(k, 0, text)
    workbook.close()
    return buffer.getvalue()


def tableau(df: pl.DataFrame, colonnes: Sequence[Colonne], *, cle: str, fichier: str,
            notes: Sequence[str] = ()) -> pl.DataFrame:
    """Show a table in French with its CSV and Excel downloads (same masking as on screen)."""
    shown = vue(df, colonnes)
    st.dataframe(shown, hide_index=True, width="stretch")
    notes = [*notes]
    if any(_cache(r, c) for r in df.iter_rows(named=True) for c in colonnes):
        notes.append(explanation())
    boutons = st.container(horizontal=True)
    boutons.download_button("CSV", data=lambda: export_csv(df, colonnes), file_name=f"{fichier}.csv",
                            mime="text/csv", key=f"{cle}_csv", on_click="ignore", icon=":material/download:")
    boutons.download_button("Excel", data=lambda: export_xlsx(df, colonnes, notes),
                            file_name=f"{fichier}.xlsx", key=f"{cle}_xlsx", on_click="ignore",
                            icon=":material/download:",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return shown


def nom_fichier(f: Filtres, sujet: str) -> str:
    return f"pre_{sujet}_{f.niveau}_{f.territoire}_{f.periode}"


# --- charts -----------------------------------------------------------------------------------------------


def graphique(chart: alt.TopLevelMixin, legende: str) -> None:
    """An Altair chart with French number formatting, followed by its footnote."""
    # Streamlit squeezes charts with a discrete axis unless it is told their height.
    hauteur = chart.to_dict().get("height")
    st.altair_chart(chart.configure(locale=LOCALE_FR).configure_title(anchor="start"), width="stretch",
                    height=hauteur + 80 if isinstance(hauteur, int) else "content")
    st.caption(legende)


def titre_graphique(texte_: str, sous_titre: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(texte_, subtitle=sous_titre or "")


def comparaison(f: Filtres) -> tuple[str, str, str] | None:
    """(niveau, territoire, libellé) of the upper level the chosen territory is compared with."""
    sup = f.superieur()
    return (*sup, libelle_territoire(*sup)) if sup else None


# --- trends over periods ----------------------------------------------------------------------------------


def evolution(series: Sequence[tuple[str, str, str]], periodes: Sequence[str], codes: Sequence[str],
              categorie: str = "") -> pl.DataFrame:
    """Masked values of some indicators over periods, for several (niveau, territoire, libellé) series."""
    rows = []
    for niveau, territoire, libelle in series:
        df = donnees.indicateurs_territoire(niveau, territoire, list(periodes))
        for periode in periodes:
            state = completude(niveau, territoire, periode)
            for code in codes:
                row = ligne(df, code, categorie, periode)
                rows.append({
                    "periode": periode, "serie": libelle, "indicateur": code,
                    "valeur": None if row is None else row["valeur"],
                    "effectif": None if row is None else row["effectif"],
                    "masque": bool(row and row["masque"]),
                    "donnees": "complètes" if state is None or state["complet"] else "incomplètes",
                })
    return pl.DataFrame(rows, schema={"periode": pl.String, "serie": pl.String, "indicateur": pl.String,
                                      "valeur": pl.Float64, "effectif": pl.Int64, "masque": pl.Boolean,
                                      "donnees": pl.String})


def courbe(df: pl.DataFrame, *, titre: str, axe_y: str, fmt: str, couleur: str = "serie",
           legende_couleur: str = "Territoire") -> alt.Chart:
    """Lines over periods; masked or undefined points are left out; hollow points for incomplete periods."""
    shown = df.filter(~pl.col("masque") & pl.col("valeur").is_not_null()).with_columns(
        texte=pl.col("valeur").map_elements(lambda v: formats.by_kind(v, fmt), return_dtype=pl.String))
    base = alt.Chart(shown.to_pandas()).encode(
        x=alt.X("periode:N", title="Période", sort=sorted(df["periode"].unique().to_list())),
        y=alt.Y("valeur:Q", title=axe_y),
        color=alt.Color(f"{couleur}:N", title=legende_couleur),
        tooltip=[alt.Tooltip(f"{couleur}:N", title=legende_couleur), alt.Tooltip("periode:N", title="Période"),
                 alt.Tooltip("texte:N", title="Valeur"), alt.Tooltip("donnees:N", title="Données")],
    )
    points = base.mark_point(size=70, filled=True).encode(
        shape=alt.Shape("donnees:N", title="Données", scale=alt.Scale(domain=["complètes", "incomplètes"],
                                                                       range=["circle", "triangle-down"])))
    return (base.mark_line() + points).properties(title=titre, height=320)

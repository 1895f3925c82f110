"""Territoires: compare sites, départements or régions on any catalogue indicator."""

import altair as alt
import polars as pl
import streamlit as st

import data
import frames
import funnel
import labels
from display import (
    CHOSEN_COLOR,
    DECIMALS,
    INTERVAL_NOTE,
    OTHERS_COLOR,
    Column,
    chart,
    confidentiality_note,
    download_stem,
    header,
    indicator_row,
    interval_text,
    note,
    page,
    print_button,
    table,
    value_with_interval,
)
from filters import LEVEL_ORDER, Filters, site_names, territories_by_level, territory_label, upper_level
from pipelines.common import formats
from pipelines.warehouse.catalogue import Indicator, catalogue, catalogue_categories, indicator

SITE_COLUMN = {"pre": "code_pre", "departement": "departement", "region": "region"}
CHOSEN, OTHERS = "Territoire choisi", "Autres territoires"
COLORS = alt.Scale(domain=[CHOSEN, OTHERS], range=[CHOSEN_COLOR, OTHERS_COLOR])
# The chosen territory's marks are also outlined in black (and are triangles in the funnel plot): not told by
# colour alone (RGAA 3.1).
OUTLINE = alt.Stroke("group:N", title=None, scale=alt.Scale(domain=[CHOSEN, OTHERS], range=["#000000", "transparent"]),
                     legend=None)
CHOSEN_NOTE = " Le territoire choisi est en rouge, bordé de noir ; les autres territoires sont en bleu."


def ancestors(f: Filters) -> list[tuple[str, str]]:
    """The chosen territory and every level above it, from France down."""
    chain, current = [], (f.level, f.territory)
    while current:
        chain.append(current)
        current = upper_level(*current)
    return chain[::-1]


def codes_at_level(level: str, scope: tuple[str, str]) -> set[str]:
    """The territories of a level lying in (or containing) a scope."""
    df = data.territory_sites(*scope)
    return set(df[SITE_COLUMN[level]].drop_nulls().to_list())


FUNNEL_NOTE = (
    "Chaque point est un territoire : sa part (verticalement) selon son effectif (horizontalement). Le trait "
    "plein est la valeur de référence ({scope}) ; les courbes en tirets et en pointillés, les limites à 95 % et à "
    "99,8 % : si la part réelle d'un territoire était celle de la référence, le hasard seul placerait sa part "
    "entre ces limites 95 fois sur 100, ou 998 fois sur 1 000 (limites binomiales exactes, interpolées). Les petits "
    "effectifs varient beaucoup par hasard, d'où la forme d'entonnoir ; un point hors des limites à 99,8 % "
    "mérite d'être regardé de près, sans être pour autant la preuve d'une pratique différente."
)


def funnel_rows(points: pl.DataFrame, reference: float) -> pl.DataFrame:
    """Each shown territory with the limits at its effectif and its position against them."""
    rows = []
    for r in points.iter_rows(named=True):
        found = funnel.limits(reference, r["effectif"])
        rows.append({"name": r["name"], "group": r["group"], "valeur": r["valeur"], "effectif": r["effectif"],
                     "bas95": found[0.025], "haut95": found[0.975], "bas998": found[0.001], "haut998": found[0.999],
                     "position": funnel.position(r["valeur"], reference, r["effectif"])})
    return pl.DataFrame(rows, schema={"name": pl.String, "group": pl.String, "valeur": pl.Float64,
                                      "effectif": pl.Int64, "bas95": pl.Float64, "haut95": pl.Float64,
                                      "bas998": pl.Float64, "haut998": pl.Float64, "position": pl.String})


def funnel_plot(f: Filters, points: pl.DataFrame, reference: dict | None, heading: str, level: str,
                scope: tuple[str, str], caption: str) -> None:
    """The share of each territory against its effectif, the reference value and the binomial limits."""
    st.header("Diagramme en entonnoir")
    if reference is None or reference["masque"] or reference["valeur"] is None or not points.height:
        st.info("Diagramme en entonnoir non affiché : la valeur de référence ou celles des territoires ne sont pas "
                "affichables (non calculées ou soumises au secret statistique).")
        return
    value = reference["valeur"]
    lines = pl.DataFrame([{"effectif": n, "limite": f"Limites à {name}", "cote": side, "valeur": found[q]}
                          for n in funnel.grid(int(points["effectif"].max()))
                          for found in [funnel.limits(value, n)]
                          for name, pair in funnel.LEVELS.items() for side, q in zip(("bas", "haut"), pair,
                                                                                      strict=True)])
    rows = funnel_rows(points, value).with_columns(
        text=pl.col("valeur").map_elements(lambda v: formats.percent(v), return_dtype=pl.String))
    x = alt.X("effectif:Q", title="Effectif (base de la part)")
    limits = alt.Chart(lines).mark_line(color="gray").encode(
        x=x, y=alt.Y("valeur:Q", title=f"{heading} (%)"),
        strokeDash=alt.StrokeDash("limite:N", title=None, scale=alt.Scale(
            domain=["Limites à 95 %", "Limites à 99,8 %"], range=[[6, 3], [2, 2]])),
        detail="cote:N")
    rule = alt.Chart(pl.DataFrame({"valeur": [value]})).mark_rule(color="black").encode(y="valeur:Q")
    dots = alt.Chart(rows).mark_point(size=90, opacity=0.9, filled=True, strokeWidth=1.5).encode(
        x=x, y="valeur:Q", color=alt.Color("group:N", title=None, scale=COLORS), stroke=OUTLINE,
        shape=alt.Shape("group:N", title=None, scale=alt.Scale(domain=[CHOSEN, OTHERS],
                                                               range=["triangle-up", "circle"])),
        tooltip=[alt.Tooltip("name:N", title="Territoire"), alt.Tooltip("text:N", title="Valeur"),
                 alt.Tooltip("effectif:Q", title="Effectif", format=",d"),
                 alt.Tooltip("position:N", title="Position")])
    scope_label = territory_label(*scope)
    chart((limits + rule + dots).properties(
        title=f"{heading} selon l'effectif, par {labels.LEVELS_SINGULAR[level]}, {f.period}", height=380),
        caption + f" Référence : {formats.percent(value)} ({scope_label}). " + FUNNEL_NOTE.format(scope=scope_label)
        + " Le territoire choisi : triangle rouge bordé de noir ; les autres territoires : ronds bleus.")
    with st.expander("Données du graphique"):
        table(rows, [Column("name", "Territoire"), Column("valeur", f"{heading} (%)", "pourcentage"),
                     Column("effectif", "Effectif", "entier"),
                     Column("bas95", "Limite basse à 95 %", "pourcentage"),
                     Column("haut95", "Limite haute à 95 %", "pourcentage"),
                     Column("bas998", "Limite basse à 99,8 %", "pourcentage"),
                     Column("haut998", "Limite haute à 99,8 %", "pourcentage"),
                     Column("position", "Position")],
              key="territoires_entonnoir", file_stem=download_stem(f, "territoires_entonnoir"), notes=[caption])


def distribution(f: Filters, shown: pl.DataFrame, ind: Indicator, heading: str, caption: str) -> None:
    """The histogram of the shown values (bins computed here, so that the chart and its table agree)."""
    st.header("Distribution")
    decimals = DECIMALS.get(ind.format, 1)
    bins, bound_decimals = frames.histogram([round(v, decimals) for v in shown["valeur"].to_list()],
                                            shown["chosen"].to_list(), decimals)
    bins = bins.with_columns(label=pl.struct("debut", "fin").map_elements(
        lambda b: f"{formats.number(b['debut'], bound_decimals)} à moins de {formats.number(b['fin'], bound_decimals)}",
        return_dtype=pl.String))
    bars = pl.concat([bins.select("debut", "fin", "label", nombre="choisis", group=pl.lit(CHOSEN)),
                      bins.select("debut", "fin", "label", nombre=pl.col("territoires") - pl.col("choisis"),
                                  group=pl.lit(OTHERS))]).filter(pl.col("nombre") > 0)
    histogram = alt.Chart(bars).mark_bar(strokeWidth=2).encode(
        x=alt.X("debut:Q", title=f"{ind.libelle} ({ind.unite})",
                axis=alt.Axis(values=sorted({*bins["debut"].to_list(), *bins["fin"].to_list()}))), x2="fin:Q",
        y=alt.Y("sum(nombre):Q", title="Nombre de territoires", stack="zero",
                axis=alt.Axis(format="d", tickMinStep=1)),
        color=alt.Color("group:N", title=None, scale=COLORS), stroke=OUTLINE,
        order=alt.Order("group:N", sort="descending"),
        tooltip=[alt.Tooltip("label:N", title="Valeurs"), alt.Tooltip("group:N", title="Territoires"),
                 alt.Tooltip("sum(nombre):Q", title="Nombre", format=",d")],
    ).properties(title=f"Distribution de l'indicateur « {heading} », {f.period}", height=260)
    chart(histogram, caption + " Chaque barre compte les territoires dont la valeur tombe dans l'intervalle."
          + CHOSEN_NOTE)
    with st.expander("Données du graphique"):
        table(bins, [Column("label", f"{ind.libelle} ({ind.unite})"), Column("territoires", "Territoires", "entier"),
                     Column("choisis", "Dont le territoire choisi", "entier")],
              key="territoires_distribution", file_stem=download_stem(f, "territoires_distribution"), notes=[caption])


def body(f: Filters) -> None:
    header(f)
    printing = st.container()  # « Imprimer / PDF », filled once the table below is built
    choice = st.columns(4)
    code = choice[0].selectbox("Indicateur", [i.code for i in catalogue()], key="territoires_indicator",
                               format_func=lambda c: indicator(c).libelle)
    ind = indicator(code)
    category_names = catalogue_categories().get(ind.categories or "", {"": "Ensemble"})
    # Never disabled: a disabled field's faint label fails contrast; without categories, its one choice is shown.
    category = choice[1].selectbox("Catégorie", ind.category_values(), key=f"territoires_category_{code}",
                                   format_func=lambda c: category_names.get(c, c))
    levels = [n for n in LEVEL_ORDER if n != "national" and n in territories_by_level()]
    rank_of = {n: i for i, n in enumerate(LEVEL_ORDER)}
    if st.session_state.get("territoires_level") not in levels:
        st.session_state["territoires_level"] = f.level if f.level in levels else levels[0]
    level = choice[2].selectbox("Comparer les", levels, key="territoires_level",
                                format_func=labels.LEVELS_PLURAL.__getitem__)
    scopes = [a for a in ancestors(f) if rank_of[a[0]] < rank_of[level]]
    scope = choice[3].selectbox("Périmètre", scopes, format_func=lambda p: territory_label(*p),
                                key=f"territoires_scope_{level}")

    names = site_names()
    members = codes_at_level(level, scope)
    chosen = codes_at_level(level, (f.level, f.territory))
    df = (data.indicators(f.period)
          .filter((pl.col("indicateur") == code) & (pl.col("categorie") == category)
                  & (pl.col("niveau") == level) & pl.col("territoire").is_in(list(members)))
          .join(data.completeness().select("niveau", "territoire", "periode", "part_sites_complets"),
                on=["niveau", "territoire", "periode"], how="left")
          .with_columns(name=pl.col("territoire").map_elements(lambda t: labels.territory(level, t, names),
                                                                return_dtype=pl.String),
                        chosen=pl.col("territoire").is_in(list(chosen)))
          .sort([pl.col("masque"), pl.col("valeur").is_null(), pl.col("valeur"), pl.col("name")],
                descending=[False, False, True, False]))
    visible = ~pl.col("masque") & pl.col("valeur").is_not_null()
    df = df.with_columns(rank=pl.when(visible).then(pl.int_range(1, pl.len() + 1)).otherwise(None),
                         group=pl.when(pl.col("chosen")).then(pl.lit("Territoire choisi"))
                         .otherwise(pl.lit("Autres territoires")))
    masked = int(df["masque"].sum())
    reference = indicator_row(data.indicators(f.period).filter(
        (pl.col("niveau") == scope[0]) & (pl.col("territoire") == scope[1])), code, category)

    heading = ind.libelle + (f" — {category_names[category]}" if ind.categories else "")
    caption = note(f, masked=masked)
    value, scope_label = value_with_interval(reference, ind.format), territory_label(*scope)
    st.markdown(f"{heading}, {f.period} : **{value}** pour {scope_label} ({ind.unite}).")
    if df.filter(visible).height:
        shown = df.filter(visible).with_columns(
            text=pl.col("valeur").map_elements(lambda v: formats.by_kind(v, ind.format), return_dtype=pl.String),
            interval=pl.struct("borne_basse", "borne_haute").map_elements(
                lambda b: interval_text(b["borne_basse"], b["borne_haute"], ind.format) or "non calculé",
                return_dtype=pl.String))
        st.header("Classement")
        tooltip = [alt.Tooltip("name:N", title="Territoire"), alt.Tooltip("text:N", title="Valeur"),
                   alt.Tooltip("effectif:Q", title="Effectif", format=",d")]
        if ind.intervalle:
            tooltip.append(alt.Tooltip("interval:N", title="Intervalle de confiance à 95 %"))
        base = alt.Chart(shown).encode(
            y=alt.Y("name:N", title=None, sort=shown["name"].to_list(),
                    axis=alt.Axis(labelLimit=260, labelOverlap=False)),
            tooltip=tooltip)
        bars = base.mark_bar(strokeWidth=2).encode(x=alt.X("valeur:Q", title=f"{ind.libelle} ({ind.unite})"),
                                                   color=alt.Color("group:N", title=None, scale=COLORS),
                                                   stroke=OUTLINE)
        if ind.intervalle and shown["borne_basse"].is_not_null().any():
            bars += base.mark_rule(color="black").encode(x="borne_basse:Q", x2="borne_haute:Q")
        bars = bars.properties(title=f"{heading} par {labels.LEVELS_SINGULAR[level]}, {f.period}",
                               height=max(120, 24 * shown.height))
        chart(bars, caption + (" Trait noir : intervalle de confiance à 95 %." if ind.intervalle else "")
              + CHOSEN_NOTE)
        distribution(f, shown, ind, heading, caption)
    else:
        st.info("Aucune valeur affichable pour ce choix (valeurs non calculées ou soumises au secret statistique).")

    if ind.intervalle == "wilson":
        funnel_plot(f, df.filter(visible & (pl.col("effectif") > 0)), reference, heading, level, scope, caption)

    st.header("Tableau")
    shown = table(df, [Column("rank", "Rang", "entier"), Column("name", "Territoire"),
               Column("valeur", f"{heading} ({ind.unite})", ind.format, "masque"),
               Column("effectif", "Effectif", "entier", "masque"),
               *([Column("borne_basse", "Borne basse (IC à 95 %)", ind.format, "masque"),
                  Column("borne_haute", "Borne haute (IC à 95 %)", ind.format, "masque")] if ind.intervalle else []),
               Column("part_sites_complets", "Sites aux données complètes (%)", "pourcentage"),
               Column("chosen", "Territoire choisi")],
          key="territoires_tableau", file_stem=download_stem(f, f"territoires_{code}"), notes=[caption])
    bases = f"Effectif : {ind.effectif}. Rang : ordre décroissant des valeurs affichées." + (
        f" {INTERVAL_NOTE}" if ind.intervalle else "")
    st.caption(bases)
    print_button(printing, f, page="Territoires", table_title=f"{heading} par {labels.LEVELS_SINGULAR[level]}",
                 shown=shown, key="territoires_pdf", lead=f"{heading}, {f.period} : {value} pour {scope_label} "
                 f"({ind.unite}).", notes=[caption, bases], pinned=df["chosen"].to_list(), subject=code,
                 facts=[("Indicateur", heading), ("Comparaison", f"{labels.LEVELS_PLURAL[level]} de {scope_label}")])
    confidentiality_note()


page("Territoires", body)

"""Évaluer une action: for one action type and one territory, the children reached, the sessions planned and
held, attendance and cost per child (against the parent territory, with the trend over periods); for the
evaluated types (referential `actions_evaluees.yaml`), the outcome progression of the pathways with the action
against those without it, and, at a site, the waits of the related care services in the 12 months before and
after the action first appeared there. Every figure is published (masked) data read through `data`.
"""

import altair as alt
import polars as pl
import streamlit as st

import data
import frames
from display import (
    Column,
    chart,
    comparison,
    confidentiality_note,
    download_stem,
    header,
    interval_text,
    line_chart,
    note,
    page,
    table,
    trend,
)
from filters import Filters
from pipelines.common import formats
from pipelines.publication.disclosure import SECRET
from pipelines.warehouse.catalogue import catalogue_categories, indicator

TYPE_KEY = "evaluation_type"
TYPE_PARAM = "action"  # the URL's parameter (users see it in shared links)
# Read before the sidebar rewrites the URL's filters (it keeps only its own parameters).
_WANTED = st.query_params.get(TYPE_PARAM)

CAUSALITY = (
    "**Comparaison, pas un effet causal.** Les enfants orientés vers cette action ne sont pas tirés au sort : "
    "ils y sont orientés parce que leur situation le demandait (des difficultés plus marquées, un besoin repéré "
    "par l'école ou un soignant, une famille plus disponible…). Les deux groupes diffèrent donc avant même "
    "l'action, et un écart de progression peut venir de ces différences plutôt que de l'action elle-même. "
    "Ce tableau aide à poser des questions, il ne mesure pas l'effet de l'action.")


def choose_type() -> str:
    types = frames.action_types()
    evaluated = frames.evaluated_types()
    codes = list(types)
    current = st.session_state.get(TYPE_KEY)
    st.session_state[TYPE_KEY] = current if current in codes else frames.default_type(codes, _WANTED)
    chosen = st.selectbox(
        "Type d'action", codes, key=TYPE_KEY,
        format_func=lambda c: types[c] + (" — action évaluée" if c in evaluated else ""),
        help="Les types marqués « action évaluée » figurent au référentiel des actions évaluées : la page y "
             "ajoute la comparaison des progressions et, pour un site, les attentes des services de soin liés.")
    st.query_params[TYPE_PARAM] = chosen
    return chosen


def key_figures(f: Filters, type_action: str, series: list[tuple[str, str, str]]) -> None:
    codes = frames.known_codes(frames.ACTION_CODES)
    current = [data.territory_indicators(level, territory, [f.period]) for level, territory, _ in series]
    df = frames.action_figures(current, type_action, codes)
    rows = list(df.iter_rows(named=True))
    cells = [c for _ in range(0, len(rows), 3) for c in st.columns(3)]  # rows of three: labels stay whole
    for cell, row in zip(cells, rows, strict=False):
        if row["m0"]:
            text, base = SECRET, ""
        elif row["v0"] is None and row["n0"] is None:
            text, base = "non calculé", ""
        else:
            text = formats.by_kind(row["v0"], row["format"])
            base = f" Effectif : {formats.number(row['n0'])} ({row['base']})."
        cell.metric(frames.short_label(row["libelle"]), text, help=indicator(row["indicateur"]).definition + base,
                    border=True)
    columns = [Column("libelle", "Indicateur")]
    for k, (_, _, label) in enumerate(series):
        columns += [Column(f"v{k}", label, "*", f"m{k}"), Column(f"n{k}", f"Effectif ({label})", "entier", f"m{k}")]
    masked = sum(int(df[f"m{k}"].sum()) for k in range(len(series)))
    caption = note(f, masked=masked) + " Actions de ce type commencées pendant la période ; coûts non renseignés " \
                                       "ignorés."
    table(df, [*columns, Column("base", "Base de l'effectif")], key="evaluation_chiffres",
          file_stem=download_stem(f, f"evaluation_{type_action}"), notes=[caption])
    st.caption(caption)


def evolution(f: Filters, type_action: str, label: str, series: list[tuple[str, str, str]]) -> None:
    codes = frames.known_codes(frames.ACTION_CODES)
    default = "cout_par_enfant_type_action"
    code = st.selectbox("Indicateur", codes, key="evaluation_indicator", format_func=lambda c: indicator(c).libelle,
                        index=codes.index(default) if default in codes else 0)
    ind = indicator(code)
    df = trend(series, f.periods, [code], category=type_action)
    caption = note(f, f.periods, masked=int(df["masque"].sum()))
    chart(line_chart(df, title=f"{ind.libelle} — {label}, par période", y_title=f"{ind.libelle} ({ind.unite})",
                     fmt=ind.format), caption)
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("series", "Territoire"),
                   Column("valeur", f"{ind.libelle} ({ind.unite})", ind.format, "masque"),
                   Column("effectif", "Effectif", "entier", "masque"), Column("completeness", "Données")],
              key="evaluation_evolution", file_stem=download_stem(f, f"evaluation_{type_action}_{code}"),
              notes=[caption])


def progression(f: Filters, type_action: str, label: str) -> None:
    st.header("Progression des notes : parcours avec et sans l'action")
    st.markdown(CAUSALITY)
    current = data.territory_indicators(f.level, f.territory, [f.period])
    df = frames.progression(current, type_action, catalogue_categories()["domaines_note"])
    masked = int(df["m_avec"].sum() + df["m_sans"].sum() + df["m_tous"].sum())
    caption = (note(f, masked=masked) + " Parcours sortis pendant la période, notés dans le domaine à l'entrée et à "
               "la sortie (échelle de 1, très préoccupant, à 4, satisfaisant) ; progression moyenne = note de sortie "
               "moins note d'entrée, en points. « Avec l'action » : le parcours a eu au moins une action de ce type.")
    shown = frames.progression_long(df)
    if shown.height:
        bars = alt.Chart(shown).mark_bar().encode(
            x=alt.X("valeur:Q", title="Progression moyenne (points)"),
            y=alt.Y("domaine:N", title=None, sort=list(catalogue_categories()["domaines_note"].values())),
            yOffset=alt.YOffset("groupe:N"),
            color=alt.Color("groupe:N", title="Parcours"),
            tooltip=[alt.Tooltip("domaine:N", title="Domaine"), alt.Tooltip("groupe:N", title="Parcours"),
                     alt.Tooltip("valeur:Q", title="Progression (points)", format=",.1f"),
                     alt.Tooltip("effectif:Q", title="Parcours", format=",d")],
        ).properties(title=f"Progression des notes, parcours avec et sans « {label} » (comparaison, pas un effet "
                           f"causal), {f.period}", height=60 * shown["domaine"].n_unique())
        chart(bars, caption + " Les valeurs soumises au secret statistique ne sont pas dessinées.")
    else:
        st.info("Graphique non affiché : aucune progression affichable (aucun parcours noté, ou secret statistique).")
        st.caption(caption)
    with st.expander("Données du graphique", expanded=True):
        table(df, [Column("domaine", "Domaine"),
                   Column("avec", "Avec l'action (points)", "decimal1", "m_avec"),
                   Column("n_avec", "Parcours avec l'action", "entier", "m_avec"),
                   Column("sans", "Sans l'action (points)", "decimal1", "m_sans"),
                   Column("n_sans", "Parcours sans l'action", "entier", "m_sans"),
                   Column("ecart", "Écart avec − sans (points)", "decimal1"),
                   Column("tous", "Tous les parcours (points)", "decimal1", "m_tous"),
                   Column("n_tous", "Tous les parcours notés", "entier", "m_tous")],
              key="evaluation_progression", file_stem=download_stem(f, f"evaluation_{type_action}_progression"),
              notes=[caption, CAUSALITY.replace("**", "")])
    st.caption("Écart affiché seulement quand les deux progressions le sont (jamais déduit d'une case masquée).")


def waits(f: Filters, type_action: str, label: str) -> None:
    st.header("Attentes des services de soin avant et après l'arrivée de l'action")
    structures = catalogue_categories()["structures"]
    published = data.waits_around_action(f.territory)
    if published is None:
        st.info("Ces chiffres n'existent pas dans l'édition choisie, figée avant leur ajout : choisissez une édition "
                "plus récente ou les données en continu dans le menu « Chiffres ».")
        return
    df = frames.waits(published, f.territory, type_action, structures)
    if not df.height:
        st.info(f"« {label} » n'apparaît pas encore dans les actions de ce site : aucune date d'arrivée, donc pas "
                "d'attentes à comparer.")
        return
    first = df["premiere_action"].drop_nulls()
    arrived = formats.day(first[0]) if first.len() else "—"
    st.markdown(f"Première action « {label} » sur ce site : **{arrived}**. Pour chaque service de soin lié, "
                "l'attente médiane avant le premier rendez-vous des demandes faites dans les 12 mois qui précèdent "
                "cette date et dans les 12 mois qui la suivent (méthode de Kaplan-Meier, intervalle de confiance à "
                "95 % entre crochets). Ces deux fenêtres tiennent à la date d'arrivée de l'action, pas à la période "
                "choisie dans les filtres. Là aussi, c'est une comparaison avant/après, pas un effet causal : "
                "d'autres changements ont pu jouer sur la même période.")
    lines = []
    for row in df.iter_rows(named=True):
        if row["masque"]:
            value = SECRET
        elif not row["demandes"]:
            value = "aucune demande"
        elif row["valeur"] is None:
            value = f"non atteinte ({formats.plural(row['demandes'], 'demande')})"
        else:
            value = f"{formats.number(row['valeur'])} jours"
        bounds = "" if row["masque"] else interval_text(row["borne_basse"], row["borne_haute"], "entier")
        state = f" ({frames.INCOMPLETE})" if row["etat"] == frames.INCOMPLETE else ""
        lines.append(f"- **{row['structure']}**, {row['fenetre']} ({formats.day(row['debut'])} – "
                     f"{formats.day(row['fin'])}) : {value}{' ' + bounds if bounds else ''}{state}")
    st.markdown("\n".join(lines))
    masked = int(df["masque"].sum())
    caption = (note(f, masked=masked) + " Attente médiane : durée à laquelle la moitié des demandes ont eu leur "
               "premier rendez-vous, demandes encore en attente ou abandonnées comprises (voir la page « Listes "
               "d'attente ») ; "
               "« non atteinte » : moins de la moitié ont eu un rendez-vous. « Fenêtre incomplète » : la fenêtre "
               "commence avant le début des données du site ou finit après leur date d'extraction ; elle ne compte "
               "pas toutes les demandes de ces 12 mois, ses chiffres sont à lire avec prudence.")
    drawn = df.filter(~pl.col("masque") & pl.col("valeur").is_not_null()).with_columns(
        text=pl.col("valeur").map_elements(lambda v: f"{formats.number(v)} jours", return_dtype=pl.String),
        interval=pl.struct("borne_basse", "borne_haute").map_elements(
            lambda b: interval_text(b["borne_basse"], b["borne_haute"], "entier") or "non calculé",
            return_dtype=pl.String))
    if drawn.height:
        order = list(frames.WINDOWS.values())
        base = alt.Chart(drawn).encode(
            y=alt.Y("structure:N", title=None, axis=alt.Axis(labelLimit=260)),
            yOffset=alt.YOffset("fenetre:N", sort=order),
            color=alt.Color("fenetre:N", title="Fenêtre", sort=order),
            tooltip=[alt.Tooltip("structure:N", title="Service"), alt.Tooltip("fenetre:N", title="Fenêtre"),
                     alt.Tooltip("text:N", title="Attente médiane"),
                     alt.Tooltip("interval:N", title="Intervalle de confiance à 95 %"),
                     alt.Tooltip("etat:N", title="Données")])
        rules = base.mark_rule(strokeWidth=2).encode(x=alt.X("borne_basse:Q", title="Attente médiane (jours)"),
                                                     x2="borne_haute:Q")
        points = base.mark_point(size=90, filled=True).encode(
            x="valeur:Q", shape=alt.Shape("etat:N", title="Données",
                                          scale=alt.Scale(domain=["complète", frames.INCOMPLETE],
                                                          range=["circle", "triangle-down"])))
        spec = (rules + points).properties(
            title=f"Attente médiane des services liés à « {label} », avant et après son arrivée",
            height=max(160, 70 * drawn["structure"].n_unique()))
        chart(spec, caption + " Trait : intervalle de confiance à 95 % ; les attentes soumises au secret statistique "
                              "ne sont pas dessinées.")
    else:
        st.info("Graphique non affiché : aucune attente médiane affichable (secret statistique ou médiane non "
                "atteinte).")
        st.caption(caption)
    with st.expander("Données du graphique", expanded=True):
        table(df, [Column("structure", "Service de soin"), Column("fenetre", "Fenêtre"),
                   Column("debut", "Du", "date"), Column("fin", "Au", "date"),
                   Column("demandes", "Demandes de la fenêtre", "entier", "masque"),
                   Column("valeur", "Attente médiane (jours)", "entier", "masque"),
                   Column("borne_basse", "Borne basse (IC à 95 %)", "entier", "masque"),
                   Column("borne_haute", "Borne haute (IC à 95 %)", "entier", "masque"),
                   Column("etat", "Données")],
              key="evaluation_attentes", file_stem=download_stem(f, f"evaluation_{type_action}_attentes"),
              notes=[caption])
    if data.shows_unmasked(f.level, f.territory):
        st.caption("Ces attentes sont les chiffres publiés, masqués comme partout ailleurs, même pour votre site.")


def body(f: Filters) -> None:
    header(f)
    type_action = choose_type()
    label = frames.action_types()[type_action]
    upper = comparison(f)
    series = [(f.level, f.territory, f.label), *([upper] if upper else [])]
    st.markdown(f"Ce que l'action « {label} » représente pour {f.label} : enfants bénéficiaires, séances prévues et "
                "réalisées, assiduité et coût par enfant"
                + (f", comparés à {upper[2]}" if upper else "") + ".")

    st.header(f"Chiffres clés, {f.period}")
    key_figures(f, type_action, series)
    st.header("Évolution")
    evolution(f, type_action, label, series)

    if type_action not in frames.evaluated_types():
        st.header("Progression des notes et attentes des services de soin")
        st.info(f"« {label} » ne figure pas au référentiel des actions évaluées : la comparaison des progressions "
                "(parcours avec et sans l'action) et les attentes des services de soin avant et après son arrivée "
                "ne sont pas calculées pour ce type.")
        st.caption("Pour l'ajouter, un analyste inscrit ce type d'action et les services de soin qui s'y rapportent "
                   f"dans le référentiel des actions évaluées (fichier {frames.EVALUATED_FILE}, décrit dans "
                   "docs/evaluer-une-action.md) ; les chiffres apparaissent à la reconstruction suivante de "
                   "l'entrepôt. Types évalués aujourd'hui : "
                   + (", ".join(frames.evaluated_types().values()) or "aucun") + ".")
    else:
        progression(f, type_action, label)
        if f.level == "pre":
            waits(f, type_action, label)
        else:
            st.header("Attentes des services de soin avant et après l'arrivée de l'action")
            st.info("Les attentes avant et après l'arrivée de l'action se lisent site par site, chaque site ayant sa "
                    "propre date d'arrivée : choisissez le niveau « Site PRE » dans les filtres.")
    confidentiality_note()


page("Évaluer une action", body)

"""Territoires: compare sites, départements or régions on any catalogue indicator."""

import altair as alt
import polars as pl
import streamlit as st

import donnees
import libelles
from affichage import (
    Colonne,
    en_tete,
    graphique,
    ligne,
    nom_fichier,
    note,
    page,
    secret_statistique,
    tableau,
    texte_indicateur,
)
from filtres import ORDRE_NIVEAUX, Filtres, libelle_territoire, niveau_superieur, noms_sites, territoires_par_niveau
from pipelines.common import formats
from pipelines.warehouse.catalogue import catalogue, catalogue_categories, indicator

COLONNE_SITE = {"pre": "code_pre", "departement": "departement", "region": "region"}
COULEURS = alt.Scale(domain=["Territoire choisi", "Autres territoires"], range=["#d62728", "#9ecae1"])


def ancetres(f: Filtres) -> list[tuple[str, str]]:
    """The chosen territory and every level above it, from France down."""
    chain, current = [], (f.niveau, f.territoire)
    while current:
        chain.append(current)
        current = niveau_superieur(*current)
    return chain[::-1]


def codes_au_niveau(niveau: str, perimetre: tuple[str, str]) -> set[str]:
    """The territories of a level lying in (or containing) a perimeter."""
    df = donnees.sites_du_territoire(*perimetre)
    return set(df[COLONNE_SITE[niveau]].drop_nulls().to_list())


def corps(f: Filtres) -> None:
    en_tete(f)
    choix = st.columns(4)
    code = choix[0].selectbox("Indicateur", [i.code for i in catalogue()], key="territoires_indicateur",
                              format_func=lambda c: indicator(c).libelle)
    ind = indicator(code)
    noms_categories = catalogue_categories().get(ind.categories or "", {"": "Ensemble"})
    categorie = choix[1].selectbox("Catégorie", ind.category_values(), key=f"territoires_categorie_{code}",
                                   format_func=lambda c: noms_categories.get(c, c), disabled=not ind.categories)
    niveaux = [n for n in ORDRE_NIVEAUX if n != "national" and n in territoires_par_niveau()]
    rang = {n: i for i, n in enumerate(ORDRE_NIVEAUX)}
    if st.session_state.get("territoires_niveau") not in niveaux:
        st.session_state["territoires_niveau"] = f.niveau if f.niveau in niveaux else niveaux[0]
    niveau = choix[2].selectbox("Comparer les", niveaux, key="territoires_niveau",
                                format_func=libelles.NIVEAUX_PLURIEL.__getitem__)
    perimetres = [a for a in ancetres(f) if rang[a[0]] < rang[niveau]]
    perimetre = choix[3].selectbox("Périmètre", perimetres, format_func=lambda p: libelle_territoire(*p),
                                   key=f"territoires_perimetre_{niveau}")

    noms = noms_sites()
    membres = codes_au_niveau(niveau, perimetre)
    choisis = codes_au_niveau(niveau, (f.niveau, f.territoire))
    df = (donnees.indicateurs(f.periode)
          .filter((pl.col("indicateur") == code) & (pl.col("categorie") == categorie)
                  & (pl.col("niveau") == niveau) & pl.col("territoire").is_in(list(membres)))
          .join(donnees.completude().select("niveau", "territoire", "periode", "part_sites_complets"),
                on=["niveau", "territoire", "periode"], how="left")
          .with_columns(nom=pl.col("territoire").map_elements(lambda t: libelles.territoire(niveau, t, noms),
                                                                 return_dtype=pl.String),
                        choisi=pl.col("territoire").is_in(list(choisis)))
          .sort([pl.col("masque"), pl.col("valeur").is_null(), pl.col("valeur"), pl.col("nom")],
                descending=[False, False, True, False]))
    visibles = ~pl.col("masque") & pl.col("valeur").is_not_null()
    df = df.with_columns(rang=pl.when(visibles).then(pl.int_range(1, pl.len() + 1)).otherwise(None),
                         groupe=pl.when(pl.col("choisi")).then(pl.lit("Territoire choisi"))
                         .otherwise(pl.lit("Autres territoires")))
    masques = int(df["masque"].sum())
    reference = ligne(donnees.indicateurs(f.periode).filter(
        (pl.col("niveau") == perimetre[0]) & (pl.col("territoire") == perimetre[1])), code, categorie)

    intitule = ind.libelle + (f" — {noms_categories[categorie]}" if ind.categories else "")
    legende = note(f, masques=masques)
    st.markdown(f"{intitule}, {f.periode} : **{texte_indicateur(reference, ind.format)}** pour "
                f"{libelle_territoire(*perimetre)} ({ind.unite}).")
    if df.filter(visibles).height:
        shown = df.filter(visibles).with_columns(
            texte=pl.col("valeur").map_elements(lambda v: formats.by_kind(v, ind.format), return_dtype=pl.String))
        st.header("Classement")
        barres = alt.Chart(shown).mark_bar().encode(
            x=alt.X("valeur:Q", title=f"{ind.libelle} ({ind.unite})"),
            y=alt.Y("nom:N", title=None, sort=shown["nom"].to_list(),
                    axis=alt.Axis(labelLimit=260, labelOverlap=False)),
            color=alt.Color("groupe:N", title=None, scale=COULEURS),
            tooltip=[alt.Tooltip("nom:N", title="Territoire"), alt.Tooltip("texte:N", title="Valeur"),
                     alt.Tooltip("effectif:Q", title="Effectif", format=",d")],
        ).properties(title=f"{intitule} par {libelles.NIVEAUX_SINGULIER[niveau]}, {f.periode}",
                     height=max(120, 24 * shown.height))
        graphique(barres, legende)

        st.header("Distribution")
        histogramme = alt.Chart(shown).mark_bar(opacity=0.8).encode(
            x=alt.X("valeur:Q", bin=alt.Bin(maxbins=20), title=f"{ind.libelle} ({ind.unite})"),
            y=alt.Y("count():Q", title="Nombre de territoires", axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color("groupe:N", title=None, scale=COULEURS),
        ).properties(title=f"Distribution de l'indicateur « {intitule} », {f.periode}", height=260)
        graphique(histogramme, legende + " Chaque barre compte les territoires dont la valeur tombe dans "
                  "l'intervalle ; le territoire choisi est en rouge.")
    else:
        st.info("Aucune valeur affichable pour ce choix (valeurs non calculées ou soumises au secret statistique).")

    st.header("Tableau")
    tableau(df, [Colonne("rang", "Rang", "entier"), Colonne("nom", "Territoire"),
                 Colonne("valeur", f"{intitule} ({ind.unite})", ind.format, "masque"),
                 Colonne("effectif", "Effectif", "entier", "masque"),
                 Colonne("part_sites_complets", "Sites aux données complètes (%)", "pourcentage"),
                 Colonne("choisi", "Territoire choisi")],
            cle="territoires_tableau", fichier=nom_fichier(f, f"territoires_{code}"), notes=[legende])
    st.caption(f"Effectif : {ind.effectif}. Rang : ordre décroissant des valeurs affichées.")
    secret_statistique()


page("Territoires", corps)

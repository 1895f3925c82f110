"""Résultats: objectives achieved at exit, exits to mainstream services, 6-month follow-up coverage."""

import polars as pl
import streamlit as st

import donnees
from affichage import (
    Colonne,
    comparaison,
    completude,
    courbe,
    en_tete,
    evolution,
    graphique,
    ligne,
    metrique,
    nom_fichier,
    note,
    page,
    secret_statistique,
    tableau,
)
from filtres import Filtres
from pipelines.warehouse.catalogue import Indicator, indicator

SUIVI = Indicator(
    code="suivi_6_mois", libelle="Sorties suivies à 6 mois",
    definition="Part des sorties de la période ayant un bilan de suivi à 6 mois, parmi celles dont ce suivi est "
               "échu à la date d'extraction du site (sortie au moins 7 mois avant cette date : 6 mois plus un mois "
               "de marge pour saisir le bilan).",
    unite="%", categories=None, effectif="les sorties dont le suivi à 6 mois est échu", format="pourcentage",
    sens="hausse_favorable", theme="resultats", sql="")
CODES = ["taux_objectifs_atteints", "part_sorties_objectifs_atteints", "part_sorties_relais"]


def resultats(niveau: str, territoire: str, periode: str) -> dict[str, dict | None]:
    """The four results of one territory and period (masked rows, None when not produced)."""
    df = donnees.indicateurs_territoire(niveau, territoire, [periode])
    suivi = donnees.suivi_6_mois(periode).filter((pl.col("niveau") == niveau) & (pl.col("territoire") == territoire))
    return {**{c: ligne(df, c) for c in CODES}, SUIVI.code: ligne(suivi, SUIVI.code)}


def indicateurs() -> list[Indicator]:
    return [*(indicator(c) for c in CODES), SUIVI]


def corps(f: Filtres) -> None:
    en_tete(f)
    courant = resultats(f.niveau, f.territoire, f.periode)
    rang = f.periodes.index(f.periode)
    precedente = f.periodes[rang - 1] if rang > 0 else None
    avant = resultats(f.niveau, f.territoire, precedente) if precedente else {}

    st.header("Chiffres clés")
    for colonne, ind in zip(st.columns(4), indicateurs(), strict=True):
        with colonne:
            metrique(ind, courant[ind.code], avant.get(ind.code))
    masques = sum(bool(r and r["masque"]) for r in courant.values())
    st.caption(note(f, masques=masques, precedente=precedente))

    sup = comparaison(f)
    series = [(f.niveau, f.territoire, f.libelle)] + ([sup] if sup else [])
    if sup and sup[0] != "national":
        series.append(("national", "FR", "France entière"))
    st.header("Comparaison")
    rows = []
    for ind in indicateurs():
        row = {"indicateur": ind.libelle, "effectif_de": ind.effectif}
        for k, (niveau, territoire, _) in enumerate(series):
            found = courant[ind.code] if k == 0 else resultats(niveau, territoire, f.periode)[ind.code]
            row |= {f"v{k}": found and found["valeur"], f"n{k}": found and found["effectif"],
                    f"m{k}": bool(found and found["masque"])}
        rows.append(row)
    colonnes = [Colonne("indicateur", "Indicateur")]
    for k, (_, _, libelle) in enumerate(series):
        colonnes += [Colonne(f"v{k}", f"{libelle} (%)", "pourcentage", f"m{k}"),
                     Colonne(f"n{k}", f"Effectif ({libelle})", "entier", f"m{k}")]
    tableau(pl.DataFrame(rows, infer_schema_length=None), [*colonnes, Colonne("effectif_de", "Base de l'effectif")],
            cle="resultats_comparaison", fichier=nom_fichier(f, "resultats"), notes=[note(f)])

    st.header("Évolution")
    df = evolution([(f.niveau, f.territoire, f.libelle)], f.periodes, CODES)
    suivis = []
    for periode in f.periodes:
        row = resultats(f.niveau, f.territoire, periode)[SUIVI.code]
        state = completude(f.niveau, f.territoire, periode)
        suivis.append({"periode": periode, "serie": f.libelle, "indicateur": SUIVI.code,
                       "valeur": row and row["valeur"], "effectif": row and row["effectif"],
                       "masque": bool(row and row["masque"]),
                       "donnees": "complètes" if state is None or state["complet"] else "incomplètes"})
    df = pl.concat([df, pl.DataFrame(suivis, schema=df.schema)]).with_columns(
        mesure=pl.col("indicateur").replace_strict({i.code: i.libelle for i in indicateurs()}))
    graphique(courbe(df, titre=f"Résultats par période — {f.libelle}", axe_y="Part (%)", fmt="pourcentage",
                     couleur="mesure", legende_couleur="Indicateur"),
              note(f, f.periodes, masques=int(df["masque"].sum())))
    with st.expander("Données du graphique"):
        tableau(df, [Colonne("periode", "Période"), Colonne("mesure", "Indicateur"),
                     Colonne("valeur", "Part (%)", "pourcentage", "masque"),
                     Colonne("effectif", "Effectif", "entier", "masque"), Colonne("donnees", "Données")],
                cle="resultats_evolution", fichier=nom_fichier(f, "resultats_evolution"), notes=[note(f, f.periodes)])
    st.caption(f"{SUIVI.libelle} : {SUIVI.definition}")
    secret_statistique()


page("Résultats", corps)

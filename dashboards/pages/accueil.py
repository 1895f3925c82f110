"""Landing page, until the evaluation dashboards exist."""

import streamlit as st

st.title("Évaluation des Programmes de Réussite Éducative")
st.write(
    "Les tableaux de bord (synthèse, territoires, parcours, actions, résultats, listes "
    "d'attente, qualité des données, méthodologie) sont en cours de construction. "
    "Le contrôle des fichiers de dépôt est disponible en ligne de commande : "
    "`pre-eval validate FICHIER`."
)

"""Tableau de bord PRE (Streamlit): entry point, builds the navigation only."""

import streamlit as st

st.set_page_config(page_title="Évaluation des PRE", page_icon="📊", layout="wide")

accueil = st.Page("pages/accueil.py", title="Accueil", default=True)
st.navigation([accueil]).run()

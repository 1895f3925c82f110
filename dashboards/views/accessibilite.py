"""Déclaration d'accessibilité (/accessibilite): the RGAA statement, readable by every signed-in person
(and, folded, on the sign-in page). Not through `display.page`: nothing (no data, no setting) may keep it
from showing."""

import streamlit as st

import accessibility
from display import page_title

st.set_page_config(page_title=page_title(accessibility.STATEMENT_TITLE))
st.title(accessibility.STATEMENT_TITLE)
accessibility.statement()

"""Méthodologie: the indicators' definitions, generated from the catalogue."""

import re

import streamlit as st

from affichage import page
from pipelines.publication.disclosure import explanation
from pipelines.publication.methodology import methodology_markdown

COMMENTAIRE = re.compile(r"<!--.*?-->\s*", re.DOTALL)
LIEN_LOCAL = re.compile(r"\[([^\]]+)\]\((?!https?:)[^)]+\)")


def texte() -> str:
    """The methodology without its generator comment, its own h1 (the page has one) or repository links."""
    body = COMMENTAIRE.sub("", methodology_markdown())
    body = re.sub(r"^# .*\n", "", body, count=1, flags=re.MULTILINE)
    return LIEN_LOCAL.sub(r"\1", body).replace("$", "\\$")


def corps(_filtres) -> None:
    st.markdown(texte())
    st.subheader("Seuil du secret statistique en vigueur")
    st.write(explanation())


page("Méthodologie", corps, filtres=False)

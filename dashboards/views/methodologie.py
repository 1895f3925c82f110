"""Méthodologie: the indicators' definitions, generated from the catalogue."""

import re

import streamlit as st

import data
from display import page
from pipelines.common import formats
from pipelines.publication import editions
from pipelines.publication.disclosure import explanation
from pipelines.publication.methodology import methodology_markdown

COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
LOCAL_LINK = re.compile(r"\[([^\]]+)\]\((?!https?:)[^)]+\)")


def text() -> str:
    """The methodology without its generator comment, its own h1 (the page has one) or repository links."""
    markdown = COMMENT.sub("", methodology_markdown())
    markdown = re.sub(r"^# .*\n", "", markdown, count=1, flags=re.MULTILINE)
    return LOCAL_LINK.sub(r"\1", markdown).replace("$", "\\$")


def body(_filters) -> None:
    st.markdown(text())
    st.subheader("Seuil du secret statistique en vigueur")
    st.write(explanation())
    made = editions.list_editions(data.home())
    if made:
        last = made[0]
        audit = last["audit"]
        st.subheader("Vérification de la dernière édition")
        st.write(
            f"Édition « {last['nom']} », figée le {formats.day(last['cree_le'][:10])} (méthodologie "
            f"{last['methodologie']}, seuil {last['seuil']}) : {formats.number(last['lignes_masquees'])} chiffres "
            f"masqués sur {formats.number(last['lignes'])}. L'audit a encadré chacun des "
            f"{formats.number(audit['comptes_masques'])} comptes masqués à partir des seuls chiffres affichés : "
            f"{'aucun' if not audit['trop_etroits'] else formats.number(audit['trop_etroits'])} n'a pu être "
            f"encadré à moins de {last['seuil']} près, et aucun chiffre affiché n'est sous le seuil.")


page("Méthodologie", body, filters=False)

"""Méthodologie: the indicators' definitions, generated from the catalogue."""

import re

import streamlit as st

from display import page
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


page("Méthodologie", body, filters=False)

"""Accessibility (RGAA 4.1, WCAG 2.1 AA) of the whole dashboard: the page language, keyboard focus and
print styles that Streamlit does not set, and the accessibility statement (« Déclaration d'accessibilité »).

`frame()` runs first on every page load, sign-in page included. What Streamlit draws itself and this app
cannot change is listed in the statement (docs/accessibilite.md, « Non-conformités »), and
tests/e2e/test_browser.py leaves exactly those findings of axe-core aside (`STREAMLIT_OWN`).
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

SITE_NAME = "Évaluation des PRE"
# Where the statement lives in the navigation (its URL path is data: French, as the page files).
STATEMENT_PATH = "accessibilite"
STATEMENT_TITLE = "Déclaration d'accessibilité"
STATUS = "non conforme"
MENTION = f"Accessibilité : {STATUS}"  # on every page, linking to the statement (RGAA's required mention)
# Its one home: docs/accessibilite.md (the repository is the platform's installation, /opt/pre-eval).
STATEMENT_FILE = Path(__file__).resolve().parent.parent / "docs" / "accessibilite.md"
MISSING_STATEMENT = ("La déclaration d'accessibilité est introuvable sur ce serveur (docs/accessibilite.md) : "
                     "signalez-le à l'exploitant de la plateforme.")

# Keyboard focus drawn on every control, the chart toolbars included, which Streamlit shows only on
# hover (WCAG 2.4.7); key figures' labels, values and changes wrapped, never cut off with « … » (Streamlit
# cuts them to one line); the print layout: no sidebar, header or toolbars, and each table printed as an HTML
# table with all its columns (on screen `st.dataframe` is a canvas that prints as a cropped image).
FOCUS_COLOR = "#0063cb"
PRINT_ONLY = "print-only"  # the class of what is printed and never shown on screen
STYLE = f"""<style>
:focus-visible {{ outline: 3px solid {FOCUS_COLOR} !important; outline-offset: 2px !important; }}
[data-testid="stElementToolbar"]:focus-within {{ opacity: 1 !important; visibility: visible !important;
                                                 z-index: 1000 !important; }}
[data-testid="stMetric"] * {{ white-space: normal !important; text-overflow: clip !important;
                              overflow-wrap: break-word; }}
[data-testid="stMetric"] div:not(:has(> svg)) {{ overflow: visible !important; }}
[data-testid="stMetric"] div:has(> [data-testid="stMetricDelta"]) {{ flex-wrap: wrap; }}
.print-only {{ display: none; }}
[data-testid="stElementContainer"]:has(.print-only),
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script:only-child) {{ display: none; }}
@media print {{
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stElementToolbar"], [data-testid="stToolbar"], [data-testid="stDataFrame"],
  [data-testid="stDownloadButton"], [data-testid="stDecoration"] {{ display: none !important; }}
  [data-testid="stElementContainer"]:has(.print-only) {{ display: block !important; }}
  .print-only {{ display: table !important; width: 100%; border-collapse: collapse; font-size: 9pt; }}
  .print-only th, .print-only td {{ border: 1px solid #666666; padding: 2px 4px; text-align: left;
                                    vertical-align: top; }}
  .print-only tr {{ break-inside: avoid; }}
}}
</style>"""
# Streamlit writes `<html lang="en">` into its page; the content is French (RGAA 8.3, WCAG 3.1.1).
LANGUAGE = '<script>document.documentElement.lang = "fr";</script>'


def frame() -> None:
    """The page language and the styles above; nothing visible is drawn."""
    st.html(STYLE)  # style only: Streamlit puts it in its event container, taking no room
    st.html(LANGUAGE, unsafe_allow_javascript=True)


def statement_markdown() -> str:
    """The statement as published, without its own h1 (the page has one)."""
    return re.sub(r"\A# .*\n+", "", STATEMENT_FILE.read_text(encoding="utf-8"))


def statement() -> None:
    try:
        text = statement_markdown()
    except OSError:
        st.warning(MISSING_STATEMENT)
        return
    st.markdown(text)

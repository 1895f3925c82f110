"""Accessibility of the dashboard (RGAA 4.1, WCAG 2.1 AA), module by module: the chart colours' contrast
computed here by the WCAG formula, charts named for screen readers, changes of key figures told in words
and with their unit, tables printable, the histogram's bins, and the accessibility statement's form.
Every expected value is written here by hand; axe-core runs on every page in tests/e2e/test_browser.py."""

from __future__ import annotations

import sys
import tomllib

import altair as alt
import polars as pl
import pytest

from pipelines.warehouse.catalogue import Indicator
from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "dashboards"))
import accessibility
import display
import frames

STATEMENT = (REPO_ROOT / "docs" / "accessibilite.md").read_text(encoding="utf-8")


# --- contrast, by WCAG 2.1's own definitions (relative luminance, contrast ratio) ----------------------------


def luminance(color: str) -> float:
    channels = [int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str = "#ffffff") -> float:
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_gives_the_known_ratios():
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey passing 4.5:1 on white
    # What the demo measured before (issue 17): Streamlit's green and the old « Autres territoires » blue.
    assert contrast("#7defa1") == pytest.approx(1.43, abs=0.01)
    assert contrast("#9ecae1") == pytest.approx(1.75, abs=0.01)


def test_chart_colours_reach_3_to_1_and_chart_text_4_5_to_1_on_the_white_page():
    for color in [*display.PALETTE, display.CHOSEN_COLOR, display.OTHERS_COLOR, accessibility.FOCUS_COLOR]:
        assert contrast(color) >= 3.0, color
    assert contrast(display.CHART_TEXT) >= 4.5
    assert len(set(display.PALETTE)) == len(display.PALETTE) >= 9  # Listes d'attente draws 9 structures
    assert display.CHOSEN_COLOR != display.OTHERS_COLOR


def test_the_page_is_always_light_with_dark_text():
    """Charts and captions are measured against white: the theme must not follow a dark system setting."""
    theme = tomllib.loads((REPO_ROOT / "dashboards" / ".streamlit" / "config.toml").read_text())["theme"]
    assert theme["base"] == "light"
    assert contrast(theme["textColor"]) >= 15  # Streamlit's default (#31333f) left captions at 3.88:1


# --- charts, key figures, tables ------------------------------------------------------------------------------


@pytest.fixture
def drawn(monkeypatch):
    """What `display` hands to Streamlit's charts and metrics, recorded instead of drawn."""
    calls: dict[str, list] = {"altair_chart": [], "metric": []}
    monkeypatch.setattr(display.st, "altair_chart", lambda spec, **kw: calls["altair_chart"].append((spec, kw)))
    monkeypatch.setattr(display.st, "metric", lambda *args, **kw: calls["metric"].append((args, kw)))
    monkeypatch.setattr(display.st, "caption", lambda text: None)
    return calls


def test_a_chart_is_named_after_its_title_and_drawn_in_the_accessible_palette(drawn):
    bars = alt.Chart(pl.DataFrame({"x": [1, 2], "y": ["a", "b"]})).mark_bar().encode(x="x:Q", y="y:N", color="y:N")
    display.chart(bars.properties(title="Entrées par tranche d'âge, 2023"), "Source : dépôts des PRE.")
    spec, kwargs = drawn["altair_chart"][0]
    assert kwargs["alt"] == ("Graphique : Entrées par tranche d'âge, 2023. Ses données sont dans un tableau de "
                             "cette page.")
    config = spec.to_dict()["config"]
    assert config["range"]["category"] == ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#7b61a8", "#8c6d1f",
                                           "#525252", "#b8336a", "#0e7490", "#000000"]
    assert config["axis"]["labelColor"] == config["axis"]["titleColor"] == "#3a3a3a"
    assert config["legend"]["labelColor"] == config["title"]["color"] == "#3a3a3a"
    assert config["locale"]["number"]["decimal"] == ","
    assert config["mark"]["aria"] is False  # marks hidden from screen readers: the chart is named, its data tabled

    display.chart(bars.properties(title="Sans importance"), "Note.", description="Courbes d'attente par structure.")
    assert drawn["altair_chart"][1][1]["alt"] == "Courbes d'attente par structure."


def test_line_charts_tell_series_apart_by_their_dash_too():
    df = pl.DataFrame({"periode": ["2023", "2024"], "series": ["Marne", "Marne"], "valeur": [1.0, 2.0],
                       "masque": [False, False], "completeness": ["complètes", "complètes"]})
    layers = display.line_chart(df, title="T", y_title="Y", fmt="entier").to_dict()["layer"]
    line = next(layer for layer in layers if layer["mark"]["type"] == "line")
    assert line["encoding"]["strokeDash"]["field"] == line["encoding"]["color"]["field"] == "series"


@pytest.mark.parametrize(("change", "fmt", "unit", "expected"), [
    (12, "entier", "enfants", "+12 enfants"),
    (1, "entier", "enfants", "+1 enfant"),
    (-1234, "entier", "séances", "-1 234 séances"),
    (1, "entier", "parcours", "+1 parcours"),
    (-1.5, "decimal1", "familles par référent", "-1,5 famille par référent"),
    (-0.1, "decimal1", "actions par enfant", "-0,1 action par enfant"),
    (0.0, "decimal1", "mois", "±0,0 mois"),
    (2.5, "decimal1", "mois", "+2,5 mois"),
    (2.3, "pourcentage", "%", "+2,3 points"),
    (-1.0, "pourcentage", "%", "-1,0 point"),
    (7, "euros", "€", "+7 €"),
])
def test_a_change_carries_its_unit(change, fmt, unit, expected):
    assert display.delta_text(change, fmt, unit) == expected


def _indicator(sens: str, fmt: str = "entier", unite: str = "enfants") -> Indicator:
    return Indicator(code="essai", libelle="Essai", definition="Définition.", unite=unite, categories=None,
                     effectif="les enfants", format=fmt, sens=sens, theme="essai", sql="", nature="compte", base=None)


@pytest.mark.parametrize(("sens", "before", "after", "words", "color"), [
    ("hausse_favorable", 10.0, 14.0, "favorable", "normal"),
    ("hausse_favorable", 14.0, 10.0, "défavorable", "normal"),
    ("baisse_favorable", 10.0, 14.0, "défavorable", "inverse"),
    ("baisse_favorable", 14.0, 10.0, "favorable", "inverse"),
    ("neutre", 10.0, 14.0, None, "off"),
    ("hausse_favorable", 10.0, 10.0, None, "normal"),
])
def test_a_key_figure_says_in_words_whether_its_change_is_good(drawn, sens, before, after, words, color):
    row = {"valeur": after, "effectif": 40, "masque": False}
    display.metric(_indicator(sens), row, {"valeur": before, "effectif": 40, "masque": False})
    (label, value, delta), kwargs = drawn["metric"][0]
    assert (label, value) == ("Essai", display.formats.number(after, 0))
    assert delta.endswith(" enfants") or delta.endswith(" enfant")
    assert kwargs["delta_description"] == words and kwargs["delta_color"] == color


def test_a_printed_table_has_every_column_and_escapes_its_cells():
    shown = pl.DataFrame({"Fichier": ["<script>alert(1)</script>", "a & b"], "Statut": ["Accepté", None]})
    html = display.print_table(shown)
    assert html.startswith('<table class="print-only"><thead><tr><th scope="col">Fichier</th>'
                           '<th scope="col">Statut</th></tr></thead>')
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>Accepté</td>" in html
    assert "<td>a &amp; b</td><td></td>" in html and "<script>" not in html


def test_the_print_class_is_hidden_on_screen_and_shown_in_print():
    style = accessibility.STYLE
    screen, printed = style.split("@media print")
    assert ".print-only { display: none; }" in screen and ".print-only { display: table !important;" in printed
    assert '[data-testid="stSidebar"]' in printed and ":focus-visible" in screen


# --- the histogram of Territoires: bins drawn and tabled alike ---------------------------------------------


def test_histogram_bins_are_round_cover_every_value_and_count_the_chosen_ones():
    bins, decimals = frames.histogram([12.5, 47.3, 47.9, 80.0, 100.0], [False, True, False, False, False], 1)
    assert decimals == 0
    assert bins.height == 19  # [10 ; 15[ … [100 ; 105[: width 5, the narrowest of 1, 2, 5 × 10^k within 20 bins
    assert bins.row(0) == (10.0, 15.0, 1, 0)
    assert bins.filter(pl.col("debut") == 45.0).row(0) == (45.0, 50.0, 2, 1)
    assert bins.row(-1) == (100.0, 105.0, 1, 0)
    assert bins["territoires"].sum() == 5 and bins["choisis"].sum() == 1


def test_histogram_bins_never_split_below_the_shown_precision():
    bins, decimals = frames.histogram([0.3, 0.31, 0.35], [True, False, False], 1)
    assert (bins.rows(), decimals) == ([(0.3, 0.4, 3, 1)], 1)
    bins, decimals = frames.histogram([5.0], [True], 0)
    assert (bins.rows(), decimals) == ([(5.0, 6.0, 1, 1)], 0)
    bins, _ = frames.histogram([1200.0, 15000.0, 7000.0], [True, False, False], 0)
    assert bins.height == 15 and bins.row(0) == (1000.0, 2000.0, 1, 1)
    assert frames.histogram([], [], 1)[0].height == 0


# --- the accessibility statement -----------------------------------------------------------------------------


def test_the_statement_has_the_rgaa_form():
    headings = [line for line in STATEMENT.splitlines() if line.startswith("#")]
    assert headings == [
        "# Déclaration d'accessibilité",
        "## État de conformité",
        "## Résultats des tests",
        "## Contenus non accessibles",
        "### Non-conformités",
        "### Dérogations pour charge disproportionnée",
        "### Contenus non soumis à l'obligation d'accessibilité",
        "## Établissement de cette déclaration",
        "### Technologies utilisées pour la réalisation du tableau de bord",
        "### Environnement de test",
        "### Outils pour évaluer l'accessibilité",
        "### Pages du tableau de bord ayant fait l'objet de la vérification",
        "## Retour d'information et contact",
        "## Voies de recours",
    ]
    assert "Cette déclaration a été établie le 2 décembre 2026." in STATEMENT
    assert "est **non conforme** avec le référentiel général d'amélioration de\nl'accessibilité (RGAA), version 4.1" \
        in STATEMENT
    assert accessibility.MENTION == "Accessibilité : non conforme"
    assert "Défenseur des droits, Libre réponse\n  71120, 75342 Paris CEDEX 07" in STATEMENT


def test_the_statement_names_the_versions_installed():
    """A new Streamlit, Altair or axe-core calls for measuring again, and for a new statement."""
    import importlib.metadata
    from pathlib import Path

    import axe_playwright_python

    axe = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text(encoding="utf-8")[:40]
    assert "axe v4.12.1" in axe and "axe-core 4.12.1" in STATEMENT
    assert f"Streamlit {importlib.metadata.version('streamlit')}" in STATEMENT
    assert f"Altair {importlib.metadata.version('altair')}" in STATEMENT
    assert f"axe-playwright-python {importlib.metadata.version('axe-playwright-python')}" in STATEMENT


def test_the_page_shows_the_statement_without_its_own_heading():
    text = accessibility.statement_markdown()
    assert text.startswith("L'Agence nationale de la cohésion des territoires (ANCT)")
    assert "# Déclaration d'accessibilité" not in text and "## Voies de recours" in text
    assert display.page_title("Territoires") == "Territoires — Évaluation des PRE"

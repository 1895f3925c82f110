"""The printable territory sheet (dashboards/territory_sheet.py: « Imprimer / PDF » on Synthèse and Territoires),
rendered by PDFium (pypdfium2): page count, page size, text and pixels. The table is made the way the pages make it
(`display.displayed`, from a hand-built frame); every expected text is written here by hand. The attack: a masked row
that still carries its value and interval must print « secret statistique », never them; a hostile territory name
must stay inert text and give a safe file name."""

from __future__ import annotations

import re
import sys
from datetime import date, datetime

import polars as pl
import pypdfium2 as pdfium
import pytest

from pipelines.access.authorisations import Person
from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "dashboards"))
import display
import territory_sheet
from display import Column

GENERATED = datetime(2026, 3, 5, 14, 5)
A4 = (595.28, 841.89)  # points
SOURCE = "Source : dépôts des PRE, données extraites jusqu'au 31/12/2024 (date d'extraction la plus récente)."
# The columns of Synthèse's table for a territory without an upper level (display's own Column, as the page).
KEY_COLUMNS = [Column("indicateur", "Indicateur"), Column("unite", "Unité"),
               Column("valeur", "France entière", "*", "masque"), Column("intervalle", "IC à 95 %", None, "masque"),
               Column("effectif", "Effectif", "entier", "masque")]


def key_figures() -> pl.DataFrame:
    """Synthèse's table as displayed, from published rows; the last one masked but still carrying its figures."""
    rows = [("Enfants suivis", "enfants", "entier", 1234.0, None, None, 1234, False),
            ("Part des enfants résidant en QPV", "%", "pourcentage", 45.2, 40.06, 50.34, 512, False),
            ("Coût par enfant", "euros", "euros", 1875.4, None, None, 1234, False),
            ("Part des sorties avec objectifs atteints", "%", "pourcentage", 81.25, 60.24, 93.08, 8, True)]
    frame = pl.DataFrame([{"indicateur": r[0], "unite": r[1], "format": r[2], "valeur": r[3],
                           "intervalle": display.interval_text(r[4], r[5], r[2]), "effectif": r[6], "masque": r[7]}
                          for r in rows])
    return display.displayed(frame, KEY_COLUMNS)


def sheet(table: pl.DataFrame, territory: str = "Reims (PRE51454)", **other) -> territory_sheet.Sheet:
    return territory_sheet.Sheet(
        page="Synthèse", territory=territory, period="2024",
        facts=[("Territoire", territory), ("Période", "2024 (année civile)"),
               ("Périmètre de consultation", "coordination d'un PRE : Reims (PRE51454), Épernay (PRE51230)")],
        table_title="Tableau des chiffres clés", table=table,
        notices=["Données en continu, provisoires : elles changent à chaque dépôt accepté."],
        notes=[f"{SOURCE} 1 valeur non affichée : secret statistique.",
               territory_sheet.extraction_dates([("Reims (PRE51454)", date(2024, 12, 31))])],
        source=SOURCE, **other)


def read(pdf: bytes) -> tuple[list[tuple[float, float]], list[str]]:
    """Each page's size (points) and text, as PDFium reads them."""
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = [doc[i] for i in range(len(doc))]
        return ([page.get_size() for page in pages],
                [page.get_textpage().get_text_range().replace("\r\n", "\n") for page in pages])
    finally:
        doc.close()


def assert_a4(sizes: list[tuple[float, float]]) -> None:
    for width, height in sizes:
        assert width == pytest.approx(A4[0], abs=1) and height == pytest.approx(A4[1], abs=1)


def test_the_sheet_prints_the_page_s_figures_as_on_screen_and_no_masked_one():
    sizes, texts = read(territory_sheet.render(sheet(key_figures()), GENERATED))
    assert len(sizes) == 1
    assert_a4(sizes)
    lines = texts[0].splitlines()
    for line in ["Fiche territoire — Reims (PRE51454) — 2024",
                 "Période : 2024 (année civile)",
                 "Périmètre de consultation : coordination d'un PRE : Reims (PRE51454), Épernay (PRE51230)",
                 "Données en continu, provisoires : elles changent à chaque dépôt accepté.",
                 "Indicateur Unité France entière IC à 95 % Effectif",
                 "Enfants suivis enfants 1 234 1 234",
                 "Part des enfants résidant en QPV % 45,2 % [40,1 ; 50,3] 512",
                 "Coût par enfant euros 1 875 € 1 234",
                 "Part des sorties avec objectifs atteints % secret statistique secret statistique secret statistique",
                 "Date d'extraction des données en vigueur : Reims (PRE51454), le 31/12/2024.",
                 SOURCE,
                 "Évaluation des PRE, page « Synthèse » du tableau de bord — fiche générée le 05/03/2026 à 14:05.",
                 "page 1 / 1"]:
        assert line in lines
    for hidden in ("81,3", "81,2", "60,2", "93,1"):  # the masked row's value and interval
        assert hidden not in texts[0]


def test_french_characters_print_and_hostile_text_stays_inert():
    name = "L’Haÿ-les-Roses – Œuvre « Cœur » 12\u202f345 € \u202e<script>\x07"
    _, texts = read(territory_sheet.render(sheet(key_figures(), territory=name), GENERATED))
    assert "Territoire : L’Haÿ-les-Roses – Œuvre « Cœur » 12\u202f345 € <script>" in texts[0].splitlines()
    assert "\u202e" not in texts[0] and "\x07" not in texts[0]  # no bidirectional override, no control character


def test_nothing_is_drawn_in_the_margins():
    """A word longer than any column (and than the page) is cut, not drawn beyond the page's edge."""
    long = "A" * 300
    wide = pl.DataFrame({"Indicateur": [long, "Enfants suivis"], "Unité": ["%", "enfants"],
                         "Reims (PRE51454)": ["secret statistique", "1 234"], "IC à 95 %": ["", ""],
                         "Effectif": ["secret statistique", "1 234"], "51 — Marne": ["45,2 %", "4 321"],
                         "Effectif (51 — Marne)": ["1 234", "4 321"]})
    doc = pdfium.PdfDocument(territory_sheet.render(sheet(wide, territory=long), GENERATED))
    try:
        image = doc[0].render(scale=1).to_pil().convert("L")  # one pixel a point: 595 × 842
    finally:
        doc.close()
    band = round(8 * 72 / 25.4)  # 8 mm, within the 14 mm margins and below the footer
    width, height = image.size
    for box in [(0, 0, band, height), (width - band, 0, width, height), (0, 0, width, band),
                (0, height - band, width, height)]:
        assert image.crop(box).getextrema() == (255, 255), box
    assert image.crop((band, band, width - band, height - band)).getextrema()[0] < 100  # text was drawn


def test_a_heading_as_wide_as_its_column_stays_whole():
    """Synthèse's table of a site beside its département: « Effectif » is its column's widest word."""
    secret = "secret statistique"
    rows = [("Enfants suivis", "enfants", "111", "", "111", "670", "670"),
            ("Durée moyenne des parcours terminés", "mois", "13,7", "", "54", secret, secret),
            ("Part des parcours en quartier prioritaire", "%", "78,6 %", "[70,1 ; 85,2]", "112", "83,6 %", "676"),
            ("Actions par enfant suivi", "actions par enfant", "2,6", "", "111", "2,8", "670"),
            ("Coût des actions par enfant suivi", "€", "443 €", "", "111", "439 €", "670")]
    table = pl.DataFrame(rows, schema=["Indicateur", "Unité", "Reims (PRE51454)", "IC à 95 %", "Effectif",
                                       "51 — Marne", "Effectif (51 — Marne)"], orient="row")
    _, texts = read(territory_sheet.render(sheet(table), GENERATED))
    headings = texts[0].split("Enfants suivis enfants")[0].split("Tableau des chiffres clés")[1]
    assert re.findall(r"Effecti\S*", headings) == ["Effectif", "Effectif"]


def test_a_long_table_fits_in_two_pages_and_says_what_it_leaves_out():
    names = [f"Site {i:03d} (PRE{i:05d})" for i in range(1, 301)]
    table = pl.DataFrame({"Rang": [str(i) for i in range(1, 301)], "Territoire": names,
                          "Part des enfants résidant en QPV (%)": ["45,2 %"] * 300, "Effectif": ["1 234"] * 300,
                          "Borne basse (IC à 95 %)": ["40,1 %"] * 300, "Borne haute (IC à 95 %)": ["50,3 %"] * 300,
                          "Sites aux données complètes (%)": ["100,0 %"] * 300,
                          "Territoire choisi": ["oui" if i == 250 else "" for i in range(1, 301)]})
    pinned = [i == 250 for i in range(1, 301)]
    sizes, texts = read(territory_sheet.render(sheet(table, pinned=pinned), GENERATED))
    assert len(sizes) == 2
    assert_a4(sizes)
    text = " ".join(" ".join(texts).split())
    found = re.search(r"(\d+) lignes sur 300 du tableau ne figurent pas sur cette fiche, limitée à deux pages : le "
                      r"tableau complet est sur la page « Synthèse » du tableau de bord et dans ses téléchargements "
                      r"CSV et Excel\.", text)
    assert found
    printed = [n for n in names if n in text]
    assert len(printed) + int(found.group(1)) == 300
    # The first rows in the page's order, then the chosen territory's, far down the table.
    assert printed == [*names[:len(printed) - 1], "Site 250 (PRE00250)"]
    assert "250 Site 250 (PRE00250) 45,2 % 1 234 40,1 % 50,3 % 100,0 % oui" in texts[1].splitlines()
    assert texts[0].splitlines()[-1] == "page 1 / 2" and texts[1].splitlines()[-1] == "page 2 / 2"
    assert "Rang Territoire" in texts[1]  # the headings again atop page 2

    # A table that takes two pages whole is not cut.
    sizes, texts = read(territory_sheet.render(sheet(table.head(45), pinned=pinned[:45]), GENERATED))
    assert len(sizes) == 2
    text = " ".join(" ".join(texts).split())
    assert "ne figurent pas" not in text and all(n in text for n in names[:45])


@pytest.mark.parametrize(("parts", "expected"), [
    (("../../x<script>", "2024"), "fiche-x-script-2024.pdf"),
    (("Reims (PRE51454)", "2024-2025", "part_qpv"), "fiche-reims-pre51454-2024-2025-part-qpv.pdf"),
    (("51 — Marne", "2024"), "fiche-51-marne-2024.pdf"),
    (("Saint-Œuf « Cœur » \\ :*?\"|\x00", "2024"), "fiche-saint-oeuf-coeur-2024.pdf"),
    (("France entière", "2023"), "fiche-france-entiere-2023.pdf"),
])
def test_file_names_are_safe(parts, expected):
    assert territory_sheet.file_name(*parts) == expected


def test_a_very_long_name_gives_a_short_file_name():
    name = territory_sheet.file_name("Très " * 100, "2024")
    assert len(name) <= 90 and name.endswith(".pdf") and re.fullmatch(r"fiche(-[a-z0-9]+)+\.pdf", name)


def test_extraction_dates_name_each_site_or_their_range():
    reims, epernay = ("Reims (PRE51454)", date(2024, 12, 31)), ("Épernay (PRE51230)", date(2024, 11, 30))
    assert territory_sheet.extraction_dates([reims]) == (
        "Date d'extraction des données en vigueur : Reims (PRE51454), le 31/12/2024.")
    vitry = ("Vitry-le-François (PRE51649)", date(2025, 1, 8))
    assert territory_sheet.extraction_dates([vitry, reims, epernay]) == (  # in alphabetical order, accents aside
        "Dates d'extraction des données en vigueur : Épernay (PRE51230), le 30/11/2024 ; "
        "Reims (PRE51454), le 31/12/2024 ; Vitry-le-François (PRE51649), le 08/01/2025.")
    many = [(f"Site {i}", date(2024, 10, i)) for i in range(1, 13)]
    assert territory_sheet.extraction_dates(many) == (
        "Dates d'extraction des données en vigueur : 12 sites, du 01/10/2024 au 12/10/2024.")
    assert territory_sheet.extraction_dates([reims], others=3) == (
        "Date d'extraction des données en vigueur : Reims (PRE51454), le 31/12/2024. Dates d'extraction des 3 "
        "autres sites du territoire non détaillées (réservées aux personnes qui suivent leurs dépôts).")
    assert territory_sheet.extraction_dates([reims], others=1) == (
        "Date d'extraction des données en vigueur : Reims (PRE51454), le 31/12/2024. Date d'extraction de l'autre "
        "site du territoire non détaillée (réservée aux personnes qui suivent ses dépôts).")
    assert territory_sheet.extraction_dates([], others=4) == (  # a territory none of whose sites the reader follows
        "Dates d'extraction des 4 sites du territoire non détaillées (réservées aux personnes qui suivent leurs "
        "dépôts).")
    assert territory_sheet.extraction_dates([]) == (
        "Dates d'extraction : aucune donnée en vigueur pour ce territoire.")


@pytest.mark.parametrize(("role", "codes", "expected"), [
    ("departement", ("51",), "département (DDETS, préfecture) : 51 — Marne"),
    ("region", ("44",), "région (DREETS) : 44 — Grand Est"),
    ("national", ("FR",), "national (ANCT) : France entière"),
])
def test_the_sheet_names_the_reader_s_perimeter(role, codes, expected):
    assert display.perimeter(Person("personne@essai.fr", role, codes)) == expected

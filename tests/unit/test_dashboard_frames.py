"""The pure frame builders of « Évaluer une action » and of Coopération's partner × volet matrix
(dashboards/frames.py), on small hand-built published frames: every expected value is written here by hand.
The attack: a masked row that still carries a value must never lend it to a cell, a gap, a chart or a wait."""

from __future__ import annotations

import datetime as dt
import sys

import polars as pl
import pytest

from support import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "dashboards"))
import frames

SCHEMA = {"indicateur": pl.String, "categorie": pl.String, "niveau": pl.String, "territoire": pl.String,
          "periode": pl.String, "valeur": pl.Float64, "effectif": pl.Int64, "masque": pl.Boolean}


def published(*rows: tuple) -> pl.DataFrame:
    """(indicateur, categorie, valeur, effectif, masque[, periode]) rows of one territory."""
    return pl.DataFrame([{"indicateur": r[0], "categorie": r[1], "niveau": "pre", "territoire": "PRE51230",
                          "periode": r[5] if len(r) > 5 else "2024", "valeur": r[2], "effectif": r[3],
                          "masque": r[4]} for r in rows], schema=SCHEMA)


def test_default_type_is_the_url_s_then_psychomotricity_then_the_first():
    types = ["ACCOMPAGNEMENT_SCOLARITE", "PSYCHOMOTRICITE", "ORTHOPHONIE"]
    assert frames.default_type(types) == "PSYCHOMOTRICITE"
    assert frames.default_type(types, "ORTHOPHONIE") == "ORTHOPHONIE"
    assert frames.default_type(types, "'; drop table x") == "PSYCHOMOTRICITE"
    assert frames.default_type(["ORTHOPHONIE", "LOISIRS"], None) == "ORTHOPHONIE"
    assert frames.DEFAULT_TYPE in frames.action_types()


def test_action_figures_take_the_type_s_rows_of_each_territory_and_hide_masked_ones():
    site = published(("enfants_type_action", "PSYCHOMOTRICITE", 14.0, 14, False),
                     ("enfants_type_action", "ORTHOPHONIE", 30.0, 30, False),
                     ("taux_assiduite_type_action", "PSYCHOMOTRICITE", 81.25, 6, True))
    dept = published(("enfants_type_action", "PSYCHOMOTRICITE", 52.0, 52, False),
                     ("taux_assiduite_type_action", "PSYCHOMOTRICITE", 77.5, 40, False))
    df = frames.action_figures([site, dept], "PSYCHOMOTRICITE", ["enfants_type_action", "taux_assiduite_type_action"])
    assert df["indicateur"].to_list() == ["enfants_type_action", "taux_assiduite_type_action"]
    assert df["format"].to_list() == ["entier", "pourcentage"]
    assert df.select("v0", "n0", "m0", "v1", "n1", "m1").rows() == [
        (14.0, 14, False, 52.0, 52, False),
        (None, None, True, 77.5, 40, False),  # the site's masked 81.25 is not carried
    ]
    # A type without any row: nothing computed, nothing masked.
    none = frames.action_figures([site], "LOISIRS", ["enfants_type_action"])
    assert none.select("v0", "n0", "m0").rows() == [(None, None, False)]


def test_every_key_figure_of_the_page_is_in_the_catalogue():
    assert frames.known_codes(frames.ACTION_CODES) == list(frames.ACTION_CODES)
    assert frames.known_codes(["progression_note", "pas_un_indicateur"]) == ["progression_note"]


DOMAINS = {"scolarite": "Scolarité", "comportement": "Comportement", "sante": "Santé"}


def test_progression_compares_with_and_without_the_action_and_never_a_masked_value():
    df = published(
        (frames.WITH, "PSYCHOMOTRICITE:scolarite", 0.5, 20, False),
        (frames.WITHOUT, "PSYCHOMOTRICITE:scolarite", 0.2, 100, False),
        (frames.ALL, "scolarite", 0.25, 120, False),
        (frames.WITH, "PSYCHOMOTRICITE:comportement", 0.9, 4, True),  # masked, value still in the frame
        (frames.WITHOUT, "PSYCHOMOTRICITE:comportement", -0.1, 50, False),
        (frames.ALL, "comportement", -0.05, 54, False),
        (frames.WITH, "ORTHOPHONIE:scolarite", 3.0, 40, False),  # another type
        (frames.WITH, "PSYCHOMOTRICITE:sante", None, 0, False),  # no pathway: undefined, not masked
        (frames.WITHOUT, "PSYCHOMOTRICITE:sante", 0.3, 12, False),
    )
    wide = frames.progression(df, "PSYCHOMOTRICITE", DOMAINS)
    assert wide["domaine"].to_list() == ["Scolarité", "Comportement", "Santé"]
    rows = {r["code"]: r for r in wide.iter_rows(named=True)}
    assert (rows["scolarite"]["avec"], rows["scolarite"]["n_avec"], rows["scolarite"]["sans"],
            rows["scolarite"]["n_sans"], rows["scolarite"]["tous"]) == (0.5, 20, 0.2, 100, 0.25)
    assert rows["scolarite"]["ecart"] == pytest.approx(0.3)
    assert rows["comportement"]["m_avec"] and rows["comportement"]["avec"] is None
    assert rows["comportement"]["n_avec"] is None
    assert rows["comportement"]["ecart"] is None  # never derived from the masked 0.9
    assert rows["sante"]["avec"] is None and not rows["sante"]["m_avec"] and rows["sante"]["ecart"] is None
    assert rows["sante"]["tous"] is None and not rows["sante"]["m_tous"]  # no row at all

    long = frames.progression_long(wide)
    assert sorted(long.rows()) == sorted([
        ("Scolarité", "Parcours avec l'action", 0.5, 20), ("Scolarité", "Parcours sans l'action", 0.2, 100),
        ("Comportement", "Parcours sans l'action", -0.1, 50), ("Santé", "Parcours sans l'action", 0.3, 12)])


WAIT_COLUMNS = ("code_pre", "type_action", "structure", "fenetre", "premiere_action", "debut", "fin", "complete",
                "demandes", "valeur", "borne_basse", "borne_haute", "masque")


def waits_table(*rows: tuple) -> pl.DataFrame:
    schema = {"code_pre": pl.String, "type_action": pl.String, "structure": pl.String, "fenetre": pl.String,
              "premiere_action": pl.Date, "debut": pl.Date, "fin": pl.Date, "complete": pl.Boolean,
              "demandes": pl.Int64, "valeur": pl.Float64, "borne_basse": pl.Float64, "borne_haute": pl.Float64,
              "masque": pl.Boolean}
    return pl.DataFrame([dict(zip(WAIT_COLUMNS, r, strict=True)) for r in rows], schema=schema)


D = dt.date


def test_waits_keep_the_site_and_type_order_the_windows_and_flag_incomplete_ones():
    first = D(2023, 9, 4)
    df = waits_table(
        ("PRE51230", "PSYCHOMOTRICITE", "CMPP", "apres", first, D(2023, 9, 4), D(2024, 9, 3), False,
         25, 120.0, 90.0, None, False),
        ("PRE51230", "PSYCHOMOTRICITE", "CMPP", "avant", first, D(2022, 9, 4), D(2023, 9, 3), True,
         31, 412.0, 350.0, 480.0, False),
        ("PRE51230", "PSYCHOMOTRICITE", "PSYCHOMOTRICIEN", "avant", first, D(2022, 9, 4), D(2023, 9, 3), True,
         7, 200.0, 150.0, 260.0, True),  # masked: its figures must not come through
        ("PRE51230", "ORTHOPHONIE", "CMPP", "avant", first, D(2022, 9, 4), D(2023, 9, 3), True,
         50, 10.0, 5.0, 15.0, False),
        ("PRE51454", "PSYCHOMOTRICITE", "CMPP", "avant", first, D(2022, 9, 4), D(2023, 9, 3), True,
         60, 11.0, 6.0, 16.0, False),
    )
    structures = {"PSYCHOMOTRICIEN": "Psychomotricien", "CMPP": "Centre médico-psycho-pédagogique"}
    out = frames.waits(df, "PRE51230", "PSYCHOMOTRICITE", structures)
    assert out.select("structure", "fenetre", "demandes", "valeur", "borne_basse", "borne_haute", "masque",
                      "etat").rows() == [
        ("Psychomotricien", "12 mois avant", None, None, None, None, True, "complète"),
        ("Centre médico-psycho-pédagogique", "12 mois avant", 31, 412.0, 350.0, 480.0, False, "complète"),
        ("Centre médico-psycho-pédagogique", "12 mois après", 25, 120.0, 90.0, None, False, frames.INCOMPLETE),
    ]
    assert out["debut"].to_list() == [D(2022, 9, 4), D(2022, 9, 4), D(2023, 9, 4)]
    assert out["fin"].to_list() == [D(2023, 9, 3), D(2023, 9, 3), D(2024, 9, 3)]
    assert set(out["premiere_action"].to_list()) == {first}
    assert frames.waits(df, "PRE51230", "LOISIRS", structures).is_empty()


def test_partner_volet_matrix_has_every_pair_of_the_period_and_hides_masked_counts():
    df = published(
        ("parcours_partenaire_volet", "CMPP:SANTE", 18.0, 18, False),
        ("parcours_partenaire_volet", "CMPP:SANTE", 99.0, 99, False, "2023"),  # another period
        ("parcours_partenaire_volet", "CMPP:SCOLARITE", 0.0, 0, False),
        ("parcours_partenaire_volet", "EDUCATION_NATIONALE:SCOLARITE", 5.0, 5, True),
        ("actions_par_partenaire", "CMPP", 18.0, 18, False),
    )
    partners = {"EDUCATION_NATIONALE": "Éducation nationale", "CMPP": "CMPP"}
    volets = {"SCOLARITE": "Scolarité", "SANTE": "Santé"}
    out = frames.partner_volet_matrix(df, "2024", partners, volets)
    assert out.rows() == [
        ("Éducation nationale", "Scolarité", None, True),
        ("Éducation nationale", "Santé", None, False),
        ("CMPP", "Scolarité", 0.0, False),
        ("CMPP", "Santé", 18.0, False),
    ]


def test_key_figure_labels_drop_the_type_on_a_page_about_one_type():
    assert frames.short_label("Taux d'assiduité par type d'action") == "Taux d'assiduité"
    assert frames.short_label("Coût par enfant bénéficiaire par type d'action") == "Coût par enfant bénéficiaire"
    assert frames.short_label("Parcours actifs") == "Parcours actifs"

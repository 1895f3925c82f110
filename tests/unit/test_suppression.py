"""Statistical confidentiality (indicators.md, "Small cells"): threshold 11 by default, primary and
secondary suppression. Every expected mask below was worked out by hand from the rule, not from the code."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.publication import disclosure as suppression
from pipelines.publication.disclosure import SECRET, cell, mask, threshold


def volets(counts: list[int | None], territoire: str = "PRE51454") -> pl.DataFrame:
    return pl.DataFrame({
        "territoire": [territoire] * len(counts),
        "volet": ["SCOLARITE", "EDUCATIF", "PARENTALITE", "SANTE"][: len(counts)],
        "actions": counts,
        "effectif": counts,
    }, schema={"territoire": pl.String, "volet": pl.String, "actions": pl.Int64, "effectif": pl.Int64})


def indicateurs(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "indicateur": pl.String, "categorie": pl.String, "niveau": pl.String, "territoire": pl.String,
        "periode": pl.String, "valeur": pl.Float64, "effectif": pl.Int64})


# --- threshold -----------------------------------------------------------------------------------------------


def test_threshold_default_is_11(monkeypatch):
    monkeypatch.delenv("PRE_SEUIL_SECRET", raising=False)
    assert threshold() == 11


def test_threshold_from_environment(monkeypatch):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "5")
    with pytest.raises(ValueError, match="DEROGATION"):  # below 11 only with the analysts' derogation
        threshold()
    monkeypatch.setenv("PRE_SEUIL_SECRET_DEROGATION", "oui")
    assert threshold() == 5
    out = mask(pl.DataFrame({"v": [1.0, 2.0], "effectif": [4, 5]}), values=["v"])
    assert out["masque"].to_list() == [True, False]


@pytest.mark.parametrize("raw", ["0", "-3", "onze", "11.5"])
def test_invalid_threshold_in_environment_is_refused(monkeypatch, raw):
    monkeypatch.setenv("PRE_SEUIL_SECRET", raw)
    with pytest.raises(ValueError, match="PRE_SEUIL_SECRET"):
        threshold()


def test_blank_environment_variable_means_default(monkeypatch):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "  ")
    assert threshold() == 11


def test_explicit_threshold_argument(monkeypatch):
    monkeypatch.delenv("PRE_SEUIL_SECRET", raising=False)
    df = pl.DataFrame({"v": [1.0, 2.0, 3.0], "effectif": [10, 19, 20]})
    assert mask(df, values=["v"], threshold=20)["masque"].to_list() == [True, True, False]
    with pytest.raises(ValueError):
        mask(df, values=["v"], threshold=0)


# --- primary suppression ------------------------------------------------------------------------------------


def test_primary_suppression_below_threshold(monkeypatch):
    monkeypatch.delenv("PRE_SEUIL_SECRET", raising=False)
    df = pl.DataFrame({"valeur": [52.5, 40.0, None, 33.3], "effectif": [10, 11, 0, None]},
                      schema={"valeur": pl.Float64, "effectif": pl.Int64})
    out = mask(df, values=["valeur"])
    # 10 < 11 masked; 11 shown; 0 is "below the threshold" too; a null effectif is not masked by the rule.
    assert out["masque"].to_list() == [True, False, True, False]
    assert out["valeur"].to_list() == [None, 40.0, None, 33.3]
    # The base count of a masked row is hidden too, or the figure could be recomputed from it.
    assert out["effectif"].to_list() == [None, 11, None, None]
    assert out.schema["masque"] == pl.Boolean
    assert out.schema["valeur"] == pl.Float64 and out.schema["effectif"] == pl.Int64


def test_every_listed_value_column_is_hidden():
    df = pl.DataFrame({"nom": ["a", "b"], "x": [3, 30], "y": ["3 enfants", "30 enfants"], "effectif": [3, 30]})
    out = mask(df, values=["x", "y"], threshold=11)
    assert out.row(0, named=True) == {"nom": "a", "x": None, "y": None, "effectif": None, "masque": True}
    assert out.row(1, named=True) == {"nom": "b", "x": 30, "y": "30 enfants", "effectif": 30, "masque": False}


def test_custom_effectif_column():
    df = pl.DataFrame({"taux": [80.0, 90.0], "n": [4, 40]})
    out = mask(df, values=["taux"], count_column="n", threshold=11)
    assert out["masque"].to_list() == [True, False]
    assert out["n"].to_list() == [None, 40]


# --- secondary suppression ----------------------------------------------------------------------------------


def test_lone_masked_volet_is_recoverable_without_secondary_suppression():
    df = volets([25, 8, 40, 30])
    total_shown_elsewhere = 103  # e.g. the territory's actions, all volets, on another page
    primary_only = mask(df, values=["actions"], threshold=11)
    assert primary_only["actions"].to_list() == [25, None, 40, 30]
    # The reader subtracts the shown volets from the total: the masked 8 is back.
    shown = [v for v in primary_only["actions"].to_list() if v is not None]
    assert total_shown_elsewhere - 25 - 40 - 30 == 8
    assert total_shown_elsewhere - sum(shown) == 8


def test_secondary_suppression_masks_the_next_smallest_volet():
    df = volets([25, 8, 40, 30])
    out = mask(df, values=["actions"], groups=["territoire"], additive=["actions"], threshold=11)
    # 8 is masked (below 11), then the smallest shown count, 25, so two cells are hidden.
    assert out["masque"].to_list() == [True, True, False, False]
    assert out["actions"].to_list() == [None, None, 40, 30]
    assert out["effectif"].to_list() == [None, None, 40, 30]
    # Subtraction now only gives the sum of the two hidden cells: 103 - 40 - 30 = 33, which fits
    # (8, 25) as well as (25, 8) or (20, 13); neither cell can be told.
    assert 103 - sum(v for v in out["actions"].to_list() if v is not None) == 33


def test_group_with_two_cells_already_below_threshold_is_left_as_is():
    out = mask(volets([25, 8, 3, 30]), values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [False, True, True, False]
    assert out["actions"].to_list() == [25, None, None, 30]


def test_group_with_nothing_masked_is_untouched():
    df = volets([25, 18, 40, 30])
    out = mask(df, values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [False, False, False, False]
    assert out.drop("masque").equals(df)


def test_groups_are_independent():
    df = pl.concat([volets([25, 8, 40, 30], "A"), volets([25, 18, 40, 30], "B")])
    out = mask(df, values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [True, True, False, False] + [False] * 4


def test_ties_pick_the_first_row_in_frame_order():
    out = mask(volets([20, 5, 20, 30]), values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [True, True, False, False]


def test_null_effectif_is_no_protection():
    # Group [5, null, 30]: the null row is skipped as a complement, so 30 is masked.
    out = mask(volets([5, None, 30]), values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [True, False, True]
    # Group [5, null]: nothing can protect the 5, so the whole group is hidden.
    out = mask(volets([5, None]), values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [True, True]


def test_single_row_group_needs_no_complement():
    out = mask(volets([5]), values=["actions"], groups=["territoire"], threshold=11)
    assert out["masque"].to_list() == [True]


def test_empty_grouping_makes_the_whole_frame_one_group():
    out = mask(pl.DataFrame({"v": [1, 2, 3], "effectif": [50, 4, 12]}), values=["v"], groups=[], threshold=11)
    assert out["masque"].to_list() == [False, True, True]


def test_row_order_and_columns_are_preserved():
    df = pl.DataFrame({
        "territoire": ["B", "A", "B", "A", "B"],
        "note": ["n1", "n2", "n3", "n4", "n5"],
        "actions": [40, 3, 9, 50, 12],
        "effectif": [40, 3, 9, 50, 12],
    })
    out = mask(df, values=["actions"], groups=["territoire"], threshold=11)
    assert out.columns == ["territoire", "note", "actions", "effectif", "masque"]
    assert out["note"].to_list() == ["n1", "n2", "n3", "n4", "n5"]
    assert out["territoire"].to_list() == ["B", "A", "B", "A", "B"]
    # A: 3 masked, then 50 (its only other row). B: 9 masked, then 12 (smaller than 40).
    assert out["masque"].to_list() == [False, True, True, True, True]
    assert out["actions"].to_list() == [40, None, None, None, None]


def test_bad_arguments_are_refused():
    df = volets([25, 8, 40, 30])
    with pytest.raises(ValueError, match="absentes"):
        mask(df, values=["inconnue"])
    with pytest.raises(ValueError, match="absentes"):
        mask(df, values=["actions"], groups=["inconnue"])
    with pytest.raises(ValueError, match="additive"):
        mask(df, values=["actions"], additive=["volet"])
    with pytest.raises(ValueError, match="masque"):
        mask(mask(df, values=["actions"]), values=["actions"])


# --- marts.indicateurs ----------------------------------------------------------------------------------------


def test_cellule():
    assert cell(None, True, "entier") == SECRET == "secret statistique"
    assert cell(12345.6, False, "decimal1") == "12 345,6"
    assert cell(45.2, False, "pourcentage") == "45,2 %"
    assert cell(1234, False, "euros") == "1 234 €"
    assert cell(None, False, "entier") == "—"
    assert cell(40.0, True, "pourcentage") == SECRET


def test_explication_states_the_threshold_in_force(monkeypatch):
    monkeypatch.delenv("PRE_SEUIL_SECRET", raising=False)
    text = suppression.explanation()
    assert isinstance(text, str)
    assert "moins de 11" in text and SECRET in text and "au moins 11 unités" in text
    assert "plus petite" not in text  # the complement rule is not predictable, and not described as such
    monkeypatch.setenv("PRE_SEUIL_SECRET", "15")
    assert "moins de 15" in suppression.explanation()

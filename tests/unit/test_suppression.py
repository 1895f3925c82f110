"""The threshold of the statistical secrecy (11 by default, lower only with the analysts' derogation),
the text of a cell and the explanation shown to funders."""

from __future__ import annotations

import pytest

from pipelines.publication import disclosure as suppression
from pipelines.publication.disclosure import SECRET, cell, threshold

# --- threshold -----------------------------------------------------------------------------------------------


def test_threshold_default_is_11(monkeypatch):
    monkeypatch.delenv("PRE_SEUIL_SECRET", raising=False)
    assert threshold() == 11


def test_threshold_from_environment(monkeypatch):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "15")
    assert threshold() == 15
    monkeypatch.setenv("PRE_SEUIL_SECRET", "5")
    with pytest.raises(ValueError, match="DEROGATION"):  # below 11 only with the analysts' derogation
        threshold()
    monkeypatch.setenv("PRE_SEUIL_SECRET_DEROGATION", "oui")
    assert threshold() == 5


@pytest.mark.parametrize("raw", ["0", "-3", "onze", "11.5"])
def test_invalid_threshold_in_environment_is_refused(monkeypatch, raw):
    monkeypatch.setenv("PRE_SEUIL_SECRET", raw)
    with pytest.raises(ValueError, match="PRE_SEUIL_SECRET"):
        threshold()


def test_blank_environment_variable_means_default(monkeypatch):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "  ")
    assert threshold() == 11


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

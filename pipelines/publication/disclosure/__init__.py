"""Statistical disclosure control ("secret statistique"): the one module every figure shown to
someone goes through, and the audit that proves it.

The rules are those of indicators.md v2, "Statistical disclosure control". Each row of
`marts.indicateurs` tells a reader counts: its effectif, its value when the indicator is a count,
and for a share its numerator and complement. Rows sharing a population (the shared bases E, C,
A, S and each structure's requests; `base` in the catalogue) share one effectif. A reader also
knows that counts add up along the territories (site → département → région → national), that
the categories of a share marked `somme_categories` add up to its base, and that numerator +
complement = base.

- `protect(indicators, sites)` masks:
  1. primary: every row whose effectif, or (for a share) numerator or complement, is in
     1 … s − 1; a row masked because of its effectif masks every row sharing that effectif;
  2. secondary: while some masked count can be narrowed by linear programming to an interval
     narrower than s, one more count is masked in a relation that holds it. The choice weighs the
     information lost (the count, its level, the rows it takes along) and is drawn with a secret
     key among the cheapest sufficient candidates, so that a reader cannot tell which cell
     completed the protection.
- `audit(masked, sites)` is the intruder: from the shown rows only, it computes with a
  linear-programming solver the smallest and largest value of every masked count, and lists those
  narrower than s and the shown rows that break the primary rule.
- `threshold()`, `explanation()`, `cell()`: the threshold in force, the French paragraph that
  explains it, the text of one cell.

The counts of one period form independent systems (one per connected group of relations); each is
solved on its masked counts only, the shown ones being constants, with HiGHS (`highspy`).

The package is split by what a change to it costs. `rules` decides which counts are masked: its source
and the catalogue make the rules version, and a change there protects every period again at the next
publication (about an hour nationally). `protection` runs the rules period by period (memory of past
masks, worker processes, the warehouse read one period at a time); `intruder` is the audit. A change to
these two leaves the masks in force as they are.
"""

from __future__ import annotations

import polars as pl

from pipelines import settings
from pipelines.common import formats
from pipelines.publication.disclosure.intruder import Audit, audit
from pipelines.publication.disclosure.protection import (
    PREVIOUS_FOLDER,
    ROW_KEY,
    Protection,
    TableProtection,
    protect,
    protect_table,
)
from pipelines.publication.disclosure.rules import LEVELS, MASK_COLUMN

__all__ = ["LEVELS", "MASK_COLUMN", "PREVIOUS_FOLDER", "ROW_KEY", "SECRET", "Audit", "Protection", "TableProtection",
           "audit", "cell", "explanation", "mask_windows", "masked_share_by_level", "protect", "protect_table",
           "threshold"]

SECRET = "secret statistique"



def threshold() -> int:
    """The threshold s: `PRE_SEUIL_SECRET` when set, else 11 (read at each call)."""
    return settings.load().SEUIL_SECRET


def explanation(threshold_: int | None = None) -> str:
    """The French paragraph shown to funders, for the given threshold (default: the one in force)."""
    n = threshold() if threshold_ is None else _checked_threshold(threshold_)
    return (
        "Secret statistique : pour qu'aucun enfant ni aucune famille ne puisse être reconnu, un chiffre "
        f"n'est pas affiché lorsqu'il repose sur moins de {n} enfants, parcours, actions ou demandes (seuil "
        "retenu d'après la pratique de l'INSEE pour les données individuelles), ni lorsqu'une part laisserait "
        f"compter moins de {n} personnes de part ou d'autre ; la case indique alors « {SECRET} ». D'autres "
        "cases sont masquées en complément, de sorte qu'aucun chiffre masqué ne puisse être retrouvé, même "
        "approximativement, par addition ou soustraction à partir des chiffres publiés (totaux des sites, "
        "des départements et des régions, catégories, effectifs communs) : la plateforme le vérifie par le "
        f"calcul à chaque publication, chaque chiffre masqué restant incertain d'au moins {n} unités. Les "
        "valeurs complètes restent conservées dans l'entrepôt pour les analyses internes."
    )


def cell(valeur: float | int | None, masque: bool, fmt: str) -> str:
    """The text of one cell: `SECRET` when masked, else the value in French (`format_value`; "—" for None)."""
    if masque:
        return SECRET
    return formats.by_kind(valeur, fmt)


def mask_windows(windows: pl.DataFrame, *, threshold: int | None = None, periods: pl.DataFrame | None = None,
                 indicators: pl.DataFrame | None = None) -> pl.DataFrame:
    """`marts.attentes_autour_action` as published: a `masque` column, true when a window holds 1 … s − 1
    requests (a window without any request shows its zero, as every zero count), and then neither the
    number of requests, the median nor its interval.

    These windows are relative to one site's own date (the first action of a type): they are not part of
    the linear audit of `marts.indicateurs` (docs/evaluer-une-action.md says what that leaves open). One
    case is closed here: a window that is exactly a period (`periods`: periode, debut, fin), the first
    action falling on 1 January or 1 September, counts the same requests as the site's `demandes_attente`
    of that structure and period, so it is masked whenever that row is masked in `indicators` (the masked
    indicators)."""
    threshold = settings.load().SEUIL_SECRET if threshold is None else threshold
    masked = (pl.col("demandes") >= 1) & (pl.col("demandes") < threshold)
    if periods is not None and indicators is not None and windows.height:
        hidden_counts = indicators.filter((pl.col("indicateur") == "demandes_attente") & (pl.col("niveau") == "pre")
                                          & pl.col(MASK_COLUMN)).select(
            pl.col("territoire").alias("code_pre"), pl.col("categorie").alias("structure"), "periode")
        same = (windows.with_row_index("_ligne")
                .join(periods.select("periode", "debut", "fin"), on=["debut", "fin"])
                .join(hidden_counts, on=["code_pre", "structure", "periode"])["_ligne"])
        masked = masked | pl.int_range(pl.len()).is_in(same.to_list())
    hidden = [c for c in ("demandes", "valeur", "borne_basse", "borne_haute") if c in windows.columns]
    return windows.with_columns(masked.alias(MASK_COLUMN)).with_columns(
        pl.when(pl.col(MASK_COLUMN)).then(None).otherwise(pl.col(c)).alias(c) for c in hidden)


def masked_share_by_level(masked: pl.DataFrame) -> dict[str, float]:
    """Share of rows masked at each level (for reports)."""
    out = {}
    for level in LEVELS:
        rows = masked.filter(pl.col("niveau") == level)
        out[level] = rows[MASK_COLUMN].mean() if rows.height else 0.0
    return out


def _checked_threshold(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("le seuil doit être un entier ≥ 1.")
    return value

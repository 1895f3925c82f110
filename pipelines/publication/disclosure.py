"""Statistical confidentiality ("secret statistique") for what funders see.

The specification (indicators.md, "Small cells"): any figure shown to a funder whose `effectif` is below
the threshold (default 11, the INSEE practice for individual data) is masked, together with whatever lets
a reader recompute it (secondary suppression). The warehouse keeps the unmasked values; masking happens
only on the way to a funder's screen, here.

- `threshold()`: the threshold, `PRE_SEUIL_SECRET` if set, else 11.
- `mask(df, values=..., groups=...)`: primary suppression (effectif < threshold), then secondary
  suppression inside groups of rows whose counts add up to a total the reader can see or compute.
- `mask_indicators(df, comparison=...)`: the same, for frames shaped like `marts.indicateurs`.
- `cell(valeur, masque, fmt)`: the text of one cell, `SECRET` when masked.
- `explanation()`: a French paragraph for the dashboard, with the threshold in force.

Mask first, filter afterwards. The secondary pattern depends on every row of a group, so mask the
complete frame a page draws from (all categories, all territories compared) and only then filter or
pivot it for display. Two views that mask the same figures differently can unlock each other: a cell
shown in one view may be exactly the complement that hid a cell in the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from pipelines import settings
from pipelines.common import formats

SECRET = "secret statistique"
MASK_COLUMN = "masque"

# Columns of `marts.indicateurs`.
INDICATOR_COLUMNS = ("indicateur", "categorie", "niveau", "territoire", "periode", "valeur", "effectif")
# The categories of one indicator, territory and period add up (e.g. the four volets of `actions`).
CATEGORY_GROUP = ("indicateur", "niveau", "territoire", "periode")
# The territories of one level compared side by side add up to their upper level's published figure.
COMPARISON_GROUP = ("indicateur", "categorie", "periode", "niveau")


def threshold() -> int:
    """The threshold: `PRE_SEUIL_SECRET` when set (an integer ≥ 1), else 11.

    Read at each call. A blank variable counts as unset; any other value that is not an integer ≥ 1 raises
    `settings.SettingsError` (a `ValueError`) rather than silently falling back (a typo must not lower the
    protection unnoticed).
    """
    return settings.load().SEUIL_SECRET


def explanation(threshold_: int | None = None) -> str:
    """The French paragraph shown to funders, for the given threshold (default: the one in force)."""
    n = threshold() if threshold_ is None else _checked_threshold(threshold_)
    return (
        "Secret statistique : pour qu'aucun enfant ni aucune famille ne puisse être reconnu, un chiffre "
        f"n'est pas affiché lorsque son effectif (le nombre d'enfants, de parcours, d'actions ou de demandes "
        f"sur lequel il repose) est inférieur à {n}, seuil retenu d'après la pratique de l'INSEE pour les "
        f"données individuelles ; la case indique alors « {SECRET} » et son effectif est masqué lui aussi. "
        "Un chiffre masqué pourrait toutefois être retrouvé par soustraction à partir d'un total publié par "
        "ailleurs (par exemple le total des quatre volets, ou le chiffre d'un département affiché à côté de "
        "ceux de ses sites) : c'est pourquoi, lorsqu'une seule case d'un tel ensemble est masquée, la plus "
        "petite des autres cases l'est aussi (secret secondaire), de sorte qu'aucun chiffre masqué ne puisse "
        "être recalculé. Les valeurs complètes restent conservées dans l'entrepôt pour les analyses internes."
    )


def mask(df: pl.DataFrame, *, values: list[str], count_column: str = "effectif",
         groups: Sequence[str] | Sequence[Sequence[str]] | None = None,
         additive: list[str] | None = None, threshold: int | None = None) -> pl.DataFrame:
    """`df` with the figures a funder must not see set to null, plus a Boolean column `masque`.

    Same rows, same order, same columns, plus `masque` (True when the row's figures are hidden; never
    null). For a masked row every column of `values` and the `effectif` column are null, so that nothing
    can be recomputed from a shown base count.

    1. Primary suppression: a row is masked when its effectif is below the threshold (`effectif < seuil`,
       so 0 is masked). A null effectif is not masked by this rule.
    2. Secondary suppression, when `groups` is given: rows sharing the values of the `groups` columns
       form a group whose counts add up to something the reader can see or compute (the four volets of
       one territory and period, whose total is shown elsewhere; the sites of one département beside the
       département's own figure). While a group has exactly one masked row (its figure would be the
       group's total minus the shown rows), the group's non-masked row with the smallest effectif is
       masked too (ties: first in frame order). With two masked rows or more, subtraction yields only
       their sum, not either of them. Groups with no masked row are left untouched. Rows with a null
       effectif do not count as protection: they are never chosen as the complement and a masked one
       does not count towards the two; if nothing else is left, the group's remaining rows (those with a
       null effectif) are masked too, so that the whole group is hidden.

       `groups` is either one grouping (a list of column names; an empty list makes the whole frame a
       single group) or several groupings (a list of such lists) that overlap, e.g. categories within a
       territory and territories within a level. Several groupings are applied jointly: each in the
       given order, each group in order of first appearance, over and over until no group of any
       grouping has exactly one masked row (a complement chosen in one grouping may leave a lone masked
       cell in another).
    3. `additive` names the columns of `values` that are additive counts (validated against `values`).
       It is documentation only: every group is treated as additive, because the `effectif` itself
       adds up across the rows of any group worth passing here, whatever the value is (a share, a
       median): secondary suppression is what protects sums.

    `threshold` overrides the threshold (an integer ≥ 1); by default `threshold()`.

    Raises `ValueError` when a named column is missing, when `df` already has a `masque` column (mask
    the unmasked frame once, with every grouping, rather than chaining calls), or when the threshold is
    not an integer ≥ 1.
    """
    limit = settings.load().SEUIL_SECRET if threshold is None else _checked_threshold(threshold)
    groupings = _groupings(groups)
    _check_columns(df, values=values, count_column=count_column, groupings=groupings, additive=additive)

    counts = [_count(c) for c in df.get_column(count_column).to_list()]
    masked = [c is not None and c < limit for c in counts]
    if groupings and any(masked):
        masked = _secondary(df, counts, masked, groupings)

    hidden = list(dict.fromkeys([*values, count_column]))
    flag = pl.Series(MASK_COLUMN, masked, dtype=pl.Boolean)
    return df.with_columns(flag).with_columns(
        pl.when(pl.col(MASK_COLUMN)).then(pl.lit(None, dtype=df.schema[name])).otherwise(pl.col(name)).alias(name)
        for name in hidden
    )


def mask_indicators(df: pl.DataFrame, *, threshold: int | None = None, comparison: bool = False) -> pl.DataFrame:
    """`masquer` for a frame with the columns of `marts.indicateurs` (other columns are kept as they are).

    Primary suppression on (`valeur`, `effectif`). Secondary suppression within each (indicateur, niveau,
    territoire, periode): the categories of one figure (volets, structures, age bands) add up to a total
    the reader can compute; an indicator without categories forms single-row groups, which need nothing.

    `comparison=True` is for tables comparing several territories of the same level whose upper-level
    total is also published (the sites of one département beside the département's figure, the
    départements of one region…): secondary suppression then also applies within each (indicateur,
    categorie, periode, niveau), jointly with the categories. **The territory comparison tables must call
    it this way**, on a frame holding exactly the territories compared (all of them, before any display
    filter). Those groups span all territories of a level present in the frame: if one table lists the
    sites of several départements, call once per département, or add the parent territory as a column
    and call `masquer` with the groupings
    `[["indicateur", "niveau", "territoire", "periode"], ["indicateur", "categorie", "periode", "niveau", parent]]`.
    """
    missing = [c for c in INDICATOR_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"Colonnes de marts.indicateurs absentes : {', '.join(missing)}.")
    groupings = [list(CATEGORY_GROUP)]
    if comparison:
        groupings.append(list(COMPARISON_GROUP))
    return mask(df, values=["valeur"], count_column="effectif", groups=groupings, threshold=threshold)


def cell(valeur: float | int | None, masque: bool, fmt: str) -> str:
    """The text of one cell: `SECRET` when masked, else the value in French (`format_value`; "—" for None)."""
    if masque:
        return SECRET
    return formats.by_kind(valeur, fmt)


# --- internals ---------------------------------------------------------------------------------------------


def _checked_threshold(value: object, source: str = "threshold") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{source} doit être un entier ≥ 1 (reçu : {value!r}).")
    return value


def _count(value: object) -> float | None:
    """An effectif as a number, None when it is null (NaN counts as null)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value  # type: ignore[return-value]


def _groupings(groups: Sequence[str] | Sequence[Sequence[str]] | None) -> list[list[str]]:
    if groups is None:
        return []
    if isinstance(groups, str):
        raise ValueError("groups : une liste de noms de colonnes (ou une liste de telles listes), pas une chaîne.")
    items = list(groups)
    if all(isinstance(g, str) for g in items):
        return [list(items)]  # one grouping (possibly empty: the whole frame is one group)
    if all(not isinstance(g, str) and isinstance(g, Sequence) for g in items):
        return [list(g) for g in items]
    raise ValueError("groups : une liste de noms de colonnes, ou une liste de listes, sans mélange.")


def _check_columns(df: pl.DataFrame, *, values: list[str], count_column: str, groupings: list[list[str]],
                   additive: list[str] | None) -> None:
    if MASK_COLUMN in df.columns:
        raise ValueError("Le tableau a déjà une colonne « masque » : masquez le tableau non masqué, en une fois.")
    named = [*values, count_column, *(c for g in groupings for c in g)]
    missing = [c for c in dict.fromkeys(named) if c not in df.columns]
    if missing:
        raise ValueError(f"Colonnes absentes : {', '.join(missing)}.")
    if not df.schema[count_column].is_numeric() and df.schema[count_column] != pl.Null:
        raise ValueError(f"La colonne d'effectif « {count_column} » doit être numérique.")
    stray = [c for c in (additive or []) if c not in values]
    if stray:
        raise ValueError(f"additive doit être pris parmi values : {', '.join(stray)}.")


def _members(df: pl.DataFrame, columns: list[str]) -> list[list[int]]:
    """Row positions of each group (groups in order of first appearance; nulls group together)."""
    if not columns:
        return [list(range(df.height))]
    groups: dict[tuple, list[int]] = {}
    for position, key in enumerate(df.select(columns).iter_rows()):
        groups.setdefault(key, []).append(position)
    return list(groups.values())


def _secondary(df: pl.DataFrame, counts: list[float | None], masked: list[bool],
               groupings: list[list[str]]) -> list[bool]:
    masked = list(masked)
    all_groups = [_members(df, columns) for columns in groupings]
    changed = True
    while changed:  # terminates: every pass that changes something masks at least one more row
        changed = False
        for groups in all_groups:
            for rows in groups:
                changed |= _protect(rows, counts, masked)
    return masked


def _protect(rows: list[int], counts: list[float | None], masked: list[bool]) -> bool:
    """Mask complements in one group until it has no lone masked row; True if anything was masked."""
    changed = False
    while sum(1 for i in rows if masked[i] and counts[i] is not None) == 1:
        candidates = [i for i in rows if not masked[i] and counts[i] is not None]
        if candidates:
            masked[min(candidates, key=lambda i: (counts[i], i))] = True
            changed = True
            continue
        rest = [i for i in rows if not masked[i]]  # only null effectifs left: hide the whole group
        for i in rest:
            masked[i] = True
        return changed or bool(rest)
    return changed


"""Pure frame builders of the field pages: « Évaluer une action » and the partner × volet matrix of
« Coopération ». Published (masked) rows in, display rows out; no Streamlit call and no figure computed here
(only looked up, labelled and, for the gap between two shown values, subtracted), so unit tests run them on
hand-built frames. Also the bins of Territoires' histogram (counts of shown values), drawn and tabled alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from pipelines.warehouse.catalogue import catalogue, catalogue_categories

# The action type chosen when none is (the workshops the field asked about first).
DEFAULT_TYPE = "PSYCHOMOTRICITE"
# Where an analyst lists the evaluated action types and their related care services (read-only here).
EVALUATED_FILE = "pipelines/warehouse/actions_evaluees.yaml"
# Key figures of one action type (categorie = the type), in display order.
ACTION_CODES = ("enfants_type_action", "seances_prevues_type_action", "seances_realisees_type_action",
                "taux_assiduite_type_action", "cout_par_enfant_type_action")
WITH, WITHOUT, ALL = "progression_note_avec_action", "progression_note_sans_action", "progression_note"
WINDOWS = {"avant": "12 mois avant", "apres": "12 mois après"}
INCOMPLETE = "fenêtre incomplète"


def known_codes(codes: Sequence[str]) -> list[str]:
    """The codes the catalogue knows (figures published before an indicator existed lack it)."""
    present = {i.code for i in catalogue()}
    return [c for c in codes if c in present]


def action_types() -> dict[str, str]:
    """Every action type of the exchange format: code → French label."""
    return catalogue_categories()["types_action"]


def evaluated_types() -> dict[str, str]:
    """The action types of the referential of evaluated actions: code → French label."""
    return catalogue_categories().get("types_action_evalues", {})


def short_label(libelle: str) -> str:
    """A key figure's label on a page about one action type: « Taux d'assiduité par type d'action » reads
    « Taux d'assiduité »."""
    return libelle.removesuffix(" par type d'action")


def default_type(types: Sequence[str], wanted: str | None = None) -> str:
    """The type asked for (URL) when it exists, else PSYCHOMOTRICITE, else the first type."""
    return wanted if wanted in types else DEFAULT_TYPE if DEFAULT_TYPE in types else types[0]


def _row(df: pl.DataFrame, code: str, category: str, period: str | None = None) -> dict | None:
    cond = (pl.col("indicateur") == code) & (pl.col("categorie") == category)
    if period is not None:
        cond &= pl.col("periode") == period
    found = df.filter(cond)
    return found.row(0, named=True) if found.height else None


def _cell(row: dict | None) -> tuple[float | None, int | None, bool]:
    """(valeur, effectif, masque) of a published row; nothing of a masked row's figures."""
    if row is None:
        return None, None, False
    if row["masque"]:
        return None, None, True
    return row["valeur"], row["effectif"], False


def action_figures(frames: Sequence[pl.DataFrame], type_action: str, codes: Sequence[str]) -> pl.DataFrame:
    """One row per key figure of the action type; for each territory k (frames in order), `v{k}` the value,
    `n{k}` its effectif, `m{k}` True when masked; `format` and `libelle` from the catalogue."""
    by_code = {i.code: i for i in catalogue()}
    rows = []
    for code in codes:
        ind = by_code[code]
        row: dict = {"indicateur": code, "libelle": ind.libelle, "format": ind.format, "base": ind.effectif}
        for k, frame in enumerate(frames):
            value, count, masked = _cell(_row(frame, code, type_action))
            row |= {f"v{k}": value, f"n{k}": count, f"m{k}": masked}
        rows.append(row)
    schema = {"indicateur": pl.String, "libelle": pl.String, "format": pl.String, "base": pl.String}
    for k in range(len(frames)):
        schema |= {f"v{k}": pl.Float64, f"n{k}": pl.Int64, f"m{k}": pl.Boolean}
    return pl.DataFrame(rows, schema=schema)


PROGRESSION_SCHEMA = {"code": pl.String, "domaine": pl.String,
                      "avec": pl.Float64, "n_avec": pl.Int64, "m_avec": pl.Boolean,
                      "sans": pl.Float64, "n_sans": pl.Int64, "m_sans": pl.Boolean,
                      "tous": pl.Float64, "n_tous": pl.Int64, "m_tous": pl.Boolean,
                      "ecart": pl.Float64}


def progression(df: pl.DataFrame, type_action: str, domains: dict[str, str]) -> pl.DataFrame:
    """Per note domain: mean progression of the pathways with the action (`avec`), without it (`sans`) and
    of all exited pathways (`tous`), with their effectifs and masks; `ecart` = avec − sans, only when both
    are shown and defined (never derived from a masked cell)."""
    rows = []
    for code, name in domains.items():
        with_ = _cell(_row(df, WITH, f"{type_action}:{code}"))
        without = _cell(_row(df, WITHOUT, f"{type_action}:{code}"))
        every = _cell(_row(df, ALL, code))
        gap = with_[0] - without[0] if with_[0] is not None and without[0] is not None else None
        rows.append({"code": code, "domaine": name,
                     "avec": with_[0], "n_avec": with_[1], "m_avec": with_[2],
                     "sans": without[0], "n_sans": without[1], "m_sans": without[2],
                     "tous": every[0], "n_tous": every[1], "m_tous": every[2], "ecart": gap})
    return pl.DataFrame(rows, schema=PROGRESSION_SCHEMA)


def progression_long(wide: pl.DataFrame) -> pl.DataFrame:
    """The shown, defined progressions as (domaine, groupe, valeur, effectif) for a grouped bar chart."""
    groups = {"avec": "Parcours avec l'action", "sans": "Parcours sans l'action"}
    parts = [wide.filter(~pl.col(f"m_{g}") & pl.col(g).is_not_null())
             .select("domaine", pl.lit(label).alias("groupe"), pl.col(g).alias("valeur"),
                     pl.col(f"n_{g}").alias("effectif"))
             for g, label in groups.items()]
    return pl.concat(parts)


WAIT_SCHEMA = {"structure": pl.String, "fenetre": pl.String, "debut": pl.Date, "fin": pl.Date,
               "premiere_action": pl.Date, "demandes": pl.Int64, "valeur": pl.Float64, "borne_basse": pl.Float64,
               "borne_haute": pl.Float64, "masque": pl.Boolean, "etat": pl.String}


def waits(df: pl.DataFrame, code_pre: str, type_action: str, structures: dict[str, str]) -> pl.DataFrame:
    """The published waits of the related care services around the action's first appearance at the site
    (`marts.attentes_autour_action` rows), one row per structure and window, « avant » first; a masked row
    keeps its dates but none of its figures; `etat` says « fenêtre incomplète » when the window is not
    complete."""
    rows = df.filter((pl.col("code_pre") == code_pre) & (pl.col("type_action") == type_action))
    out = []
    for row in rows.iter_rows(named=True):
        masked = bool(row["masque"])
        out.append({"structure": structures.get(row["structure"], row["structure"]),
                    "order": (list(structures).index(row["structure"]) if row["structure"] in structures
                              else len(structures), list(WINDOWS).index(row["fenetre"])),
                    "fenetre": WINDOWS[row["fenetre"]], "debut": row["debut"], "fin": row["fin"],
                    "premiere_action": row["premiere_action"],
                    "demandes": None if masked else row["demandes"],
                    "valeur": None if masked else row["valeur"],
                    "borne_basse": None if masked else row["borne_basse"],
                    "borne_haute": None if masked else row["borne_haute"],
                    "masque": masked, "etat": "complète" if row["complete"] else INCOMPLETE})
    out.sort(key=lambda r: r.pop("order"))
    return pl.DataFrame(out, schema=WAIT_SCHEMA)


MATRIX_SCHEMA = {"partenaire": pl.String, "volet": pl.String, "parcours": pl.Float64, "masque": pl.Boolean}


def partner_volet_matrix(df: pl.DataFrame, period: str, partners: dict[str, str],
                         volets: dict[str, str]) -> pl.DataFrame:
    """Active pathways in which a partner type acts in a volet (`parcours_partenaire_volet`, categorie
    "PARTENAIRE:VOLET"): one row per pair, in the code lists' order; a masked pair has no value."""
    rows = []
    for p, p_name in partners.items():
        for v, v_name in volets.items():
            value, _, masked = _cell(_row(df, "parcours_partenaire_volet", f"{p}:{v}", period))
            rows.append({"partenaire": p_name, "volet": v_name, "parcours": value, "masque": masked})
    return pl.DataFrame(rows, schema=MATRIX_SCHEMA)


HISTOGRAM_SCHEMA = {"debut": pl.Float64, "fin": pl.Float64, "territoires": pl.Int64, "choisis": pl.Int64}


def histogram(values: Sequence[float], chosen: Sequence[bool], decimals: int,
              max_bins: int = 20) -> tuple[pl.DataFrame, int]:
    """Equal bins [debut ; fin[ covering the values, the narrowest of width 1, 2 or 5 × 10^k, and at least
    10^-decimals (the values' shown precision), that needs at most `max_bins` of them, empty ones included;
    per bin, how many values and how many of them `chosen`. Returns the bins and the decimals of their bounds."""
    if not values:
        return pl.DataFrame(schema=HISTOGRAM_SCHEMA), decimals
    low, high = min(values), max(values)
    exponent = -decimals
    while True:
        for factor in (1, 2, 5):
            width = factor * 10.0 ** exponent
            first, last = _bin(low, width), _bin(high, width)
            if last - first + 1 <= max_bins:
                decimals = max(0, -exponent)
                rows = {i: [0, 0] for i in range(first, last + 1)}
                for value, mine in zip(values, chosen, strict=True):
                    rows[_bin(value, width)][0] += 1
                    rows[_bin(value, width)][1] += bool(mine)
                return pl.DataFrame([{"debut": round(i * width, decimals), "fin": round((i + 1) * width, decimals),
                                      "territoires": n, "choisis": c} for i, (n, c) in rows.items()],
                                    schema=HISTOGRAM_SCHEMA), decimals
        exponent += 1


def _bin(value: float, width: float) -> int:
    """The bin of a value; rounded first, so that 0.3 falls in [0,3 ; 0,4[ and not below."""
    return math.floor(round(value / width, 9))

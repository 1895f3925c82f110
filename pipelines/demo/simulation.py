"""Simulating one site's full snapshot: pathways, actions, bilans and waiting-list requests.

About 160 children a year per site, pathways of 12–19 months, most referrals by the school,
months-to-years waits for a CMPP (figures in `calibration.py`). Tables are built with numpy,
vectorised per site, so that a national run (hundreds of thousands of pathways) stays in
minutes. Each site draws from its own generator seeded by (seed, code_pre), so a site's data
do not depend on which other sites are generated.

Codes are drawn as indices into the code lists of the data contracts (below), so the order of
those lists is part of what a seed gives.

So that the field's indicators have something to show, Guidance familiale actions are long and mostly
held by a few guidance educators per site, follow-up bilans come early, in the 120–240-day window or
late, pathways lean more or less on one partner, and some sites launch an action type on a known date
(`ACTION_LAUNCHES`) after which the waits at related care services drop. Most of those draws come from
a second stream per site (`aside`), so that adding one does not shift every later draw of the first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.contracts.model import load_contracts
from pipelines.demo.calibration import (
    ACTION_LAUNCHES,
    ACTION_TYPES,
    AGE_BANDS,
    FOLLOW_UP_DAYS,
    GUIDANCE_EDUCATORS_SHARE,
    LOCKDOWN,
    MONTH_WEIGHT,
    OVERSEAS_COMMUNES,
    P_AGE_BANDS,
    P_BOY,
    P_FOLLOW_UP,
    P_GUIDANCE_EDUCATOR,
    P_GUIDANCE_PAST_EXIT,
    P_MOTIF_ORIENTATION,
    P_MOTIF_SORTIE,
    P_ORIGINE_NON_SCOLARISE,
    P_ORIGINE_SCOLARISE,
    P_STRUCTURE_6_PLUS,
    P_STRUCTURE_UNDER_6,
    P_VOLETS,
    PARTNER_FOCUS,
    PSYCHOMOTRICITY_LIFT,
    SCHOOL_LADDER,
    SOFTWARE,
    SUCCESS_BY_MOTIF,
    VOLET_OF_MOTIF,
    WAIT_MEDIAN_DAYS,
    Launch,
)
from pipelines.demo.sites import Site, fold_seed
from pipelines.demo.writers import VARIANTS

# --------------------------------------------------------------------------- code lists
# Read from the data contracts, in their order: index arrays point into these lists.

_CONTRACTS = load_contracts()
LAST_EXTRACTION_DAY = 14  # of January after the last simulated year: extractions fall on 2–14 January
SEXES = tuple(_CONTRACTS.code_list("parcours.sexe"))
NIVEAUX = tuple(_CONTRACTS.code_list("parcours.niveau_scolaire"))
ORIGINES = tuple(_CONTRACTS.code_list("parcours.origine_orientation"))
MOTIFS_ORIENTATION = tuple(_CONTRACTS.code_list("parcours.motif_orientation"))
MOTIFS_SORTIE = tuple(_CONTRACTS.code_list("parcours.motif_sortie"))
VOLETS = tuple(_CONTRACTS.code_list("actions.volet"))
TYPES_ACTION = tuple(_CONTRACTS.code_list("actions.type_action"))
MODALITES = tuple(_CONTRACTS.code_list("actions.modalite"))
PARTENAIRES = tuple(_CONTRACTS.code_list("actions.partenaire"))
TYPES_BILAN = tuple(_CONTRACTS.code_list("bilans.type_bilan"))
STRUCTURES = tuple(_CONTRACTS.code_list("attentes.structure"))

# Calibration tables lined up with the code lists (a code the calibration lacks fails here),
# and the indices of the codes the simulation names.
_P_ORIGINE_SCOLARISE = np.array([P_ORIGINE_SCOLARISE[c] for c in ORIGINES])
_P_ORIGINE_NON_SCOLARISE = np.array([P_ORIGINE_NON_SCOLARISE[c] for c in ORIGINES])
_P_MOTIF_ORIENTATION = np.array([P_MOTIF_ORIENTATION[c] for c in MOTIFS_ORIENTATION])
_P_MOTIF_SORTIE = np.array([P_MOTIF_SORTIE[c] for c in MOTIFS_SORTIE])
_SUCCESS_BY_MOTIF = np.array([SUCCESS_BY_MOTIF[c] for c in MOTIFS_SORTIE])
_P_VOLETS = np.array([P_VOLETS[c] for c in VOLETS])
_VOLET_OF_MOTIF = np.array([VOLETS.index(VOLET_OF_MOTIF[c]) if VOLET_OF_MOTIF[c] else -1
                            for c in MOTIFS_ORIENTATION])  # -1: any strand
_NIVEAU_OF_GRADE = np.array([NIVEAUX.index(c) for c in SCHOOL_LADDER])  # grade + 1 → level
_NON_SCOLARISE = NIVEAUX.index("NON_SCOLARISE")
_NIVEAU_AUTRE = NIVEAUX.index("AUTRE")
_GIRL, _BOY = SEXES.index("F"), SEXES.index("M")
_OBJECTIFS_ATTEINTS, _LIMITE_AGE = MOTIFS_SORTIE.index("OBJECTIFS_ATTEINTS"), MOTIFS_SORTIE.index("LIMITE_AGE")
_INDIVIDUELLE, _COLLECTIVE = MODALITES.index("INDIVIDUELLE"), MODALITES.index("COLLECTIVE")
_STRUCTURE_PRE = STRUCTURES.index("PRE")
_GUIDANCE = TYPES_ACTION.index("GUIDANCE_FAMILIALE")
_PSYCHOMOTRICITE = TYPES_ACTION.index("PSYCHOMOTRICITE")
_ENTREE, _INTERMEDIAIRE, _SORTIE, _SUIVI = (
    TYPES_BILAN.index(c) for c in ("ENTREE", "INTERMEDIAIRE", "SORTIE", "SUIVI_6_MOIS"))

_NULL = np.iinfo(np.int64).min  # sentinel for a missing date or integer in numpy arrays
_MONTH = 30.4375


@dataclass
class SiteData:
    """One site's simulated snapshot, typed (dates as pl.Date), before it is written."""

    site: Site
    date_extraction: date
    manifest: list[tuple[str, str | date | None]]
    tables: dict[str, pl.DataFrame]


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, key: str) -> np.random.Generator:
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return np.random.default_rng([fold_seed(seed), digest])

def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _years(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)


def _months(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _jan1(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype(
        "datetime64[D]").astype(np.int64)


_MONTH_WEIGHT = np.array(MONTH_WEIGHT)
_LOCKDOWN = (_day(LOCKDOWN[0]), _day(LOCKDOWN[1]))


def _entry_weights(days: np.ndarray) -> np.ndarray:
    """Relative chance of a pathway starting on each day: school rhythm, weekdays, lockdown."""
    weight = _MONTH_WEIGHT[_months(days) - 1]
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weight = np.where(weekday >= 5, weight * 0.03, weight)
    lockdown = (days >= _LOCKDOWN[0]) & (days <= _LOCKDOWN[1])
    return np.where(lockdown, weight * 0.1, weight)


# Total weight of an ordinary year (2019): entries a year are scaled by it.
_YEAR_WEIGHT = float(_entry_weights(np.arange(_day(date(2019, 1, 1)),
                                              _day(date(2020, 1, 1)))).sum())


def _pick(rng: np.random.Generator, probs, size: int) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    return rng.choice(len(probs), size=size, p=probs / probs.sum())


def _pick_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each i, draw a column index with probabilities table[rows[i]] (rows sum to 1)."""
    cum = np.cumsum(table, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1)


def _dates(name: str, days: np.ndarray) -> pl.Series:
    days = np.asarray(days, dtype=np.int64)
    missing = days == _NULL
    series = pl.Series(name, np.where(missing, 0, days).astype(np.int32)).cast(pl.Date)
    if missing.any():
        series = series.scatter(np.flatnonzero(missing), None)
    return series


def _ints(name: str, values: np.ndarray) -> pl.Series:
    values = np.asarray(values, dtype=np.int64)
    missing = values == _NULL
    series = pl.Series(name, np.where(missing, 0, values), dtype=pl.Int64)
    if missing.any():
        series = series.scatter(np.flatnonzero(missing), None)
    return series


def _codes(name: str, codes: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    idx = np.asarray(idx, dtype=np.int64)
    positions = pl.Series(np.where(idx < 0, 0, idx), dtype=pl.Int64)
    series = pl.Series(name, codes, dtype=pl.String).gather(positions)
    if (idx < 0).any():
        series = series.scatter(np.flatnonzero(idx < 0), None)
    return series


def _ids(name: str, prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    frame = pl.DataFrame({"n": np.asarray(numbers, dtype=np.int64)})
    return frame.select(pl.format(prefix + "{}", pl.col("n").cast(pl.String).str.zfill(width))
                        ).to_series().alias(name)


def _exit_days(rng: np.random.Generator, entry: np.ndarray, mean_months: float) -> np.ndarray:
    """Pathway ends: gamma-distributed durations, many closed at the end of the school year."""
    shape = 2.2
    duration = np.maximum(rng.gamma(shape, mean_months * _MONTH / shape, len(entry)), 21)
    exit_day = entry + duration.astype(np.int64)
    months = _months(exit_day)
    summer = (months >= 5) & (months <= 8) & (rng.random(len(entry)) < 0.5)
    snapped = _jan1(_years(exit_day)) + 185 - rng.integers(0, 18, len(entry))
    return np.where(summer & (snapped >= entry + 21), snapped, exit_day)


# --------------------------------------------------------------------------- simulation


def simulate_site(site: Site, *, seed: int, from_year: int, to_year: int,
                  variant: str = VARIANTS[0]) -> SiteData:
    """Simulate one site's full snapshot at its extraction date (typed polars frames).

    The variant only decides whether the manifest names an exporting software (not for a
    hand-filled workbook); every other value is the same whatever the variant.
    """
    rng = _rng(seed, site.code_pre)
    # Draws added for the service norms, the partners and the action launches come from a stream of their
    # own: adding one does not shift the main stream's later draws.
    aside = _rng(seed, site.code_pre + ":normes")
    launch = ACTION_LAUNCHES.get(site.code_pre)
    focus = float(aside.uniform(*PARTNER_FOCUS))
    # Site traits first, so that they do not depend on the period asked.
    size = float(np.clip(160 * rng.lognormal(0, 0.55) / np.exp(0.55**2 / 2), 30, 1500))
    if launch:
        size = max(size, launch.min_size)
    mean_months = float(rng.uniform(12.5, 18.5))
    has_start = bool(rng.random() < 0.8)
    keeps_pre_list = bool(rng.random() < 0.6)
    records_eps = bool(rng.random() < 0.85)
    uses_qp2015 = bool(rng.random() < 0.35)
    software = SOFTWARE[int(rng.integers(len(SOFTWARE)))]  # drawn always: same stream
    if variant == "xlsx":
        software = None
    offsets = rng.integers(1, 4000, size=6)

    # Sites extract early in the next year (2 to 14 January), for the year's report: the demo's last
    # calendar year is complete, as a funder's first visit expects.
    extraction = date(to_year + 1, 1, LAST_EXTRACTION_DAY - 12) + timedelta(days=int(rng.integers(0, 13)))
    ext = _day(extraction)
    start = date(max(from_year, 2005), 1, 1)
    window_start = max(date(2005, 1, 1), date(start.year - 3, 1, 1)) if has_start else start

    # ---- first pathways of each child
    days = np.arange(_day(window_start), ext + 1, dtype=np.int64)
    weights = _entry_weights(days)
    # Children followed in a year ≈ entries × (12 + mean duration) / 12, plus returning children.
    per_year = 1.1 * size * 12 / (12 + mean_months)
    n = max(int(rng.poisson(per_year * weights.sum() / _YEAR_WEIGHT)), 12)
    entry = np.sort(rng.choice(days, size=n, p=weights / weights.sum()))
    exit_day = _exit_days(rng, entry, mean_months)
    boy = rng.random(n) < P_BOY
    band = _pick(rng, P_AGE_BANDS, n)
    low = np.array([b[0] for b in AGE_BANDS])[band]
    high = np.array([b[1] for b in AGE_BANDS])[band]
    age = low + (rng.random(n) * (high - low + 1)).astype(np.int64)
    birth = _years(entry) - age
    if has_start:  # a snapshot holds the pathways with any activity since its start date
        keep = exit_day >= _day(start)
        entry, exit_day, boy, birth = entry[keep], exit_day[keep], boy[keep], birth[keep]
        n = len(entry)
    child = np.arange(n)

    # Siblings: a child joins the family of the child who entered just before, often.
    joins = rng.random(n) < 0.13
    joins[0] = False
    family = np.cumsum(~joins) - 1
    head = np.flatnonzero(~joins)[family]

    # Residence: mostly the site's commune, and a priority neighbourhood (QPV) for ~80 %.
    neighbours, qpv_codes, qpv_weights, neighbour_qpv = _territory(rng, site, size)
    in_town = rng.random(n) < 0.85
    neighbour = rng.integers(0, len(neighbours), n)
    qpv = np.where(in_town, _pick(rng, qpv_weights, n), len(qpv_codes) + neighbour)
    has_qpv = np.where(in_town, rng.random(n) < 0.87,
                       (rng.random(n) < 0.45) & neighbour_qpv[neighbour])
    commune_idx = np.where(in_town, -1, neighbour)[head]
    qpv, has_qpv = qpv[head], has_qpv[head]

    # ---- second pathways: some children come back after a gap
    exited = exit_day <= ext
    again = exited & (rng.random(n) < 0.09)
    entry2 = exit_day + rng.integers(60, 600, n)
    again &= (entry2 <= ext) & (_years(entry2) - birth <= 18)
    src = np.flatnonzero(again)
    entry2 = entry2[src]
    exit2 = _exit_days(rng, entry2, mean_months)

    p_entry = np.concatenate([entry, entry2])
    p_exit = np.concatenate([exit_day, exit2])
    p_child = np.concatenate([child, child[src]])
    order = np.argsort(p_entry, kind="stable")
    p_entry, p_exit, p_child = p_entry[order], p_exit[order], p_child[order]
    m = len(p_entry)
    ongoing = p_exit > ext
    p_exit = np.where(ongoing, _NULL, p_exit)
    p_birth = birth[p_child]

    # School level from the school year of entry, some children a year or two behind.
    school_year = _years(p_entry) - (_months(p_entry) < 9)
    grade = school_year - p_birth - 3
    behind = _pick(rng, (0.88, 0.10, 0.02), m)
    grade = np.where(grade >= 4, grade - behind, grade)
    # -1 → NON_SCOLARISE, 0 → PS … 11 → 3E, 12+ → LYCEE
    niveau = _NIVEAU_OF_GRADE[np.clip(grade, -1, len(SCHOOL_LADDER) - 2) + 1]
    niveau = np.where((grade == 0) & (rng.random(m) < 0.15), _NON_SCOLARISE, niveau)
    niveau = np.where((grade >= 12) & (rng.random(m) < 0.25), _NIVEAU_AUTRE, niveau)  # apprenticeship…
    not_at_school = niveau == _NON_SCOLARISE

    origin = np.where(not_at_school, _pick(rng, _P_ORIGINE_NON_SCOLARISE, m),
                      _pick(rng, _P_ORIGINE_SCOLARISE, m))
    motif = _pick(rng, _P_MOTIF_ORIENTATION, m)
    eps_gap = rng.integers(0, 40, m)
    orient_gap = rng.integers(7, 120, m)
    eps = p_entry - eps_gap
    orientation = eps - orient_gap
    eps = np.where(records_eps & (rng.random(m) < 0.95), eps, _NULL)

    exit_age = np.where(ongoing, 0, _years(np.where(ongoing, 0, p_exit)) - p_birth)
    exit_motif = _pick(rng, _P_MOTIF_SORTIE, m)
    exit_motif = np.where((exit_motif == _LIMITE_AGE) & (exit_age < 16), _OBJECTIFS_ATTEINTS, exit_motif)
    exit_motif = np.where((exit_age >= 17) & (rng.random(m) < 0.4), _LIMITE_AGE, exit_motif)
    exit_motif = np.where(ongoing, -1, exit_motif)

    n_referents = max(2, round(size / 80))  # about 85 children per full-time referent
    referent = _pick(rng, rng.dirichlet(np.full(n_referents, 3.0)), m)

    communes = (site.code_commune, *neighbours)
    p_commune = commune_idx[p_child] + 1
    p_qpv = np.where(has_qpv[p_child], qpv[p_child], -1)
    qpv_text = np.array(qpv_codes + _neighbour_qpv_codes(site, len(neighbours)), dtype=object)
    if uses_qp2015:  # before 2024 this site still used the 2015 list
        old = p_entry < _day(date(2024, 1, 1))
        qp_text = np.array([_qp2015(c) for c in qpv_text], dtype=object)
        qpv_values = np.where(p_qpv < 0, None, np.where(old, qp_text[np.maximum(p_qpv, 0)],
                                                         qpv_text[np.maximum(p_qpv, 0)]))
    else:
        qpv_values = np.where(p_qpv < 0, None, qpv_text[np.maximum(p_qpv, 0)])

    parcours = pl.DataFrame([
        _ids("id_parcours", "P", offsets[0] + np.arange(m), 6),
        _ids("id_enfant", "E", offsets[1] + p_child, 6),
        _ids("id_famille", "F", offsets[2] + family[p_child], 5),
        _codes("sexe", SEXES, np.where(boy[p_child], _BOY, _GIRL)),
        _ints("annee_naissance", p_birth),
        _codes("niveau_scolaire", NIVEAUX, niveau),
        _codes("code_commune", communes, p_commune),
        pl.Series("code_qpv", qpv_values.tolist(), dtype=pl.String),
        _dates("date_orientation", orientation),
        _codes("origine_orientation", ORIGINES, origin),
        _codes("motif_orientation", MOTIFS_ORIENTATION, motif),
        _dates("date_decision_eps", eps),
        _dates("date_entree", p_entry),
        _dates("date_sortie", p_exit),
        _codes("motif_sortie", MOTIFS_SORTIE, exit_motif),
        _ids("id_referent", "R", offsets[3] % 900 + 1 + referent, 3),
    ])
    pathways = _Pathways(p_entry, p_exit, ongoing, p_birth, motif, exit_motif, niveau,
                         orientation, ext)
    actions = _simulate_actions(rng, pathways, parcours["id_parcours"], offsets[4], aside, launch, focus)
    # Pathways with a guidance go mostly to the site's guidance educators.
    guided = actions.pop("_guidance")
    educators = max(1, round(n_referents * GUIDANCE_EDUCATORS_SHARE))
    to_educator = guided[aside.random(len(guided)) < P_GUIDANCE_EDUCATOR]
    referent[to_educator] = aside.integers(0, educators, len(to_educator))
    parcours = parcours.with_columns(_ids("id_referent", "R", offsets[3] % 900 + 1 + referent, 3))
    psychomotricity = np.zeros(m, dtype=bool)
    psychomotricity[actions.pop("_psychomotricite")] = True
    bilans = _simulate_bilans(rng, pathways, parcours["id_parcours"], offsets[5], aside, psychomotricity)
    has_health = np.zeros(m, dtype=bool)
    has_health[actions.pop("_pathway")] = True
    attentes = _simulate_requests(rng, pathways, parcours, has_health, keeps_pre_list,
                                  offsets[1] + n, ext, _day(window_start), launch)

    manifest: list[tuple[str, str | date | None]] = [
        ("code_pre", site.code_pre),
        ("date_extraction", extraction),
    ]
    if has_start:
        manifest.append(("date_debut_donnees", start))
    manifest.append(("version_format", "1"))
    if software:
        manifest.append(("logiciel", software))
    return SiteData(site, extraction, manifest, {
        "parcours": parcours, "actions": actions["frame"], "bilans": bilans,
        "attentes": attentes})


def _territory(rng: np.random.Generator, site: Site, size: float):
    """Neighbouring communes and the site's priority neighbourhoods (QPV)."""
    dept = site.departement
    k = int(rng.integers(3, 7))
    neighbours: list[str] = []
    while len(neighbours) < k:
        if dept in OVERSEAS_COMMUNES:
            code = f"{dept}{int(rng.integers(1, OVERSEAS_COMMUNES[dept] + 1)):02d}"
        else:
            code = f"{site.code_commune[:2]}{int(rng.integers(1, 700)):03d}"
        if code != site.code_commune and code not in neighbours:
            neighbours.append(code)
    n_qpv = int(min(10, 2 + size // 80))
    numbers = rng.choice(np.arange(1, 40), size=n_qpv, replace=False)
    suffixes = _pick(rng, (0.2, 0.5, 0.3), n_qpv)
    codes = [f"QN{_dept3(dept)}{num:02d}{'NMI'[s]}" for num, s in zip(numbers, suffixes,
                                                                         strict=True)]
    weights = rng.dirichlet(np.full(n_qpv, 2.0))
    neighbour_qpv = rng.random(k) < 0.6
    return neighbours, codes, weights, neighbour_qpv


def _dept3(dept: str) -> str:
    # QPV codes carry the département on 3 digits; Corsica keeps its pre-1976 number 20.
    return "020" if dept in ("2A", "2B") else dept.zfill(3)


def _neighbour_qpv_codes(site: Site, k: int) -> list[str]:
    return [f"QN{_dept3(site.departement)}{50 + j:02d}{'NMI'[j % 3]}" for j in range(k)]


def _qp2015(code: str) -> str:
    # 2015 list: QP + département on 3 digits + 3 digits.
    return f"QP{code[2:5]}{int(code[5:7]):03d}"


@dataclass
class _Pathways:
    entry: np.ndarray
    exit: np.ndarray  # _NULL when ongoing
    ongoing: np.ndarray
    birth: np.ndarray
    motif: np.ndarray
    exit_motif: np.ndarray  # -1 when ongoing
    niveau: np.ndarray
    orientation: np.ndarray
    ext: int

    @property
    def end(self) -> np.ndarray:
        return np.where(self.ongoing, self.ext, self.exit)


def _type_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of each action type given the strand, and of each partner given the type."""
    if TYPES_ACTION[-1] != "AUTRE":
        # The last column is AUTRE's (a boolean mask would sum in another order: other draws).
        raise RuntimeError("AUTRE doit rester le dernier type d'action de la liste des contrats")
    specs = [ACTION_TYPES[name] for name in TYPES_ACTION]
    by_volet = np.zeros((len(VOLETS), len(TYPES_ACTION)))
    for j, (name, spec) in enumerate(zip(TYPES_ACTION, specs, strict=True)):
        for i, volet in enumerate(VOLETS):
            if spec.volet == volet or name == "AUTRE":
                by_volet[i, j] = spec.weight
    # AUTRE keeps its weight in every strand; the strand's own types share the rest.
    by_volet[:, :-1] *= (1 - ACTION_TYPES["AUTRE"].weight) / by_volet[:, :-1].sum(axis=1, keepdims=True)
    partners = np.zeros((len(TYPES_ACTION), len(PARTENAIRES)))
    for j, spec in enumerate(specs):
        for partner, w in spec.partners.items():
            partners[j, PARTENAIRES.index(partner)] = w
    partners /= partners.sum(axis=1, keepdims=True)
    params = np.array([[s.days[0], s.days[1], s.sessions[0], s.sessions[1], s.p_no_sessions,
                        s.cost, s.p_collective] for s in specs])
    return by_volet, partners, params


_TYPE_BY_VOLET, _PARTNER_BY_TYPE, _TYPE_PARAMS = _type_tables()


def _simulate_actions(rng: np.random.Generator, p: _Pathways, pathway_ids: pl.Series,
                      offset: int, aside: np.random.Generator, launch: Launch | None, focus: float) -> dict:
    span = p.end - p.entry
    share = np.clip(0.15 + span / _MONTH / 36, 0.15, 0.85)
    count = 2 + rng.binomial(6, share)
    pid = np.repeat(np.arange(len(span)), count)
    k = len(pid)
    first = np.r_[True, pid[1:] != pid[:-1]]
    u = rng.random(k)
    offset_days = np.where(first, u * np.minimum(span[pid], 30), u**1.2 * span[pid] * 0.9)
    debut = p.entry[pid] + offset_days.astype(np.int64)

    volet = _pick(rng, _P_VOLETS, k)
    lead = _VOLET_OF_MOTIF[p.motif[pid]]
    volet = np.where(first & (lead >= 0), lead, volet)
    kind = _pick_rows(rng, _TYPE_BY_VOLET, volet)
    age = _years(debut) - p.birth[pid]
    kind = np.where((kind == TYPES_ACTION.index("COUP_DE_POUCE_LANGAGE")) & (age > 8),
                    TYPES_ACTION.index("ACCOMPAGNEMENT_SCOLARITE"), kind)
    if launch:  # the type exists at the site from its launch on, and takes a larger share then
        launched = TYPES_ACTION.index(launch.type_action)
        after = debut >= _day(launch.day)
        kind = np.where((kind == launched) & ~after, TYPES_ACTION.index(launch.before), kind)
        strand = VOLETS.index(ACTION_TYPES[launch.type_action].volet)
        converted = after & (volet == strand) & (aside.random(k) < launch.share_after)
        kind = np.where(converted, launched, kind)
    lo_days, hi_days, lo_s, hi_s, p_no_s, cost_median, p_coll = _TYPE_PARAMS[kind].T
    collective = rng.random(k) < p_coll
    partner = _pick_rows(rng, _PARTNER_BY_TYPE, kind)
    # Pathways lean on the partner of their first action, when it offers the action's type; how much is
    # the site's way of working (its share of actions kept with that partner).
    lead = partner[np.flatnonzero(first)][pid]
    keep = ~first & (_PARTNER_BY_TYPE[kind, lead] > 0) & (aside.random(k) < focus)
    partner = np.where(keep, lead, partner)
    older = age >= 6  # CAMSP and PMI see young children only
    partner = np.where(older & (partner == PARTENAIRES.index("CAMSP")),
                       PARTENAIRES.index("CMPP"), partner)
    partner = np.where(older & (partner == PARTENAIRES.index("PMI")),
                       PARTENAIRES.index("EDUCATION_NATIONALE"), partner)

    planned_days = (lo_days + rng.random(k) * (hi_days - lo_days)).astype(np.int64)
    fin = debut + planned_days
    closed = ~p.ongoing[pid]
    cut = rng.random(k) < 0.9
    cut &= (kind != _GUIDANCE) | (aside.random(k) >= P_GUIDANCE_PAST_EXIT)
    fin = np.where(closed & (fin > p.exit[pid]) & cut, np.maximum(p.exit[pid], debut), fin)
    future = fin > p.ext
    fin = np.where(future & (rng.random(k) < 0.85), _NULL, fin)  # ongoing action, no end yet
    fin = np.where(rng.random(k) < 0.03, _NULL, fin)

    planned = (lo_s + rng.random(k) * (hi_s - lo_s + 1)).astype(np.int64)
    no_sessions = rng.random(k) < p_no_s
    done = (fin != _NULL) & (fin <= p.ext)
    elapsed = np.clip((p.ext - debut) / np.maximum(planned_days, 1), 0, 1)
    attendance = rng.beta(7, 1.8, k) * np.where(done, 1.0, elapsed)
    realised = np.rint(planned * attendance).astype(np.int64)
    overrun = rng.random(k) < 0.015
    realised = np.where(overrun, planned + rng.integers(1, 4, k), realised)
    realised = np.where(no_sessions, np.where(rng.random(k) < 0.85, _NULL,
                                              rng.integers(1, 12, k)), realised)
    realised = np.where(rng.random(k) < 0.03, _NULL, realised)
    planned = np.where(no_sessions, _NULL, planned)

    cost = cost_median * rng.lognormal(0, 0.6, k) * np.where(collective, 0.6, 1.0)
    free = np.isin(partner, [PARTENAIRES.index("EDUCATION_NATIONALE"), PARTENAIRES.index("CMPP")])
    cost = np.round(np.clip(np.where(free, 0.0, cost), 0, 2000), 2)
    cost_null = rng.random(k) < 0.12

    order = np.lexsort((debut, pid))
    pid, debut, fin, volet, kind = pid[order], debut[order], fin[order], volet[order], kind[order]
    collective, partner = collective[order], partner[order]
    planned, realised, cost, cost_null = planned[order], realised[order], cost[order], \
        cost_null[order]
    frame = pl.DataFrame([
        _ids("id_action", "A", offset * 10 + np.arange(k), 7),
        pathway_ids.gather(pl.Series(pid, dtype=pl.Int64)).alias("id_parcours"),
        _codes("volet", VOLETS, volet),
        _codes("type_action", TYPES_ACTION, kind),
        _codes("modalite", MODALITES, np.where(collective, _COLLECTIVE, _INDIVIDUELLE)),
        _codes("partenaire", PARTENAIRES, partner),
        _dates("date_debut", debut),
        _dates("date_fin", fin),
        _ints("seances_prevues", planned),
        _ints("seances_realisees", realised),
        pl.Series("cout_euros", np.where(cost_null, np.nan, cost)).fill_nan(None),
    ])
    return {"frame": frame, "_pathway": np.unique(pid[volet == VOLETS.index("SANTE")]),
            "_guidance": np.unique(pid[kind == _GUIDANCE]),
            "_psychomotricite": np.unique(pid[kind == _PSYCHOMOTRICITE])}


def _simulate_bilans(rng: np.random.Generator, p: _Pathways, pathway_ids: pl.Series,
                     offset: int, aside: np.random.Generator, psychomotricity: np.ndarray) -> pl.DataFrame:
    m = len(p.entry)
    span = p.end - p.entry
    exited = ~p.ongoing
    success = np.where(exited, _SUCCESS_BY_MOTIF[np.maximum(p.exit_motif, 0)], 0.5)
    objectives = np.clip(1 + rng.poisson(2, m), 1, 6)
    base = rng.normal(1.9, 0.5, m)
    safe_exit = np.where(exited, p.exit, p.ext)

    parts: list[tuple[np.ndarray, np.ndarray, int]] = []
    entree = np.flatnonzero(rng.random(m) < 0.9)
    when = p.entry[entree] + rng.integers(0, 45, len(entree))
    keep = when <= p.ext
    parts.append((entree[keep], when[keep], _ENTREE))
    mid = np.flatnonzero((span >= 180) & (rng.random(m) < 0.55))
    parts.append((mid, p.entry[mid] + (span[mid] * rng.uniform(0.35, 0.65, len(mid))).astype(
        np.int64), _INTERMEDIAIRE))
    out = np.flatnonzero(exited & (rng.random(m) < 0.8))
    parts.append((out, np.maximum(safe_exit[out] - rng.integers(0, 21, len(out)), p.entry[out]),
                  _SORTIE))
    # Follow-up bilans: early, in the 120–240-day window or late; none after the extraction.
    lows, highs, shares = (np.array(x) for x in zip(*FOLLOW_UP_DAYS, strict=True))
    window = _pick(aside, shares, m)
    after_exit = lows[window] + (aside.random(m) * (highs[window] - lows[window] + 1)).astype(np.int64)
    follow = np.flatnonzero(exited & (aside.random(m) < P_FOLLOW_UP) & (safe_exit + after_exit <= p.ext))
    parts.append((follow, safe_exit[follow] + after_exit[follow], _SUIVI))

    pid = np.concatenate([x[0] for x in parts])
    when = np.concatenate([x[1] for x in parts])
    kind = np.concatenate([np.full(len(x[0]), x[2]) for x in parts])
    k = len(pid)
    # Share of objectives reached, and lift of the notes, by kind of bilan.
    reach = _by_kind(kind, {_ENTREE: np.zeros(k), _INTERMEDIAIRE: 0.35 * success[pid] + 0.1,
                            _SORTIE: success[pid], _SUIVI: 0.9 * success[pid]})
    reached = rng.binomial(objectives[pid], np.clip(reach, 0, 1))
    lift = _by_kind(kind, {_ENTREE: np.zeros(k), _INTERMEDIAIRE: np.full(k, 0.35),
                           _SORTIE: 0.9 * success[pid], _SUIVI: 0.8 * success[pid]})

    # Psychomotricity sessions show at exit in health and behaviour.
    later = (kind == _SORTIE) | (kind == _SUIVI)
    psy_lift = np.where(later & psychomotricity[pid], PSYCHOMOTRICITY_LIFT, 0.0)

    def note(p_null: float, extra_null: np.ndarray | None = None, extra: np.ndarray | float = 0.0) -> np.ndarray:
        value = np.clip(np.rint(base[pid] + lift + extra + rng.normal(0, 0.6, k)), 1, 4).astype(np.int64)
        missing = rng.random(k) < p_null
        if extra_null is not None:
            missing |= extra_null
        return np.where(missing, _NULL, value)

    notes = {
        "note_scolarite": note(0.06, p.niveau[pid] == _NON_SCOLARISE),
        "note_comportement": note(0.06, extra=psy_lift),
        "note_sante": note(0.22, extra=psy_lift),
        "note_parentalite": note(0.12),
    }
    order = np.lexsort((when, pid))
    return pl.DataFrame([
        _ids("id_bilan", "B", offset * 10 + np.arange(k), 7),
        pathway_ids.gather(pl.Series(pid[order], dtype=pl.Int64)).alias("id_parcours"),
        _codes("type_bilan", TYPES_BILAN, kind[order]),
        _dates("date_bilan", when[order]),
        _ints("objectifs_fixes", objectives[pid][order]),
        _ints("objectifs_atteints", reached[order]),
        *[_ints(name, values[order]) for name, values in notes.items()],
    ])


def _by_kind(kind: np.ndarray, values: dict[int, np.ndarray]) -> np.ndarray:
    """For each i, values[kind[i]][i] (kinds are indices into TYPES_BILAN)."""
    return np.select([kind == key for key in values], list(values.values()))


def _simulate_requests(rng: np.random.Generator, p: _Pathways, parcours: pl.DataFrame,
                       has_health: np.ndarray, keeps_pre_list: bool, next_child: int,
                       ext: int, window_start: int, launch: Launch | None) -> pl.DataFrame:
    """Waiting-list requests: care services for pathways, and the PRE's own list."""
    m = len(p.entry)
    span = p.end - p.entry
    # Care requests: most pathways with health actions, a few others; some make two.
    asked = rng.random(m) < np.where(has_health, 0.55, 0.10)
    pid = np.flatnonzero(asked)
    pid = np.concatenate([pid, pid[rng.random(len(pid)) < 0.12]])
    k = len(pid)
    shift = rng.integers(-120, 241, k)
    demand = np.clip(p.entry[pid] + np.minimum(shift, span[pid]), None, ext)
    young = _years(demand) - p.birth[pid] < 6
    young_p = np.array([P_STRUCTURE_UNDER_6.get(s, 0.0) for s in STRUCTURES])
    older_p = np.array([P_STRUCTURE_6_PLUS.get(s, 0.0) for s in STRUCTURES])
    structure = np.where(young, _pick(rng, young_p, k), _pick(rng, older_p, k))
    # Families who move away give up waiting when they leave.
    moved = ~p.ongoing[pid] & (p.exit_motif[pid] == MOTIFS_SORTIE.index("DEMENAGEMENT"))
    give_up = np.where(moved & (p.exit[pid] >= demand), p.exit[pid] - demand, 10**6)
    factor = np.ones(k)
    if launch:  # waits at the related care services drop for requests made after the launch
        related = np.array([launch.wait_factor.get(s, 1.0) for s in STRUCTURES])[structure]
        factor = np.where(demand >= _day(launch.day), related, 1.0)
    care = _outcomes(rng, structure, demand, ext, abandon_mean=1400, forced_abandon=give_up, factor=factor)

    child_ids = parcours["id_enfant"]
    pathway_ids = parcours["id_parcours"]
    care_child = child_ids.gather(pl.Series(pid, dtype=pl.Int64))
    care_pathway = pathway_ids.gather(pl.Series(pid, dtype=pl.Int64))
    unlinked = np.flatnonzero(rng.random(k) < 0.06)  # recorded on the child, not the pathway
    care_pathway = care_pathway.scatter(unlinked, None) if len(unlinked) else care_pathway
    frames = [(care_child, care_pathway, structure, demand, *care)]

    if keeps_pre_list:
        # Each pathway went through the PRE's list: asked at referral, seen by entry.
        seen = p.orientation + (rng.random(m) * (p.entry - p.orientation + 1)).astype(np.int64)
        seen = np.minimum(seen, p.entry)
        frames.append((child_ids, pathway_ids, np.full(m, _STRUCTURE_PRE), p.orientation,
                       seen, np.full(m, _NULL)))
        # Requests that never became a pathway: withdrawn, or still waiting at extraction.
        extra = int(rng.poisson(0.12 * m))
        demand_x = rng.integers(window_start, ext + 1, extra)
        outcome_x = _outcomes(rng, np.full(extra, _STRUCTURE_PRE), demand_x, ext,
                              abandon_mean=150)
        ids_x = _ids("id_enfant", "E", next_child + np.arange(extra), 6)
        frames.append((ids_x, pl.Series([None] * extra, dtype=pl.String),
                       np.full(extra, _STRUCTURE_PRE), demand_x, *outcome_x))

    child = pl.concat([f[0].alias("id_enfant") for f in frames])
    pathway = pl.concat([f[1].alias("id_parcours") for f in frames])
    structure = np.concatenate([f[2] for f in frames])
    demand = np.concatenate([f[3] for f in frames])
    rdv = np.concatenate([f[4] for f in frames])
    abandon = np.concatenate([f[5] for f in frames])
    order = np.argsort(demand, kind="stable")
    order_s = pl.Series(order, dtype=pl.Int64)
    offset = int(rng.integers(1, 5000))
    return pl.DataFrame([
        _ids("id_demande", "D", offset + np.arange(len(order)), 6),
        child.gather(order_s),
        pathway.gather(order_s),
        _codes("structure", STRUCTURES, structure[order]),
        _dates("date_demande", demand[order]),
        _dates("date_premier_rdv", rdv[order]),
        _dates("date_abandon", abandon[order]),
    ])


def _outcomes(rng: np.random.Generator, structure: np.ndarray, demand: np.ndarray, ext: int, *,
              abandon_mean: float, forced_abandon: np.ndarray | None = None, factor: np.ndarray | float = 1.0):
    """First appointment or withdrawal (competing), or still waiting at extraction."""
    k = len(structure)
    median = np.array([WAIT_MEDIAN_DAYS[s] for s in STRUCTURES])[structure] * factor
    wait = np.maximum(np.rint(median * rng.lognormal(0, 0.65, k)), 1).astype(np.int64)
    quit_after = np.rint(rng.exponential(abandon_mean, k)).astype(np.int64)
    if forced_abandon is not None:
        quit_after = np.minimum(quit_after, forced_abandon)
    abandoned = (quit_after < wait) & (demand + quit_after <= ext)
    seen = (wait <= quit_after) & (demand + wait <= ext)
    rdv = np.where(seen, demand + wait, _NULL)
    abandon = np.where(abandoned, demand + quit_after, _NULL)
    return rdv, abandon



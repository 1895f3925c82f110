"""Synthetic PRE submissions: realistic, deterministic, and optionally deliberately flawed.

One full-snapshot submission per site, calibrated on the published national figures (ANCT
survey on 2021 data, see `indicators.md`): about 160 children a year per site, 58.2 % boys,
age bands 14.6 / 52.4 / 31.5 / 1.5 %, pathways of 12–19 months, most referrals by the school,
months-to-years waits for a CMPP. Tables are built with numpy, vectorised per site, so that a
national run (hundreds of thousands of pathways) stays in minutes.

Determinism: each site draws from its own generator seeded by (seed, code_pre), so a site's
data do not depend on which other sites are generated; files carry no wall-clock time (fixed
ZIP entry times, fixed workbook properties), so the same seed gives byte-identical files.

Flawed submissions (`with_errors`) take one site's valid data and break exactly one blocking
rule of the data contracts each; the rule codes are checked against `data_contracts/`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.common import formats, progress, workers
from pipelines.common.datahome import DataHome
from pipelines.contracts.model import BLOQUANT, DATA_TABLES, load_contracts
from pipelines.contracts.referential import COLUMNS as SITE_COLUMNS
from pipelines.contracts.referential import SHIPPED, load_sites

__all__ = ["GENERATED_SITES_FILE", "VARIANTS", "GeneratedFile", "generate"]

GENERATED_SITES_FILE = "sites-generes.csv"
EXPECTED_FILE = "attendus.csv"
ERRORS_DIR = "erreurs"
VARIANTS = ("zip-utf8", "zip-cp1252", "xlsx")
PARALLEL_FROM = 40  # sites; below this, one process is faster than starting workers
LINES_UP_TO = 30  # sites written with a line each; more show a progress bar only

_EPOCH = np.datetime64("1970-01-01", "D")
_NULL = np.iinfo(np.int64).min  # sentinel for a missing date or integer in numpy arrays
_MONTH = 30.4375
_EXCEL_EPOCH_OFFSET = 25569  # Excel serial number of 1970-01-01

# --------------------------------------------------------------------------- code lists
# Order matters: arrays of indices point into these lists. Tests compare them with the contracts.

SEXES = ("F", "M")
NIVEAUX = ("NON_SCOLARISE", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2", "6E", "5E", "4E",
           "3E", "LYCEE", "AUTRE")
ORIGINES = ("ECOLE", "SERVICE_SOCIAL", "PMI_SANTE", "FAMILLE", "CENTRE_SOCIAL",
            "PREVENTION_SPECIALISEE", "PROTECTION_ENFANCE", "AUTRE")
MOTIFS_ORIENTATION = ("SCOLARITE", "COMPORTEMENT", "SANTE", "PARENTALITE", "ISOLEMENT_SOCIAL",
                      "AUTRE")
MOTIFS_SORTIE = ("OBJECTIFS_ATTEINTS", "RELAIS_DROIT_COMMUN", "DEMENAGEMENT", "LIMITE_AGE",
                 "ARRET_FAMILLE", "AUTRE")
VOLETS = ("SCOLARITE", "EDUCATIF", "PARENTALITE", "SANTE")
MODALITES = ("INDIVIDUELLE", "COLLECTIVE")
PARTENAIRES = ("EDUCATION_NATIONALE", "CMPP", "CAMSP", "PMI", "PROFESSIONNEL_LIBERAL",
               "ASSOCIATION", "CENTRE_SOCIAL", "CAF", "CONSEIL_DEPARTEMENTAL", "COMMUNE", "AUTRE")
TYPES_BILAN = ("ENTREE", "INTERMEDIAIRE", "SORTIE", "SUIVI_6_MOIS")
STRUCTURES = ("PRE", "CMPP", "CAMSP", "CMP", "ORTHOPHONISTE", "PSYCHOMOTRICIEN", "PSYCHOLOGUE",
              "PEDOPSYCHIATRIE", "AUTRE")

# Referral source: children not yet at school are never referred by the school.
_P_ORIGINE_SCOLARISE = (0.63, 0.11, 0.03, 0.08, 0.05, 0.03, 0.03, 0.04)
_P_ORIGINE_NON_SCOLARISE = (0.0, 0.32, 0.35, 0.15, 0.09, 0.0, 0.05, 0.04)
_P_MOTIF_ORIENTATION = (0.34, 0.22, 0.13, 0.16, 0.09, 0.06)
_P_MOTIF_SORTIE = (0.38, 0.22, 0.12, 0.03, 0.15, 0.10)
# Share of a pathway's objectives reached, by exit reason (drives SORTIE bilans and notes).
_SUCCESS_BY_MOTIF = np.array([0.85, 0.6, 0.35, 0.5, 0.25, 0.4])
# Age bands at entry (2–5, 6–10, 11–16, 17+) from the ANCT survey; 17+ capped at 18.
_AGE_BANDS = ((2, 5), (6, 10), (11, 16), (17, 18))
_P_AGE_BANDS = (0.146, 0.524, 0.315, 0.015)
_P_BOY = 0.582

_P_VOLETS = (0.30, 0.30, 0.17, 0.23)
# First action's strand follows the referral reason (index into VOLETS, -1: any).
_VOLET_OF_MOTIF = np.array([0, 1, 3, 2, 1, -1])


@dataclass(frozen=True)
class _ActionType:
    volet: str
    weight: float  # within its strand
    days: tuple[int, int]  # duration range
    sessions: tuple[int, int]  # planned sessions range
    p_no_sessions: float
    cost: float  # median cost in euros (per child)
    p_collective: float
    partners: dict[str, float]


_ACTION_TYPES: dict[str, _ActionType] = {
    "ACCOMPAGNEMENT_SCOLARITE": _ActionType("SCOLARITE", 0.6, (90, 280), (15, 40), 0.1, 250, 0.5,
                                            {"ASSOCIATION": 50, "CENTRE_SOCIAL": 25,
                                             "EDUCATION_NATIONALE": 15, "COMMUNE": 10}),
    "COUP_DE_POUCE_LANGAGE": _ActionType("SCOLARITE", 0.2, (120, 250), (30, 60), 0.1, 350, 0.9,
                                         {"ASSOCIATION": 50, "EDUCATION_NATIONALE": 30,
                                          "COMMUNE": 20}),
    "LIEN_ECOLE_FAMILLE": _ActionType("SCOLARITE", 0.2, (14, 150), (2, 8), 0.2, 30, 0.1,
                                      {"EDUCATION_NATIONALE": 60, "COMMUNE": 25,
                                       "ASSOCIATION": 15}),
    "ACTIVITE_SPORTIVE": _ActionType("EDUCATIF", 0.35, (90, 300), (20, 35), 0.1, 180, 0.9,
                                     {"ASSOCIATION": 70, "COMMUNE": 20, "CENTRE_SOCIAL": 10}),
    "ACTIVITE_CULTURELLE": _ActionType("EDUCATIF", 0.30, (60, 280), (10, 30), 0.1, 200, 0.8,
                                       {"ASSOCIATION": 60, "COMMUNE": 25, "CENTRE_SOCIAL": 15}),
    "SEJOUR_VACANCES": _ActionType("EDUCATIF", 0.15, (4, 14), (1, 1), 0.5, 550, 1.0,
                                   {"ASSOCIATION": 50, "CENTRE_SOCIAL": 25, "COMMUNE": 15,
                                    "CAF": 10}),
    "LOISIRS": _ActionType("EDUCATIF", 0.20, (30, 180), (5, 20), 0.2, 90, 0.8,
                           {"CENTRE_SOCIAL": 45, "ASSOCIATION": 35, "COMMUNE": 20}),
    "GROUPE_PAROLE_PARENTS": _ActionType("PARENTALITE", 0.25, (60, 240), (4, 10), 0.2, 40, 1.0,
                                         {"CENTRE_SOCIAL": 40, "ASSOCIATION": 35, "CAF": 25}),
    "ENTRETIEN_FAMILIAL": _ActionType("PARENTALITE", 0.40, (1, 90), (1, 6), 0.2, 25, 0.0,
                                      {"COMMUNE": 50, "ASSOCIATION": 30,
                                       "CONSEIL_DEPARTEMENTAL": 20}),
    "GUIDANCE_FAMILIALE": _ActionType("PARENTALITE", 0.15, (60, 300), (6, 20), 0.1, 300, 0.0,
                                      {"CMPP": 40, "ASSOCIATION": 40,
                                       "PROFESSIONNEL_LIBERAL": 20}),
    "MEDIATION": _ActionType("PARENTALITE", 0.20, (14, 120), (2, 8), 0.2, 120, 0.1,
                             {"ASSOCIATION": 70, "CAF": 15, "COMMUNE": 15}),
    "BILAN_SANTE": _ActionType("SANTE", 0.15, (1, 30), (1, 2), 0.3, 80, 0.0,
                               {"PMI": 50, "PROFESSIONNEL_LIBERAL": 30, "EDUCATION_NATIONALE": 20}),
    "BILAN_PSYCHOMOTRICITE": _ActionType("SANTE", 0.10, (7, 45), (1, 3), 0.2, 180, 0.0,
                                         {"PROFESSIONNEL_LIBERAL": 60, "CAMSP": 20, "CMPP": 20}),
    "PSYCHOMOTRICITE": _ActionType("SANTE", 0.15, (90, 330), (15, 35), 0.1, 700, 0.05,
                                   {"PROFESSIONNEL_LIBERAL": 60, "CMPP": 25, "CAMSP": 15}),
    "ORTHOPHONIE": _ActionType("SANTE", 0.25, (120, 365), (20, 40), 0.1, 300, 0.0,
                               {"PROFESSIONNEL_LIBERAL": 65, "CMPP": 30, "CAMSP": 5}),
    "SUIVI_PSYCHOLOGIQUE": _ActionType("SANTE", 0.25, (90, 365), (10, 30), 0.1, 500, 0.0,
                                       {"PROFESSIONNEL_LIBERAL": 45, "CMPP": 40,
                                        "ASSOCIATION": 15}),
    "ORIENTATION_SOIN": _ActionType("SANTE", 0.10, (7, 90), (1, 3), 0.3, 30, 0.0,
                                    {"CMPP": 40, "PMI": 30, "CONSEIL_DEPARTEMENTAL": 15,
                                     "AUTRE": 15}),
    "AUTRE": _ActionType("", 0.03, (14, 180), (2, 15), 0.3, 100, 0.3,
                         {"AUTRE": 60, "ASSOCIATION": 40}),
}
TYPES_ACTION = tuple(_ACTION_TYPES)

# Waiting lists: median wait (days) and share of requests by structure.
_WAIT_MEDIAN_DAYS = {"PRE": 35, "CMPP": 300, "CAMSP": 170, "CMP": 140, "ORTHOPHONISTE": 210,
                     "PSYCHOMOTRICIEN": 150, "PSYCHOLOGUE": 60, "PEDOPSYCHIATRIE": 240,
                     "AUTRE": 75}
_P_STRUCTURE_UNDER_6 = {"CAMSP": 0.45, "CMPP": 0.2, "ORTHOPHONISTE": 0.25, "PSYCHOMOTRICIEN": 0.1}
_P_STRUCTURE_6_PLUS = {"CMPP": 0.45, "ORTHOPHONISTE": 0.17, "CMP": 0.08, "PSYCHOMOTRICIEN": 0.08,
                       "PSYCHOLOGUE": 0.10, "PEDOPSYCHIATRIE": 0.06, "AUTRE": 0.06}

# Case-management software named in exports (invented names). Hand-filled workbooks name none.
_SOFTWARE = ("Millésime Réussite 4.2", "ParcoursPlus Édition 2.7", "Suivi Éducatif 5.1",
             "Orée PRE 3.0", "Réussite & Parcours 1.9")
_PORTEURS = ("Commune {de}", "CCAS {de}", "Caisse des écoles {de}", "GIP Réussite éducative {de}")
# A code sites sometimes send by mistake (Paris 18e arrondissement, not a commune): never a
# site, never invented, so the flawed file built on it stays refused.
UNKNOWN_CODE_PRE = "PRE75118"

# --------------------------------------------------------------------------- territories

_REGIONS: dict[str, tuple[str, ...]] = {
    "11": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "24": ("18", "28", "36", "37", "41", "45"),
    "27": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "28": ("14", "27", "50", "61", "76"),
    "32": ("02", "59", "60", "62", "80"),
    "44": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "52": ("44", "49", "53", "72", "85"),
    "53": ("22", "29", "35", "56"),
    "75": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "76": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "84": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "93": ("04", "05", "06", "13", "83", "84"),
    "94": ("2A", "2B"),
    "01": ("971",), "02": ("972",), "03": ("973",), "04": ("974",), "06": ("976",),
}
_REGION_OF_DEPT = {d: r for r, depts in _REGIONS.items() for d in depts}
# Number of communes (upper bound of the commune number) in the overseas départements.
_OVERSEAS_COMMUNES = {"971": 34, "972": 34, "973": 22, "974": 24, "976": 17}
# Départements with many priority neighbourhoods are drawn more often.
_DENSE_DEPTS = {"13", "59", "62", "69", "75", "77", "78", "91", "92", "93", "94", "95", "974"}

# Real communes with priority neighbourhoods, used first when sites are invented.
_KNOWN_COMMUNES = (
    ("75056", "Paris"), ("13055", "Marseille"), ("69123", "Lyon"), ("31555", "Toulouse"),
    ("06088", "Nice"), ("44109", "Nantes"), ("34172", "Montpellier"), ("33063", "Bordeaux"),
    ("59350", "Lille"), ("35238", "Rennes"), ("83137", "Toulon"), ("42218", "Saint-Étienne"),
    ("76351", "Le Havre"), ("38185", "Grenoble"), ("21231", "Dijon"), ("49007", "Angers"),
    ("30189", "Nîmes"), ("69266", "Villeurbanne"), ("63113", "Clermont-Ferrand"),
    ("72181", "Le Mans"), ("29019", "Brest"), ("37261", "Tours"), ("80021", "Amiens"),
    ("87085", "Limoges"), ("66136", "Perpignan"), ("25056", "Besançon"), ("45234", "Orléans"),
    ("76540", "Rouen"), ("14118", "Caen"), ("95018", "Argenteuil"), ("93048", "Montreuil"),
    ("93066", "Saint-Denis"), ("59512", "Roubaix"), ("59599", "Tourcoing"), ("84007", "Avignon"),
    ("92050", "Nanterre"), ("94028", "Créteil"), ("86194", "Poitiers"), ("64445", "Pau"),
    ("62193", "Calais"), ("17300", "La Rochelle"), ("2A004", "Ajaccio"), ("2B033", "Bastia"),
    ("97411", "Saint-Denis"), ("97209", "Fort-de-France"), ("97120", "Pointe-à-Pitre"),
    ("97302", "Cayenne"), ("97611", "Mamoudzou"), ("34032", "Béziers"), ("26362", "Valence"),
    ("73065", "Chambéry"), ("02691", "Saint-Quentin"), ("60057", "Beauvais"),
    ("91228", "Évry-Courcouronnes"), ("95585", "Sarcelles"), ("93001", "Aubervilliers"),
    ("93008", "Bobigny"), ("69259", "Vénissieux"), ("69256", "Vaulx-en-Velin"),
    ("38151", "Échirolles"), ("44184", "Saint-Nazaire"), ("56121", "Lorient"),
    ("16015", "Angoulême"), ("79191", "Niort"), ("18033", "Bourges"), ("41018", "Blois"),
    ("36044", "Châteauroux"), ("03185", "Montluçon"), ("58194", "Nevers"), ("89024", "Auxerre"),
    ("71076", "Chalon-sur-Saône"), ("90010", "Belfort"), ("25388", "Montbéliard"),
    ("30007", "Alès"), ("11069", "Carcassonne"), ("11262", "Narbonne"), ("81004", "Albi"),
    ("82121", "Montauban"), ("65440", "Tarbes"), ("64102", "Bayonne"), ("47001", "Agen"),
    ("24322", "Périgueux"), ("27229", "Évreux"), ("50129", "Cherbourg-en-Cotentin"),
    ("53130", "Laval"), ("22278", "Saint-Brieuc"), ("59183", "Dunkerque"),
    ("59606", "Valenciennes"), ("59392", "Maubeuge"), ("62498", "Lens"), ("62041", "Arras"),
    ("60175", "Creil"), ("77284", "Meaux"), ("78361", "Mantes-la-Jolie"), ("91286", "Grigny"),
    ("94081", "Vitry-sur-Seine"), ("92036", "Gennevilliers"), ("93014", "Clichy-sous-Bois"),
    ("93071", "Sevran"), ("95268", "Garges-lès-Gonesse"), ("42187", "Roanne"),
    ("13004", "Arles"), ("13056", "Martigues"), ("06029", "Cannes"), ("83061", "Fréjus"),
    ("34301", "Sète"), ("85191", "La Roche-sur-Yon"), ("28085", "Chartres"), ("39198", "Lons-le-Saunier"),
)
_NAME_STEMS = ("Saint-Martin", "Villeneuve", "Beaulieu", "Châteauneuf", "Fontaine", "Neuville",
               "Rochefort", "Montfort", "Saint-Jean", "Bourg", "Val", "Mont-Saint-Pierre")
_NAME_ENDS = ("", "-sur-Loire", "-les-Bains", "-la-Rivière", "-en-Forêt", "-le-Haut",
              "-sur-Mer", "-des-Champs", "-du-Lac", "-la-Vallée")


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    code_pre: str
    variant: str  # "zip-utf8", "zip-cp1252" or "xlsx"
    expected_rule: str | None  # None for a valid submission
    description: str  # French, short
    rows: dict[str, int] = field(default_factory=dict, compare=False)  # rows per data table


@dataclass(frozen=True)
class Site:
    code_pre: str
    nom: str
    code_commune: str
    departement: str
    region: str
    porteur: str


@dataclass
class SiteData:
    """One site's simulated snapshot, typed (dates as pl.Date), before it is written."""

    site: Site
    date_extraction: date
    manifest: list[tuple[str, str | date | None]]
    tables: dict[str, pl.DataFrame]


def generate(out_dir: Path, *, seed: int = 42, sites: list[str] | None = None,
             from_year: int = 2021, to_year: int = 2024, sites_count: int | None = None,
             with_errors: bool = False, home: DataHome | None = None,
             on_site: Callable[[str], None] | None = None) -> list[GeneratedFile]:
    """Write one synthetic submission per site into `out_dir` (and flawed ones if asked)."""
    if from_year > to_year:
        raise ValueError(f"Période invalide : {from_year} est après {to_year}.")
    if to_year < 2005:
        raise ValueError("Les PRE existent depuis 2005 : choisissez une année de fin ≥ 2005.")
    if sites_count is not None and sites_count < 1:
        raise ValueError("Le nombre de sites doit être au moins 1.")
    home = home or DataHome.from_settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notify = on_site or (lambda _message: None)

    chosen = _choose_sites(home, seed, sites, sites_count)
    jobs = [(site, VARIANTS[i % len(VARIANTS)], out_dir, seed, from_year, to_year)
            for i, site in enumerate(chosen)]
    files: list[GeneratedFile] = []
    # A line per site for a handful of sites; beyond, the progress bar (or periodic lines) only.
    per_site = notify if len(jobs) <= LINES_UP_TO else (lambda _message: None)
    with progress.phase("Génération", len(jobs)) as bar:
        for done in workers.ordered_map(_build_site, jobs, parallel_from=PARALLEL_FROM, chunksize=4):
            files.append(done)
            per_site(_written_message(done))
            bar.advance(1, rows=sum(done.rows.values()))

    if with_errors and files:
        # The smallest site keeps the flawed files small; its data are simulated again (cheap).
        smallest, base = min(zip(files, chosen, strict=True), key=lambda fs: fs[0].rows["parcours"])
        data = simulate_site(base, seed=seed, from_year=from_year, to_year=to_year,
                             variant=smallest.variant)
        files += _write_error_files(out_dir / ERRORS_DIR, data, home, notify)
        _write_expected(out_dir, files)
    return files


def _build_site(job: tuple[Site, str, Path, int, int, int]) -> GeneratedFile:
    """Simulate and write one site's valid submission (runs in a worker process for big runs)."""
    site, variant, out_dir, seed, from_year, to_year = job
    data = simulate_site(site, seed=seed, from_year=from_year, to_year=to_year, variant=variant)
    path = out_dir / _file_name(site.code_pre, data.date_extraction, variant)
    _write(path, _Submission(data.manifest, data.tables, variant), data.date_extraction)
    rows = {t: data.tables[t].height for t in DATA_TABLES}
    return GeneratedFile(path, site.code_pre, variant, None, _valid_description(rows, variant),
                         rows)


def _written_message(file: GeneratedFile) -> str:
    return f"{file.code_pre} : {formats.number(file.rows['parcours'])} parcours écrits ({file.path.name})"


# --------------------------------------------------------------------------- sites


def _choose_sites(home: DataHome, seed: int, codes: list[str] | None,
                  count: int | None) -> list[Site]:
    known = load_sites(home)
    if codes:
        wanted = [c.strip().upper() for c in codes]
        unknown = sorted(set(wanted) - set(known["code_pre"].to_list()))
        if unknown:
            raise ValueError(f"Code(s) PRE absent(s) du référentiel : {', '.join(unknown)}")
        base = known.filter(pl.col("code_pre").is_in(wanted))
    else:
        base = _reference_sites(home)
    chosen = [Site(**row) for row in base.sort("code_pre").iter_rows(named=True)]
    if count is None:
        return chosen
    if count <= len(chosen):
        return chosen[:count]
    taken = set(known["code_pre"].to_list()) - _generated_codes(home)
    invented = _invent_sites(count - len(chosen), taken, seed)
    _save_invented(home, invented)
    return chosen + invented


def _reference_sites(home: DataHome) -> pl.DataFrame:
    """The referential without the sites a previous run invented (so reruns are identical)."""
    files = [SHIPPED]
    if home.referentiel.is_dir():
        files += sorted(p for p in home.referentiel.glob("*.csv")
                        if not p.name.startswith(".") and p.name != GENERATED_SITES_FILE)
    frames = [pl.read_csv(f, infer_schema=False, encoding="utf8").select(SITE_COLUMNS)
              for f in files]
    return pl.concat(frames).unique(subset="code_pre", keep="last", maintain_order=True)


def _generated_codes(home: DataHome) -> set[str]:
    path = home.referentiel / GENERATED_SITES_FILE
    if not path.is_file():
        return set()
    codes = set(pl.read_csv(path, infer_schema=False)["code_pre"].to_list())
    return codes - set(_reference_sites(home)["code_pre"].to_list())


def _invent_sites(count: int, taken: set[str], seed: int) -> list[Site]:
    """Sites beyond the referential: real communes first, then plausible invented ones."""
    rng = np.random.default_rng([_seed(seed), 0x517E5])
    out: list[Site] = []
    used = set(taken) | {UNKNOWN_CODE_PRE}

    def add(code: str, nom: str) -> None:
        dept = code[:3] if code.startswith("97") else code[:2]
        porteur = _PORTEURS[int(rng.integers(len(_PORTEURS)))].format(de=_of(nom))
        out.append(Site("PRE" + code, nom, code, dept, _REGION_OF_DEPT[dept], porteur))
        used.add("PRE" + code)

    for i in rng.permutation(len(_KNOWN_COMMUNES)):
        if len(out) == count:
            return out
        code, nom = _KNOWN_COMMUNES[i]
        if "PRE" + code not in used:
            add(code, nom)
    depts = sorted(_REGION_OF_DEPT)
    weights = np.array([4.0 if d in _DENSE_DEPTS else 1.0 for d in depts])
    weights /= weights.sum()
    while len(out) < count:
        dept = depts[int(rng.choice(len(depts), p=weights))]
        if dept in _OVERSEAS_COMMUNES:
            code = f"{dept}{int(rng.integers(1, _OVERSEAS_COMMUNES[dept] + 1)):02d}"
        else:
            code = f"{dept}{int(rng.integers(1, 700)):03d}"
        if "PRE" + code in used:
            continue
        stem = _NAME_STEMS[int(rng.integers(len(_NAME_STEMS)))]
        end = _NAME_ENDS[int(rng.integers(len(_NAME_ENDS)))]
        add(code, stem + end)
    return out


def _of(name: str) -> str:
    """French "de" + place name, with elision and contraction (d'Alès, du Havre)."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    if name[0] in "AEIOUYÂÉÈÊÎÔH":
        return "d'" + name
    return "de " + name


def _save_invented(home: DataHome, invented: list[Site]) -> None:
    """Add invented sites to $PRE_HOME/referentiel/sites-generes.csv (earlier rows kept)."""
    home.referentiel.mkdir(parents=True, exist_ok=True)
    path = home.referentiel / GENERATED_SITES_FILE
    frame = pl.DataFrame([vars(s) for s in invented], schema={c: pl.String for c in SITE_COLUMNS})
    if path.is_file():
        previous = pl.read_csv(path, infer_schema=False).select(SITE_COLUMNS)
        frame = pl.concat([previous, frame]).unique(subset="code_pre", keep="last")
    frame.sort("code_pre").write_csv(path)


# --------------------------------------------------------------------------- simulation helpers


def _seed(seed: int) -> int:
    return int(seed) % (2**63)


def _rng(seed: int, key: str) -> np.random.Generator:
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return np.random.default_rng([_seed(seed), digest])


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _years(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)


def _months(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _jan1(years: np.ndarray) -> np.ndarray:
    return (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype(
        "datetime64[D]").astype(np.int64)


_MONTH_WEIGHT = np.array([1.1, 1.0, 1.1, 0.9, 0.9, 0.8, 0.3, 0.15, 1.1, 1.4, 1.3, 0.9])
_LOCKDOWN = (_day(date(2020, 3, 17)), _day(date(2020, 5, 10)))


def _entry_weights(days: np.ndarray) -> np.ndarray:
    """Relative chance of a pathway starting on each day: school rhythm, weekdays, lockdown."""
    weight = _MONTH_WEIGHT[_months(days) - 1]
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weight = np.where(weekday >= 5, weight * 0.03, weight)
    lockdown = (days >= _LOCKDOWN[0]) & (days <= _LOCKDOWN[1])
    return np.where(lockdown, weight * 0.1, weight)


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
    # Site traits first, so that they do not depend on the period asked.
    size = float(np.clip(160 * rng.lognormal(0, 0.55) / np.exp(0.55**2 / 2), 30, 1500))
    mean_months = float(rng.uniform(12.5, 18.5))
    has_start = bool(rng.random() < 0.8)
    keeps_pre_list = bool(rng.random() < 0.6)
    records_eps = bool(rng.random() < 0.85)
    uses_qp2015 = bool(rng.random() < 0.35)
    software = _SOFTWARE[int(rng.integers(len(_SOFTWARE)))]  # drawn always: same stream
    if variant == "xlsx":
        software = None
    offsets = rng.integers(1, 4000, size=6)

    extraction = date(to_year, 12, 9) + timedelta(days=int(rng.integers(0, 13)))
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
    boy = rng.random(n) < _P_BOY
    band = _pick(rng, _P_AGE_BANDS, n)
    low = np.array([b[0] for b in _AGE_BANDS])[band]
    high = np.array([b[1] for b in _AGE_BANDS])[band]
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
    niveau = np.clip(grade, -1, 12) + 1  # -1 → NON_SCOLARISE, 0 → PS … 11 → 3E, 12+ → LYCEE
    niveau = np.where((grade == 0) & (rng.random(m) < 0.15), 0, niveau)
    niveau = np.where((grade >= 12) & (rng.random(m) < 0.25), 14, niveau)  # apprenticeship…
    not_at_school = niveau == 0

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
    exit_motif = np.where((exit_motif == 3) & (exit_age < 16), 0, exit_motif)
    exit_motif = np.where((exit_age >= 17) & (rng.random(m) < 0.4), 3, exit_motif)
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
        _codes("sexe", SEXES, boy[p_child].astype(np.int64)),
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
    actions = _simulate_actions(rng, pathways, parcours["id_parcours"], offsets[4])
    bilans = _simulate_bilans(rng, pathways, parcours["id_parcours"], offsets[5])
    has_health = np.zeros(m, dtype=bool)
    has_health[actions.pop("_pathway")] = True
    attentes = _simulate_requests(rng, pathways, parcours, has_health, keeps_pre_list,
                                  offsets[1] + n, ext, _day(window_start))

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
        if dept in _OVERSEAS_COMMUNES:
            code = f"{dept}{int(rng.integers(1, _OVERSEAS_COMMUNES[dept] + 1)):02d}"
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
    by_volet = np.zeros((len(VOLETS), len(TYPES_ACTION)))
    for j, (name, spec) in enumerate(_ACTION_TYPES.items()):
        for i, volet in enumerate(VOLETS):
            if spec.volet == volet or name == "AUTRE":
                by_volet[i, j] = spec.weight
    by_volet[:, :-1] *= (1 - _ACTION_TYPES["AUTRE"].weight) / by_volet[:, :-1].sum(
        axis=1, keepdims=True)
    partners = np.zeros((len(TYPES_ACTION), len(PARTENAIRES)))
    for j, spec in enumerate(_ACTION_TYPES.values()):
        for partner, w in spec.partners.items():
            partners[j, PARTENAIRES.index(partner)] = w
    partners /= partners.sum(axis=1, keepdims=True)
    params = np.array([[s.days[0], s.days[1], s.sessions[0], s.sessions[1], s.p_no_sessions,
                        s.cost, s.p_collective] for s in _ACTION_TYPES.values()])
    return by_volet, partners, params


_TYPE_BY_VOLET, _PARTNER_BY_TYPE, _TYPE_PARAMS = _type_tables()


def _simulate_actions(rng: np.random.Generator, p: _Pathways, pathway_ids: pl.Series,
                      offset: int) -> dict:
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
    lo_days, hi_days, lo_s, hi_s, p_no_s, cost_median, p_coll = _TYPE_PARAMS[kind].T
    collective = rng.random(k) < p_coll
    partner = _pick_rows(rng, _PARTNER_BY_TYPE, kind)
    older = age >= 6  # CAMSP and PMI see young children only
    partner = np.where(older & (partner == PARTENAIRES.index("CAMSP")),
                       PARTENAIRES.index("CMPP"), partner)
    partner = np.where(older & (partner == PARTENAIRES.index("PMI")),
                       PARTENAIRES.index("EDUCATION_NATIONALE"), partner)

    planned_days = (lo_days + rng.random(k) * (hi_days - lo_days)).astype(np.int64)
    fin = debut + planned_days
    closed = ~p.ongoing[pid]
    fin = np.where(closed & (fin > p.exit[pid]) & (rng.random(k) < 0.9),
                   np.maximum(p.exit[pid], debut), fin)
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
        _codes("modalite", MODALITES, collective.astype(np.int64)),
        _codes("partenaire", PARTENAIRES, partner),
        _dates("date_debut", debut),
        _dates("date_fin", fin),
        _ints("seances_prevues", planned),
        _ints("seances_realisees", realised),
        pl.Series("cout_euros", np.where(cost_null, np.nan, cost)).fill_nan(None),
    ])
    return {"frame": frame, "_pathway": np.unique(pid[volet == VOLETS.index("SANTE")])}


def _simulate_bilans(rng: np.random.Generator, p: _Pathways, pathway_ids: pl.Series,
                     offset: int) -> pl.DataFrame:
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
    parts.append((entree[keep], when[keep], 0))
    mid = np.flatnonzero((span >= 180) & (rng.random(m) < 0.55))
    parts.append((mid, p.entry[mid] + (span[mid] * rng.uniform(0.35, 0.65, len(mid))).astype(
        np.int64), 1))
    out = np.flatnonzero(exited & (rng.random(m) < 0.8))
    parts.append((out, np.maximum(safe_exit[out] - rng.integers(0, 21, len(out)), p.entry[out]),
                  2))
    follow = np.flatnonzero(exited & (safe_exit + 183 <= p.ext) & (rng.random(m) < 0.35))
    parts.append((follow, np.minimum(safe_exit[follow] + rng.integers(180, 215, len(follow)),
                                     p.ext), 3))

    pid = np.concatenate([x[0] for x in parts])
    when = np.concatenate([x[1] for x in parts])
    kind = np.concatenate([np.full(len(x[0]), x[2]) for x in parts])
    k = len(pid)
    reach = np.choose(kind, [np.zeros(k), 0.35 * success[pid] + 0.1, success[pid],
                             0.9 * success[pid]])
    reached = rng.binomial(objectives[pid], np.clip(reach, 0, 1))
    lift = np.choose(kind, [np.zeros(k), np.full(k, 0.35), 0.9 * success[pid],
                            0.8 * success[pid]])

    def note(p_null: float, extra_null: np.ndarray | None = None) -> np.ndarray:
        value = np.clip(np.rint(base[pid] + lift + rng.normal(0, 0.6, k)), 1, 4).astype(np.int64)
        missing = rng.random(k) < p_null
        if extra_null is not None:
            missing |= extra_null
        return np.where(missing, _NULL, value)

    notes = {
        "note_scolarite": note(0.06, p.niveau[pid] == 0),
        "note_comportement": note(0.06),
        "note_sante": note(0.22),
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


def _simulate_requests(rng: np.random.Generator, p: _Pathways, parcours: pl.DataFrame,
                       has_health: np.ndarray, keeps_pre_list: bool, next_child: int,
                       ext: int, window_start: int) -> pl.DataFrame:
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
    young_p = np.array([_P_STRUCTURE_UNDER_6.get(s, 0.0) for s in STRUCTURES])
    older_p = np.array([_P_STRUCTURE_6_PLUS.get(s, 0.0) for s in STRUCTURES])
    structure = np.where(young, _pick(rng, young_p, k), _pick(rng, older_p, k))
    # Families who move away give up waiting when they leave.
    moved = ~p.ongoing[pid] & (p.exit_motif[pid] == MOTIFS_SORTIE.index("DEMENAGEMENT"))
    give_up = np.where(moved & (p.exit[pid] >= demand), p.exit[pid] - demand, 10**6)
    care = _outcomes(rng, structure, demand, ext, abandon_mean=1400, forced_abandon=give_up)

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
        frames.append((child_ids, pathway_ids, np.zeros(m, dtype=np.int64), p.orientation,
                       seen, np.full(m, _NULL)))
        # Requests that never became a pathway: withdrawn, or still waiting at extraction.
        extra = int(rng.poisson(0.12 * m))
        demand_x = rng.integers(window_start, ext + 1, extra)
        outcome_x = _outcomes(rng, np.zeros(extra, dtype=np.int64), demand_x, ext,
                              abandon_mean=150)
        ids_x = _ids("id_enfant", "E", next_child + np.arange(extra), 6)
        frames.append((ids_x, pl.Series([None] * extra, dtype=pl.String),
                       np.zeros(extra, dtype=np.int64), demand_x, *outcome_x))

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
              abandon_mean: float, forced_abandon: np.ndarray | None = None):
    """First appointment or withdrawal (competing), or still waiting at extraction."""
    k = len(structure)
    median = np.array([_WAIT_MEDIAN_DAYS[s] for s in STRUCTURES])[structure]
    wait = np.maximum(np.rint(median * rng.lognormal(0, 0.65, k)), 1).astype(np.int64)
    quit_after = np.rint(rng.exponential(abandon_mean, k)).astype(np.int64)
    if forced_abandon is not None:
        quit_after = np.minimum(quit_after, forced_abandon)
    abandoned = (quit_after < wait) & (demand + quit_after <= ext)
    seen = (wait <= quit_after) & (demand + wait <= ext)
    rdv = np.where(seen, demand + wait, _NULL)
    abandon = np.where(abandoned, demand + quit_after, _NULL)
    return rdv, abandon


# --------------------------------------------------------------------------- writing


@dataclass
class _Submission:
    manifest: list[tuple[str, str | date | None]]
    tables: dict[str, pl.DataFrame]
    variant: str
    members_hook: Callable[[dict[str, bytes]], dict[str, bytes]] | None = None
    damage: Callable[[bytes], bytes] | None = None


def _file_name(code_pre: str, extraction: date, variant: str, prefix: str = "") -> str:
    suffix = ".xlsx" if variant == "xlsx" else ".zip"
    return f"{prefix}{code_pre}_{extraction.isoformat()}{suffix}"


def _write(path: Path, sub: _Submission, extraction: date) -> None:
    stamp = datetime.combine(extraction, datetime.min.time()).replace(hour=17, minute=30)
    if sub.variant == "xlsx":
        data = _xlsx_bytes(sub, stamp)
    else:
        members = {f"{name}.csv": _csv_bytes(frame, sub.variant)
                   for name, frame in _frames(sub).items()}
        if sub.members_hook:
            members = sub.members_hook(members)
        data = _zip_bytes(members, stamp)
    if sub.damage:
        data = sub.damage(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _frames(sub: _Submission) -> dict[str, pl.DataFrame]:
    """All tables to write, the manifest as a `cle,valeur` frame first."""
    cp1252 = sub.variant == "zip-cp1252"

    def text(value: str | date | None) -> str | None:
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y") if cp1252 else value.isoformat()
        return value

    manifest = pl.DataFrame({"cle": [k for k, _ in sub.manifest],
                             "valeur": [text(v) for _, v in sub.manifest]},
                            schema={"cle": pl.String, "valeur": pl.String})
    return {"manifeste": manifest, **sub.tables}


def _csv_bytes(frame: pl.DataFrame, variant: str) -> bytes:
    if variant == "zip-cp1252":
        # What Excel's "CSV (séparateur : point-virgule)" gives on a French Windows.
        text = frame.write_csv(separator=";", date_format="%d/%m/%Y", decimal_comma=True,
                               float_precision=2, line_terminator="\r\n", null_value="")
        return text.encode("cp1252")
    return frame.write_csv(date_format="%Y-%m-%d", float_precision=2, null_value="").encode()


def _zip_bytes(members: dict[str, bytes], stamp: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def _xlsx_bytes(sub: _Submission, stamp: datetime) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    book.set_properties({"title": "Export PRE (données synthétiques)", "author": "pre-eval",
                         "created": stamp})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    money = book.add_format({"num_format": "0.00"})
    manifest = [(k, v) for k, v in sub.manifest]
    sheets = {"manifeste": None, **sub.tables}
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        if frame is None:  # manifest: real date cells for dates, text for the rest
            sheet.write_row(0, 0, ["cle", "valeur"], bold)
            sheet.set_column(0, 1, 20)
            for r, (key, value) in enumerate(manifest, start=1):
                sheet.write_string(r, 0, key)
                if isinstance(value, date):
                    sheet.write_datetime(r, 1, datetime.combine(value, datetime.min.time()), day)
                elif value is not None:
                    sheet.write_string(r, 1, value)
            continue
        sheet.write_row(0, 0, frame.columns, bold)
        sheet.set_column(0, max(frame.width - 1, 0), 16)
        for c, series in enumerate(frame.get_columns()):
            if series.dtype == pl.Date:
                # Excel's serial day number (what write_datetime stores), computed at once.
                serials = (series.cast(pl.Int32) + _EXCEL_EPOCH_OFFSET).to_list()
                for r, v in enumerate(serials, start=1):
                    if v is not None:
                        sheet.write_number(r, c, v, day)
            elif series.dtype.is_numeric():
                fmt = money if series.dtype.is_float() else None
                for r, v in enumerate(series.to_list(), start=1):
                    if v is not None:
                        sheet.write_number(r, c, v, fmt)
            else:
                for r, v in enumerate(series.to_list(), start=1):
                    if v is not None:
                        sheet.write_string(r, c, v)
    book.close()
    return buffer.getvalue()


def _variant_label(variant: str) -> str:
    return {"zip-utf8": "ZIP de CSV UTF-8 « , »", "zip-cp1252": "ZIP de CSV Windows-1252 « ; »",
            "xlsx": "classeur XLSX"}[variant]


def _valid_description(counts: dict[str, int], variant: str) -> str:
    return (f"Dépôt valide ({_variant_label(variant)}) : {formats.number(counts['parcours'])} parcours, "
            f"{formats.number(counts['actions'])} actions, {formats.number(counts['bilans'])} bilans, "
            f"{formats.number(counts['attentes'])} demandes")


def _write_expected(out_dir: Path, files: list[GeneratedFile]) -> None:
    rows = [{"fichier": f.path.relative_to(out_dir).as_posix(), "code_pre": f.code_pre,
             "variante": f.variant, "regle_attendue": f.expected_rule,
             "description": f.description} for f in files]
    schema = dict.fromkeys(rows[0], pl.String)
    pl.DataFrame(rows, schema=schema).write_csv(out_dir / EXPECTED_FILE)  # None → empty cell


# --------------------------------------------------------------------------- flawed submissions


@dataclass(frozen=True)
class _Flaw:
    rule: str
    description: str
    variant: str
    make: Callable[[SiteData], _Submission]
    tag: str = ""


def _write_error_files(folder: Path, base: SiteData, home: DataHome,
                       notify: Callable[[str], None]) -> list[GeneratedFile]:
    rules = load_contracts().rules_by_code
    known = set(load_sites(home)["code_pre"].to_list())
    files = []
    for flaw in _flaws(known):
        rule = rules.get(flaw.rule)
        if rule is None or rule.severity != BLOQUANT:
            raise RuntimeError(f"règle {flaw.rule} absente des contrats ou non bloquante")
        sub = flaw.make(base)
        code = next((str(v) for k, v in sub.manifest if k == "code_pre" and v), base.site.code_pre)
        tag = f"_{flaw.tag}" if flaw.tag else ""
        name = _file_name(code, base.date_extraction, flaw.variant,
                          prefix=f"erreur_{flaw.rule}{tag}_")
        path = folder / name
        _write(path, sub, base.date_extraction)
        files.append(GeneratedFile(path, code, flaw.variant, flaw.rule, flaw.description))
        notify(f"Dépôt erroné écrit : {ERRORS_DIR}/{name} (règle {flaw.rule})")
    return files


# Mutation helpers: each returns a modified copy, never touches the base data.

def _set(frame: pl.DataFrame, column: str, row: int, value) -> pl.DataFrame:
    series = frame[column]
    if isinstance(value, str) and series.dtype != pl.String:
        series = _as_text(series)
    series = series.clone().scatter(row, value)
    return frame.with_columns(series)


def _as_text(series: pl.Series, variant: str = "zip-utf8") -> pl.Series:
    if series.dtype == pl.Date:
        return series.dt.to_string("%d/%m/%Y" if variant == "zip-cp1252" else "%Y-%m-%d")
    return series.cast(pl.String)


def _row(frame: pl.DataFrame, condition: pl.Expr | None = None) -> int:
    """A row meeting the condition (the middle one of those), else the middle row."""
    rows = np.arange(frame.height)
    if condition is not None:
        hits = np.flatnonzero(frame.select(condition.fill_null(False)).to_series().to_numpy())
        if len(hits):
            rows = hits
    return int(rows[len(rows) // 2])


def _single_child(parcours: pl.DataFrame) -> pl.Expr:
    singles = parcours.group_by("id_enfant").len().filter(pl.col("len") == 1)["id_enfant"]
    return pl.col("id_enfant").is_in(singles.to_list())


def _sub(data: SiteData, variant: str, manifest: list | None = None, **tables: pl.DataFrame
         ) -> _Submission:
    return _Submission(manifest if manifest is not None else list(data.manifest),
                       {**data.tables, **tables}, variant)


def _manifest_with(data: SiteData, key: str, value) -> list:
    return [(k, value if k == key else v) for k, v in data.manifest]


def _shift(d: date, days: int) -> date:
    return d + timedelta(days=days)


def _unused_id(frame: pl.DataFrame, column: str, prefix: str) -> str:
    taken = set(frame[column].drop_nulls().to_list())
    number = 999999
    while f"{prefix}{number}" in taken:
        number -= 1
    return f"{prefix}{number}"


def _detach(data: SiteData, pathway: str) -> dict[str, pl.DataFrame]:
    """Tables without what refers to one pathway (so a broken id cascades into nothing else)."""
    t = data.tables
    return {
        "actions": t["actions"].filter(pl.col("id_parcours") != pathway),
        "bilans": t["bilans"].filter(pl.col("id_parcours") != pathway),
        "attentes": t["attentes"].with_columns(
            pl.when(pl.col("id_parcours") == pathway).then(None).otherwise(pl.col("id_parcours"))
            .alias("id_parcours")),
    }


def _parcours_cell(column: str, value, condition: pl.Expr | None = None,
                   single: bool = True) -> Callable[[SiteData], dict[str, pl.DataFrame]]:
    def make(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["parcours"]
        cond = condition
        if single:
            cond = _single_child(frame) if cond is None else cond & _single_child(frame)
        row = _row(frame, cond)
        new = value(frame.row(row, named=True), data) if callable(value) else value
        return {"parcours": _set(frame, column, row, new)}
    return make


def _table_cell(table: str, column: str, value, condition: pl.Expr | None = None
                ) -> Callable[[SiteData], dict[str, pl.DataFrame]]:
    def make(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables[table]
        row = _row(frame, condition)
        new = value(frame.row(row, named=True), data) if callable(value) else value
        return {table: _set(frame, column, row, new)}
    return make


def _tables(variant: str, make_tables: Callable[[SiteData], dict[str, pl.DataFrame]]
            ) -> Callable[[SiteData], _Submission]:
    return lambda data: _sub(data, variant, **make_tables(data))


def _add_member(name: str, content: bytes) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    return lambda members: {**members, name: content}


def _ongoing() -> pl.Expr:
    return pl.col("date_sortie").is_null()


def _exited() -> pl.Expr:
    return pl.col("date_sortie").is_not_null()


_SURNAMES = ("MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND",
             "LEROY", "MOREAU", "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID")


def _flaws(known: set[str]) -> list[_Flaw]:
    """One flawed submission per blocking rule family, each built to break one rule."""
    zip8, cp, xlsx = VARIANTS
    flaws: list[_Flaw] = []

    def add(rule: str, description: str, make: Callable[[SiteData], _Submission],
            variant: str = zip8, tag: str = "") -> None:
        flaws.append(_Flaw(rule, description, variant, make, tag))

    def tables(make_tables, variant: str = zip8) -> Callable[[SiteData], _Submission]:
        return _tables(variant, make_tables)

    # ---- envelope: file, tables, columns
    def truncated(data: SiteData) -> _Submission:
        sub = _sub(data, zip8)
        sub.damage = lambda raw: raw[: len(raw) * 3 // 5]
        return sub
    add("depot.illisible", "Archive ZIP tronquée (transfert interrompu).", truncated)

    def without_bilans(data: SiteData) -> _Submission:
        sub = _sub(data, xlsx)
        sub.tables = {k: v for k, v in sub.tables.items() if k != "bilans"}
        return sub
    add("depot.table_manquante", "Classeur sans onglet « bilans ».", without_bilans, xlsx)

    def twice(data: SiteData) -> _Submission:
        sub = _sub(data, zip8)
        sub.members_hook = lambda members: {**members, "Parcours.csv": members["parcours.csv"]}
        return sub
    add("depot.table_en_double", "Table parcours présente deux fois (parcours.csv et "
        "Parcours.csv).", twice)

    def extra_member(data: SiteData) -> _Submission:
        sub = _sub(data, zip8)
        sub.members_hook = _add_member("familles.csv", b"id_famille,nb_enfants\nF00001,2\n")
        return sub
    add("depot.membre_inconnu", "Fichier familles.csv en trop dans l'archive.", extra_member)

    add("depot.colonne_inconnue", "Colonne « dispositif » ajoutée à la table parcours.",
        tables(lambda d: {"parcours": d.tables["parcours"].with_columns(
            pl.lit("PRE").alias("dispositif"))}))

    def with_names(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["parcours"]
        names = pl.Series("nom", [_SURNAMES[i % len(_SURNAMES)] for i in range(frame.height)])
        columns = frame.columns
        return {"parcours": frame.with_columns(names).select(
            [*columns[:2], "nom", *columns[2:]])}
    add("depot.colonne_personnelle", "Colonne « nom » (nom de famille) ajoutée à la table "
        "parcours.", tables(with_names, cp), cp)

    add("depot.colonne_manquante", "Colonne obligatoire « sexe » retirée de la table parcours.",
        tables(lambda d: {"parcours": d.tables["parcours"].drop("sexe")}))

    def duplicate_column(data: SiteData) -> _Submission:
        frame = data.tables["parcours"]
        sub = _sub(data, zip8, parcours=frame.with_columns(
            pl.col("date_entree").alias("Date_Entree_copie")))

        def hook(members: dict[str, bytes]) -> dict[str, bytes]:
            text = members["parcours.csv"].decode()
            header, rest = text.split("\n", 1)
            header = header.replace("Date_Entree_copie", "Date_Entrée")
            return {**members, "parcours.csv": (header + "\n" + rest).encode()}
        sub.members_hook = hook
        return sub
    add("depot.colonne_en_double", "Colonne date d'entrée présente deux fois (« date_entree » "
        "et « Date_Entrée »).", duplicate_column)

    def ragged(data: SiteData) -> _Submission:
        sub = _sub(data, zip8)

        def hook(members: dict[str, bytes]) -> dict[str, bytes]:
            lines = members["parcours.csv"].decode().split("\n")
            lines[5] += ",à revoir"
            return {**members, "parcours.csv": "\n".join(lines).encode()}
        sub.members_hook = hook
        return sub
    add("depot.ligne_malformee", "Ligne 6 de parcours.csv avec une valeur de trop.", ragged)

    # ---- manifest
    add("manifeste.code_pre.obligatoire", "Code PRE vide dans le manifeste.",
        lambda d: _sub(d, zip8, _manifest_with(d, "code_pre", None)))
    add("manifeste.code_pre.format", "Code PRE mal formé dans le manifeste (« PRE » + 4 "
        "chiffres).", lambda d: _sub(d, zip8, _manifest_with(d, "code_pre",
                                                            d.site.code_pre[:-1])))
    unknown = UNKNOWN_CODE_PRE if UNKNOWN_CODE_PRE not in known else "PRE99999"
    add("manifeste.code_pre.inconnu", f"Code PRE {unknown} absent du référentiel des sites"
        + (" (code d'arrondissement au lieu de la commune)." if unknown == UNKNOWN_CODE_PRE
           else "."),
        lambda d: _sub(d, zip8, _manifest_with(d, "code_pre", unknown)))
    add("manifeste.date_extraction.type", "Date d'extraction impossible (32/12).",
        lambda d: _sub(d, zip8, _manifest_with(d, "date_extraction",
                                               f"{d.date_extraction.year}-12-32")))

    def late_start(data: SiteData) -> _Submission:
        manifest = [(k, v) for k, v in data.manifest if k != "date_debut_donnees"]
        manifest.insert(2, ("date_debut_donnees", _shift(data.date_extraction, 20)))
        return _sub(data, zip8, manifest)
    add("manifeste.date_debut_donnees.apres_extraction", "Date de début des données postérieure "
        "à la date d'extraction.", late_start)
    add("manifeste.version_format.liste", "Version de format « 2 » inconnue.",
        lambda d: _sub(d, zip8, _manifest_with(d, "version_format", "2")))
    add("manifeste.cle_en_double", "Clé code_pre répétée dans le manifeste.",
        lambda d: _sub(d, zip8, [*d.manifest[:1], *d.manifest]))

    # ---- parcours
    def duplicate_pathway_id(data: SiteData) -> _Submission:
        frame = data.tables["parcours"]
        row = _row(frame, _single_child(frame))
        old, new = frame["id_parcours"][row], frame["id_parcours"][row - 1 if row else 1]
        renamed = pl.when(pl.col("id_parcours") == old).then(pl.lit(new)).otherwise(
            pl.col("id_parcours")).alias("id_parcours")
        t = data.tables
        return _sub(data, zip8, parcours=_set(frame, "id_parcours", row, new),
                    actions=t["actions"].with_columns(renamed),
                    bilans=t["bilans"].with_columns(renamed),
                    attentes=t["attentes"].with_columns(renamed))
    add("parcours.id_parcours.unique", "Deux parcours portent le même identifiant.",
        duplicate_pathway_id)

    def bad_pathway_id(data: SiteData) -> _Submission:
        frame = data.tables["parcours"]
        row = _row(frame, _single_child(frame))
        old = frame["id_parcours"][row]
        return _sub(data, zip8, parcours=_set(frame, "id_parcours", row, f"{old[0]} {old[1:]}"),
                    **_detach(data, old))
    add("parcours.id_parcours.format", "Identifiant de parcours avec une espace "
        "(ses actions, bilans et demandes retirés).", bad_pathway_id)
    add("parcours.id_enfant.donnee_personnelle", "Nom de famille à la place de l'identifiant "
        "d'un enfant.", tables(_parcours_cell("id_enfant", "DUPONT")), tag="nom")
    add("parcours.id_enfant.donnee_personnelle", "Numéro de téléphone à la place de "
        "l'identifiant d'un enfant.", tables(_parcours_cell("id_enfant", "0612345678")),
        tag="telephone")

    def referent_name(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["parcours"]
        first = frame["id_referent"][0]
        return {"parcours": frame.with_columns(
            pl.when(pl.col("id_referent") == first).then(pl.lit("DURAND"))
            .otherwise(pl.col("id_referent")).alias("id_referent"))}
    add("parcours.id_referent.donnee_personnelle", "Nom du référent à la place de son "
        "identifiant.", tables(referent_name))
    add("parcours.id_famille.format", "Identifiant de famille avec une barre oblique.",
        tables(_parcours_cell("id_famille", lambda r, d: r["id_famille"][:1] + "/"
                              + r["id_famille"][1:], single=False)))
    add("parcours.sexe.liste", "Sexe « G » (garçon) au lieu de M.",
        tables(_parcours_cell("sexe", "G", pl.col("sexe") == "M"), xlsx), xlsx)
    add("parcours.niveau_scolaire.liste", "Niveau scolaire « 6EME » au lieu de 6E.",
        tables(_parcours_cell("niveau_scolaire", "6EME", pl.col("niveau_scolaire") == "6E")))
    add("parcours.origine_orientation.liste", "Origine d'orientation « EDUCATION_NATIONALE » "
        "hors liste.", tables(_parcours_cell("origine_orientation", "EDUCATION_NATIONALE",
                                             pl.col("origine_orientation") == "ECOLE")))
    add("parcours.code_commune.format", "Code commune à 6 chiffres.",
        tables(_parcours_cell("code_commune", lambda r, d: r["code_commune"] + "0")))
    add("parcours.code_qpv.format", "Code QPV amputé d'un chiffre.",
        tables(_parcours_cell("code_qpv", lambda r, d: r["code_qpv"][:-2] + r["code_qpv"][-1],
                              pl.col("code_qpv").is_not_null())))
    add("parcours.annee_naissance.type", "Année de naissance saisie avec la lettre O.",
        tables(_parcours_cell("annee_naissance",
                              lambda r, d: str(r["annee_naissance"]).replace("0", "O", 1))))
    add("parcours.annee_naissance.age_impossible", "Année de naissance erronée d'un siècle "
        "(âge à l'entrée > 25 ans).", tables(_parcours_cell(
            "annee_naissance", lambda r, d: r["annee_naissance"] - 100)))
    add("parcours.date_orientation.obligatoire", "Date d'orientation vide.",
        tables(_parcours_cell("date_orientation", None, single=False)))

    def impossible_entry(data: SiteData) -> _Submission:
        frame = data.tables["parcours"]
        row = _row(frame, _single_child(frame))
        entry = frame["date_entree"][row]
        text = _as_text(frame["date_entree"], cp).clone().scatter(row, f"31/02/{entry.year}")
        return _sub(data, cp, parcours=frame.with_columns(text))
    add("parcours.date_entree.type", "Date d'entrée impossible (31/02).", impossible_entry, cp)

    def before_2005(data: SiteData) -> _Submission:
        frame = data.tables["parcours"]
        row = _row(frame, _single_child(frame) & _exited())
        r = frame.row(row, named=True)
        entry = date(2004, 10, 4)
        shift = (entry - r["date_entree"]).days
        age = r["date_entree"].year - r["annee_naissance"]
        out = _set(frame, "date_entree", row, entry)
        out = _set(out, "date_orientation", row, _shift(r["date_orientation"], shift))
        if r["date_decision_eps"] is not None:
            out = _set(out, "date_decision_eps", row, _shift(r["date_decision_eps"], shift))
        out = _set(out, "annee_naissance", row, 2004 - age)
        return _sub(data, zip8, parcours=out)
    add("parcours.date_entree.trop_ancienne", "Date d'entrée en 2004, avant la création des "
        "PRE.", before_2005)
    add("parcours.date_entree.apres_extraction", "Date d'entrée postérieure à la date "
        "d'extraction.", tables(_parcours_cell(
            "date_entree", lambda r, d: _shift(d.date_extraction, 3), _ongoing())))
    add("parcours.date_sortie.avant_entree", "Date de sortie antérieure à la date d'entrée.",
        tables(_parcours_cell("date_sortie", lambda r, d: _shift(r["date_entree"], -30),
                              _exited())))
    add("parcours.date_sortie.apres_extraction", "Date de sortie prévue saisie comme date de "
        "sortie (postérieure à l'extraction).", tables(_parcours_cell(
            "date_sortie", lambda r, d: _shift(d.date_extraction, 10), _exited())))
    add("parcours.motif_sortie.sans_date_sortie", "Motif de sortie renseigné sur un parcours en "
        "cours.", tables(_parcours_cell("motif_sortie", "DEMENAGEMENT", _ongoing())))
    add("parcours.motif_sortie.liste", "Motif de sortie « FIN_DE_PRISE_EN_CHARGE » hors liste.",
        tables(_parcours_cell("motif_sortie", "FIN_DE_PRISE_EN_CHARGE", _exited())))
    add("parcours.table_vide", "Table parcours vide (en-tête seul), comme les autres tables.",
        lambda d: _sub(d, zip8, **{t: d.tables[t].clear() for t in DATA_TABLES}))

    # ---- actions
    def duplicate(table: str, column: str) -> Callable[[SiteData], dict[str, pl.DataFrame]]:
        def make(data: SiteData) -> dict[str, pl.DataFrame]:
            frame = data.tables[table]
            row = _row(frame)
            return {table: _set(frame, column, row, frame[column][row - 1])}
        return make

    add("actions.id_action.unique", "Deux actions portent le même identifiant.",
        tables(duplicate("actions", "id_action")))
    add("actions.id_parcours.parcours_inconnu", "Action rattachée à un parcours absent.",
        tables(_table_cell("actions", "id_parcours",
                           lambda r, d: _unused_id(d.tables["parcours"], "id_parcours", "P"))))
    add("actions.volet.liste", "Volet « CULTURE » hors liste.",
        tables(_table_cell("actions", "volet", "CULTURE", pl.col("volet") == "EDUCATIF")))
    add("actions.type_action.liste", "Type d'action « SOUTIEN_SCOLAIRE » hors liste.",
        tables(_table_cell("actions", "type_action", "SOUTIEN_SCOLAIRE",
                           pl.col("volet") == "SCOLARITE")))
    add("actions.modalite.liste", "Modalité abrégée « INDIV ».",
        tables(_table_cell("actions", "modalite", "INDIV", pl.col("modalite") == "INDIVIDUELLE")))
    add("actions.partenaire.liste", "Partenaire « ORTHOPHONISTE » (structure) au lieu de "
        "PROFESSIONNEL_LIBERAL.", tables(_table_cell(
            "actions", "partenaire", "ORTHOPHONISTE", pl.col("type_action") == "ORTHOPHONIE")))

    def action_after_extraction(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["actions"]
        ongoing = data.tables["parcours"].filter(_ongoing())["id_parcours"].to_list()
        row = _row(frame, pl.col("id_parcours").is_in(ongoing))
        out = _set(frame, "date_debut", row, _shift(data.date_extraction, 7))
        out = _set(out, "date_fin", row, None)
        return {"actions": _set(out, "seances_realisees", row, None)}
    add("actions.date_debut.apres_extraction", "Action commençant après la date d'extraction.",
        tables(action_after_extraction))
    add("actions.date_fin.avant_debut", "Date de fin d'action antérieure à son début.",
        tables(_table_cell("actions", "date_fin", lambda r, d: _shift(r["date_debut"], -10),
                           pl.col("date_fin").is_not_null())))

    def negative_sessions(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["actions"]
        row = _row(frame, pl.col("seances_prevues").is_not_null())
        return {"actions": _set(_set(frame, "seances_prevues", row, -2), "seances_realisees",
                                row, None)}
    add("actions.seances_prevues.negatif", "Nombre de séances prévues négatif (-2).",
        tables(negative_sessions))
    add("actions.seances_realisees.type", "Nombre de séances réalisées écrit en lettres.",
        tables(_table_cell("actions", "seances_realisees", "huit")))
    add("actions.cout_euros.type", "Coût « gratuit » écrit en toutes lettres.",
        tables(_table_cell("actions", "cout_euros", "gratuit")))
    add("actions.cout_euros.negatif", "Coût négatif (avoir saisi en négatif).",
        tables(_table_cell("actions", "cout_euros", -150.0)))

    # ---- bilans
    add("bilans.id_bilan.unique", "Deux bilans portent le même identifiant.",
        tables(duplicate("bilans", "id_bilan")))
    add("bilans.id_parcours.parcours_inconnu", "Bilan rattaché à un parcours absent.",
        tables(_table_cell("bilans", "id_parcours",
                           lambda r, d: _unused_id(d.tables["parcours"], "id_parcours", "P"))))
    add("bilans.type_bilan.liste", "Type de bilan « FINAL » hors liste.",
        tables(_table_cell("bilans", "type_bilan", "FINAL", pl.col("type_bilan") == "ENTREE")))
    add("bilans.date_bilan.apres_extraction", "Bilan daté après la date d'extraction.",
        tables(_table_cell("bilans", "date_bilan", lambda r, d: _shift(d.date_extraction, 20),
                           pl.col("type_bilan") == "INTERMEDIAIRE")))
    add("bilans.objectifs_atteints.superieur_fixes", "Plus d'objectifs atteints que d'objectifs "
        "fixés.", tables(_table_cell("bilans", "objectifs_atteints",
                                     lambda r, d: r["objectifs_fixes"] + 1)))
    add("bilans.objectifs_atteints.negatif", "Nombre d'objectifs atteints négatif.",
        tables(_table_cell("bilans", "objectifs_atteints", -1)))
    add("bilans.note_sante.echelle", "Note de santé 5 sur une échelle de 1 à 4.",
        tables(_table_cell("bilans", "note_sante", 5)))

    # ---- attentes
    waiting = pl.col("date_premier_rdv").is_null() & pl.col("date_abandon").is_null()
    seen = pl.col("date_premier_rdv").is_not_null()
    add("attentes.id_demande.unique", "Deux demandes portent le même identifiant.",
        tables(duplicate("attentes", "id_demande")))
    add("attentes.id_parcours.parcours_inconnu", "Demande rattachée à un parcours absent.",
        tables(_table_cell("attentes", "id_parcours",
                           lambda r, d: _unused_id(d.tables["parcours"], "id_parcours", "P"),
                           pl.col("id_parcours").is_not_null())))
    add("attentes.structure.liste", "Structure « ORTHOPHONIE » au lieu de ORTHOPHONISTE.",
        tables(_table_cell("attentes", "structure", "ORTHOPHONIE",
                           pl.col("structure") == "ORTHOPHONISTE")))

    def request_after_extraction(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["attentes"]
        row = _row(frame, waiting)
        out = _set(frame, "date_demande", row, _shift(data.date_extraction, 3))
        return {"attentes": _set(_set(out, "date_premier_rdv", row, None), "date_abandon", row,
                                 None)}
    add("attentes.date_demande.apres_extraction", "Demande datée après la date d'extraction.",
        tables(request_after_extraction))

    def rdv_before(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["attentes"]
        row = _row(frame, seen)
        out = _set(frame, "date_premier_rdv", row, _shift(frame["date_demande"][row], -15))
        return {"attentes": _set(out, "date_abandon", row, None)}
    add("attentes.date_premier_rdv.avant_demande", "Premier rendez-vous antérieur à la demande.",
        tables(rdv_before))

    def rdv_planned(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["attentes"]
        row = _row(frame, waiting)
        out = _set(frame, "date_premier_rdv", row, _shift(data.date_extraction, 10))
        return {"attentes": _set(out, "date_abandon", row, None)}
    add("attentes.date_premier_rdv.apres_extraction", "Rendez-vous à venir saisi comme premier "
        "rendez-vous.", tables(rdv_planned))

    def both(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["attentes"]
        row = _row(frame, seen)
        return {"attentes": _set(frame, "date_abandon", row, frame["date_premier_rdv"][row])}
    add("attentes.date_abandon.avec_rdv", "Demande avec à la fois un rendez-vous et un abandon.",
        tables(both))

    def abandon_before(data: SiteData) -> dict[str, pl.DataFrame]:
        frame = data.tables["attentes"]
        row = _row(frame, pl.col("date_abandon").is_not_null())
        out = _set(frame, "date_abandon", row, _shift(frame["date_demande"][row], -5))
        return {"attentes": _set(out, "date_premier_rdv", row, None)}
    add("attentes.date_abandon.avant_demande", "Abandon daté avant la demande.",
        tables(abandon_before))
    return flaws


def expected_rules() -> list[str]:
    """Rule codes the flawed submissions are built to break (for tests and documentation)."""
    return [f.rule for f in _flaws(set())]

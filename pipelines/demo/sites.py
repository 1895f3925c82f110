"""Which sites a run simulates: sites of the referential, then sites invented beyond it.

Invented sites take real communes with priority neighbourhoods first, then plausible made-up
ones; they are saved in `$PRE_HOME/referentiel/sites-generes.csv` so that the platform knows
them when it reads their submissions, and left out when a later run chooses again (so that
reruns with the same seed are identical).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.common.datahome import DataHome
from pipelines.contracts.referential import COLUMNS as SITE_COLUMNS
from pipelines.contracts.referential import SHIPPED, departements, load_sites
from pipelines.demo.calibration import DENSE_DEPTS, OVERSEAS_COMMUNES, PORTEURS

GENERATED_SITES_FILE = "sites-generes.csv"
# A code sites sometimes send by mistake (Paris 18e arrondissement, not a commune): never a
# site, never invented, so the flawed file built on it stays refused.
UNKNOWN_CODE_PRE = "PRE75118"
_INVENTED_STREAM = 0x517E5  # random stream of invented sites, apart from the sites' own streams

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


@dataclass(frozen=True)
class Site:
    code_pre: str
    nom: str
    code_commune: str
    departement: str
    region: str
    porteur: str


def fold_seed(seed: int) -> int:
    """A run's seed as numpy's seed sequences take it (any integer, negative or huge)."""
    return int(seed) % (2**63)


def choose_sites(home: DataHome, seed: int, codes: list[str] | None, count: int | None) -> list[Site]:
    """The sites asked (`codes`), else the referential's; invented ones beyond it up to `count`."""
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
    rng = np.random.default_rng([fold_seed(seed), _INVENTED_STREAM])
    territory = departements()
    region_of = dict(zip(territory["code"].to_list(), territory["region"].to_list(), strict=True))
    out: list[Site] = []
    used = set(taken) | {UNKNOWN_CODE_PRE}

    def add(code: str, nom: str) -> None:
        dept = code[:3] if code.startswith("97") else code[:2]
        porteur = PORTEURS[int(rng.integers(len(PORTEURS)))].format(de=_of(nom))
        out.append(Site("PRE" + code, nom, code, dept, region_of[dept], porteur))
        used.add("PRE" + code)

    for i in rng.permutation(len(_KNOWN_COMMUNES)):
        if len(out) == count:
            return out
        code, nom = _KNOWN_COMMUNES[i]
        if "PRE" + code not in used:
            add(code, nom)
    # Sorted codes, whatever the referential's row order: the draws depend on this order.
    depts = sorted(region_of)
    weights = np.array([4.0 if d in DENSE_DEPTS else 1.0 for d in depts])
    weights /= weights.sum()
    while len(out) < count:
        dept = depts[int(rng.choice(len(depts), p=weights))]
        if dept in OVERSEAS_COMMUNES:
            code = f"{dept}{int(rng.integers(1, OVERSEAS_COMMUNES[dept] + 1)):02d}"
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

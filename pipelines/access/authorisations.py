"""Who may see what: the authorisations file, each person's perimeter, and the access journal.

The interface is access.md (version 1). `$PRE_HOME/acces/habilitations.csv` (UTF-8, comma-separated,
header `email,role,perimetre,nom`) gives each person a role and a perimeter:

| role          | perimeter       | in detail (filters, pages)                 | other aggregates shown              |
|---------------|-----------------|--------------------------------------------|-------------------------------------|
| `national`    | `FR`            | everything                                 | —                                   |
| `exploitant`  | `FR`            | everything, plus the access journal        | —                                   |
| `region`      | region codes    | its regions, their départements and sites  | national, every region              |
| `departement` | dép. codes      | its départements and their sites           | national, its regions, every dép.   |
| `site`        | code_pre        | its sites                                  | national, every region and dép.     |

A submission's status and report follow the "in detail" column. A malformed file lets nobody in:
`load` raises `AuthorisationsError`, in French, naming the line and the rule (never the raw value).
The file is read again at each call, so a change takes effect at the next page load.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.common.datahome import DataHome
from pipelines.contracts.referential import load_sites

FILE_NAME = "habilitations.csv"
HEADER = ["email", "role", "perimetre", "nom"]
ROLES = ("national", "region", "departement", "site", "exploitant")
NATIONAL_CODE = "FR"
MAX_BYTES = 5_000_000
EMAIL = re.compile(r"[^@\s,|]{1,64}@[^@\s,|]{1,255}")
ROLE_LABELS = {"national": "national (ANCT)", "region": "région (DREETS)",
               "departement": "département (DDETS, préfecture)", "site": "coordination d'un PRE",
               "exploitant": "exploitation de la plateforme"}


class AuthorisationsError(ValueError):
    """The authorisations file cannot be used: nobody is let in until the operator fixes it."""


@dataclass(frozen=True)
class Person:
    email: str  # lower case
    role: str
    codes: tuple[str, ...]
    nom: str = ""

    @property
    def label(self) -> str:
        return self.nom or self.email


@dataclass(frozen=True)
class Territories:
    """The site referential's hierarchy: each site's département and région."""

    sites: dict[str, tuple[str, str]]  # code_pre → (département, région)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> Territories:
        return cls({c: (d, r) for c, d, r in frame.select("code_pre", "departement", "region").iter_rows()})

    @property
    def departements(self) -> dict[str, str]:
        return {d: r for d, r in self.sites.values()}

    @property
    def regions(self) -> set[str]:
        return {r for _, r in self.sites.values()}


def path(home: DataHome) -> Path:
    return home.access / FILE_NAME


def load(home: DataHome, territories: Territories | None = None) -> dict[str, Person]:
    """The authorisations, by lower-case email. Raises `AuthorisationsError` when the file is absent
    or invalid (unknown role, perimeter code that does not exist at its level, duplicate email…)."""
    file = path(home)
    if not file.is_file():
        raise AuthorisationsError(f"Le fichier des habilitations est absent : créez « acces/{FILE_NAME} » dans le "
                                  "dossier de données (colonnes email,role,perimetre,nom).")
    raw = file.read_bytes()
    if len(raw) > MAX_BYTES:
        raise AuthorisationsError(f"Le fichier des habilitations dépasse {MAX_BYTES // 1_000_000} Mo.")
    return parse(raw, territories or Territories.from_frame(load_sites(home)))


def parse(raw: bytes, territories: Territories) -> dict[str, Person]:
    def fail(line: int, rule: str) -> AuthorisationsError:
        return AuthorisationsError(f"Fichier des habilitations invalide, ligne {line} : {rule}. "
                                   "Personne ne peut se connecter tant qu'il n'est pas corrigé.")

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise fail(line, "le fichier doit être encodé en UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    people: dict[str, Person] = {}
    first_line: dict[str, int] = {}
    try:
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != HEADER:
            raise fail(1, "l'en-tête doit être exactement « email,role,perimetre,nom »")
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(HEADER):
                raise fail(line, f"{len(HEADER)} colonnes attendues (email,role,perimetre,nom), {len(row)} trouvées")
            email, role, codes_text, nom = (cell.strip() for cell in row)
            if not EMAIL.fullmatch(email):
                raise fail(line, "colonne email : adresse électronique invalide")
            if role not in ROLES:
                raise fail(line, f"colonne role : rôle inconnu (rôles possibles : {', '.join(ROLES)})")
            codes = tuple(c.strip() for c in codes_text.split("|"))
            if not codes_text.strip() or any(not c for c in codes):
                raise fail(line, "colonne perimetre : code vide (plusieurs codes se séparent par « | »)")
            for position, code in enumerate(codes, start=1):
                problem = _code_problem(role, code, territories)
                if problem:
                    which = f"le code n° {position}" if len(codes) > 1 else "le code"
                    raise fail(line, f"colonne perimetre : {which} {problem}")
            if any(ord(c) < 32 for c in nom) or len(nom) > 200:
                raise fail(line, "colonne nom : 200 caractères au plus, sans caractère de contrôle")
            key = email.lower()
            if key in people:
                raise fail(line, f"adresse électronique déjà habilitée ligne {first_line[key]} "
                                 "(une seule ligne par personne ; plusieurs sites se séparent par « | »)")
            people[key] = Person(key, role, tuple(dict.fromkeys(codes)), nom)
            first_line[key] = line
    except csv.Error:
        raise fail(reader.line_num or 1, "ligne CSV mal formée (guillemets ?)") from None
    return people


def _code_problem(role: str, code: str, territories: Territories) -> str | None:
    if role in ("national", "exploitant"):
        return None if code == NATIONAL_CODE else f"doit être « {NATIONAL_CODE} » pour ce rôle"
    known = {"region": territories.regions, "departement": set(territories.departements),
             "site": set(territories.sites)}[role]
    level = {"region": "des régions", "departement": "des départements", "site": "des sites (code_pre)"}[role]
    return None if code in known else f"n'existe pas parmi les codes {level} du référentiel des sites"


# --------------------------------------------------------------------------- perimeters


def in_detail(person: Person, niveau: str, territoire: str, territories: Territories) -> bool:
    """May `person` choose this territory in the filters and open its pages?"""
    if person.role in ("national", "exploitant"):
        return True
    if niveau == "national":
        return True
    codes = set(person.codes)
    if niveau == "region":
        if person.role == "departement":
            return territoire in {territories.departements.get(d) for d in codes}
        return True  # region: every region's aggregates; site: the aggregates of every territory
    if niveau == "departement":
        if person.role == "region":
            return territories.departements.get(territoire) in codes
        return person.role in ("departement", "site")
    if niveau == "pre":
        place = territories.sites.get(territoire)
        if place is None:
            return False
        if person.role == "region":
            return place[1] in codes
        if person.role == "departement":
            return place[0] in codes
        return territoire in codes
    return False


def sees_submissions_of(person: Person, code_pre: str, territories: Territories) -> bool:
    """May `person` see this site's submission status and reports?"""
    return in_detail(person, "pre", code_pre, territories)


def unmasked_site(person: Person, code_pre: str) -> bool:
    """A coordinator sees its own site's figures unmasked, on that site's pages only."""
    return person.role == "site" and code_pre in person.codes


def sends_for(person: Person, code_pre: str) -> bool:
    """May `person` send a file for this site through the portal?"""
    return person.role == "exploitant" or (person.role == "site" and code_pre in person.codes)

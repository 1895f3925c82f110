"""The data contracts say what the exchange-format spec says.

The expectations below are transcribed BY HAND from the spec text
(`/work/shared/spec/exchange-format.md`, §1 "A submission" and §2 "Tables"), never generated
from the contract YAML. Each test compares that transcription with what
`pipelines.contracts.load_contracts()` reads from `data_contracts/*.odcs.yaml`, in both directions
where it makes sense (nothing missing, nothing extra), and fails with a message naming the table,
the column, the rule and what the spec says.

Conventions of the transcription:
- spec types: `id` (text matching pattern ID), `texte`, `entier`, `decimal`, `date`;
- B = bloquant, A = avertissement;
- a `compare` rule of the contracts states the condition that must HOLD: `column op other`
  (a violation yields the finding). Where the spec words the anomaly instead ("> seances_prevues
  (A)", "later than date_extraction (A)"), the transcription says so with `fires_when`, which is
  turned into the holding condition by negating the operator;
- a `range` rule states the inclusive bounds a value must lie within.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest

from pipelines.contracts.model import Contracts, Rule

B = "bloquant"
A = "avertissement"

# Spec type word -> contract logical type.
LOGICAL_TYPE = {"id": "string", "texte": "string", "entier": "integer", "decimal": "number",
                "date": "date"}

# §1 patterns, copied from the spec text.
CODE_PRE = r"^PRE([0-9]{5}|2[AB][0-9]{3})$"
COMMUNE = r"^([0-9]{5}|2[AB][0-9]{3})$"
QPV = r"^(QN[0-9]{5}[NMI]|QP[0-9]{6})$"
ID = r"^[A-Za-z0-9_-]{1,64}$"

# Operands of comparisons that are not a column of the same table.
EXTRACTION = "manifeste.date_extraction"
PATHWAY_ENTRY = "parcours.date_entree"  # the pathway's date_entree, reached through id_parcours


def codes(text: str) -> tuple[str, ...]:
    """A code list as the spec writes it: space-separated codes."""
    return tuple(text.split())


@dataclass(frozen=True)
class Col:
    type: str  # spec type word: id | texte | entier | decimal | date
    required: bool
    codes: tuple[str, ...] | None = None
    pattern: str | None = None  # besides ID, which every `id` column gets


# ---------------------------------------------------------------------------------------------
# Hand transcription of §1 and §2
# ---------------------------------------------------------------------------------------------

# type_action by volet (§2 actions); "any volet: AUTRE".
TYPE_ACTION_BY_VOLET = {
    "SCOLARITE": codes("ACCOMPAGNEMENT_SCOLARITE COUP_DE_POUCE_LANGAGE LIEN_ECOLE_FAMILLE"),
    "EDUCATIF": codes("ACTIVITE_SPORTIVE ACTIVITE_CULTURELLE SEJOUR_VACANCES LOISIRS"),
    "PARENTALITE": codes("GROUPE_PAROLE_PARENTS ENTRETIEN_FAMILIAL GUIDANCE_FAMILIALE MEDIATION"),
    "SANTE": codes("BILAN_SANTE BILAN_PSYCHOMOTRICITE PSYCHOMOTRICITE ORTHOPHONIE "
                   "SUIVI_PSYCHOLOGIQUE ORIENTATION_SOIN"),
}
TYPE_ACTION_ANY_VOLET = codes("AUTRE")
TYPE_ACTION_ALL = tuple(
    sorted({c for cs in TYPE_ACTION_BY_VOLET.values() for c in cs} | set(TYPE_ACTION_ANY_VOLET)))

SPEC_COLUMNS: dict[str, dict[str, Col]] = {
    # §1: `manifeste` is two columns cle,valeur; these are its keys. The spec gives no type
    # column there: code_pre is a code (pattern CODE_PRE), the two dates are dates,
    # version_format is the code value `1`, logiciel a free name.
    "manifeste": {
        "code_pre": Col("texte", True, pattern=CODE_PRE),
        "date_extraction": Col("date", True),
        "date_debut_donnees": Col("date", False),
        "version_format": Col("texte", True, codes=codes("1")),
        "logiciel": Col("texte", False),
    },
    "parcours": {
        "id_parcours": Col("id", True),
        "id_enfant": Col("id", True),
        "id_famille": Col("id", False),
        "sexe": Col("texte", True, codes=codes("F M")),
        "annee_naissance": Col("entier", True),
        "niveau_scolaire": Col("texte", True, codes=codes(
            "NON_SCOLARISE PS MS GS CP CE1 CE2 CM1 CM2 6E 5E 4E 3E LYCEE AUTRE")),
        "code_commune": Col("texte", True, pattern=COMMUNE),
        "code_qpv": Col("texte", False, pattern=QPV),
        "date_orientation": Col("date", True),
        "origine_orientation": Col("texte", True, codes=codes(
            "ECOLE SERVICE_SOCIAL PMI_SANTE FAMILLE CENTRE_SOCIAL PREVENTION_SPECIALISEE "
            "PROTECTION_ENFANCE AUTRE")),
        "motif_orientation": Col("texte", True, codes=codes(
            "SCOLARITE COMPORTEMENT SANTE PARENTALITE ISOLEMENT_SOCIAL AUTRE")),
        "date_decision_eps": Col("date", False),
        "date_entree": Col("date", True),
        "date_sortie": Col("date", False),
        # "iff date_sortie": not unconditionally required (see SPEC_PRESENT_IFF).
        "motif_sortie": Col("texte", False, codes=codes(
            "OBJECTIFS_ATTEINTS RELAIS_DROIT_COMMUN DEMENAGEMENT LIMITE_AGE ARRET_FAMILLE AUTRE")),
        "id_referent": Col("id", True),
    },
    "actions": {
        "id_action": Col("id", True),
        "id_parcours": Col("id", True),
        "volet": Col("texte", True, codes=codes("SCOLARITE EDUCATIF PARENTALITE SANTE")),
        "type_action": Col("texte", True, codes=TYPE_ACTION_ALL),
        "modalite": Col("texte", True, codes=codes("INDIVIDUELLE COLLECTIVE")),
        "partenaire": Col("texte", True, codes=codes(
            "EDUCATION_NATIONALE CMPP CAMSP PMI PROFESSIONNEL_LIBERAL ASSOCIATION CENTRE_SOCIAL "
            "CAF CONSEIL_DEPARTEMENTAL COMMUNE AUTRE")),
        "date_debut": Col("date", True),
        "date_fin": Col("date", False),
        "seances_prevues": Col("entier", False),
        "seances_realisees": Col("entier", False),
        "cout_euros": Col("decimal", False),
    },
    "bilans": {
        "id_bilan": Col("id", True),
        "id_parcours": Col("id", True),
        "type_bilan": Col("texte", True, codes=codes("ENTREE INTERMEDIAIRE SORTIE SUIVI_6_MOIS")),
        "date_bilan": Col("date", True),
        "objectifs_fixes": Col("entier", True),
        "objectifs_atteints": Col("entier", True),
        "note_scolarite": Col("entier", False),
        "note_comportement": Col("entier", False),
        "note_sante": Col("entier", False),
        "note_parentalite": Col("entier", False),
    },
    "attentes": {
        "id_demande": Col("id", True),
        "id_enfant": Col("id", True),
        "id_parcours": Col("id", False),
        "structure": Col("texte", True, codes=codes(
            "PRE CMPP CAMSP CMP ORTHOPHONISTE PSYCHOMOTRICIEN PSYCHOLOGUE PEDOPSYCHIATRIE AUTRE")),
        "date_demande": Col("date", True),
        "date_premier_rdv": Col("date", False),
        "date_abandon": Col("date", False),
    },
}

# The §2 tables (the manifest is §1).
DATA_TABLES = ("parcours", "actions", "bilans", "attentes")

NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def holds(table: str, column: str, op: str, other: str, severity: str):
    """The spec states the condition a valid value meets: `column op other`."""
    return (table, column, op, other, severity)


def fires_when(table: str, column: str, op: str, other: str, severity: str):
    """The spec states the anomaly (`column op other` is reported); the rule holds the opposite."""
    return (table, column, NEGATE[op], other, severity)


# Comparisons written in the table rows of §2.
SPEC_COMPARES_EXPLICIT = {
    # parcours
    holds("parcours", "date_orientation", "<=", "date_entree", A),
    # "between date_orientation and date_entree (A)"
    holds("parcours", "date_decision_eps", ">=", "date_orientation", A),
    holds("parcours", "date_decision_eps", "<=", "date_entree", A),
    holds("parcours", "date_entree", "<=", EXTRACTION, B),
    holds("parcours", "date_sortie", ">=", "date_entree", B),
    holds("parcours", "date_sortie", "<=", EXTRACTION, B),
    # actions
    holds("actions", "date_debut", "<=", EXTRACTION, B),
    # "before the pathway's date_entree (A)"
    fires_when("actions", "date_debut", "<", PATHWAY_ENTRY, A),
    holds("actions", "date_fin", ">=", "date_debut", B),
    # "later than date_extraction: a planned end (A)"
    fires_when("actions", "date_fin", ">", EXTRACTION, A),
    # "> seances_prevues (A)"
    fires_when("actions", "seances_realisees", ">", "seances_prevues", A),
    # bilans
    holds("bilans", "date_bilan", "<=", EXTRACTION, B),
    # "0 ≤ objectifs_atteints ≤ objectifs_fixes (B)"
    holds("bilans", "objectifs_atteints", "<=", "objectifs_fixes", B),
    # attentes
    holds("attentes", "date_demande", "<=", EXTRACTION, B),
    holds("attentes", "date_premier_rdv", ">=", "date_demande", B),
    holds("attentes", "date_premier_rdv", "<=", EXTRACTION, B),
    holds("attentes", "date_abandon", ">=", "date_demande", B),
    holds("attentes", "date_abandon", "<=", EXTRACTION, B),
}

# §2 preamble: "Every date is an event date that may not be later than date_extraction (B),
# except `date_fin` of an action". Applied to every date column of the §2 tables, and to the
# manifest's date_debut_donnees (a date of the submission that is not date_extraction itself;
# the manifest row of date_extraction says "no event date in the data may be later (B)").
DATES_NOT_AFTER_EXTRACTION_EXCEPT = {("actions", "date_fin")}
SPEC_COMPARES_EVERY_DATE = {
    holds(table, column, "<=", EXTRACTION, B)
    for table in DATA_TABLES
    for column, col in SPEC_COLUMNS[table].items()
    if col.type == "date" and (table, column) not in DATES_NOT_AFTER_EXTRACTION_EXCEPT
} | {holds("manifeste", "date_debut_donnees", "<=", EXTRACTION, B)}

SPEC_COMPARES = SPEC_COMPARES_EXPLICIT | SPEC_COMPARES_EVERY_DATE

# Inclusive bounds (table, column, min, max, severity); None = unbounded.
SPEC_RANGES = {
    ("parcours", "date_entree", "2005-01-01", None, B),  # "≥ 2005-01-01 (B)"
    ("actions", "seances_prevues", 0, None, B),  # "≥ 0 (B)"
    ("actions", "seances_realisees", 0, None, B),  # "≥ 0 (B)"
    ("actions", "cout_euros", 0, None, B),  # "≥ 0 (B)"
    ("actions", "cout_euros", None, 10000, A),  # "> 10 000 (A)": reported above 10 000
    ("bilans", "objectifs_fixes", 0, None, B),  # "≥ 0 (B)"
    ("bilans", "objectifs_atteints", 0, None, B),  # "0 ≤ objectifs_atteints (B)"
    # "1 (très préoccupant) … 4 (satisfaisant) (B)"
    ("bilans", "note_scolarite", 1, 4, B),
    ("bilans", "note_comportement", 1, 4, B),
    ("bilans", "note_sante", 1, 4, B),
    ("bilans", "note_parentalite", 1, 4, B),
}

# Age at entry = year(date_entree) − annee_naissance; "outside 0–25 (B), outside 2–18 (A)".
SPEC_AGE_RANGES = {
    ("parcours", "annee_naissance", 0, 25, B),
    ("parcours", "annee_naissance", 2, 18, A),
}

# "unique in the table (B)" / "unique (B)".
SPEC_UNIQUE = {
    ("parcours", "id_parcours", B),
    ("actions", "id_action", B),
    ("bilans", "id_bilan", B),
    ("attentes", "id_demande", B),
}

# "exists in parcours (B)"; attentes.id_parcours: "if present, exists in parcours (B)".
SPEC_FOREIGN_KEYS = {
    ("actions", "id_parcours", "parcours.id_parcours", B),
    ("bilans", "id_parcours", "parcours.id_parcours", B),
    ("attentes", "id_parcours", "parcours.id_parcours", B),
}

# motif_sortie: "present without date_sortie or missing with it (B)".
SPEC_PRESENT_IFF = {("parcours", "motif_sortie", "date_sortie", B)}

# date_abandon: "with date_premier_rdv also set (B)".
SPEC_EXCLUSIVE = {("attentes", "date_abandon", "date_premier_rdv", B)}

# bilans.type_bilan: "more than one ENTREE, SORTIE or SUIVI_6_MOIS per pathway (A)".
SPEC_ONCE_PER_PATHWAY = ("bilans", "type_bilan", "id_parcours",
                         frozenset(codes("ENTREE SORTIE SUIVI_6_MOIS")), A)

# bilans.date_bilan: "SORTIE or SUIVI_6_MOIS on a pathway with no date_sortie (A)".
SPEC_CLOSING_BILAN = ("bilans", "type_bilan", frozenset(codes("SORTIE SUIVI_6_MOIS")),
                      "parcours", "date_sortie", A)

# parcours.id_enfant: pathways of one child "should not overlap in time (A)".
SPEC_NO_OVERLAP = ("parcours", "id_enfant", "date_entree", "date_sortie", A)

# parcours.id_enfant: "sexe and annee_naissance should agree across them (A; the latest
# pathway's values count)".
SPEC_CONSISTENT_PER_CHILD = {
    ("parcours", "sexe", "id_enfant", A),
    ("parcours", "annee_naissance", "id_enfant", A),
}

# "An empty `parcours` table (header only) is refused (B)".
SPEC_NON_EMPTY = {("parcours", B)}

# "A snapshot with fewer than half the pathways of the snapshot in force gets a warning (A)".
SPEC_VOLUME = ("parcours", 0.5, A)

# §1 "Unknown `code_pre` (not in the site referential) is a blocking error."
SPEC_KNOWN_SITE = {("manifeste", "code_pre", B)}

# §1 date_extraction: "a date later than the day the file is received is refused (B)".
SPEC_NOT_AFTER_RECEIPT = {("manifeste", "date_extraction", B)}

SPEC_ID_COLUMNS = sorted(
    (table, column)
    for table, cols in SPEC_COLUMNS.items()
    for column, col in cols.items()
    if col.type == "id"
)

ALL_SPEC_COLUMNS = [(t, c) for t, cols in SPEC_COLUMNS.items() for c in cols]


# ---------------------------------------------------------------------------------------------
# Helpers reading the loaded contracts
# ---------------------------------------------------------------------------------------------


def rules_of(contracts: Contracts, kind: str, tables=None) -> list[Rule]:
    tables = tables or list(contracts.tables)
    return [r for t in tables for r in contracts.tables[t].rules if r.kind == kind]


def bound(value: Any) -> Any:
    """Normalise a range bound: dates as ISO text, numbers as float."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return float(value)


def normal_compare(table: str, column: str, op: str, other: str, severity: str, spec: set):
    """A contract comparison in the spec's own wording when it is the same rule.

    `a op b` and `b mirror(op) a` (columns of one table) are one rule; `other` may name a column
    of its own table with or without the table prefix.
    """
    other = other.removeprefix(f"{table}.")
    rule = (table, column, op, other, severity)
    mirrored = (table, other, MIRROR[op], column, severity)
    if rule not in spec and "." not in other and mirrored in spec:
        return mirrored
    return rule


def fk_target(rule: Rule) -> str:
    """`references: t.c`, or `table: t` + `column: c`, as `t.c`."""
    p = rule.params
    if "references" in p:
        return p["references"]
    return f"{p.get('table')}.{p.get('column')}"


def set_diff_message(what: str, spec: set, contract: set) -> str:
    missing = sorted(spec - contract, key=repr)
    extra = sorted(contract - spec, key=repr)
    lines = [f"{what}: the contracts do not say what the spec says."]
    if missing:
        lines.append("  in the spec, not in the contracts:")
        lines += [f"    {m}" for m in missing]
    if extra:
        lines.append("  in the contracts, not in the spec:")
        lines += [f"    {e}" for e in extra]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Tables and columns
# ---------------------------------------------------------------------------------------------


def test_tables_are_the_spec_tables(contracts):
    assert set(contracts.tables) == set(SPEC_COLUMNS), set_diff_message(
        "tables", set(SPEC_COLUMNS), set(contracts.tables))


def test_manifest_is_key_value(contracts):
    assert contracts.tables["manifeste"].key_value, (
        "§1: `manifeste` has two columns `cle,valeur`; "
        "its contract must declare the key/value form")


@pytest.mark.parametrize("table", list(SPEC_COLUMNS))
def test_columns_are_the_spec_columns(contracts, table):
    spec = set(SPEC_COLUMNS[table])
    names = contracts.tables[table].column_names
    assert len(names) == len(set(names)), f"{table}: a column is declared twice: {names}"
    assert set(names) == spec, set_diff_message(f"{table} columns", spec, set(names))


@pytest.mark.parametrize(("table", "column"), ALL_SPEC_COLUMNS,
                         ids=[f"{t}.{c}" for t, c in ALL_SPEC_COLUMNS])
def test_column_matches_spec(contracts, table, column):
    spec = SPEC_COLUMNS[table][column]
    if column not in contracts.tables[table].column_names:
        pytest.fail(f"{table}.{column}: in the spec, missing from {table}.odcs.yaml")
    col = contracts.tables[table].column(column)
    rules = {kind: [r for r in col.rules if r.kind == kind] for kind in
             ("required", "in_set", "pattern", "not_pattern", "type")}
    problems = []

    expected_type = LOGICAL_TYPE[spec.type]
    if col.logical_type != expected_type:
        problems.append(f"type: spec says {spec.type} ({expected_type}), "
                        f"contract has {col.logical_type}")

    if col.required != spec.required:
        problems.append(f"required: spec says {spec.required}, contract has {col.required}")
    # A required value left empty is refused: §3 makes a missing required column B, and a
    # required field without a value cannot be loaded either.
    if spec.required and [r.severity for r in rules["required"]] != [B]:
        problems.append(f"required: expected one `required` rule ({B}), found "
                        f"{[(r.code, r.severity) for r in rules['required']]}")
    if not spec.required and rules["required"]:
        problems.append(f"optional in the spec but has `required` rule(s) "
                        f"{[r.code for r in rules['required']]}")

    if spec.codes is not None:
        if len(rules["in_set"]) != 1:
            problems.append(f"codes: expected one `in_set` rule, found "
                            f"{[r.code for r in rules['in_set']]}")
        for r in rules["in_set"]:
            values = list(r.params.get("values", []))
            if len(values) != len(set(values)):
                problems.append(f"codes: {r.code} lists a code twice: {values}")
            if set(values) != set(spec.codes):
                problems.append(
                    f"codes: {r.code} differs from the spec list; "
                    f"missing {sorted(set(spec.codes) - set(values))}, "
                    f"not in spec {sorted(set(values) - set(spec.codes))}")
            if r.severity != B:
                problems.append(f"codes: {r.code} severity {r.severity}, spec says {B}")
    elif rules["in_set"]:
        problems.append(f"codes: the spec gives no code list, contract has "
                        f"{[r.code for r in rules['in_set']]}")

    expected_patterns = (([ID] if spec.type == "id" else [])
                         + ([spec.pattern] if spec.pattern else []))
    found_patterns = [r.params.get("pattern") for r in rules["pattern"]]
    if sorted(found_patterns) != sorted(expected_patterns):
        problems.append(f"patterns: spec says {expected_patterns}, contract has {found_patterns}")
    for r in rules["pattern"]:
        if r.severity != B:
            problems.append(f"patterns: {r.code} severity {r.severity}, spec says {B}")

    # "An identifier made only of letters, hyphens and apostrophes … is refused (B)"; §4 adds
    # e-mail, phone and NIR. Every id column carries it, and no other column.
    if spec.type == "id":
        if [r.severity for r in rules["not_pattern"]] != [B]:
            problems.append(f"personal data: expected one `not_pattern` rule ({B}) on an id "
                            f"column, found {[(r.code, r.severity) for r in rules['not_pattern']]}")
    elif rules["not_pattern"]:
        problems.append(f"personal data: not an id column in the spec, yet has "
                        f"{[r.code for r in rules['not_pattern']]}")

    # A value that is not of the column's type cannot be loaded: refused (B).
    if expected_type != "string" and [r.severity for r in rules["type"]] != [B]:
        problems.append(f"type check: expected one `type` rule ({B}) for a {spec.type} column, "
                        f"found {[(r.code, r.severity) for r in rules['type']]}")

    assert not problems, f"{table}.{column}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(SPEC_COLUMNS))
def test_comparisons(contracts, table):
    spec = {(t, c, op, o.removeprefix(f"{t}."), sev)
            for t, c, op, o, sev in SPEC_COMPARES if t == table}
    found = {}
    for r in rules_of(contracts, "compare", [table]):
        found[normal_compare(table, r.column, r.params["op"], r.params["other"], r.severity,
                             spec)] = r.code
    codes_text = "".join(f"\n    {code}: {k[1:]}" for k, code in sorted(found.items()))
    assert set(found) == spec, set_diff_message(
        f"{table} comparisons (table, column, op, other, severity; `column op other` must hold)",
        spec, set(found)) + f"\n  contract rules:{codes_text}"


def test_every_event_date_not_after_extraction(contracts):
    """§2: every date ≤ date_extraction (B), except an action's date_fin (A when later)."""
    problems = []
    for table in DATA_TABLES:
        for column, col in SPEC_COLUMNS[table].items():
            if col.type != "date":
                continue
            cmp_rules = [r for r in contracts.tables[table].rules
                         if r.kind == "compare" and r.column == column
                         and r.params.get("other") == EXTRACTION]
            got = sorted((r.params["op"], r.severity) for r in cmp_rules)
            want = ([("<=", A)] if (table, column) in DATES_NOT_AFTER_EXTRACTION_EXCEPT
                    else [("<=", B)])
            if got != want:
                problems.append(f"{table}.{column}: spec wants {want} against {EXTRACTION}, "
                                f"contract has {got} ({[r.code for r in cmp_rules]})")
    assert not problems, "\n".join(problems)


def test_ranges(contracts):
    found = {(r.table, r.column, bound(r.params.get("min")), bound(r.params.get("max")),
              r.severity) for r in rules_of(contracts, "range")}
    spec = {(t, c, bound(lo), bound(hi), s) for t, c, lo, hi, s in SPEC_RANGES}
    assert found == spec, set_diff_message("ranges (table, column, min, max, severity)",
                                           spec, found)


def test_age_at_entry(contracts):
    found = {(r.table, r.column, r.params.get("min"), r.params.get("max"), r.severity)
             for r in rules_of(contracts, "age_range")}
    assert found == SPEC_AGE_RANGES, set_diff_message(
        "age at entry (table, column, min, max, severity)", SPEC_AGE_RANGES, found)


def test_uniqueness(contracts):
    found = {(r.table, r.column, r.severity) for r in rules_of(contracts, "unique")}
    assert found == SPEC_UNIQUE, set_diff_message("unique columns", SPEC_UNIQUE, found)


def test_foreign_keys(contracts):
    found = {(r.table, r.column, fk_target(r), r.severity)
             for r in rules_of(contracts, "foreign_key")}
    assert found == SPEC_FOREIGN_KEYS, set_diff_message("foreign keys", SPEC_FOREIGN_KEYS, found)
    # attentes.id_parcours: "if present" — the column is optional, so only a value is checked.
    assert not contracts.tables["attentes"].column("id_parcours").required, (
        "attentes.id_parcours: the spec checks it only if present; it must be optional")


def test_motif_sortie_iff_date_sortie(contracts):
    found = {(r.table, r.column, r.params.get("other"), r.severity)
             for r in rules_of(contracts, "present_iff")}
    # "iff" is symmetric: accept the rule declared on either column.
    found = {(t, *sorted((c, o)), s) for t, c, o, s in found}
    spec = {(t, *sorted((c, o)), s) for t, c, o, s in SPEC_PRESENT_IFF}
    assert found == spec, set_diff_message("present iff (table, column, other, severity)",
                                           spec, found)


def test_abandon_excludes_first_appointment(contracts):
    found = {(r.table, *sorted((r.column, r.params.get("other"))), r.severity)
             for r in rules_of(contracts, "exclusive")}
    spec = {(t, *sorted((c, o)), s) for t, c, o, s in SPEC_EXCLUSIVE}
    assert found == spec, set_diff_message("mutually exclusive columns", spec, found)


def test_type_action_of_its_volet(contracts):
    rules = rules_of(contracts, "pair_in_set")
    assert [(r.table, r.column, r.params.get("other"), r.severity) for r in rules] == [
        ("actions", "type_action", "volet", A)], (
        "actions.type_action: the spec has one rule 'not of its volet (A)' pairing type_action "
        f"with volet; contracts have {[(r.code, r.column, r.severity) for r in rules]}")
    pairs = {v: set(ts) for v, ts in rules[0].params["pairs"].items()}
    spec = {v: set(ts) | set(TYPE_ACTION_ANY_VOLET) for v, ts in TYPE_ACTION_BY_VOLET.items()}
    problems = [f"volet {v}: spec {sorted(spec.get(v, set()))}, "
                f"contract {sorted(pairs.get(v, set()))}"
                for v in sorted(set(spec) | set(pairs)) if spec.get(v) != pairs.get(v)]
    assert not problems, (
        f"{rules[0].code}: type_action by volet differs:\n  " + "\n  ".join(problems))


def test_bilan_types_once_per_pathway(contracts):
    rules = rules_of(contracts, "unique_per_key")
    found = {(r.table, r.column, r.params.get("key"), frozenset(r.params.get("values", [])),
              r.severity) for r in rules}
    assert found == {SPEC_ONCE_PER_PATHWAY}, set_diff_message(
        "at most one of some values per key", {SPEC_ONCE_PER_PATHWAY}, found)


def test_closing_bilan_on_ongoing_pathway(contracts):
    rules = rules_of(contracts, "parent_value_required")
    found = {(r.table, r.params.get("when_column"), frozenset(r.params.get("when_values", [])),
              r.params.get("parent_table"), r.params.get("parent_column"), r.severity)
             for r in rules}
    assert found == {SPEC_CLOSING_BILAN}, set_diff_message(
        "SORTIE/SUIVI_6_MOIS bilan needs the pathway's date_sortie", {SPEC_CLOSING_BILAN}, found)
    for r in rules:
        assert r.params.get("key") == r.params.get("parent_key") == "id_parcours", (
            f"{r.code}: the bilan's pathway is reached through id_parcours, got {r.params}")


def test_child_pathways_do_not_overlap(contracts):
    rules = rules_of(contracts, "no_overlap")
    found = {(r.table, r.params.get("key"), r.params.get("start"), r.params.get("end"),
              r.severity) for r in rules}
    assert found == {SPEC_NO_OVERLAP}, set_diff_message(
        "per-child overlap (table, key, start, end, severity)", {SPEC_NO_OVERLAP}, found)


def test_child_sexe_and_birth_year_agree(contracts):
    rules = rules_of(contracts, "consistent_per_key")
    found = {(r.table, r.column, r.params.get("key"), r.severity) for r in rules}
    assert found == SPEC_CONSISTENT_PER_CHILD, set_diff_message(
        "per-child consistency (table, column, key, severity)", SPEC_CONSISTENT_PER_CHILD, found)
    for r in rules:
        # "the latest pathway's values count": pathways ordered by their entry date.
        assert r.params.get("order_by") == "date_entree", (
            f"{r.code}: the latest pathway counts, so order by date_entree; got {r.params}")


def test_empty_parcours_is_refused(contracts):
    found = {(r.table, r.severity) for r in rules_of(contracts, "non_empty")}
    assert found == SPEC_NON_EMPTY, set_diff_message("non-empty tables", SPEC_NON_EMPTY, found)


def test_volume_drop_is_a_warning(contracts):
    found = {(r.table, float(r.params.get("ratio", "nan")), r.severity)
             for r in rules_of(contracts, "volume_vs_in_force")}
    assert found == {SPEC_VOLUME}, set_diff_message(
        "fewer than half the pathways in force (table, ratio, severity)", {SPEC_VOLUME}, found)


def test_unknown_site_is_refused(contracts):
    found = {(r.table, r.column, r.severity) for r in rules_of(contracts, "known_site")}
    assert found == SPEC_KNOWN_SITE, set_diff_message("known site", SPEC_KNOWN_SITE, found)


def test_extraction_after_receipt_is_refused(contracts):
    found = {(r.table, r.column, r.severity) for r in rules_of(contracts, "not_after_receipt")}
    assert found == SPEC_NOT_AFTER_RECEIPT, set_diff_message(
        "date_extraction later than the day of receipt", SPEC_NOT_AFTER_RECEIPT, found)


# ---------------------------------------------------------------------------------------------
# Personal-data patterns on identifiers, against an independent list of samples
# ---------------------------------------------------------------------------------------------

PERSONAL_SAMPLES = {
    "e-mail": ["jean.dupont@mail.fr"],
    "phone": ["06 12 34 56 78", "0612345678", "+33612345678", "06.12.34.56.78",
              "0033612345678"],
    # NIR: 13 digits (without key) or 15 (with key), starting with 1 or 2.
    "NIR": ["1850578006048", "2850578006048", "185057800604812", "285057800604812"],
    "name": ["Dupont", "Jean-Pierre", "O'Neil", "Lefèvre"],
}
PSEUDONYMOUS_SAMPLES = ["P000123", "E-12_3", "100234"]


@pytest.mark.parametrize(("table", "column"), SPEC_ID_COLUMNS,
                         ids=[f"{t}.{c}" for t, c in SPEC_ID_COLUMNS])
def test_id_personal_data_patterns(contracts, table, column):
    col = contracts.tables[table].column(column)
    rules = [r for r in col.rules if r.kind == "not_pattern"]
    assert rules, f"{table}.{column}: no `not_pattern` rule refusing personal data"
    patterns = [p for r in rules for p in r.params["patterns"]]

    def refused(value: str) -> bool:
        return any(re.search(p, value) for p in patterns)

    wrongly_accepted = [f"{kind}: {v!r}" for kind, values in PERSONAL_SAMPLES.items()
                        for v in values if not refused(v)]
    wrongly_refused = [v for v in PSEUDONYMOUS_SAMPLES if refused(v)]
    assert not wrongly_accepted and not wrongly_refused, (
        f"{table}.{column} ({', '.join(r.code for r in rules)}):\n"
        f"  personal data not refused: {wrongly_accepted}\n"
        f"  pseudonymous ids refused: {wrongly_refused}")
    id_rules = [r for r in col.rules if r.kind == "pattern"]
    not_matching = [v for v in PSEUDONYMOUS_SAMPLES
                    if not all(re.search(r.params["pattern"], v) for r in id_rules)]
    assert not not_matching, f"{table}.{column}: pattern ID refuses {not_matching}"

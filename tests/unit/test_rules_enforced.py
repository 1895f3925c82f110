"""Every rule of the contracts is enforced.

For each rule, the test derives from the rule's kind and parameters a minimal damage to a valid
hand-written submission, then asserts the exact finding: rule code, table, line, column and
severity. A rule of a kind this test cannot break fails the test: adding a rule to a contract
without support for it cannot pass unnoticed.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import openpyxl
import pytest

from pipelines.contracts.model import load_contracts
from pipelines.contracts.reader import read_submission
from pipelines.contracts.validator import Context, validate_file, validate_many
from submission_builder import COLUMNS, base_tables, copy_tables, csv_text, write_zip

CONTRACTS = load_contracts()
SITES = {"PRE51454", "PRE08105"}
ALL_RULES = CONTRACTS.all_rules()


def _line(index: int) -> int:
    return index + 2  # header on line 1


def _manifest_line(tables, key) -> int:
    return next(i for i, row in enumerate(tables["manifeste"]) if row["cle"] == key) + 2


def _shift(value: str, delta: int) -> str:
    """Move a date (ISO) by `delta` days or an integer by `delta`."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return (date.fromisoformat(value) + timedelta(days=delta)).isoformat()
    return str(int(value) + delta)


def _rows(tables, rule):
    return tables[rule.table]


def _first_filled(rows, *columns) -> int:
    return next(i for i, r in enumerate(rows) if all(r.get(c) for c in columns))


def _set_manifest(tables, key, value):
    for row in tables["manifeste"]:
        if row["cle"] == key:
            row["valeur"] = value
            return


class Case:
    """A damaged submission and the finding expected from it."""

    def __init__(self, tables, line, column, *, table=None, zip_kwargs=None, raw=None, context=None):
        self.tables, self.line, self.column = tables, line, column
        self.table = table
        self.zip_kwargs = zip_kwargs or {}
        self.raw = raw
        self.context = context or Context(known_sites=set(SITES))


def _value_cell(rule, tables, value, row_index=0):
    if rule.table == "manifeste":
        _set_manifest(tables, rule.column, value)
        return Case(tables, _manifest_line(tables, rule.column), rule.column)
    _rows(tables, rule)[row_index][rule.column] = value
    return Case(tables, _line(row_index), rule.column)


def _other_value(tables, rule, row):
    other = rule.params["other"]
    if other == "manifeste.date_extraction":
        return next(r["valeur"] for r in tables["manifeste"] if r["cle"] == "date_extraction")
    if other == "parcours.date_entree":
        return next(p["date_entree"] for p in tables["parcours"] if p["id_parcours"] == row["id_parcours"])
    return row[other]


def break_rule(rule):
    t = copy_tables(base_tables())
    kind, p = rule.kind, rule.params
    if kind == "required":
        return _value_cell(rule, t, "")
    if kind == "type":
        column = CONTRACTS.tables[rule.table].column(rule.column)
        bad = {"date": "31/02/2024", "integer": "douze", "number": "abc"}[column.logical_type]
        return _value_cell(rule, t, bad)
    if kind == "in_set":
        return _value_cell(rule, t, "INCONNU_ZZ")
    if kind == "pattern":
        bad = next(v for v in ("!!", "PRE1", "ABCDEFG") if not re.search(p["pattern"], v))
        return _value_cell(rule, t, bad)
    if kind == "not_pattern":
        samples = ["jean.dupont@mail.fr", "0612345678", "1850775123456", "Dupont"]
        bad = next(v for v in samples if any(re.search(x, v) for x in p["patterns"]))
        return _value_cell(rule, t, bad)
    if kind == "range":
        rows = _rows(t, rule)
        i = _first_filled(rows, rule.column)
        bound = p.get("min") if p.get("min") is not None else p["max"]
        delta = -1 if p.get("min") is not None else 1
        value = _shift(bound, delta) if isinstance(bound, str) else str(bound + delta)
        return _value_cell(rule, t, value, i)
    if kind == "age_range":
        row = t["parcours"][0]
        age = p["max"] + 1
        row["annee_naissance"] = str(int(row["date_entree"][:4]) - age)
        return Case(t, _line(0), "annee_naissance")
    if kind == "unique":
        rows = _rows(t, rule)
        rows[1][rule.column] = rows[0][rule.column]
        return Case(t, _line(1), rule.column)
    if kind == "compare":
        if rule.table == "manifeste":
            extraction = _other_value(t, rule, None)
            _set_manifest(t, rule.column, _shift(extraction, 1 if p["op"] in ("<=", "<") else -1))
            return Case(t, _manifest_line(t, rule.column), rule.column)
        rows = _rows(t, rule)
        other = p["other"]
        needs = [rule.column] + ([other] if "." not in other else [])
        i = _first_filled(rows, *needs)
        reference = _other_value(t, rule, rows[i])
        rows[i][rule.column] = _shift(reference, 1 if p["op"] in ("<=", "<") else -1)
        return Case(t, None if rule.per_file else _line(i), rule.column)  # per file: its lines in the message
    if kind == "pair_in_set":
        rows = _rows(t, rule)
        volet = rows[0][p["other"]]
        foreign = next(x for v, types in p["pairs"].items() if v != volet for x in types if x not in p["pairs"][volet])
        rows[0][rule.column] = foreign
        return Case(t, _line(0), rule.column)
    if kind == "known_site":
        return _value_cell(rule, t, "PRE99999")
    if kind == "not_after_receipt":
        # Received the day before the extraction date the manifest gives.
        extraction = date.fromisoformat(next(r["valeur"] for r in t["manifeste"] if r["cle"] == rule.column))
        case = Case(t, _manifest_line(t, rule.column), rule.column)
        case.context = Context(known_sites=set(SITES), received_on=extraction - timedelta(days=1))
        return case
    if kind == "present_iff":
        rows = _rows(t, rule)
        i = next(i for i, r in enumerate(rows) if not r[p["other"]])
        rows[i][rule.column] = "AUTRE"
        return Case(t, _line(i), rule.column)
    if kind == "exclusive":
        rows = _rows(t, rule)
        i = _first_filled(rows, p["other"])
        rows[i][rule.column] = rows[i][p["other"]]
        return Case(t, _line(i), rule.column)
    if kind == "foreign_key":
        rows = _rows(t, rule)
        rows[0][rule.column] = "P999"
        return Case(t, _line(0), rule.column)
    if kind == "parent_value_required":
        parents = {r[p["parent_key"]]: r for r in t[p["parent_table"]]}
        rows = _rows(t, rule)
        i = next(i for i, r in enumerate(rows) if not parents[r[p["key"]]][p["parent_column"]])
        rows[i][p["when_column"]] = p["when_values"][0]
        return Case(t, _line(i), rule.column)
    if kind == "unique_per_key":
        rows = _rows(t, rule)
        key = p["key"]
        i, j = next((i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
                    if rows[i][key] == rows[j][key])
        rows[i][rule.column] = rows[j][rule.column] = p["values"][0]
        return Case(t, _line(j), rule.column)
    if kind == "consistent_per_key":
        rows = _rows(t, rule)
        key = p["key"]
        i, j = next((i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
                    if rows[i][key] == rows[j][key])
        earlier = i if rows[i][p["order_by"]] < rows[j][p["order_by"]] else j
        current = rows[earlier][rule.column]
        rows[earlier][rule.column] = {"F": "M", "M": "F"}.get(current) or str(int(current) - 1)
        return Case(t, _line(earlier), rule.column)
    if kind == "no_overlap":
        rows = _rows(t, rule)
        key = p["key"]
        i, j = next((i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))
                    if rows[i][key] == rows[j][key])
        rows[j][p["start"]] = _shift(rows[i][p["start"]], 1)
        return Case(t, _line(j), rule.column)
    if kind == "non_empty":
        t[rule.table] = []
        return Case(t, None, None)
    if kind == "volume_vs_in_force":
        n = len(t[rule.table])
        return Case(t, None, None, context=Context(known_sites=set(SITES), in_force_parcours=2 * n + 1))
    if kind == "unknown_key":
        t["manifeste"].append({"cle": "cle_bizarre", "valeur": "1"})
        return Case(t, len(t["manifeste"]) + 1, "cle")
    if kind == "duplicate_key":
        t["manifeste"].append({"cle": "logiciel", "valeur": "Autre"})
        return Case(t, len(t["manifeste"]) + 1, "cle")
    return _break_envelope(rule, t)


def _workbook(tables, *, empty_sheet: str) -> bytes:
    """The tables as an XLSX workbook (text cells, written by openpyxl), plus an empty sheet."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in tables.items():
        cols = ["cle", "valeur"] if name == "manifeste" else COLUMNS[name]
        sheet = book.create_sheet(name)
        sheet.append(cols)
        for row in rows:
            sheet.append([row[c] or None for c in cols])
    book.create_sheet(empty_sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _break_envelope(rule, t):
    kind = rule.kind
    if kind == "file_readable":
        return Case(t, None, None, raw=b"Bonjour, voici notre fichier.\n", table=None)
    if kind == "table_present":
        del t["bilans"]
        return Case(t, None, None, table="bilans")
    if kind == "table_once":
        member = csv_text(t["parcours"], COLUMNS["parcours"]).encode()
        return Case(t, None, None, table="parcours", zip_kwargs={"extra_members": {"PARCOURS.CSV": member}})
    if kind == "no_extra_table":
        return Case(t, None, None, table=None, zip_kwargs={"extra_members": {"notes.txt": b"a"}})
    if kind == "no_extra_column":
        cols = [*COLUMNS["actions"], "divers"]
        for r in t["actions"]:
            r["divers"] = "x"
        return Case(t, 1, "divers", table="actions", zip_kwargs={"columns": {"actions": cols}})
    if kind == "no_personal_column":
        cols = [*COLUMNS["parcours"], "Nom"]
        for r in t["parcours"]:
            r["Nom"] = "x1"
        return Case(t, 1, "nom", table="parcours", zip_kwargs={"columns": {"parcours": cols}})
    if kind == "required_column":
        cols = [c for c in COLUMNS["parcours"] if c != "sexe"]
        return Case(t, 1, "sexe", table="parcours", zip_kwargs={"columns": {"parcours": cols}})
    if kind == "optional_column":
        cols = [c for c in COLUMNS["parcours"] if c != "id_famille"]
        return Case(t, 1, "id_famille", table="parcours", zip_kwargs={"columns": {"parcours": cols}})
    if kind == "column_once":
        cols = [*COLUMNS["actions"], "volet"]
        return Case(t, 1, "volet", table="actions", zip_kwargs={"columns": {"actions": cols}})
    if kind == "row_shape":
        text = csv_text(t["actions"], COLUMNS["actions"]).splitlines()
        text[2] += ",en trop"
        return Case(t, 3, None, table="actions", zip_kwargs={"raw_members": {"actions": "\n".join(text) + "\n"}})
    if kind == "leading_zero_repair":
        t["parcours"][0]["code_commune"] = "8105"
        return Case(t, 2, "code_commune", table="parcours")
    if kind == "integer_text_repair":
        t["parcours"][0]["id_referent"] = "12.0"
        return Case(t, 2, "id_referent", table="parcours")
    if kind == "empty_sheet":
        return Case(t, None, None, table=None, raw=_workbook(t, empty_sheet="Feuil1"))
    raise AssertionError(f"le test ne sait pas enfreindre la règle {rule.code} (nature {kind})")


def test_base_submission_is_clean(tmp_path):
    path = write_zip(tmp_path / "base.zip", base_tables())
    report = validate_file(path, Context(known_sites=set(SITES)))
    assert report.findings.count() == 0, list(report.findings)
    assert report.accepted
    assert report.rows == {"parcours": 3, "actions": 3, "bilans": 3, "attentes": 3}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """All damaged submissions checked in one batch (the platform's batch path), by rule code."""
    folder = tmp_path_factory.mktemp("regles")
    cases, subs = {}, []
    for rule in ALL_RULES:
        case = break_rule(rule)
        path = folder / f"{rule.code}.zip"
        if case.raw is not None:
            path.write_bytes(case.raw)
        else:
            write_zip(path, case.tables, **case.zip_kwargs)
        cases[rule.code] = case
        subs.append(read_submission(path, CONTRACTS))
    found = validate_many(subs, [cases[r.code].context for r in ALL_RULES], CONTRACTS)
    return {rule.code: (cases[rule.code], report) for rule, report in zip(ALL_RULES, found, strict=True)}


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.code for r in ALL_RULES])
def test_rule_is_enforced(rule, reports):
    case, report = reports[rule.code]
    table = case.table if (case.table is not None or rule.table == "depot") else rule.table
    matches = [f for f in report.findings if f.rule == rule.code]
    assert matches, f"{rule.code} attendue, constats obtenus : {sorted(report.findings.rules())}"
    expected = (table, case.line, case.column, rule.severity)
    assert expected in [(f.table, f.line, f.column, f.severity) for f in matches], (expected, matches)
    for f in matches:
        assert f.message and "{" not in f.message, f.message
    assert report.accepted == (not any(g.rule.blocking for g in report.findings.groups()))
    if rule.blocking:
        assert not report.accepted


@pytest.mark.parametrize("code", ["parcours.sexe.liste", "actions.id_parcours.parcours_inconnu",
                                  "parcours.id_enfant.chevauchement", "attentes.date_abandon.avec_rdv"])
def test_single_check_agrees_with_batch(code, tmp_path, reports):
    """A submission checked alone gives the same findings as inside a batch."""
    rule = CONTRACTS.rule(code)
    case = break_rule(rule)
    path = write_zip(tmp_path / "seul.zip", case.tables, **case.zip_kwargs)
    alone = validate_file(path, case.context)
    _, batched = reports[code]
    assert list(alone.findings) == list(batched.findings)


@pytest.mark.parametrize(("table", "column", "value", "expected"), [
    ("parcours", "date_entree", "31/02/2023", "parcours.date_entree.type"),
    ("parcours", "annee_naissance", "deux mille", "parcours.annee_naissance.type"),
    ("parcours", "motif_sortie", "FINI", "parcours.motif_sortie.liste"),
    ("actions", "date_debut", "hier", "actions.date_debut.type"),
    ("attentes", "date_abandon", "2023-13-45", "attentes.date_abandon.type"),
])
def test_one_bad_cell_gives_one_finding(tmp_path, table, column, value, expected):
    """A refused cell is not judged again (not "empty", not compared, not checked for presence)."""
    tables = copy_tables(base_tables())
    row = next(i for i, r in enumerate(tables[table]) if r[column])
    tables[table][row][column] = value
    report = validate_file(write_zip(tmp_path / "d.zip", tables), Context(known_sites=set(SITES)))
    assert [(f.rule, f.line, f.column) for f in report.findings] == [(expected, row + 2, column)]

"""The exchange format as Table Schemas: generated from the contracts, committed next to the French
documentation, and a file the platform accepts passes `frictionless` with them too."""

from __future__ import annotations

import json
import zipfile

import pytest

from pipelines.common.datahome import DataHome
from pipelines.contracts.documents.table_schemas import schema_name, table_schema
from pipelines.contracts.reader import read_submission
from pipelines.contracts.validator import Context, validate_many
from pipelines.demo.generate import generate
from support import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "format"


def test_committed_schemas_are_up_to_date(contracts):
    for table in contracts.tables.values():
        committed = json.loads((DOCS / schema_name(table.name)).read_text(encoding="utf-8"))
        assert committed == table_schema(table), "régénérez : pre-eval docs --out docs/format"


def test_schemas_carry_the_code_lists_keys_and_links(contracts):
    actions = table_schema(contracts.tables["actions"])
    fields = {f["name"]: f for f in actions["fields"]}
    assert fields["volet"]["constraints"]["enum"] == ["SCOLARITE", "EDUCATIF", "PARENTALITE", "SANTE"]
    assert fields["seances_prevues"]["type"] == "integer" and fields["seances_prevues"]["constraints"]["minimum"] == 0
    assert actions["primaryKey"] == ["id_action"]
    assert {"fields": "id_parcours", "reference": {"resource": "parcours", "fields": "id_parcours"}} in \
        actions["foreignKeys"]


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    """A generated submission in the canonical form (ZIP of UTF-8 CSV), accepted by the platform."""
    root = tmp_path_factory.mktemp("schemas")
    files = generate(root / "out", seed=3, sites=["PRE51454"], from_year=2023, to_year=2024,
                     home=DataHome(root / "home"))
    path = next(f.path for f in files if f.variant == "zip-utf8")
    sub = read_submission(path)
    (report,) = validate_many([sub], [Context(known_sites={"PRE51454"})])
    assert report.accepted
    folder = root / "membres"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    return folder


def test_an_accepted_file_passes_frictionless(canonical, contracts):
    from frictionless import Package, Resource, Schema

    resources = [Resource(path=f"{name}.csv", basepath=str(canonical), name=name,
                          schema=Schema.from_descriptor(table_schema(table)))
                 for name, table in contracts.tables.items()]
    report = Package(resources=resources, basepath=str(canonical)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_a_broken_file_fails_frictionless_too(canonical, contracts):
    from frictionless import Resource, Schema

    text = (canonical / "actions.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("volet")] = "CUISINE"
    (canonical / "actions_casse.csv").write_text("\n".join([text[0], ",".join(row)]) + "\n", encoding="utf-8")
    schema = table_schema(contracts.tables["actions"])
    schema.pop("foreignKeys")
    report = Resource(path="actions_casse.csv", basepath=str(canonical),
                      schema=Schema.from_descriptor(schema)).validate()
    assert not report.valid
    assert {e[1] for e in report.flatten(["rowNumber", "fieldName"])} == {"volet"}

"""The generator's output passes the contracts, and each flawed file fails the rule it was built for.

All files of a default run are checked in one batch, the platform's batch path.
"""

from __future__ import annotations

import pytest

from pipelines.common.datahome import DataHome
from pipelines.contracts.model import BLOQUANT
from pipelines.contracts.reader import read_submission
from pipelines.contracts.validator import Context, validate_many
from pipelines.demo.generate import generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    home = DataHome(root / "home")
    files = generate(root / "depots", seed=7, with_errors=True, home=home)
    from pipelines.contracts.referential import known_codes

    context = Context(known_sites=known_codes(home))
    reports = validate_many([read_submission(f.path) for f in files], [context] * len(files))
    return list(zip(files, reports, strict=True)), context


def test_valid_files_are_accepted(checked):
    checked, _ = checked
    valid = [(f, r) for f, r in checked if f.expected_rule is None]
    assert len(valid) == 15
    assert {f.variant for f, _ in valid} == {"zip-utf8", "zip-cp1252", "xlsx"}
    for file, report in valid:
        blocking = [g.rule.code for g in report.findings.groups() if g.severity == BLOQUANT]
        assert report.accepted and not blocking, (file.path.name, blocking)
        assert report.rows["parcours"] > 0 and report.rows["actions"] > 0


def test_flawed_files_are_refused_for_their_rule(checked):
    checked, _ = checked
    flawed = [(f, r) for f, r in checked if f.expected_rule is not None]
    assert len(flawed) >= 20
    for file, report in flawed:
        assert not report.accepted, file.path.name
        assert file.expected_rule in report.findings.rules(), (file.path.name, sorted(report.findings.rules()))


def test_each_file_gets_in_the_batch_the_report_it_gets_alone(checked):
    """Batching is only a cost saving: a flawed file (and one valid file of each kind) has, checked with all
    the others, the findings it has checked alone. A file whose parcours table is unusable (a column
    missing) was once charged, in a batch, with « parcours inconnu » on each of its actions, evaluations and
    requests, from the other files' pathways."""
    checked, context = checked
    kinds = {}
    for file, report in checked:
        if file.expected_rule is None:
            kinds.setdefault(file.variant, (file, report))
    # Every flaw of the envelope and of each table's structure (those that make a table unusable, the case that
    # once differed) and every fourth other flaw: each file checked alone costs a GX run per table.
    flawed = [(f, r) for f, r in checked if f.expected_rule is not None]
    chosen = [(f, r) for i, (f, r) in enumerate(flawed) if f.expected_rule.startswith("depot.") or i % 4 == 0]
    chosen += list(kinds.values())
    assert any(f.expected_rule == "depot.colonne_manquante" for f, _ in chosen)
    for file, report in chosen:
        (alone,) = validate_many([read_submission(file.path)], [context])
        assert report.findings.to_list() == alone.findings.to_list(), file.path.name

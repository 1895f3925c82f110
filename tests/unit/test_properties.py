"""Property-based tests (hypothesis) of the reader and the validator."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.common.datahome import DataHome
from pipelines.contracts.model import BLOQUANT, load_contracts
from pipelines.contracts.reader import read_submission
from pipelines.contracts.validator import Context, validate_file, validate_many
from pipelines.demo.generate import generate
from submission_builder import COLUMNS, base_tables, copy_tables, write_zip

pytestmark = pytest.mark.slow

CONTRACTS = load_contracts()
SITES = {"PRE51454"}
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _refused_cleanly(sub) -> None:
    findings = list(sub.findings)
    assert all(f.message and f.rule in CONTRACTS.rules_by_code for f in findings)


@QUICK
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_are_a_clean_refusal(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("octets") / "fichier.zip"
    path.write_bytes(data)
    sub = read_submission(path)
    _refused_cleanly(sub)
    assert any(f.severity == BLOQUANT for f in sub.findings)


@QUICK
@given(member=st.sampled_from(["manifeste", "parcours", "actions", "bilans", "attentes"]),
       content=st.binary(max_size=2048))
def test_arbitrary_member_bytes_never_raise(tmp_path_factory, member, content):
    path = tmp_path_factory.mktemp("membre") / "depot.zip"
    write_zip(path, base_tables(), raw_members={member: content})
    _refused_cleanly(read_submission(path))


@QUICK
@given(blob=st.binary(min_size=1, max_size=3000), cut=st.integers(min_value=0, max_value=3000))
def test_truncated_or_spliced_archives_never_raise(tmp_path_factory, blob, cut):
    buffer = io.BytesIO()
    write_zip(buffer, base_tables())
    data = buffer.getvalue()
    data = data[:cut] + blob + data[cut:]
    path = tmp_path_factory.mktemp("abime") / "depot.zip"
    path.write_bytes(data)
    _refused_cleanly(read_submission(path))


CELL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@SLOW
@given(table=st.sampled_from(["parcours", "actions", "bilans", "attentes"]),
       row=st.integers(min_value=0, max_value=2), column_index=st.integers(min_value=0, max_value=20),
       value=CELL_TEXT)
def test_any_cell_value_gives_a_verdict(tmp_path_factory, table, row, column_index, value):
    """Whatever a cell holds, the validator answers (accepted or refused with known rules), never crashes."""
    tables = copy_tables(base_tables())
    column = COLUMNS[table][column_index % len(COLUMNS[table])]
    tables[table][row][column] = value
    path = write_zip(tmp_path_factory.mktemp("cellule") / "depot.zip", tables)
    report = validate_file(path, Context(known_sites=SITES))
    assert all(f.rule in CONTRACTS.rules_by_code for f in report.findings)
    assert report.accepted == (report.blocking_count == 0)


@SLOW
@given(seed=st.integers(min_value=0, max_value=10_000), from_year=st.integers(min_value=2010, max_value=2022))
def test_any_generated_submission_is_accepted(tmp_path_factory, seed, from_year):
    root = tmp_path_factory.mktemp("gen")
    home = DataHome(root / "home")
    files = generate(root / "out", seed=seed, sites=["PRE51454", "PRE10387"], from_year=from_year,
                     to_year=from_year + 2, home=home)
    reports = validate_many([read_submission(f.path) for f in files],
                            [Context(known_sites={"PRE51454", "PRE10387"})] * len(files))
    for report in reports:
        assert report.accepted, [(g.rule.code, g.count) for g in report.findings.groups() if g.rule.blocking]


def test_write_zip_accepts_a_buffer():
    # The helper above writes into memory for the splicing test.
    buffer = io.BytesIO()
    write_zip(buffer, base_tables())
    assert zipfile.ZipFile(io.BytesIO(buffer.getvalue())).namelist()[0] == "manifeste.csv"

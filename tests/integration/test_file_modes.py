"""Modes of everything the platform writes (umask 0077; published/, reports/ and editions/ readable by the
dashboard's group only), after real `pre-eval` runs started with a permissive umask (022) and fed files
dropped world-readable, as an SFTP relay would leave them."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import PRE_EVAL, THREE_SITES, isolated_env

SITES = ["PRE51454", "PRE51108", "PRE10387"]
SHARED = {"published", "reports"}  # folders 2750 (setgid), files 0640
EDITIONS = "editions"  # folder 2750; an edition: its folder 0550, its files 0440 (never modified)


def pre_eval(home: Path, *args: str) -> subprocess.CompletedProcess:
    """`pre-eval …` from a shell whose umask lets everyone read: the platform must not inherit it."""
    command = " ".join([PRE_EVAL, *args])
    return subprocess.run(["/bin/sh", "-c", f"umask 022; exec {command}"], capture_output=True, text=True,
                          timeout=600, env=isolated_env(home, home.parent))


def expected_mode(relative: Path, is_dir: bool) -> int:
    """Written by hand from the rule, not from the code: see the module's docstring."""
    top = relative.parts[0] if relative.parts else ""
    if top in SHARED:
        return 0o2750 if is_dir else 0o640
    if top == EDITIONS:
        if len(relative.parts) == 1:
            return 0o2750
        return 0o550 if is_dir else 0o440
    return 0o700 if is_dir else 0o600


@pytest.mark.slow
def test_every_file_and_folder_of_the_data_home_has_its_mode(tmp_path):
    root = tmp_path / "donnees"
    first = pre_eval(root, "process")  # the platform creates its data home
    assert first.returncode == 0, first.stderr
    generated = generate(tmp_path / "generes", seed=17, sites=SITES, from_year=2023, to_year=2024,
                         with_errors=True, home=DataHome(tmp_path / "autre"))
    assert any(f.expected_rule for f in generated) and any(not f.expected_rule for f in generated)
    for file in generated:  # dropped world-readable (0644), as many uploaders leave them
        shutil.copy(file.path, root / "inbox" / file.path.name)
        (root / "inbox" / file.path.name).chmod(0o644)
    run = pre_eval(root, "process")
    assert run.returncode == 0, run.stderr
    assert "ACCEPTÉ" in run.stdout and "REFUSÉ" in run.stdout
    edition = pre_eval(root, "edition", "creer", "essai")
    assert edition.returncode == 0, edition.stderr

    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    seen, wrong = set(), []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        mode = path.lstat().st_mode
        assert not stat.S_ISLNK(mode), relative
        want = expected_mode(relative, stat.S_ISDIR(mode))
        if stat.S_IMODE(mode) != want:
            wrong.append(f"{relative}: {oct(stat.S_IMODE(mode))} au lieu de {oct(want)}")
        assert not stat.S_IMODE(mode) & 0o007, relative  # nothing for other accounts, anywhere
        seen.add(relative.parts[0])
    assert not wrong, "\n".join(wrong)
    # The walk did cover what a run writes (a folder missing here would be a blind spot).
    assert {"archive", "quarantine", "reports", "published", "editions", "registre", "journal", "secret",
            "dagster", "warehouse.duckdb"} <= seen
    assert stat.S_IMODE((root / "secret" / "cle_pseudonymisation").stat().st_mode) == 0o600
    assert any((root / "archive").rglob("*.zip")) and any((root / "quarantine").rglob("*.*"))
    assert any((root / "reports").rglob("*.md")) and (root / "published" / "entrepot.duckdb").is_file()


@pytest.mark.slow
def test_the_published_copy_never_holds_the_key_fingerprint(processed_homes, tmp_path):
    home = processed_homes.get(**THREE_SITES).copy(tmp_path / "donnees")  # processed by `pre-eval process`
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        [(fingerprint,)] = con.execute("select empreinte from ingestion.cle_pseudonymisation").fetchall()
    finally:
        con.close()
    for copy in sorted(home.published.glob("*.duckdb")):
        con = duckdb.connect(str(copy), read_only=True)
        try:
            tables = con.execute("select schema_name, table_name from duckdb_tables() "
                                 "where database_name = current_database()").fetchall()
        finally:
            con.close()
        assert tables and {schema for schema, _ in tables} == {"marts"}, (copy.name, tables)
        assert not [t for _, t in tables if "cle" in t], (copy.name, tables)
        data = copy.read_bytes()
        assert fingerprint.encode() not in data and fingerprint[:16].encode() not in data

"""The `pre-eval` console script, as a coordinator runs it (real subprocess, installed entry point)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
import pytest

from submission_builder import base_tables, copy_tables, write_zip
from support import PRE_EVAL, isolated_env


def run(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PRE_EVAL), *args], capture_output=True, text=True, timeout=300,
                          env=isolated_env(env_home, env_home))


@pytest.mark.slow
def test_validate_exit_codes_and_french_report(tmp_path):
    good = write_zip(tmp_path / "bon.zip", base_tables())
    tables = copy_tables(base_tables())
    tables["parcours"][1]["sexe"] = "X"
    bad = write_zip(tmp_path / "mauvais.zip", tables)

    ok = run("validate", str(good), env_home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "ACCEPTÉ" in ok.stdout and "3 parcours" in ok.stdout

    refused = run("validate", str(bad), env_home=tmp_path)
    assert refused.returncode == 1, refused.stderr
    assert "REFUSÉ" in refused.stdout
    assert "parcours.sexe.liste" in refused.stdout and "ligne 3" in refused.stdout
    assert refused.stderr == ""  # no progress bars nor tracebacks

    missing = run("validate", str(tmp_path / "absent.zip"), env_home=tmp_path)
    assert missing.returncode == 2 and "introuvable" in missing.stderr


def test_validate_json(tmp_path):
    import json

    tables = copy_tables(base_tables())
    tables["actions"][0]["id_parcours"] = "P999"
    bad = write_zip(tmp_path / "fk.zip", tables)
    result = run("validate", "--json", str(bad), env_home=tmp_path)
    data = json.loads(result.stdout)
    assert data["verdict"] == "refuse"
    rules = {c["regle"]: c for c in data["constats"]}
    assert rules["actions.id_parcours.parcours_inconnu"]["lignes"] == [2]


def test_modele_writes_template(tmp_path):
    out = tmp_path / "modele.xlsx"
    result = run("modele", "--out", str(out), env_home=tmp_path)
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(out)
    assert {"manifeste", "parcours", "actions", "bilans", "attentes"} <= set(book.sheetnames)

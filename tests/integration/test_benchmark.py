"""The benchmark itself cannot rot: its quick size runs end to end here (about 90 s).

The figures are not judged (a loaded CI machine says nothing about speed); their coherence is:
every section present, phases within the wall time, ratios equal to what the figures give, the
lower bounds' warehouses holding the same rows as the pipeline's, and all eight pages timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT

pytestmark = pytest.mark.slow

PAGES = ["Synthèse", "Territoires", "Parcours", "Actions et partenariats", "Résultats", "Listes d'attente",
         "Qualité des données", "Méthodologie"]  # the pages with figures the probe times


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("banc")
    done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "national.py"), "--quick",
                           "--dossier", str(root / "travail"), "--sortie", str(root / "resultats")],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads((root / "resultats" / "rapide.json").read_text(encoding="utf-8"))
    return done.stdout, figures, (root / "resultats" / "rapide.md").read_text(encoding="utf-8"), root


def test_every_section_is_printed(run):
    stdout, _, markdown, _ = run
    for heading in ("Chargement initial par le pipeline", "Bornes inférieures", "(a) sans contrôle",
                    "(b) avec", "Mise à jour d'un site médian", "Débit du contrôle", "Secret statistique",
                    "Tableau de bord", "Cibles"):
        assert heading in stdout
    for heading in ("## Chargement initial", "## Bornes inférieures", "## Mise à jour d'un site",
                    "## Secret statistique", "## Tableau de bord", "## Cibles"):
        assert heading in markdown


def test_figures_are_coherent(run):
    _, f, _, _ = run
    full = f["chargement_complet"]
    assert f["sites"] == 4
    assert 0 < full["calcul_s"] < full["mur_s"]
    assert full["orchestration_s"] == pytest.approx(full["mur_s"] - sum(full["phases"].values()))
    assert all(seconds > 0 for seconds in full["phases"].values())
    assert sum(full["orchestration"].values()) == pytest.approx(full["orchestration_s"])
    assert all(seconds > -0.01 for seconds in full["orchestration"].values())
    assert full["lignes_total"] == sum(full["lignes"].values()) > 1_000
    assert f["ratios"]["pipeline_a"] == pytest.approx(full["mur_s"] / f["bornes"]["a"]["total"])
    assert f["ratios"]["pipeline_b"] == pytest.approx(full["mur_s"] / f["bornes"]["b"]["total"])
    assert f["bornes"]["b"]["regles"] > 100 and "controle" not in f["bornes"]["a"]["phases"]
    assert f["mise_a_jour"]["part_du_chargement"] == pytest.approx(f["mise_a_jour"]["mur_s"] / full["mur_s"])
    assert f["mise_a_jour"]["site"] == f["mise_a_jour_petit_entrepot"]["site"]
    assert [p["titre"] for p in f["tableau_de_bord"].values()] == PAGES
    for page in f["tableau_de_bord"].values():
        assert 0 < page["chaud_p50"] <= page["chaud_p95"] and 0 < page["froid_p50"] <= page["froid_p95"]
    assert len(f["cibles"]) == 7
    secret = f["secret"]
    assert secret["trop_etroits"] == 0 and secret["violations_primaires"] == 0
    assert 0 < secret["lignes_masquees"] < secret["lignes"] and secret["comptes_audites"] > 0
    assert full["phases"]["secret"] > 0


def test_the_work_folder_is_kept_when_asked_and_the_rows_match_the_files(run):
    """The pipeline's warehouse holds as many rows as the generated CSV files have data lines
    (counted here with zipfile and a line count, not by the platform)."""
    import io
    import zipfile

    import openpyxl

    _, f, _, root = run
    expected = dict.fromkeys(f["chargement_complet"]["lignes"], 0)
    for path in (root / "travail" / "depots").iterdir():
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for table in expected:
                    text = archive.read(f"{table}.csv").decode("cp1252", errors="replace")
                    expected[table] += len([line for line in text.splitlines() if line.strip()]) - 1
        else:
            book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
            for table in expected:
                sheet = book[table]
                expected[table] += sum(1 for row in sheet.iter_rows(min_row=2, values_only=True)
                                       if any(v is not None for v in row))
    assert f["chargement_complet"]["lignes"] == expected
    assert (root / "travail" / "journal.txt").is_file()
    assert Path(root / "resultats" / "rapide.md").stat().st_size > 0

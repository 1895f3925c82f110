"""Frozen editions and the public export, as an operator and a funder use them: `pre-eval edition creer`,
`pre-eval export`, and the dashboard opening on the latest edition with the live figures a click away."""

from __future__ import annotations

import csv
import json
import shutil
import stat
import subprocess
import time

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from pipelines.process import process
from support import OIDC_ENV, PRE_EVAL, REPO_ROOT, authorise, isolated_env, signed_in

APP = REPO_ROOT / "dashboards" / "app.py"
SITES = ["PRE51108", "PRE51454", "PRE10387"]


def run(home: DataHome, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PRE_EVAL, *args], capture_output=True, text=True, timeout=600,
                          env=isolated_env(home.root, home.root.parent))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> DataHome:
    """Three sites processed, edition « 2024-T4 » frozen, then a newer file of Reims processed."""
    root = tmp_path_factory.mktemp("editions")
    home = DataHome(root / "data").ensure()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRE_HOME", str(home.root))
        mp.setenv("DAGSTER_HOME", str(root / "dagster"))
        generate(home.inbox, seed=5, home=home, sites=SITES, from_year=2024, to_year=2024)
        assert process(home).ok
        made = run(home, "edition", "creer", "2024-T4")
        assert made.returncode == 0, made.stderr
        assert "Édition « 2024-T4 » créée" in made.stdout and "Audit du secret statistique" in made.stdout
        later = root / "plus_tard"
        generate(later, seed=6, home=home, sites=["PRE51454"], from_year=2025, to_year=2025)
        for path in later.glob("PRE51454_*"):
            shutil.copy(path, home.inbox / path.name)
        assert process(home).ok
    return home


def test_an_edition_is_frozen_with_its_sites_methodology_and_audit(home):
    folder = home.root / "editions" / "2024-T4"
    description = json.loads((folder / "edition.json").read_text(encoding="utf-8"))
    assert description["nom"] == "2024-T4" and description["seuil"] == 11
    assert len(description["methodologie"]) == 12
    assert sorted(s["code_pre"] for s in description["sites"]) == sorted(SITES)
    assert description["audit"]["trop_etroits"] == 0 and description["audit"]["violations_primaires"] == 0
    assert description["audit"]["comptes_masques"] > 0
    # Read-only on disk: never modified after creation.
    assert not stat.S_IMODE(folder.stat().st_mode) & stat.S_IWUSR
    assert not stat.S_IMODE((folder / "entrepot.duckdb").stat().st_mode) & stat.S_IWUSR
    # The live figures moved on (a newer Reims file), the edition did not.
    con = duckdb.connect(str(folder / "entrepot.duckdb"), read_only=True)
    try:
        frozen = con.execute("select date_extraction from marts.depots where code_pre = 'PRE51454' "
                             "and en_vigueur").fetchone()[0]
    finally:
        con.close()
    reims = next(s for s in description["sites"] if s["code_pre"] == "PRE51454")
    assert str(frozen) == reims["date_extraction"]
    con = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        live = con.execute("select date_extraction from marts.depots where code_pre = 'PRE51454' "
                           "and en_vigueur").fetchone()[0]
    finally:
        con.close()
    assert live > frozen


@pytest.mark.parametrize("name", ["2024-T4", "../evasion", "a b", "continu", ".cache", "x" * 65, "é"])
def test_existing_or_unsafe_names_are_refused_in_french(home, name):
    before = sorted(p.name for p in (home.root / "editions").iterdir())
    made = run(home, "edition", "creer", name)
    assert made.returncode == 2
    assert ("existe déjà" in made.stderr) if name == "2024-T4" else ("Nom d'édition invalide" in made.stderr)
    assert "Traceback" not in made.stderr
    assert sorted(p.name for p in (home.root / "editions").iterdir()) == before
    assert not (home.root / "evasion").exists()


def read_export(folder):
    with (folder / "indicateurs.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_public_export_matches_its_schema_and_hides_masked_rows(home, tmp_path):
    from frictionless import Resource, Schema

    made = run(home, "export", "--out", str(tmp_path / "public"), "--edition", "2024-T4")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "public"
    header = (folder / "indicateurs.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "indicateur,categorie,niveau,territoire,periode,valeur,effectif,borne_basse,borne_haute,secret"
    schema = Schema.from_descriptor(json.loads((folder / "indicateurs.schema.json").read_text(encoding="utf-8")))
    report = Resource(path="indicateurs.csv", basepath=str(folder), schema=schema).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    rows = read_export(folder)
    secret = [r for r in rows if r["secret"] == "true"]
    assert secret and all(r["valeur"] == r["effectif"] == r["borne_basse"] == r["borne_haute"] == "" for r in secret)
    assert {r["secret"] for r in rows} == {"true", "false"}
    # The same cells as the edition's own copy, masked alike.
    con = duckdb.connect(str(home.root / "editions" / "2024-T4" / "entrepot.duckdb"), read_only=True)
    try:
        masked = con.execute("select count(*) from marts.indicateurs where masque").fetchone()[0]
        total = con.execute("select count(*) from marts.indicateurs").fetchone()[0]
    finally:
        con.close()
    assert (len(secret), len(rows)) == (masked, total)


def test_export_of_the_live_figures_differs_from_the_edition(home, tmp_path):
    assert run(home, "export", "--out", str(tmp_path / "continu")).returncode == 0
    assert run(home, "export", "--out", str(tmp_path / "edition"), "--edition", "2024-T4").returncode == 0
    assert read_export(tmp_path / "continu") != read_export(tmp_path / "edition")
    unknown = run(home, "export", "--out", str(tmp_path / "x"), "--edition", "inexistante")
    assert unknown.returncode == 2 and "n'existe pas" in unknown.stderr


def _session(home: DataHome, monkeypatch) -> AppTest:
    """A signed-in national user's session on this data home."""
    monkeypatch.setenv("PRE_HOME", str(home.root))
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    authorise(home.root)
    return signed_in(AppTest.from_file(str(APP), default_timeout=60))


def test_the_dashboard_opens_on_the_latest_edition(home, monkeypatch):
    at = _session(home, monkeypatch).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="filter_edition").value == "2024-T4"
    assert any("Édition 2024-T4" in c.value for c in at.caption)
    at.selectbox(key="filter_edition").set_value("continu").run()
    assert any("Données en continu, provisoires" in w.value for w in at.warning)
    assert at.query_params["edition"] in ("continu", ["continu"])


def test_an_unknown_edition_in_the_url_falls_back_to_the_latest(home, monkeypatch):
    at = _session(home, monkeypatch)
    at.query_params["edition"] = "../../etc"
    at.run()
    assert not at.exception
    assert at.selectbox(key="filter_edition").value == "2024-T4"


def test_what_changed_names_the_site_that_sent_new_data(home, monkeypatch):
    at = _session(home, monkeypatch).run()
    at.switch_page("views/changements.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "Sites dont les données ont changé" in text and "PRE51454" in text
    assert "PRE51108" not in text.split("Sites dont les données ont changé")[1].split("chiffres")[0]
    frames = [f.value for f in at.dataframe]
    assert frames and "Sites en cause" in frames[0].columns
    causes = set(frames[0]["Sites en cause"])
    assert any("PRE51454" in c for c in causes)


def test_what_changed_names_only_the_sites_of_the_perimeter(home, monkeypatch):
    """Troyes's coordinator: Reims's new file is counted, not named, and Reims's own rows are absent."""
    _session(home, monkeypatch)
    authorise(home.root, accounts=[("troyes@essai.fr", "site", "PRE10387")])
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": True, "email": "troyes@essai.fr", "iat": int(time.time())}
    at.run()
    at.switch_page("views/changements.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "1 autre site hors de votre périmètre" in text
    frames = [f.value for f in at.dataframe]
    assert frames
    cells = " ".join(str(v) for frame in frames for column in frame.columns for v in frame[column].to_list())
    assert "PRE51454" not in text + cells and "Reims" not in text + cells
    assert "1 autre site" in " ".join(frames[0]["Sites en cause"])


def test_sites_unmasked_rows_stay_out_of_the_masked_copy_editions_and_export(home, tmp_path):
    """The sites' unmasked rows (for their own coordinators) are a file of their own: equal to the
    warehouse's site rows, absent from editions and the public export."""
    from pipelines.publication.published import own_site_indicators, own_sites_path

    warehouse = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        expected = warehouse.execute("select indicateur, categorie, periode, valeur, effectif from marts.indicateurs "
                                     "where niveau = 'pre' and territoire = 'PRE51108' order by all").fetchall()
    finally:
        warehouse.close()
    rows = own_site_indicators(home, "PRE51108")
    assert set(rows["niveau"]) == {"pre"} and set(rows["territoire"]) == {"PRE51108"}
    assert sorted(rows.select("indicateur", "categorie", "periode", "valeur", "effectif").rows()) == expected
    # Some of these rows are masked in the published copy (a small site): the unmasked file is needed.
    con = duckdb.connect(str(home.published / "entrepot.duckdb"), read_only=True)
    try:
        masked = con.execute("select count(*) from marts.indicateurs where territoire = 'PRE51108' "
                             "and masque").fetchone()[0]
    finally:
        con.close()
    assert masked > 0
    assert own_sites_path(home).parent == home.published
    assert sorted(p.name for p in (home.root / "editions" / "2024-T4").iterdir()) == ["edition.json",
                                                                                    "entrepot.duckdb"]
    out = tmp_path / "export"
    assert run(home, "export", "--out", str(out)).returncode == 0
    exported = list(csv.DictReader((out / "indicateurs.csv").open(encoding="utf-8")))
    shown = {(r["indicateur"], r["categorie"], r["periode"]) for r in exported
             if r["territoire"] == "PRE51108" and r["secret"] == "true"}
    assert shown and all(r["valeur"] == "" for r in exported if r["secret"] == "true")

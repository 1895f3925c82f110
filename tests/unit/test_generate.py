"""Tests of the synthetic submission generator (`pre-eval generate`).

Generated files are read back here independently of the platform's reader (zipfile, polars,
calamine), so that calibration and consistency are checked on what a site would send.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from pipelines.common.datahome import DataHome
from pipelines.contracts.model import BLOQUANT, DATA_TABLES, TABLES, load_contracts
from pipelines.contracts.referential import SHIPPED, load_sites
from pipelines.demo import calibration
from pipelines.demo.flaws import expected_rules
from pipelines.demo.generate import GENERATED_SITES_FILE, VARIANTS, generate

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PHONE = re.compile(r"^(\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}$")
NIR = re.compile(r"^[12][0-9]{12}([0-9]{2})?$")
CODE_PRE = re.compile(r"^PRE([0-9]{5}|2[AB][0-9]{3})$")
COMMUNE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})$")
QPV = re.compile(r"^(QN[0-9]{5}[NMI]|QP[0-9]{6})$")

DATE_COLUMNS = {
    "manifeste": ["date_extraction", "date_debut_donnees"],
    "parcours": ["date_orientation", "date_decision_eps", "date_entree", "date_sortie"],
    "actions": ["date_debut", "date_fin"],
    "bilans": ["date_bilan"],
    "attentes": ["date_demande", "date_premier_rdv", "date_abandon"],
}
INT_COLUMNS = {
    "parcours": ["annee_naissance"],
    "actions": ["seances_prevues", "seances_realisees"],
    "bilans": ["objectifs_fixes", "objectifs_atteints", "note_scolarite", "note_comportement",
               "note_sante", "note_parentalite"],
}
ID_COLUMNS = {
    "parcours": ["id_parcours", "id_enfant", "id_famille", "id_referent"],
    "actions": ["id_action", "id_parcours"],
    "bilans": ["id_bilan", "id_parcours"],
    "attentes": ["id_demande", "id_enfant", "id_parcours"],
}

# Rules the brief asks the flawed files to cover, at least.
REQUIRED_FLAWS = {
    "manifeste.code_pre.inconnu", "parcours.sexe.liste", "parcours.code_commune.format",
    "parcours.date_entree.apres_extraction", "parcours.date_sortie.avant_entree",
    "parcours.motif_sortie.sans_date_sortie", "parcours.id_parcours.unique",
    "actions.id_parcours.parcours_inconnu", "bilans.objectifs_atteints.superieur_fixes",
    "bilans.note_sante.echelle", "attentes.date_abandon.avec_rdv",
    "parcours.id_enfant.donnee_personnelle", "depot.colonne_personnelle",
    "depot.colonne_manquante", "depot.table_manquante", "parcours.table_vide",
    "actions.cout_euros.type", "parcours.date_entree.type", "actions.seances_prevues.negatif",
    "parcours.annee_naissance.age_impossible",
}


# --------------------------------------------------------------------------- reading back


def _raw_tables(path: Path) -> dict[str, pl.DataFrame]:
    """Every table of a submission as text columns, read without the platform's reader."""
    if path.suffix == ".xlsx":
        book = fastexcel.read_excel(path.read_bytes())
        return {name: book.load_sheet(name, dtypes="string").to_polars()
                for name in book.sheet_names}
    out = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
            sep = ";" if text.split("\n", 1)[0].count(";") else ","
            out[info.filename.removesuffix(".csv")] = pl.read_csv(
                io.StringIO(text), separator=sep, infer_schema=False)
    return out


def _typed(raw: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Parse dates (ISO, JJ/MM/AAAA, spreadsheet datetimes), integers and comma decimals."""
    manifest = raw["manifeste"]
    tables = {"manifeste": pl.DataFrame(
        {k: [v] for k, v in zip(manifest["cle"], manifest["valeur"], strict=True)})}
    tables.update({t: raw[t] for t in DATA_TABLES})
    out = {}
    for name, frame in tables.items():
        exprs = []
        for column in DATE_COLUMNS.get(name, []):
            if column in frame.columns:
                text = pl.col(column).str.slice(0, 10)
                exprs.append(pl.coalesce(text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
                                         text.str.strptime(pl.Date, "%d/%m/%Y", strict=False))
                             .alias(column))
        for column in INT_COLUMNS.get(name, []):
            exprs.append(pl.col(column).cast(pl.Int64))
        if name == "actions":
            exprs.append(pl.col("cout_euros").str.replace(",", ".").cast(pl.Float64))
        out[name] = frame.with_columns(exprs) if exprs else frame
    return out


def _load(files) -> dict[str, pl.DataFrame]:
    """All valid submissions pooled, each row tagged with its site and extraction date."""
    pooled: dict[str, list[pl.DataFrame]] = {t: [] for t in DATA_TABLES}
    for f in files:
        tables = _typed(_raw_tables(f.path))
        code = tables["manifeste"]["code_pre"][0]
        extraction = tables["manifeste"]["date_extraction"][0]
        assert code == f.code_pre
        for t in DATA_TABLES:
            pooled[t].append(tables[t].with_columns(pl.lit(code).alias("site"),
                                                    pl.lit(extraction).alias("extraction")))
    return {t: pl.concat(frames, how="diagonal") for t, frames in pooled.items()}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    """30 sites (15 shipped + 15 invented), 2021–2024, with the flawed files."""
    root = tmp_path_factory.mktemp("big")
    home = DataHome(root / "home")
    files = generate(root / "out", seed=7, sites_count=30, with_errors=True, home=home)
    return root / "out", home, files


@pytest.fixture(scope="module")
def valid(big_run):
    return [f for f in big_run[2] if f.expected_rule is None]


@pytest.fixture(scope="module")
def data(valid):
    return _load(valid)


# --------------------------------------------------------------------------- determinism


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    home = DataHome(tmp_path / "home")
    sites = ["PRE10387", "PRE51108", "PRE51454"]  # one of each variant
    kwargs = {"sites": sites, "from_year": 2023, "to_year": 2024, "home": home}
    first = generate(tmp_path / "a", seed=3, **kwargs)
    generate(tmp_path / "b", seed=3, **kwargs)
    generate(tmp_path / "c", seed=4, **kwargs)
    a, b, c = (_bytes(tmp_path / x) for x in "abc")
    assert a == b
    assert [f.variant for f in first] == list(VARIANTS)
    for name, content in a.items():
        assert c.get(name) != content  # names carry the extraction date: may differ too


def test_site_data_do_not_depend_on_other_sites(tmp_path):
    home = DataHome(tmp_path / "home")
    alone = generate(tmp_path / "a", sites=["PRE51454"], from_year=2024, home=home)[0]
    together = generate(tmp_path / "b", sites=["PRE10387", "PRE51454"], from_year=2024,
                        home=home)
    other = next(f for f in together if f.code_pre == "PRE51454")
    assert alone.variant == "zip-utf8" and other.variant == "zip-cp1252"
    a, b = _typed(_raw_tables(alone.path)), _typed(_raw_tables(other.path))
    for t in DATA_TABLES:
        assert a[t].equals(b[t]), t


# --------------------------------------------------------------------------- formats


def test_variants_rotate_and_have_the_expected_shape(valid):
    assert {f.variant for f in valid} == set(VARIANTS)
    for f in valid:
        assert f.path.name == f"{f.code_pre}_{f.path.name.split('_')[1]}"
        if f.variant == "xlsx":
            assert f.path.suffix == ".xlsx"
            sheets = fastexcel.read_excel(f.path.read_bytes()).sheet_names
            assert sheets == list(TABLES)
            continue
        with zipfile.ZipFile(f.path) as archive:
            assert [i.filename for i in archive.infolist()] == [f"{t}.csv" for t in TABLES]
            for info in archive.infolist():
                assert info.date_time[:3] != (1980, 1, 1)  # a real, fixed, stamp
                data = archive.read(info)
                header = data.split(b"\n", 1)[0]
                if f.variant == "zip-cp1252":
                    assert b";" in header and b"," not in header
                    assert header.endswith(b"\r")
                else:
                    assert b"," in header and b";" not in header
                    data.decode("utf-8")


def test_cp1252_variant_is_really_windows_1252(valid):
    f = next(f for f in valid if f.variant == "zip-cp1252")
    with zipfile.ZipFile(f.path) as archive:
        manifest = archive.read("manifeste.csv")
        actions = archive.read("actions.csv").decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        manifest.decode("utf-8")  # the software name has accents, encoded in Windows-1252
    text = manifest.decode("cp1252")
    assert "é" in text or "É" in text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["cle", "valeur"]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", dict(rows[1:])["date_extraction"])
    body = list(csv.reader(io.StringIO(actions), delimiter=";"))
    costs = [r[body[0].index("cout_euros")] for r in body[1:] if r[-1]]
    assert costs and all(re.fullmatch(r"\d+,\d{2}", c) for c in costs)
    dates = [r[body[0].index("date_debut")] for r in body[1:]]
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", d) for d in dates)


def test_xlsx_has_date_cells_and_text_codes(valid):
    f = next(f for f in valid if f.variant == "xlsx")
    book = fastexcel.read_excel(f.path.read_bytes())
    parcours = book.load_sheet("parcours").to_polars()
    assert parcours["date_entree"].dtype in (pl.Date, pl.Datetime)
    assert parcours["code_commune"].dtype == pl.String  # leading zeros kept
    manifest = book.load_sheet("manifeste", dtypes="string").to_polars()
    assert dict(zip(manifest["cle"], manifest["valeur"], strict=True))["code_pre"] == f.code_pre


# --------------------------------------------------------------------------- content


def test_calibration_covers_every_code_of_the_contracts():
    """The generator takes its code lists from the contracts; a code added there without its
    calibration (probability, wait, action profile) would never be drawn, or break the draw."""
    contracts = load_contracts()

    def codes(name: str) -> set[str]:
        return set(contracts.code_list(name))

    assert set(calibration.P_ORIGINE_SCOLARISE) == set(calibration.P_ORIGINE_NON_SCOLARISE) == \
        codes("parcours.origine_orientation")
    assert set(calibration.P_MOTIF_ORIENTATION) == set(calibration.VOLET_OF_MOTIF) == \
        codes("parcours.motif_orientation")
    assert set(calibration.P_MOTIF_SORTIE) == set(calibration.SUCCESS_BY_MOTIF) == codes("parcours.motif_sortie")
    assert set(calibration.P_VOLETS) == codes("actions.volet")
    assert set(calibration.ACTION_TYPES) == codes("actions.type_action")
    assert {t.volet for t in calibration.ACTION_TYPES.values()} == codes("actions.volet") | {""}
    assert {p for t in calibration.ACTION_TYPES.values() for p in t.partners} <= codes("actions.partenaire")
    assert set(calibration.WAIT_MEDIAN_DAYS) == codes("attentes.structure")
    assert set(calibration.SCHOOL_LADDER) <= codes("parcours.niveau_scolaire")


def test_values_respect_every_code_list_and_pattern(data):
    contracts = load_contracts()
    for table, frame in data.items():
        for column in contracts.tables[table].columns:
            if column.codes:
                values = set(frame[column.name].drop_nulls().unique().to_list())
                assert values <= set(column.codes), (table, column.name, values)
    p = data["parcours"]
    assert p["code_commune"].str.contains(COMMUNE.pattern).all()
    assert p["code_qpv"].drop_nulls().str.contains(QPV.pattern).all()


def test_identifiers_are_safe_pseudonyms(data):
    for table, columns in ID_COLUMNS.items():
        for column in columns:
            for value in data[table][column].drop_nulls().unique().to_list():
                assert ID.match(value), (table, column, value)
                assert any(ch.isdigit() for ch in value), value
                assert not PHONE.match(value) and not NIR.match(value), value
    for table in DATA_TABLES:
        key = ID_COLUMNS[table][0]
        frame = data[table]
        assert frame.select(pl.struct("site", key).is_unique().all()).item(), table


def test_dates_are_consistent(data):
    p, a, b, w = (data[t] for t in DATA_TABLES)
    assert p.filter(pl.col("date_entree") < pl.date(2005, 1, 1)).is_empty()
    for frame, columns in ((p, DATE_COLUMNS["parcours"]), (a, ["date_debut"]),
                           (b, ["date_bilan"]), (w, DATE_COLUMNS["attentes"])):
        for column in columns:
            assert frame.filter(pl.col(column) > pl.col("extraction")).is_empty(), column
    assert p.filter(pl.col("date_orientation") > pl.col("date_decision_eps")).is_empty()
    assert p.filter(pl.col("date_decision_eps") > pl.col("date_entree")).is_empty()
    assert p.filter(pl.col("date_orientation") > pl.col("date_entree")).is_empty()
    assert p.filter(pl.col("date_sortie") < pl.col("date_entree")).is_empty()
    assert a.filter(pl.col("date_fin") < pl.col("date_debut")).is_empty()
    # planned action ends exist but stay rare
    assert a.filter(pl.col("date_fin") > pl.col("extraction")).height < 0.02 * a.height
    age = p["date_entree"].dt.year() - p["annee_naissance"]
    assert age.min() >= 2 and age.max() <= 18


def test_school_level_follows_age(data):
    p = data["parcours"].with_columns(
        age=pl.col("date_entree").dt.year() - pl.col("annee_naissance"))
    primary = ["CP", "CE1", "CE2", "CM1", "CM2"]
    assert (p.filter(pl.col("age") == 2)["niveau_scolaire"] == "NON_SCOLARISE").all()
    middle = p.filter(pl.col("age").is_between(7, 10))["niveau_scolaire"]
    assert middle.is_in(primary).mean() > 0.95
    assert not p.filter(pl.col("age") >= 16)["niveau_scolaire"].is_in(primary).any()
    assert not p.filter(pl.col("age") <= 10)["niveau_scolaire"].is_in(["LYCEE", "3E"]).any()


def test_exit_reason_iff_exit_date_and_ongoing_pathways(data):
    p = data["parcours"]
    assert (p["motif_sortie"].is_null() == p["date_sortie"].is_null()).all()
    ongoing = p.filter(pl.col("date_sortie").is_null())
    assert ongoing.height > 0.1 * p.height
    # ongoing pathways are the recent ones
    assert ongoing["date_entree"].median() > p["date_entree"].median()


def test_children_with_several_pathways_are_consistent(data):
    p = data["parcours"].sort("date_entree")
    per_child = p.group_by("site", "id_enfant").agg(
        n=pl.len(), sexes=pl.col("sexe").n_unique(), years=pl.col("annee_naissance").n_unique(),
        starts=pl.col("date_entree"), ends=pl.col("date_sortie"))
    several = per_child.filter(pl.col("n") > 1)
    assert several.height > 0
    assert (several["sexes"] == 1).all() and (several["years"] == 1).all()
    for starts, ends in zip(several["starts"], several["ends"], strict=True):
        for i in range(1, len(starts)):
            assert ends[i - 1] is not None and ends[i - 1] < starts[i]  # no overlap


def test_actions_bilans_and_requests_refer_to_pathways(data):
    p, a, b, w = (data[t] for t in DATA_TABLES)
    keys = p.select("site", "id_parcours")
    for frame in (a, b, w.filter(pl.col("id_parcours").is_not_null())):
        assert frame.join(keys, on=["site", "id_parcours"], how="anti").is_empty()
    per_pathway = a.group_by("site", "id_parcours").len()["len"]
    assert per_pathway.min() >= 2 and per_pathway.max() <= 8
    assert keys.join(a, on=["site", "id_parcours"], how="anti").is_empty()
    volet_of_type = {"ORTHOPHONIE": "SANTE", "ACTIVITE_SPORTIVE": "EDUCATIF",
                     "ACCOMPAGNEMENT_SCOLARITE": "SCOLARITE", "MEDIATION": "PARENTALITE"}
    for kind, volet in volet_of_type.items():
        assert (a.filter(pl.col("type_action") == kind)["volet"] == volet).all()
    assert a.filter(pl.col("seances_prevues") < 0).is_empty()
    assert a.filter(pl.col("seances_realisees") > pl.col("seances_prevues")).height \
        < 0.03 * a.height
    cost = a["cout_euros"]
    assert 0 < cost.null_count() < 0.3 * a.height
    assert cost.min() >= 0 and cost.max() <= 2000
    assert (cost.drop_nulls() != cost.drop_nulls().round(0)).any()  # decimals
    assert b.filter(pl.col("objectifs_atteints") > pl.col("objectifs_fixes")).is_empty()
    for column in INT_COLUMNS["bilans"][2:]:
        assert b[column].drop_nulls().is_between(1, 4).all()
    kinds = b["type_bilan"].value_counts()
    assert set(kinds["type_bilan"]) == set(load_contracts().code_list("bilans.type_bilan"))


# --------------------------------------------------------------------------- calibration


def test_calibration_on_national_figures(data):
    p = data["parcours"]
    # a child's sex: that of its latest pathway
    children = p.sort("date_entree").group_by("site", "id_enfant").last()
    boys = 100 * (children["sexe"] == "M").mean()
    assert abs(boys - 58.2) <= 4, boys
    age = p["date_entree"].dt.year() - p["annee_naissance"]
    bands = {"2_5": (age <= 5).mean(), "6_10": age.is_between(6, 10).mean(),
             "11_16": age.is_between(11, 16).mean(), "17_plus": (age >= 17).mean()}
    expected = {"2_5": 14.6, "6_10": 52.4, "11_16": 31.5, "17_plus": 1.5}
    for band, share in bands.items():
        assert abs(100 * share - expected[band]) <= (4 if band != "17_plus" else 1.5), band
    school = 100 * (p["origine_orientation"] == "ECOLE").mean()
    assert 50 <= school <= 70
    exits = p.filter(pl.col("date_sortie").dt.year() == 2024)
    months = ((exits["date_sortie"] - exits["date_entree"]).dt.total_days() / 30.4375).mean()
    assert 12 <= months <= 19, months
    qpv = 100 * p["code_qpv"].is_not_null().mean()
    assert 70 <= qpv <= 90
    active_2024 = p.filter(pl.col("date_entree") <= pl.date(2024, 12, 31),
                           pl.col("date_sortie").is_null()
                           | (pl.col("date_sortie") >= pl.date(2024, 1, 1)))
    per_site = active_2024.select("site", "id_enfant").unique().height / p["site"].n_unique()
    # National average ≈ 160 children a year; site sizes are lognormal (CV ≈ 0.6), so the mean
    # of 30 sites varies by about ±11 % (1 SD) around it.
    assert 110 <= per_site <= 260, per_site


def test_waiting_lists(data):
    w = data["attentes"]
    assert w.filter(pl.col("date_premier_rdv").is_not_null()
                    & pl.col("date_abandon").is_not_null()).is_empty()
    waiting = w.filter(pl.col("date_premier_rdv").is_null() & pl.col("date_abandon").is_null())
    assert waiting.height > 0
    assert w["date_abandon"].drop_nulls().len() > 0
    assert w.filter(pl.col("date_premier_rdv") < pl.col("date_demande")).is_empty()
    assert w.filter(pl.col("date_abandon") < pl.col("date_demande")).is_empty()
    assert w["id_parcours"].null_count() > 0
    cmpp = w.filter(pl.col("structure") == "CMPP", pl.col("date_premier_rdv").is_not_null())
    assert (cmpp["date_premier_rdv"] - cmpp["date_demande"]).dt.total_days().median() > 90
    # CAMSP sees children under 6
    births = data["parcours"].select("site", "id_enfant", "annee_naissance").unique()
    camsp = w.filter(pl.col("structure") == "CAMSP").join(births, on=["site", "id_enfant"])
    assert camsp.height > 0
    assert (camsp["date_demande"].dt.year() - camsp["annee_naissance"]).max() < 6


# --------------------------------------------------------------------------- sites


def test_sites_count_beyond_the_referential(big_run):
    _, home, files = big_run
    shipped = set(pl.read_csv(SHIPPED, infer_schema=False)["code_pre"])
    invented = pl.read_csv(home.referentiel / GENERATED_SITES_FILE, infer_schema=False)
    assert invented.columns == ["code_pre", "nom", "code_commune", "departement", "region",
                                "porteur"]
    assert invented.height == 15 and invented["code_pre"].is_unique().all()
    assert not set(invented["code_pre"]) & shipped
    for row in invented.iter_rows(named=True):
        assert CODE_PRE.match(row["code_pre"]) and row["code_pre"] == "PRE" + row["code_commune"]
        assert row["code_commune"].startswith(row["departement"])
        assert len(row["departement"]) == (3 if row["code_commune"].startswith("97") else 2)
        assert re.fullmatch(r"\d{2}", row["region"])
    known = set(load_sites(home)["code_pre"])
    valid_codes = {f.code_pre for f in files if f.expected_rule is None}
    assert len(valid_codes) == 30 and valid_codes <= known
    regions = set(invented["region"])
    assert len(regions) >= 5  # spread over France, not only Grand Est


def test_rerun_with_invented_sites_is_identical(tmp_path):
    home = DataHome(tmp_path / "home")
    kwargs = {"seed": 11, "sites_count": 17, "from_year": 2024, "to_year": 2024, "home": home}
    first = generate(tmp_path / "a", **kwargs)
    saved = (home.referentiel / GENERATED_SITES_FILE).read_bytes()
    generate(tmp_path / "b", **kwargs)  # the home now holds sites-generes.csv
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert (home.referentiel / GENERATED_SITES_FILE).read_bytes() == saved
    assert len({f.code_pre for f in first}) == 17


def test_sites_restriction_and_unknown_code(tmp_path):
    home = DataHome(tmp_path / "home")
    files = generate(tmp_path / "out", sites=["pre51454"], from_year=2024, home=home)
    assert [f.code_pre for f in files] == ["PRE51454"]
    with pytest.raises(ValueError, match="PRE99999"):
        generate(tmp_path / "out", sites=["PRE99999"], home=home)
    few = generate(tmp_path / "few", sites_count=2, from_year=2024, home=home)
    assert len(few) == 2
    assert not (home.referentiel / GENERATED_SITES_FILE).exists()


def test_extractions_fall_early_in_the_next_year_and_never_in_the_future(tmp_path):
    # Activity up to 2024, extracted on 2–14 January 2025 (the year's report): 2024 is a complete year.
    home = DataHome(tmp_path / "home")
    files = generate(tmp_path / "out", seed=9, sites_count=4, from_year=2024, to_year=2024, home=home)
    dates = {f.path.name.split("_")[1][:10] for f in files}
    assert dates and all(d.startswith("2025-01-") and 2 <= int(d[-2:]) <= 14 for d in dates), dates
    # A year whose next 14 January is not past would give files dated in the future, all refused.
    this_year = date.today().year
    with pytest.raises(ValueError, match=f"L'année de fin doit être passée .* pas encore écoulé pour {this_year}"):
        generate(tmp_path / "futur", to_year=this_year, home=home)


def test_progress_messages(tmp_path):
    messages: list[str] = []
    generate(tmp_path / "out", sites=["PRE51454"], from_year=2024,
             home=DataHome(tmp_path / "home"), on_site=messages.append)
    assert len(messages) == 1 and messages[0].startswith("PRE51454 : ")
    assert "parcours écrits" in messages[0]


# --------------------------------------------------------------------------- flawed files


def test_flawed_files_cover_blocking_rules(big_run):
    out, _, files = big_run
    rules = load_contracts().rules_by_code
    flawed = [f for f in files if f.expected_rule]
    for f in flawed:
        assert rules[f.expected_rule].severity == BLOQUANT, f.expected_rule
        assert f.path.parent == out / "erreurs" and f.path.is_file()
        assert f.description
    covered = {f.expected_rule for f in flawed}
    assert covered >= REQUIRED_FLAWS, REQUIRED_FLAWS - covered
    assert covered == set(expected_rules())
    # one per blocking rule family (the last part of the code: liste, format, type…)
    families = {r.code.rsplit(".", 1)[-1] for r in rules.values() if r.severity == BLOQUANT}
    covered_families = {c.rsplit(".", 1)[-1] for c in covered}
    assert families - covered_families <= {"plusieurs"}, families - covered_families


def test_expected_file_lists_every_file(big_run):
    out, _, files = big_run
    listed = pl.read_csv(out / "attendus.csv", infer_schema=False)
    assert listed.columns == ["fichier", "code_pre", "variante", "regle_attendue",
                              "description"]
    assert listed.height == len(files)
    by_name = {r["fichier"]: r for r in listed.iter_rows(named=True)}
    for f in files:
        row = by_name[f.path.relative_to(out).as_posix()]
        assert row["regle_attendue"] == f.expected_rule  # empty cell → None for valid files


def _flawed(files, rule: str, tag: str = ""):
    return next(f for f in files if f.expected_rule == rule and tag in f.path.name)


def test_flawed_files_carry_their_flaw(big_run):
    _, _, files = big_run

    def tables(rule: str, tag: str = "") -> dict[str, pl.DataFrame]:
        return _raw_tables(_flawed(files, rule, tag).path)

    assert "G" in tables("parcours.sexe.liste")["parcours"]["sexe"].to_list()
    assert "nom" in tables("depot.colonne_personnelle")["parcours"].columns
    assert "sexe" not in tables("depot.colonne_manquante")["parcours"].columns
    assert "bilans" not in tables("depot.table_manquante")
    assert tables("parcours.table_vide")["parcours"].height == 0
    assert "31/02/" in "".join(tables("parcours.date_entree.type")["parcours"]["date_entree"])
    assert "gratuit" in tables("actions.cout_euros.type")["actions"]["cout_euros"].to_list()
    assert "DUPONT" in tables("parcours.id_enfant.donnee_personnelle", "nom")["parcours"][
        "id_enfant"].to_list()
    p = tables("parcours.id_parcours.unique")["parcours"]
    assert not p["id_parcours"].is_unique().all()
    manifest = tables("manifeste.code_pre.inconnu")["manifeste"]
    code = dict(zip(manifest["cle"], manifest["valeur"], strict=True))["code_pre"]
    assert CODE_PRE.match(code) and code not in set(load_sites(big_run[1])["code_pre"])
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(_flawed(files, "depot.illisible").path)
    w = _typed(tables("attentes.date_abandon.avec_rdv"))["attentes"]
    assert w.filter(pl.col("date_premier_rdv").is_not_null()
                    & pl.col("date_abandon").is_not_null()).height == 1


def test_flawed_files_change_one_thing(big_run):
    """Apart from its flaw, a flawed file holds the same records as its base site's file."""
    _, _, files = big_run
    flawed = _flawed(files, "bilans.note_sante.echelle")
    base = next(f for f in files if f.expected_rule is None and f.code_pre == flawed.code_pre)
    a, b = _typed(_raw_tables(base.path)), _typed(_raw_tables(flawed.path))
    for t in ("parcours", "actions", "attentes"):
        assert a[t].equals(b[t]), t
    diff = a["bilans"].join(b["bilans"], on=a["bilans"].columns, how="anti", nulls_equal=True)
    assert diff.height == 1

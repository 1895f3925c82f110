"""The Streamlit dashboard, page by page (AppTest), on a published copy built from generator output.

Every figure checked here is recomputed from the published warehouse by the test itself (direct
SQL on the marts, the suppression library applied to whole frames), then compared with the
French text the page shows.
"""

from __future__ import annotations

import io
import json
import re
import sys
import time

import duckdb
import openpyxl
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.publication.disclosure import SECRET
from pipelines.warehouse.catalogue import catalogue, catalogue_categories, indicator
from support import ACCOUNTS, OIDC_ENV, REPO_ROOT, SIX_SITES, authorise, signed_in

DASHBOARDS = REPO_ROOT / "dashboards"
APP = DASHBOARDS / "app.py"
SITES = ["PRE51108", "PRE51230", "PRE51454", "PRE51649", "PRE57463", "PRE10387"]  # SIX_SITES's: four in the Marne
assert sorted(SITES) == SIX_SITES["sites"]
PAGES = {
    "synthese": "Synthèse", "territoires": "Territoires", "parcours": "Parcours",
    "actions": "Actions et partenariats", "resultats": "Résultats", "attentes": "Listes d'attente",
    "qualite": "Qualité des données", "methodologie": "Méthodologie",
}
AUCUNE_DONNEE = "Aucune donnée publiée : déposez des fichiers puis lancez pre-eval process."
ENGLISH = ["Traceback", "Error", "Exception", "None", "nan", "True", "False", "NaN"]

sys.path.insert(0, str(DASHBOARDS))


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory, processed_homes) -> DataHome:
    """A data home whose published copy comes from six generated sites (2022–2024), processed by
    `pre-eval process`; this module's own copy (its tests write the access journal)."""
    home = processed_homes.get(**SIX_SITES).copy(tmp_path_factory.mktemp("tableau_de_bord") / "data")
    authorise(home.root)
    return home


@pytest.fixture
def app(home, monkeypatch):
    """`app(page, **query_params)`: a fresh session, run on that page with those URL parameters."""
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.delenv("PRE_SEUIL_SECRET", raising=False)
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)

    def run(page: str = "synthese", role: str = "national", **params: str) -> AppTest:
        at = signed_in(AppTest.from_file(str(APP), default_timeout=60), role)
        at.query_params.update(params)
        at.run()
        if page != "synthese":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return run


def _reader(path):
    def query(text: str, params: list | None = None) -> pl.DataFrame:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.sql(text, params=params).pl()
        finally:
            con.close()

    return query


@pytest.fixture
def sql(home):
    """Queries on the published copy (what the dashboard reads: masked indicators, no row-level table)."""
    return _reader(home.published / "entrepot.duckdb")


@pytest.fixture
def warehouse(home):
    """Queries on the warehouse (unmasked, row-level): the independent route to expected values."""
    return _reader(home.warehouse)


def published_period(sql, periode: str) -> pl.DataFrame:
    """The published (masked) indicators of one period: what every page must show. That the masks
    themselves are right is `test_the_published_copy_withstands_the_intruder`'s business."""
    return sql("select * from marts.indicateurs where periode = ? order by indicateur, niveau, territoire, categorie",
               [periode])


def shown(row: dict | None, fmt: str) -> str:
    if row is None:
        return "non calculé"
    return SECRET if row["masque"] else formats.by_kind(row["valeur"], fmt)


def pick(df: pl.DataFrame, **eq) -> dict | None:
    found = df.filter(*(pl.col(k) == v for k, v in eq.items()))
    return found.row(0, named=True) if found.height else None


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, first_header: str) -> pl.DataFrame:
    """The first dataframe shown whose first column has this header (as text)."""
    for frame in at.dataframe:
        if frame.value.columns[0] == first_header:
            return pl.from_pandas(frame.value)
    raise AssertionError(f"aucun tableau dont la première colonne est « {first_header} »")


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def texts(at: AppTest) -> list[str]:
    out = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success")
           for e in getattr(at, kind)]
    for frame in at.dataframe:
        out += [str(v) for v in frame.value.to_numpy().ravel()] + [str(c) for c in frame.value.columns]
    return out


def default_period(sql) -> str:
    done = sql("select periode from marts.completude where niveau = 'national' and complet "
               "and periode not like '%-%' order by periode")
    return done["periode"][-1]


# --- every page -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_in_french(app, page):
    at = app(page, niveau="departement", territoire="51")
    assert [t.value for t in at.title] == [PAGES[page]]
    assert at.header or at.markdown
    words = " ".join(texts(at)).split()
    assert not [w for w in words if w.strip(".,;:()«»") in ENGLISH], "texte anglais ou technique affiché"
    for spec in charts(at):
        assert spec.get("title"), "graphique sans titre"
        assert spec["config"]["locale"]["number"]["decimal"] == ","
    # Each chart is named for screen readers, and its data are in a table of the page (issue 17).
    for element in at.get("vega_lite_chart"):
        title = json.loads(element.proto.spec)["title"]
        title = title["text"] if isinstance(title, dict) else title
        assert element.proto.alt == f"Graphique : {title}. Ses données sont dans un tableau de cette page."
    assert len(at.dataframe) >= len(at.get("vega_lite_chart"))
    # A change of a key figure has its unit, and says in words whether it is good (never by colour alone).
    for element in at.metric:
        if element.proto.delta:
            assert not element.proto.delta[-1].isdigit(), (element.label, element.proto.delta)
    if page != "methodologie":
        assert at.get("download_button"), "aucun téléchargement proposé"
        assert [s.label for s in at.sidebar.selectbox] == ["Chiffres", "Période", "Niveau territorial", "Territoire"]


def test_key_figures_say_whether_their_change_is_good(app):
    at = app("synthese", niveau="departement", territoire="51")
    described = {m.label: m.proto.delta_description for m in at.metric if m.proto.delta}
    assert set(described.values()) <= {"favorable", "défavorable", ""}
    assert described["Enfants suivis"] == ""  # neither good nor bad (sens « neutre »)
    assert {"favorable", "défavorable"} & set(described.values())


def test_the_accessibility_statement_page_renders_in_french(tmp_path, monkeypatch):
    at = _signed_in_elsewhere(monkeypatch, tmp_path).run()  # no published copy: the statement needs none
    at.switch_page("views/accessibilite.py").run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Déclaration d'accessibilité"]
    body = at.markdown[0].value
    for heading in ("## État de conformité", "## Résultats des tests", "### Non-conformités",
                    "### Dérogations pour charge disproportionnée", "## Établissement de cette déclaration",
                    "### Environnement de test", "## Retour d'information et contact", "## Voies de recours"):
        assert heading in body
    assert "**non conforme**" in body and "établie le 2 décembre 2026" in body


def test_every_chart_has_a_dated_footnote(app, sql):
    latest = sql("select max(date_extraction) as d from marts.depots join marts.sites using (code_pre) "
                 "where en_vigueur and departement = '51'")["d"][0]
    for page in ("synthese", "territoires", "parcours", "actions", "resultats", "attentes"):
        at = app(page, niveau="departement", territoire="51")
        assert charts(at), page
        notes = [c.value for c in at.caption]
        assert any(f"données extraites jusqu'au {latest:%d/%m/%Y}" in n for n in notes), page


def test_incomplete_period_is_flagged(app, sql):
    # The sites extracted in early January 2025: the calendar year 2025 has begun but is far from covered.
    state = pick(sql("select * from marts.completude"), niveau="national", territoire="FR", periode="2025")
    assert state and not state["complet"]
    at = app("synthese", periode="2025")
    assert any("Période 2025 incomplète" in w.value for w in at.warning)
    assert any("Périodes incomplètes" in c.value and "2025" in c.value for c in at.caption)
    # Counts agree with their noun (« 0 site sur 6 », « 3 valeurs non affichées »), never « site(s) ».
    assert not [t for t in texts(at) if "(s)" in t]
    assert any(re.search(r"\b0 site sur 6 ", w.value) for w in at.warning)


def test_the_first_visit_opens_on_the_last_simulated_year_complete(app, sql):
    # The demo's extractions fall on 2–14 January after the last simulated year (2024): 2024 is complete
    # everywhere, and the page opened without any choice shows it with no incompleteness warning.
    extractions = sql("select date_extraction as d from marts.depots where en_vigueur")["d"].to_list()
    assert extractions and all(d.year == 2025 and d.month == 1 and 2 <= d.day <= 14 for d in extractions)
    at = app("synthese")
    assert at.query_params["periode"] == "2024"
    assert not any("incomplète" in w.value for w in at.warning)


# --- filters and URL --------------------------------------------------------------------------------------


def test_default_view_is_france_on_the_latest_complete_year(app, sql):
    at = app()
    # No edition yet: the live figures, said to be provisional.
    assert at.query_params == {"edition": "continu", "type": "civile", "periode": default_period(sql),
                               "niveau": "national", "territoire": "FR"}
    assert any("provisoires" in w.value for w in at.warning)


def test_synthese_figures_equal_the_warehouse(app, sql):
    periode = default_period(sql)
    expected = published_period(sql, periode).filter(pl.col("niveau") == "national")
    shown_ = metrics(app())
    assert len(shown_) == 10
    for code in ["enfants_suivis", "entrees", "sorties", "duree_moyenne_mois", "part_qpv", "actions_par_enfant",
                 "taux_assiduite", "cout_par_enfant", "part_sorties_objectifs_atteints", "part_sorties_relais"]:
        ind = indicator(code)
        assert shown_[ind.libelle] == shown(pick(expected, indicateur=code), ind.format), code


def test_period_from_the_url_and_from_the_widget(app, sql):
    first = metrics(app())
    at = app(periode="2022")
    expected = published_period(sql, "2022").filter(pl.col("niveau") == "national")
    assert metrics(at)["Enfants suivis"] == shown(pick(expected, indicateur="enfants_suivis"), "entier")
    assert metrics(at) != first

    at = app()
    at.selectbox(key="filter_periode").set_value("2022").run()
    assert metrics(at)["Enfants suivis"] == shown(pick(expected, indicateur="enfants_suivis"), "entier")
    assert at.query_params["periode"] == "2022"


def test_school_year_from_the_url(app, sql):
    at = app(periode="2022-2023")
    assert at.radio(key="filter_type").value == "scolaire"
    expected = published_period(sql, "2022-2023").filter(pl.col("niveau") == "national")
    assert metrics(at)["Entrées"] == shown(pick(expected, indicateur="entrees"), "entier")


def test_territory_from_the_url_and_comparison_with_its_departement(app, sql):
    periode = default_period(sql)
    masked = published_period(sql, periode)
    at = app(niveau="pre", territoire="PRE51454")
    site = masked.filter((pl.col("niveau") == "pre") & (pl.col("territoire") == "PRE51454"))
    dept = masked.filter((pl.col("niveau") == "departement") & (pl.col("territoire") == "51"))
    assert metrics(at)["Sorties"] == shown(pick(site, indicateur="sorties"), "entier")
    comparison = table(at, "Indicateur")
    row = comparison.filter(pl.col("Indicateur") == "Enfants suivis").row(0, named=True)
    assert row["Reims (PRE51454)"] == shown(pick(site, indicateur="enfants_suivis"), "entier")
    assert row["51 — Marne"] == shown(pick(dept, indicateur="enfants_suivis"), "entier")

    at.selectbox(key="filter_territoire").set_value("PRE51649").run()
    other = masked.filter((pl.col("niveau") == "pre") & (pl.col("territoire") == "PRE51649"))
    assert metrics(at)["Sorties"] == shown(pick(other, indicateur="sorties"), "entier")
    assert at.query_params["territoire"] == "PRE51649"


def test_untrusted_url_values_fall_back_to_defaults(app, sql):
    at = app(periode="2023'; drop table marts.indicateurs; --", niveau="pre", territoire="../../etc/passwd",
             type="lunaire")
    assert at.query_params["periode"] == default_period(sql)
    assert at.query_params["niveau"] == "pre"
    assert at.query_params["territoire"] == sorted(SITES)[0]
    assert sql("select count(*) as n from marts.indicateurs")["n"][0] > 0


def test_filters_survive_a_page_change(app):
    at = app(periode="2022", niveau="departement", territoire="51")
    at.switch_page("views/methodologie.py").run()
    at.switch_page("views/parcours.py").run()
    assert at.selectbox(key="filter_periode").value == "2022"
    assert at.selectbox(key="filter_territoire").value == "51"
    assert at.query_params["territoire"] == "51"


# --- small cells ------------------------------------------------------------------------------------------


def test_small_site_figures_are_masked(app, sql, warehouse):
    periode = default_period(sql)
    small = warehouse("select * from marts.indicateurs where niveau = 'pre' and periode = ? and categorie = '' "
                "and effectif < 11 and indicateur in ('enfants_par_referent', 'sorties', 'duree_moyenne_mois', "
                "'part_filles', 'entrees') order by territoire, indicateur", [periode])
    assert small.height, "aucun petit effectif à masquer dans le jeu de données"
    row = small.row(0, named=True)
    at = app("parcours", niveau="pre", territoire=row["territoire"])
    assert metrics(at)[indicator(row["indicateur"]).libelle] == SECRET
    assert any("Secret statistique" in e.label for e in at.expander)


def test_the_published_copy_withstands_the_intruder(sql):
    """Every period of the published indicators: no masked count narrower than 11, no shown row breaking
    the primary rule (the intruder is written from the specification, independently of the project)."""
    from intruder import attack

    published = sql("select * from marts.indicateurs")
    found = attack(published, sql("select code_pre, departement, region from marts.sites "
                                  "where code_pre in (select distinct territoire from marts.indicateurs "
                                  "where niveau = 'pre')"))
    assert found.masked_counts > 0
    assert found.primary_violations == [] and found.narrow == []


def test_the_sites_of_a_departement_show_the_published_masks(app, sql):
    """The comparison of the Marne's sites shows exactly the cells the published copy masks."""
    periode = default_period(sql)
    marne = [s for s in SITES if s.startswith("PRE51")]
    # Which cells are masked depends on the data home's random secrecy seed: look through every count
    # and every period, the default one first.
    periods = [periode] + [p for (p,) in sql("select distinct periode from marts.indicateurs order by periode desc")
                           .iter_rows() if p != periode]
    for periode, code in [(p, c) for p in periods for c in ("entrees", "sorties", "enfants_suivis", "parcours_actifs")]:
        published = sql("select territoire, valeur, masque from marts.indicateurs where indicateur = ? "
                        "and niveau = 'pre' and periode = ?", [code, periode]).filter(pl.col("territoire").is_in(marne))
        if published["masque"].any():
            break
    else:
        pytest.fail("aucun site masqué dans la Marne pour ces indicateurs")
    at = app("territoires", niveau="pre", territoire=marne[0], periode=periode)
    at.selectbox(key="territoires_indicator").set_value(code).run()
    shown_ = table(at, "Rang")
    label = indicator(code).libelle + " (" + indicator(code).unite + ")"
    values = dict(zip(shown_["Territoire"].to_list(), shown_[label].to_list(), strict=True))
    names = dict(sql("select code_pre, nom from marts.sites").iter_rows())
    for site in marne:
        assert values[f"{names[site]} ({site})"] == shown(pick(published, territoire=site), "entier")


def test_the_volets_show_the_published_masks(app, sql):
    # A site and calendar year where some volets are masked and others shown (latest first).
    mixed = sql("select territoire, periode from marts.indicateurs where indicateur = 'actions' and niveau = 'pre' "
                "and periode not like '%-%' group by all having bool_or(masque) and not bool_and(masque) "
                "order by periode desc, territoire")
    assert mixed.height, "aucun site avec des volets masqués et d'autres affichés"
    site, periode = mixed.row(0)
    volets = sql("select categorie, valeur, masque from marts.indicateurs where indicateur = 'actions' "
                 "and niveau = 'pre' and territoire = ? and periode = ?", [site, periode])
    at = app("actions", niveau="pre", territoire=site, periode=periode)
    shown_ = table(at, "Volet")
    labels = catalogue_categories()["volets"]
    by_volet = dict(zip(shown_["Volet"].to_list(), shown_["Actions engagées"].to_list(), strict=True))
    for row in volets.iter_rows(named=True):
        assert by_volet[labels[row["categorie"]]] == shown(row, "entier")


def test_exports_carry_the_same_masking(home, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(home.root))
    from display import Column, displayed, export_csv, export_xlsx

    df = pl.DataFrame({"nom": ["Reims", "Metz"], "valeur": [12.345, None], "effectif": [40, None],
                       "masque": [False, True]})
    columns = [Column("nom", "Territoire"), Column("valeur", "Part (%)", "pourcentage", "masque"),
               Column("effectif", "Effectif", "entier", "masque")]
    assert displayed(df, columns).rows() == [("Reims", "12,3 %", "40"), ("Metz", SECRET, SECRET)]
    text = export_csv(df, columns).decode("utf-8-sig")
    assert text.splitlines() == ["Territoire;Part (%);Effectif", "Reims;12,3;40", f"Metz;{SECRET};{SECRET}"]
    sheet = openpyxl.load_workbook(io.BytesIO(export_xlsx(df, columns, ["Source : test."]))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[:3] == [("Territoire", "Part (%)", "Effectif"), ("Reims", 12.3, 40), ("Metz", SECRET, SECRET)]
    assert rows[4][0] == "Source : test."


def test_csv_downloads_neutralise_formulas(home, monkeypatch):
    """A file name chosen by a site reaches a funder's spreadsheet as text, never as a live formula."""
    monkeypatch.setenv("PRE_HOME", str(home.root))
    from display import Column, export_csv

    df = pl.DataFrame({"fichier": ['=HYPERLINK("http://x","y")', "+33 1", "@SUM(A1)", "-2+3", "sain.zip"],
                       "effectif": [1, 2, 3, 4, 5], "masque": [False] * 5})
    text = export_csv(df, [Column("fichier", "Fichier"), Column("effectif", "Effectif", "entier", "masque")])
    cells = [line.split(";")[0] for line in text.decode("utf-8-sig").splitlines()[1:]]
    assert cells == ['"\'=HYPERLINK(""http://x"",""y"")"', "'+33 1", "'@SUM(A1)", "'-2+3", "sain.zip"]


# --- page contents ----------------------------------------------------------------------------------------


def test_territoires_ranks_departements_with_bases_and_completeness(app, sql):
    periode = default_period(sql)
    at = app("territoires", niveau="departement", territoire="51")
    shown_ = table(at, "Rang")
    expected = published_period(sql, periode).filter(
        (pl.col("indicateur") == "enfants_suivis") & (pl.col("niveau") == "departement"))
    assert shown_.height == expected.height == 3
    row = shown_.filter(pl.col("Territoire") == "51 — Marne").row(0, named=True)
    assert row["Enfants suivis (enfants)"] == shown(pick(expected, territoire="51"), "entier")
    assert row["Effectif"] == formats.by_kind(pick(expected, territoire="51")["effectif"], "entier")
    assert row["Sites aux données complètes (%)"] == "100,0 %"
    assert row["Territoire choisi"] == "oui"
    assert shown_["Rang"].to_list() == ["1", "2", "3"]
    assert any("Classement" in h.value for h in at.header)

    at.selectbox(key="territoires_indicator").set_value("part_age").run()
    at.selectbox(key="territoires_category_part_age").set_value("6_10").run()
    shown_ = table(at, "Rang")
    expected = published_period(sql, periode).filter(
        (pl.col("indicateur") == "part_age") & (pl.col("categorie") == "6_10") & (pl.col("niveau") == "departement"))
    row = shown_.filter(pl.col("Territoire") == "51 — Marne").row(0, named=True)
    assert row["Répartition des entrées par âge — 6 à 10 ans (%)"] == shown(pick(expected, territoire="51"),
                                                                            "pourcentage")


def test_parcours_distributions_equal_the_warehouse(app, sql, warehouse):
    periode = default_period(sql)
    at = app("parcours", niveau="departement", territoire="51")
    counts = warehouse("""
        select p.origine_orientation as code, count(*) as n
        from marts.parcours as p join marts.sites using (code_pre), marts.periodes as per
        where departement = '51' and per.periode = ? and p.date_entree between per.debut and per.fin
        group by 1""", [periode])
    total = counts["n"].sum()
    origins = table(at, "Origine de l'orientation")
    ecole = origins.filter(pl.col("Origine de l'orientation") == "École").row(0, named=True)
    n_ecole = counts.filter(pl.col("code") == "ECOLE")["n"][0]
    expected = published_period(sql, periode).filter(
        (pl.col("niveau") == "departement") & (pl.col("territoire") == "51"))
    if pick(expected, indicateur="part_orientation", categorie="ECOLE")["masque"]:
        assert ecole["Part (%)"] == SECRET
    else:  # counted from the pathways themselves, not from the indicator
        assert ecole["Part (%)"] == formats.by_kind(100 * n_ecole / total, "pourcentage")
        assert ecole["Effectif (entrées)"] == formats.by_kind(total, "entier")
    # part_orientation_ecole counts the same people as part_orientation's ECOLE: shown or masked together.
    assert metrics(at)["Part des entrées orientées par l'école"] == ecole["Part (%)"]
    assert metrics(at)["Entrées"] == shown(pick(expected, indicateur="entrees"), "entier")
    ages = table(at, "Tranche d'âge à l'entrée")
    assert ages["Part (%)"].to_list() == [shown(pick(expected, indicateur="part_age", categorie=c), "pourcentage")
                                          for c in ("2_5", "6_10", "11_16", "17_plus")]
    motifs = table(at, "Motif de sortie")
    assert motifs["Effectif (sorties)"][0] == shown(pick(expected, indicateur="sorties"), "entier")


def test_actions_per_volet_and_partner_equal_the_warehouse(app, sql, warehouse):
    periode = default_period(sql)
    at = app("actions", niveau="departement", territoire="51")
    expected = published_period(sql, periode).filter(
        (pl.col("niveau") == "departement") & (pl.col("territoire") == "51"))
    volets = table(at, "Volet")
    assert volets["Actions engagées"][0] == shown(pick(expected, indicateur="actions", categorie="SCOLARITE"),
                                                   "entier")
    assert metrics(at)["Coût des actions par enfant suivi"] == shown(pick(expected, indicateur="cout_par_enfant"),
                                                                    "euros")
    partners = warehouse("""
        select partenaire, count(*) as n, sum(cout_euros) as cout
        from marts.actions join marts.sites using (code_pre), marts.periodes as per
        where departement = '51' and per.periode = ? and date_debut between per.debut and per.fin
        group by 1 order by n desc""", [periode])
    shown_ = table(at, "Partenaire")
    association = shown_.filter(pl.col("Partenaire") == "Association").row(0, named=True)
    row = pick(partners, partenaire="ASSOCIATION")
    assert association["Actions engagées"] == formats.by_kind(row["n"], "entier")
    assert association["Coût total (€)"] == formats.by_kind(row["cout"], "euros")
    small = partners.filter(pl.col("n") < 11)["partenaire"].to_list()
    assert small, "le jeu de données devrait compter un petit partenaire"
    masked_rows = shown_.filter(pl.col("Actions engagées") == SECRET)
    assert masked_rows.height >= max(2, len(small))


def test_resultats_equal_the_warehouse(app, sql, warehouse):
    periode = default_period(sql)
    at = app("resultats", niveau="departement", territoire="51")
    expected = published_period(sql, periode).filter(
        (pl.col("niveau") == "departement") & (pl.col("territoire") == "51"))
    for code in ("taux_objectifs_atteints", "part_sorties_objectifs_atteints", "part_sorties_relais"):
        assert metrics(at)[indicator(code).libelle] == shown(pick(expected, indicateur=code), "pourcentage")
    # part_suivi_6_mois (indicators.md v2), counted here from the pathways and bilans themselves:
    # exits with date_sortie + 240 days <= the site's extraction, followed by a SUIVI_6_MOIS bilan
    # dated from +120 to +240 days.
    exits = warehouse("""
        select p.date_sortie, d.date_extraction,
            exists (select 1 from marts.bilans as b where b.code_pre = p.code_pre and b.id_parcours = p.id_parcours
                    and b.type_bilan = 'SUIVI_6_MOIS'
                    and b.date_bilan between p.date_sortie + 120 and p.date_sortie + 240) as suivi
        from marts.parcours as p join marts.sites as s using (code_pre)
        join marts.depots as d on d.code_pre = p.code_pre and d.en_vigueur, marts.periodes as per
        where s.departement = '51' and per.periode = ? and p.date_sortie between per.debut and per.fin""", [periode])
    due = exits.filter(pl.col("date_sortie") + pl.duration(days=240) <= pl.col("date_extraction"))
    assert due.height >= 1
    row = pick(expected, indicateur="part_suivi_6_mois")
    assert row["masque"] or row["effectif"] == due.height
    assert metrics(at)["Sorties suivies à 6 mois"] == (
        SECRET if row["masque"] else formats.by_kind(100 * due["suivi"].sum() / due.height, "pourcentage"))


def test_listes_d_attente_table_curves_and_censoring_note(app, sql):
    periode = default_period(sql)
    at = app("attentes")
    expected = published_period(sql, periode).filter(pl.col("niveau") == "national")
    shown_ = table(at, "Structure")
    pre = shown_.filter(pl.col("Structure") == "PRE (liste d'attente propre)").row(0, named=True)
    assert pre["Demandes de la période"] == shown(pick(expected, indicateur="demandes_attente", categorie="PRE"),
                                                  "entier")
    assert pre["Attente médiane (jours)"] == shown(
        pick(expected, indicateur="attente_mediane_jours", categorie="PRE"), "entier")
    assert pre["Rendez-vous sous 90 jours (%)"] == shown(
        pick(expected, indicateur="part_rdv_sous_90_jours", categorie="PRE"), "pourcentage")
    assert pre["En attente en fin de période"] == shown(
        pick(expected, indicateur="en_attente_fin_periode", categorie="PRE"), "entier")
    assert any("censurées" in i.value for i in at.info)
    (spec,) = [s for s in charts(at) if "Kaplan" in json.dumps(s) or "rendez-vous" in json.dumps(s)]
    assert "sans premier rendez-vous" in json.dumps(spec, ensure_ascii=False)


def test_qualite_lists_sites_submissions_and_opens_a_report(app, sql):
    at = app("qualite")
    sites = table(at, "Site")
    referential = sql("select code_pre from marts.sites")["code_pre"].to_list()
    assert sorted(sites["Code"].to_list()) == sorted(referential)
    silent = table(at, "Site").filter(pl.col("Code").is_in(SITES).not_())
    assert silent.height == len(referential) - len(SITES)
    absents = [f for f in at.dataframe if list(f.value.columns) == ["Site", "Code", "Situation"]]
    assert absents and sorted(absents[0].value["Code"]) == sorted(set(referential) - set(SITES))
    assert set(absents[0].value["Situation"]) == {"aucun dépôt accepté"}

    depots = sql("select fichier, rapport from marts.depots where code_pre = 'PRE57463'")
    at.selectbox(key="qualite_report").set_value(depots["rapport"][0]).run()
    report = [m.value for m in at.markdown if "Rapport de contrôle" in m.value]
    # File names are shown escaped for Markdown (`_` and `-` would be emphasis and list marks).
    from pipelines.contracts.report import escape_markdown

    assert report and escape_markdown(depots["fichier"][0]) in report[0]
    assert not [m for m in at.markdown if m.value.startswith("# ")], "le rapport garde un titre de niveau 1"


@pytest.mark.parametrize(("role", "where"), [("departement", "departement = '51'"),
                                           ("site", "code_pre = 'PRE51454'")])
def test_qualite_shows_only_the_submissions_and_reports_of_the_perimeter(app, sql, role, where):
    at = app("qualite", role=role)
    own = sorted(sql(f"select code_pre from marts.sites where {where}")["code_pre"].to_list())
    assert sorted(table(at, "Site")["Code"].to_list()) == own
    reports = sql(f"select rapport, fichier from marts.depots where code_pre in (select code_pre from marts.sites "
                  f"where {where})")
    shown = [option.split(" — ")[0] for option in at.selectbox(key="qualite_report").options]
    assert sorted(shown) == sorted(reports["fichier"].to_list())  # none of another perimeter


def test_methodologie_comes_from_the_catalogue(app):
    at = app("methodologie")
    body = " ".join(m.value for m in at.markdown)
    for ind in catalogue():
        assert ind.libelle in body
    assert "<!--" not in body and "Secret statistique" in " ".join(texts(at))


# --- failures ---------------------------------------------------------------------------------------------


def _signed_in_elsewhere(monkeypatch, root) -> AppTest:
    """A national user's session on the data home `root` (its authorisations written)."""
    monkeypatch.setenv("PRE_HOME", str(root))
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    authorise(root)
    return signed_in(AppTest.from_file(str(APP), default_timeout=60))


@pytest.mark.parametrize("page", list(PAGES))
def test_no_published_copy_gives_a_french_explanation(tmp_path, monkeypatch, page):
    at = _signed_in_elsewhere(monkeypatch, tmp_path).run()
    if page != "synthese":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception and not at.error
    if page == "methodologie":
        assert at.markdown
    else:
        assert [i.value for i in at.info] == [AUCUNE_DONNEE]


def test_a_broken_published_copy_gives_a_french_error(tmp_path, monkeypatch):
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "entrepot.duckdb").write_bytes(b"ceci n'est pas une base DuckDB" * 100)
    at = _signed_in_elsewhere(monkeypatch, tmp_path).run()
    assert not at.exception
    assert [e.value for e in at.error] and at.error[0].value.startswith("Cette page n'a pas pu s'afficher")
    assert str(tmp_path) not in " ".join(texts(at) + [e.value for e in at.error])


def test_a_malformed_threshold_gives_a_french_error(app, monkeypatch, home):
    monkeypatch.setenv("PRE_SEUIL_SECRET", "onze")
    at = signed_in(AppTest.from_file(str(APP), default_timeout=60)).run()
    assert not at.exception
    assert "PRE_SEUIL_SECRET" in at.error[0].value and "entier" in at.error[0].value
    assert not at.metric


def test_pre_eval_dev_serves_the_dashboard_folder():
    """`pre-eval dev` runs `streamlit run app.py` in dashboards/: the entry point and its config are there,
    and no `pages/` folder sits beside it (Streamlit would start in its legacy multipage mode)."""
    assert (DASHBOARDS / "app.py").is_file()
    assert not (DASHBOARDS / "pages").exists()
    config = (DASHBOARDS / ".streamlit" / "config.toml").read_text()
    assert 'showErrorDetails = "none"' in config
    from pipelines.dev import DASHBOARD_APP

    # `pre-eval dev` runs this very app from its own folder, where Streamlit finds `.streamlit/`.
    assert DASHBOARD_APP == APP


# --- sign-in and perimeters (access.md) -------------------------------------------------------------------


def _journal(home: DataHome) -> list[dict]:
    path = home.root / "journal" / "acces.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_without_the_sign_in_variables_no_figure_is_served(home, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(home.root))
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PRE_COOKIE_SECRET")
    monkeypatch.delenv("PRE_OIDC_CLIENT_SECRET")
    at = signed_in(AppTest.from_file(str(APP), default_timeout=60)).run()
    assert not at.exception and not at.metric and not at.selectbox
    assert "PRE_OIDC_CLIENT_SECRET, PRE_COOKIE_SECRET" in at.error[0].value


def test_not_signed_in_shows_a_french_sign_in_page_and_nothing_else(home, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(home.root))
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception and not at.metric and not at.selectbox and not at.dataframe
    assert [b.label for b in at.button] == ["Se connecter"]
    assert at.title[0].value == "Évaluation des Programmes de Réussite Éducative"
    # The accessibility statement, folded under RGAA's mention: readable before signing in.
    assert [e.label for e in at.expander] == ["Accessibilité : non conforme"]
    assert "## État de conformité" in at.expander[0].markdown[0].value


def test_an_unknown_account_is_refused_and_journaled(home, monkeypatch):
    monkeypatch.setenv("PRE_HOME", str(home.root))
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": True, "email": "Inconnu@Ailleurs.fr", "iat": int(time.time())}
    at.run()
    assert not at.exception and not at.metric and not at.selectbox
    assert at.title[0].value == "Accès non autorisé" and "inconnu@ailleurs.fr" in at.error[0].value
    assert "exploitant" in at.info[0].value
    last = _journal(home)[-1]
    assert (last["evenement"], last["email"], last["detail"]["motif"]) == ("acces_refuse", "inconnu@ailleurs.fr",
                                                                           "non_habilite")


@pytest.mark.parametrize("issued", [13 * 3600, None, "hier"], ids=["13 h", "absente", "illisible"])
def test_an_expired_session_shows_no_figure_and_asks_to_sign_in_again(home, monkeypatch, issued):
    monkeypatch.setenv("PRE_HOME", str(home.root))
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(APP), default_timeout=60)
    user = {"is_logged_in": True, "email": ACCOUNTS["national"][0]}
    if issued is not None:
        user["iat"] = int(time.time()) - issued if isinstance(issued, int) else issued
    at.user = user
    at.run()
    assert not at.exception and not at.metric and not at.selectbox and not at.dataframe
    assert at.title[0].value == "Session expirée" and "reconnectez-vous" in at.warning[0].value
    assert [b.label for b in at.button] == ["Se reconnecter"]
    last = _journal(home)[-1]
    assert (last["evenement"], last["detail"]["motif"]) == ("acces_refuse", "session_expiree")


def test_a_session_lasts_twelve_hours_counted_from_the_sign_in():
    import access

    now = 1_800_000_000.0
    assert access.fresh(now - 12 * 3600, now) and access.fresh(now, now) and access.fresh(now + 60, now)
    assert not access.fresh(now - 12 * 3600 - 1, now)
    assert not access.fresh(now + 3600, now)  # issued in the future: a forged or broken token
    assert not access.fresh(True, now) and not access.fresh("1800000000", now) and not access.fresh(None, now)


def test_an_invalid_authorisations_file_lets_nobody_in(app, home):
    path = home.root / "acces" / "habilitations.csv"
    good = path.read_text(encoding="utf-8")
    try:
        path.write_text(good + "anct@essai.fr,national,FR,doublon\n", encoding="utf-8")
        at = signed_in(AppTest.from_file(str(APP), default_timeout=60)).run()
        assert not at.exception and not at.metric
        assert at.title[0].value == "Accès momentanément suspendu"
        assert "ligne 7" in _journal(home)[-1]["detail"]["message"]  # the operator's message names the line
    finally:
        path.write_text(good, encoding="utf-8")
    # Fixed file: in at the next page load, without a restart.
    assert app().metric


def _options(at: AppTest, label: str) -> list[str]:
    return next(s for s in at.selectbox if s.label == label).options


def test_each_role_chooses_only_territories_of_its_perimeter(app):
    national = app(niveau="pre")
    assert len(_options(national, "Territoire")) == len(SITES)
    dept = app(role="departement", niveau="pre")
    assert all("PRE51" in o for o in _options(dept, "Territoire")) and len(_options(dept, "Territoire")) == 4
    dept_levels = app(role="departement", niveau="departement")
    assert len(_options(dept_levels, "Territoire")) == 3  # every département's aggregates: 10, 51, 57
    site = app(role="site", niveau="pre")
    assert [o for o in _options(site, "Territoire")] == ["Reims (PRE51454)"]


@pytest.mark.parametrize(("role", "level", "code"), [
    ("departement", "pre", "PRE57463"),  # a site of another département
    ("site", "pre", "PRE51230"),  # another site of the same département
])
def test_a_url_outside_the_perimeter_shows_a_french_message_and_no_figure(app, home, role, level, code):
    at = signed_in(AppTest.from_file(str(APP), default_timeout=60), role)
    at.query_params.update({"niveau": level, "territoire": code})
    at.run()
    assert not at.exception and not at.metric and not at.dataframe
    assert at.error[0].value.startswith("Ce territoire ne fait pas partie de votre périmètre")
    assert code not in " ".join(texts(at))
    last = _journal(home)[-1]
    assert last["evenement"] == "acces_refuse" and last["email"] == f"{role}@essai.fr".replace(
        "departement@", "ddets51@").replace("site@", "reims@")


def test_a_coordinator_sees_its_own_site_unmasked_and_marked_there_only(app, warehouse, sql):
    own = app(role="site", niveau="pre", territoire="PRE51454", type="civile", periode="2024")
    assert any("Chiffres non masqués de votre site" in i.value for i in own.info)
    expected = warehouse("select effectif from marts.indicateurs where indicateur = 'enfants_suivis' and "
                         "niveau = 'pre' and territoire = 'PRE51454' and periode = '2024'")["effectif"][0]
    shown = next(m for m in own.metric if m.label == "Enfants suivis")
    assert shown.value == formats.number(expected)
    # Elsewhere (its département, or the same figures seen by the national level): the masked figures.
    dept = app(role="site", niveau="departement", territoire="51", type="civile", periode="2024")
    assert not any("non masqués" in i.value for i in dept.info)
    national = app(role="national", niveau="pre", territoire="PRE51454", type="civile", periode="2024")
    assert not any("non masqués" in i.value for i in national.info)


def test_navigation_follows_the_role(app):
    def pages(at: AppTest) -> set[str]:  # the URL paths the session's navigation registered
        return {info.get("url_pathname") for info in at._registered_pages.values()}

    assert not {"depot", "mes-depots", "journal"} & pages(app())
    assert {"depot", "mes-depots"} <= pages(app(role="site")) and "journal" not in pages(app(role="site"))
    assert {"depot", "mes-depots", "journal"} <= pages(app(role="exploitant"))


def test_a_recent_period_s_attendance_rate_is_said_to_be_provisional(app, warehouse):
    # Actions begun in 2024 and still running at the January 2025 extractions count every planned session
    # but only the sessions held so far. Checked on the row-level warehouse: far more of 2024's actions run on
    # than of 2022's, which is what makes 2024's rate low, and what the note says.
    running = warehouse("""
        select year(a.date_debut) as annee,
               avg(case when a.date_fin is null or a.date_fin > d.date_extraction then 1 else 0 end) as en_cours
        from staging.actions as a inner join marts.depots as d on d.code_pre = a.code_pre and d.en_vigueur
        where a.seances_prevues > 0 and a.seances_realisees is not null group by all""")
    share = dict(running.select("annee", "en_cours").rows())
    assert share[2024] > 0.2 > 0.05 > share[2022], share
    for page in ("synthese", "actions"):
        recent = [c.value for c in app(page, periode="2024").caption if c.value.startswith("Taux d'assiduité :")]
        assert len(recent) == 1, page
        assert "période 2024 peuvent être encore en cours" in recent[0]
        assert re.search(r"date d'extraction \(\d\d/01/2025\)", recent[0])
        # Two years on, the actions of 2022 are over: no such note.
        assert not [c.value for c in app(page, periode="2022").caption if "Taux d'assiduité :" in c.value], page

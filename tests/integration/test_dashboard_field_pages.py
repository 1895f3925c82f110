"""The dashboard's answers to what the field asked for (issue 14): intervals wherever figures are compared,
the funnel plot of Territoires, and the pages « Normes de service » and « Coopération » (AppTest, on the
same published copy as `test_dashboard_pages`).

Expected values are read from the published (masked) copy by the test itself and formatted here, or
recomputed from the warehouse; the page's French text is compared with them.
"""

# ruff: noqa: F811 (the fixtures imported from test_dashboard_pages are test parameters here)
from __future__ import annotations

import json

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard_pages import (  # noqa: F401 (fixtures)
    APP,
    ENGLISH,
    app,
    charts,
    default_period,
    home,
    metrics,
    pick,
    published_period,
    shown,
    sql,
    table,
    texts,
    warehouse,
)

from pipelines.common import formats
from pipelines.publication.disclosure import SECRET
from pipelines.warehouse.catalogue import catalogue_categories, indicator
from support import signed_in


@pytest.mark.parametrize(("page", "title"), [("normes", "Normes de service"), ("cooperation", "Coopération")])
def test_the_field_pages_render_in_french_with_charts_and_downloads(app, page, title):
    at = app(page, niveau="departement", territoire="51")
    assert [t.value for t in at.title] == [title]
    words = " ".join(texts(at)).split()
    assert not [w for w in words if w.strip(".,;:()«»") in ENGLISH], "texte anglais ou technique affiché"
    assert charts(at)
    for spec in charts(at):
        assert spec.get("title"), "graphique sans titre"
        assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert at.get("download_button")
    # Every chart has its data as a table beside it, for screen readers.
    assert len([e for e in at.expander if e.label == "Données du graphique"]) >= len(charts(at)) - 1


@pytest.mark.parametrize("page", ["normes", "cooperation"])
@pytest.mark.parametrize(("niveau", "territoire", "periode"), [
    ("national", "FR", "2022"), ("region", "44", "2023-2024"), ("pre", "PRE57463", "2024"),
    ("pre", "PRE10387", "2022")])
def test_the_field_pages_render_at_every_level_and_period_type(app, page, niveau, territoire, periode):
    at = app(page, niveau=niveau, territoire=territoire, periode=periode)  # the fixture asserts: no error box
    assert at.query_params["territoire"] == territoire and at.query_params["periode"] == periode
    assert at.dataframe


def chart_rows(at: AppTest, title_part: str) -> list[dict]:
    """The rows a chart draws (Streamlit sends each chart's data beside its spec, as Arrow), for the charts
    whose title contains `title_part`."""
    import pyarrow as pa

    rows = []
    for element in at.get("vega_lite_chart"):
        if title_part in json.dumps(json.loads(element.proto.spec).get("title"), ensure_ascii=False):
            for named in element.proto.datasets:
                rows += pl.from_arrow(pa.ipc.open_stream(named.data.data).read_all()).to_dicts()
    return rows


def bound(value: float | None, decimals: int) -> str:
    return "—" if value is None else formats.number(value, decimals)


# --- intervals --------------------------------------------------------------------------------------------


def test_the_published_copy_carries_the_intervals_null_where_masked(sql, warehouse):
    published = sql("select * from marts.indicateurs")
    assert {"borne_basse", "borne_haute"} <= set(published.columns)
    masked = published.filter(pl.col("masque"))
    assert masked.height and masked["borne_basse"].is_null().all() and masked["borne_haute"].is_null().all()
    # Unmasked rows carry the warehouse's bounds unchanged.
    keys = ["indicateur", "categorie", "niveau", "territoire", "periode"]
    both = published.filter(~pl.col("masque")).join(
        warehouse("select * from marts.indicateurs"), on=keys, suffix="_entrepot")
    assert both.height == published.filter(~pl.col("masque")).height
    assert both.filter(pl.col("borne_basse").is_not_null()).height > 0
    assert both.filter(~pl.col("borne_basse").eq_missing(pl.col("borne_basse_entrepot"))
                       | ~pl.col("borne_haute").eq_missing(pl.col("borne_haute_entrepot"))).is_empty()


def test_territoires_shows_each_share_s_interval_in_table_tooltip_and_text(app, sql):
    periode = default_period(sql)
    at = app("territoires", niveau="departement", territoire="51")
    at.selectbox(key="territoires_indicator").set_value("part_qpv").run()
    expected = published_period(sql, periode).filter(
        (pl.col("indicateur") == "part_qpv") & (pl.col("niveau") == "departement"))
    shown_ = table(at, "Rang")
    assert shown_.height == expected.height == 3
    with_bounds = 0
    for row in expected.iter_rows(named=True):
        line = shown_.filter(pl.col("Territoire").str.starts_with(row["territoire"] + " ")).row(0, named=True)
        if row["masque"]:
            assert line["Borne basse (IC à 95 %)"] == line["Borne haute (IC à 95 %)"] == SECRET
            continue
        with_bounds += row["borne_basse"] is not None
        assert line["Borne basse (IC à 95 %)"] == formats.by_kind(row["borne_basse"], "pourcentage")
        assert line["Borne haute (IC à 95 %)"] == formats.by_kind(row["borne_haute"], "pourcentage")
        assert row["borne_basse"] <= row["valeur"] <= row["borne_haute"]
    assert with_bounds, "aucun intervalle à montrer"
    (ranking,) = [s for s in charts(at)
                  if "prioritaire par département" in json.dumps(s.get("title"), ensure_ascii=False)]
    assert "Intervalle de confiance à 95 %" in json.dumps(ranking, ensure_ascii=False)
    # The reference (France) reads `12,3 % [10,1 ; 14,8]`.
    france = pick(published_period(sql, periode), indicateur="part_qpv", niveau="national")
    text = (f"{formats.by_kind(france['valeur'], 'pourcentage')} [{bound(france['borne_basse'], 1)} ; "
            f"{bound(france['borne_haute'], 1)}]")
    assert any(text in m.value for m in at.markdown), text
    assert any("Wilson" in c.value for c in at.caption)


def test_territoires_has_no_interval_columns_for_a_count(app):
    at = app("territoires", niveau="departement", territoire="51")
    assert "Borne basse (IC à 95 %)" not in table(at, "Rang").columns


def test_listes_d_attente_shows_the_median_s_interval(app, sql):
    periode = default_period(sql)
    at = app("attentes")
    expected = published_period(sql, periode).filter(pl.col("niveau") == "national")
    shown_ = table(at, "Structure")
    checked = 0
    for line in shown_.iter_rows(named=True):
        code = {name: c for c, name in catalogue_categories()["structures"].items()}[line["Structure"]]
        row = pick(expected, indicateur="attente_mediane_jours", categorie=code)
        assert line["Attente médiane (jours)"] == shown(row, "entier")
        if row is None or row["masque"]:
            continue
        assert line["Attente médiane : borne basse (IC à 95 %)"] == bound(row["borne_basse"], 0)
        assert line["Attente médiane : borne haute (IC à 95 %)"] == bound(row["borne_haute"], 0)
        checked += row["borne_basse"] is not None
        rdv = pick(expected, indicateur="part_rdv_sous_90_jours", categorie=code)
        if rdv and not rdv["masque"]:
            assert line["Rendez-vous sous 90 jours : borne basse (IC à 95 %)"] == formats.by_kind(
                rdv["borne_basse"], "pourcentage")
    assert checked, "aucune médiane avec son intervalle"



# --- Normes de service ------------------------------------------------------------------------------------

NORM_CODES = ["part_guidance_18_mois", "familles_par_referent_guidance", "part_referents_guidance_au_dela_norme",
              "part_suivi_6_mois"]
MARNE = ["PRE51108", "PRE51230", "PRE51454", "PRE51649"]


def site_label(sql, code: str) -> str:
    return f"{sql('select nom from marts.sites where code_pre = ?', [code])['nom'][0]} ({code})"


def test_normes_shows_the_territory_its_parent_and_the_sites_as_published(app, sql):
    at = app("normes", niveau="departement", territoire="51", periode="2023")
    assert [t.value for t in at.title] == ["Normes de service"]
    published = published_period(sql, "2023")
    # The norms' values, from the referential, are stated.
    intro = " ".join(m.value for m in at.markdown)
    assert "**18 mois**" in intro and "**10 familles**" in intro and "120 à 240 jours" in intro

    shown_ = table(at, "Territoire")
    assert shown_.height == 2 * len(NORM_CODES)
    for label, level, code in [("51 — Marne", "departement", "51"), ("44 — Grand Est", "region", "44")]:
        for ind in NORM_CODES:
            row = pick(published, indicateur=ind, niveau=level, territoire=code, categorie="")
            line = shown_.filter((pl.col("Territoire") == label)
                                 & (pl.col("Indicateur") == indicator(ind).libelle)).row(0, named=True)
            assert line["Valeur"] == shown(row, indicator(ind).format), (label, ind)
            assert line["Borne basse (IC à 95 %)"] == (SECRET if row["masque"] else
                                                        formats.by_kind(row["borne_basse"], indicator(ind).format))
            assert line["Effectif"] == (SECRET if row["masque"] else formats.number(row["effectif"]))

    sites = table(at, "Site")
    assert sites["Site"].to_list() == [site_label(sql, c) for c in MARNE]
    masked = 0
    for code in MARNE:
        line = sites.filter(pl.col("Site") == site_label(sql, code)).row(0, named=True)
        for ind in NORM_CODES:
            row = pick(published, indicateur=ind, niveau="pre", territoire=code, categorie="")
            assert line[indicator(ind).libelle] == shown(row, indicator(ind).format), (code, ind)
            masked += bool(row and row["masque"])
    assert masked, "aucune case masquée : le jeu de données ne montre pas le secret statistique"
    assert SECRET in sites.to_numpy().ravel().tolist()
    titles = [json.dumps(s.get("title"), ensure_ascii=False) for s in charts(at)]
    assert any("Normes de service par période" in t for t in titles), titles
    families = [shown(pick(published, indicateur="familles_par_referent_guidance", niveau="pre", territoire=c,
                           categorie=""), "decimal1") for c in MARNE]
    drawn = any("Familles par référent en guidance familiale par site" in t for t in titles)
    assert drawn == any(v not in (SECRET, "non calculé", "—") for v in families), (titles, families)


def test_normes_reads_each_figure_in_french(app, sql):
    at = app("normes", niveau="national", territoire="FR", periode="2023")
    published = published_period(sql, "2023")
    bullets = " ".join(m.value for m in at.markdown)
    row = pick(published, indicateur="part_suivi_6_mois", niveau="national", categorie="")
    assert not row["masque"]
    value = (f"{formats.by_kind(row['valeur'], 'pourcentage')} [{bound(row['borne_basse'], 1)} ; "
             f"{bound(row['borne_haute'], 1)}]")
    assert (f"{value} des {formats.number(row['effectif'])} sorties dont la fenêtre de suivi est close ont eu un "
            "bilan de suivi de 120 à 240 jours après la sortie.") in bullets
    for ind in NORM_CODES:
        row = pick(published, indicateur=ind, niveau="national", categorie="")
        if row["masque"]:
            assert f"**{indicator(ind).libelle}** (norme : " in bullets and SECRET in bullets


def test_normes_keeps_a_coordinator_to_its_own_site(app, sql, warehouse):
    at = app("normes", role="site", niveau="departement", territoire="51", periode="2024")
    assert table(at, "Site")["Site"].to_list() == [site_label(sql, "PRE51454")]
    # Its own site's page: its live figures unmasked (from the warehouse), and no other site's.
    own = app("normes", role="site", niveau="pre", territoire="PRE51454", periode="2024")
    expected = warehouse("select * from marts.indicateurs where niveau = 'pre' and territoire = 'PRE51454' "
                         "and periode = '2024' and categorie = ''")
    shown_ = table(own, "Territoire").filter(pl.col("Territoire") == site_label(sql, "PRE51454"))
    for ind in NORM_CODES:
        row = pick(expected, indicateur=ind)
        line = shown_.filter(pl.col("Indicateur") == indicator(ind).libelle).row(0, named=True)
        assert line["Valeur"] == formats.by_kind(row["valeur"], indicator(ind).format), ind
    others = [c for c in MARNE if c != "PRE51454"]
    cells = " ".join(str(v) for frame in own.dataframe for v in frame.value.to_numpy().ravel())
    assert not [c for c in others if c in cells]


# --- Coopération ------------------------------------------------------------------------------------------

COOPERATION = ["part_orientation_ecole", "partenaires_par_parcours", "part_parcours_multipartenaires",
               "part_sorties_relais", "part_suivi_6_mois"]


def test_cooperation_compares_the_site_with_its_departement_as_published(app, sql):
    at = app("cooperation", niveau="pre", territoire="PRE51230", periode="2023")
    assert [t.value for t in at.title] == ["Coopération"]
    published = published_period(sql, "2023")
    site = site_label(sql, "PRE51230")
    shown_ = table(at, "Indicateur")
    assert shown_["Indicateur"].to_list() == [indicator(c).libelle for c in COOPERATION]
    for code in COOPERATION:
        line = shown_.filter(pl.col("Indicateur") == indicator(code).libelle).row(0, named=True)
        for label, level, territory in [(site, "pre", "PRE51230"), ("51 — Marne", "departement", "51")]:
            row = pick(published, indicateur=code, niveau=level, territoire=territory, categorie="")
            fmt = indicator(code).format
            assert line[label] == shown(row, fmt), (code, label)
            assert line[f"Borne haute (IC à 95 %, {label})"] == (
                SECRET if row["masque"] else "—" if row["borne_haute"] is None
                else formats.by_kind(row["borne_haute"], fmt)), (code, label)

    # Referral origins over the periods: the chart's table equals the published shares.
    frames = [pl.from_pandas(f.value) for f in at.dataframe if "Origine de l'orientation" in f.value.columns]
    (origins,) = frames
    names = catalogue_categories()["origines"]
    every = sql("select * from marts.indicateurs where indicateur = 'part_orientation' and niveau = 'pre' "
                "and territoire = 'PRE51230'")
    for line in origins.iter_rows(named=True):
        code = next(c for c, n in names.items() if n == line["Origine de l'orientation"])
        row = pick(every, periode=line["Période"], categorie=code)
        assert line["Part des entrées (%)"] == shown(row, "pourcentage"), line

    frames = [pl.from_pandas(f.value) for f in at.dataframe
              if "Partenaire" in f.value.columns and "Période" in f.value.columns]
    (partners,) = frames
    names = catalogue_categories()["partenaires"]
    every = sql("select * from marts.indicateurs where indicateur = 'actions_par_partenaire' and niveau = 'pre' "
                "and territoire = 'PRE51230'")
    for line in partners.iter_rows(named=True):
        code = next(c for c, n in names.items() if n == line["Partenaire"])
        assert line["Actions engagées"] == shown(pick(every, periode=line["Période"], categorie=code), "entier")
    titles = " ".join(json.dumps(s.get("title"), ensure_ascii=False) for s in charts(at))
    # A chart is drawn when one of its cells is shown; when every one is masked the page says so instead.
    for rows, value, title in ((origins, "Part des entrées (%)", "Origine de l'orientation des entrées"),
                               (partners, "Actions engagées", "type de partenaire")):
        drawable = any(v not in (SECRET, "—", "") for v in rows[value].to_list())
        assert (title in titles) == drawable, (title, rows)
        if not drawable:
            assert any("Graphique non affiché" in i.value for i in at.info), title


def test_cooperation_partner_volet_matrix_equals_the_published_counts(app, sql):
    at = app("cooperation", niveau="departement", territoire="51", periode="2023")
    matrix = table(at, "Partenaire")
    assert list(matrix.columns) == ["Partenaire", "Volet", "Parcours"]
    partners, volets = catalogue_categories()["partenaires"], catalogue_categories()["volets"]
    assert matrix.height == len(partners) * len(volets)
    published = published_period(sql, "2023")
    drawn = {(r["partenaire"], r["volet"]): r["parcours"] for r in chart_rows(at, "par volet")}
    masked = 0
    for line in matrix.iter_rows(named=True):
        p = next(c for c, n in partners.items() if n == line["Partenaire"])
        v = next(c for c, n in volets.items() if n == line["Volet"])
        row = pick(published, indicateur="parcours_partenaire_volet", niveau="departement", territoire="51",
                   categorie=f"{p}:{v}")
        assert row is not None, (p, v)
        assert line["Parcours"] == shown(row, "entier"), (p, v)
        masked += row["masque"]
        # The heat map draws exactly the shown, non-zero counts: a masked one is an empty cell.
        if row["masque"] or not row["valeur"]:
            assert (line["Partenaire"], line["Volet"]) not in drawn
        else:
            assert drawn[(line["Partenaire"], line["Volet"])] == row["valeur"]
    assert drawn, "rien n'est dessiné pour le département 51 en 2023"
    assert any("Case vide : aucun parcours, ou nombre soumis au secret statistique" in c.value for c in at.caption)
    assert masked == 0 or SECRET in matrix["Parcours"].to_list()


def test_cooperation_heat_map_draws_a_coordinator_s_own_unmasked_counts(app, warehouse):
    """On its own site's page, a coordinator sees the live counts unmasked (from the warehouse): the heat map
    draws every non-zero pair, and only those."""
    at = app("cooperation", role="site", niveau="pre", territoire="PRE51454", periode="2023")
    expected = warehouse("select categorie, valeur from marts.indicateurs where niveau = 'pre' and "
                         "indicateur = 'parcours_partenaire_volet' and territoire = 'PRE51454' and periode = '2023'")
    partners, volets = catalogue_categories()["partenaires"], catalogue_categories()["volets"]
    assert expected.height == len(partners) * len(volets)
    matrix = table(at, "Partenaire")
    drawn = {(r["partenaire"], r["volet"]): r["parcours"] for r in chart_rows(at, "par volet")}
    names = {f"{p}:{v}": (pn, vn) for p, pn in partners.items() for v, vn in volets.items()}
    assert drawn == {names[c]: v for c, v in expected.rows() if v > 0}
    assert drawn, "aucun parcours sur le site"
    for code, value in expected.rows():
        line = pick(matrix, Partenaire=names[code][0], Volet=names[code][1])
        assert line["Parcours"] == formats.number(value), code


def test_cooperation_trend_follows_the_chosen_indicator(app, sql):
    at = app("cooperation", niveau="departement", territoire="51")
    at.selectbox(key="cooperation_indicator").set_value("part_parcours_multipartenaires").run()
    evolution = [pl.from_pandas(f.value) for f in at.dataframe if "Territoire" in f.value.columns
                 and "Données" in f.value.columns]
    (evolution,) = evolution
    every = sql("select * from marts.indicateurs where indicateur = 'part_parcours_multipartenaires' "
                "and categorie = ''")
    assert set(evolution["Territoire"].to_list()) == {"51 — Marne", "44 — Grand Est"}
    for line in evolution.iter_rows(named=True):
        level, code = ("departement", "51") if line["Territoire"] == "51 — Marne" else ("region", "44")
        row = pick(every, niveau=level, territoire=code, periode=line["Période"])
        assert line["Parcours avec plusieurs partenaires (%)"] == shown(row, "pourcentage"), line


def test_cooperation_keeps_a_coordinator_to_its_perimeter(app, sql):
    # Its own site: unmasked and marked so; its département: only its own site named in the tables.
    own = app("cooperation", role="site", niveau="pre", territoire="PRE51454")
    assert any("non masqués" in i.value for i in own.info)
    dept = app("cooperation", role="site", niveau="departement", territoire="51")
    assert not any("non masqués" in i.value for i in dept.info)
    # Another site of the Marne, named in the URL: a French refusal, no figure.
    other = signed_in(AppTest.from_file(str(APP), default_timeout=60), "site")
    other.query_params.update({"niveau": "pre", "territoire": "PRE51230"})
    other.run()
    other.switch_page("views/cooperation.py").run()
    assert any("ne fait pas partie de votre périmètre" in e.value for e in other.error)
    assert not other.dataframe and not charts(other)


# --- Évaluer une action ----------------------------------------------------------------------------------

ACTION_CODES = ["enfants_type_action", "seances_prevues_type_action", "seances_realisees_type_action",
                "taux_assiduite_type_action", "cout_par_enfant_type_action"]
DOMAINS = catalogue_categories()["domaines_note"]
KEY_FIGURES = {"enfants_type_action": "Enfants bénéficiaires", "seances_prevues_type_action": "Séances prévues",
               "seances_realisees_type_action": "Séances réalisées", "taux_assiduite_type_action": "Taux d'assiduité",
               "cout_par_enfant_type_action": "Coût par enfant bénéficiaire"}
CAUSAL = "Comparaison, pas un effet causal"


def evaluated_site(sql) -> str:
    """A site where psychomotricity appeared (it has before/after waits), with masked and shown waits if any."""
    found = sql("select code_pre, bool_or(masque) as m, bool_or(not masque) as s from marts.attentes_autour_action "
                "where type_action = 'PSYCHOMOTRICITE' group by code_pre order by (m and s) desc, code_pre")
    assert found.height, "aucun site où la psychomotricité est apparue : le générateur devrait en produire"
    return found["code_pre"][0]


def check_key_figures(at, published, series: list[tuple[str, str, str]], type_action: str) -> int:
    """The key figures' table and metrics equal the published rows; returns the number of masked cells."""
    shown_ = table(at, "Indicateur")
    assert shown_["Indicateur"].to_list() == [indicator(c).libelle for c in ACTION_CODES]
    masked = 0
    for code in ACTION_CODES:
        line = shown_.filter(pl.col("Indicateur") == indicator(code).libelle).row(0, named=True)
        for label, level, territory in series:
            row = pick(published, indicateur=code, niveau=level, territoire=territory, categorie=type_action)
            assert row is not None, (code, level, territory)
            assert line[label] == shown(row, indicator(code).format), (code, label)
            assert line[f"Effectif ({label})"] == (SECRET if row["masque"] else formats.number(row["effectif"]))
            masked += row["masque"]
        first = pick(published, indicateur=code, niveau=series[0][1], territoire=series[0][2], categorie=type_action)
        assert metrics(at)[KEY_FIGURES[code]] == shown(first, indicator(code).format), code
    return masked


def check_progression(at, published, level: str, territory: str, type_action: str) -> int:
    shown_ = table(at, "Domaine")
    assert shown_["Domaine"].to_list() == list(DOMAINS.values())
    masked = 0
    expected_bars = set()
    for code, name in DOMAINS.items():
        line = shown_.filter(pl.col("Domaine") == name).row(0, named=True)
        with_ = pick(published, indicateur="progression_note_avec_action", niveau=level, territoire=territory,
                     categorie=f"{type_action}:{code}")
        without = pick(published, indicateur="progression_note_sans_action", niveau=level, territoire=territory,
                       categorie=f"{type_action}:{code}")
        every = pick(published, indicateur="progression_note", niveau=level, territoire=territory, categorie=code)
        assert with_ is not None and without is not None, (code, level, territory)
        assert line["Avec l'action (points)"] == shown(with_, "decimal1")
        assert line["Parcours avec l'action"] == (SECRET if with_["masque"] else formats.number(with_["effectif"]))
        assert line["Sans l'action (points)"] == shown(without, "decimal1")
        assert line["Parcours sans l'action"] == (SECRET if without["masque"] else
                                                  formats.number(without["effectif"]))
        assert line["Tous les parcours (points)"] == shown(every, "decimal1")
        both = not with_["masque"] and not without["masque"] and None not in (with_["valeur"], without["valeur"])
        assert line["Écart avec − sans (points)"] == (
            formats.number(with_["valeur"] - without["valeur"], 1) if both else "—"), code
        masked += with_["masque"] + without["masque"]
        for row, group in ((with_, "Parcours avec l'action"), (without, "Parcours sans l'action")):
            if not row["masque"] and row["valeur"] is not None:
                expected_bars.add((name, group, round(row["valeur"], 9)))
    drawn = {(r["domaine"], r["groupe"], round(r["valeur"], 9)) for r in chart_rows(at, "Progression des notes")}
    assert drawn == expected_bars
    return masked


def test_evaluation_renders_for_the_default_type_in_french(app):
    at = app("evaluation", niveau="departement", territoire="51")
    assert [t.value for t in at.title] == ["Évaluer une action"]
    assert at.selectbox(key="evaluation_type").value == "PSYCHOMOTRICITE"
    assert at.query_params["action"] == "PSYCHOMOTRICITE"
    words = " ".join(texts(at)).split()
    assert not [w for w in words if w.strip(".,;:()«»") in ENGLISH], "texte anglais ou technique affiché"
    assert any(CAUSAL in m.value for m in at.markdown)
    # The progression chart, when anything can be drawn, says it too.
    drawn = [s for s in charts(at) if "Progression des notes" in json.dumps(s.get("title"), ensure_ascii=False)]
    assert all(CAUSAL.lower() in json.dumps(s["title"], ensure_ascii=False) for s in drawn)
    assert drawn or any("aucune progression affichable" in i.value for i in at.info)
    # Waits are read per site: the page says so at a département.
    assert any("choisissez le niveau « Site PRE »" in i.value for i in at.info)
    for spec in charts(at):
        assert spec.get("title") and spec["config"]["locale"]["number"]["decimal"] == ","
    assert at.get("download_button")
    assert len([e for e in at.expander if e.label == "Données du graphique"]) >= len(charts(at))


def evaluation_from_a_link(app, action: str, **params: str) -> AppTest:
    """The page opened from a shared link naming an action type: the first page run (Synthèse, in AppTest)
    keeps only the filters in the URL, so the link's `action` is set before switching to the page."""
    at = app(**params)
    at.query_params["action"] = action
    at.switch_page("views/evaluation.py").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    return at


def test_evaluation_of_a_type_outside_the_referential_says_how_to_add_it(app):
    at = evaluation_from_a_link(app, "LOISIRS", niveau="departement", territoire="51")
    assert at.selectbox(key="evaluation_type").value == "LOISIRS"
    assert any("ne figure pas au référentiel des actions évaluées" in i.value for i in at.info)
    assert any("actions_evaluees.yaml" in c.value for c in at.caption)
    assert not any(CAUSAL in m.value for m in at.markdown)
    assert not [f for f in at.dataframe if f.value.columns[0] in ("Domaine", "Service de soin")]
    # The key figures still show, and the choice follows the selector.
    assert table(at, "Indicateur").height == len(ACTION_CODES)
    at.selectbox(key="evaluation_type").set_value("PSYCHOMOTRICITE").run()
    assert not at.exception and not at.error
    assert any(CAUSAL in m.value for m in at.markdown)
    assert at.query_params["action"] == "PSYCHOMOTRICITE"


def test_an_unknown_type_in_the_url_falls_back_to_psychomotricity(app):
    at = evaluation_from_a_link(app, "<script>")
    assert at.selectbox(key="evaluation_type").value == "PSYCHOMOTRICITE"
    assert at.query_params["action"] == "PSYCHOMOTRICITE"


def test_evaluation_at_a_departement_shows_the_published_figures(app, sql):
    at = app("evaluation", niveau="departement", territoire="51", periode="2023")
    published = published_period(sql, "2023")
    masked = check_key_figures(at, published, [("51 — Marne", "departement", "51"),
                                               ("44 — Grand Est", "region", "44")], "PSYCHOMOTRICITE")
    masked += check_progression(at, published, "departement", "51", "PSYCHOMOTRICITE")
    # Evolution: the trend's table is the published series of the chosen indicator, category = the type.
    (evolution,) = [pl.from_pandas(f.value) for f in at.dataframe
                    if "Territoire" in f.value.columns and "Données" in f.value.columns]
    every = sql("select * from marts.indicateurs where indicateur = 'cout_par_enfant_type_action' "
                "and categorie = 'PSYCHOMOTRICITE'")
    label = f"{indicator('cout_par_enfant_type_action').libelle} ({indicator('cout_par_enfant_type_action').unite})"
    for line in evolution.iter_rows(named=True):
        level, code = ("departement", "51") if line["Territoire"] == "51 — Marne" else ("region", "44")
        assert line[label] == shown(pick(every, niveau=level, territoire=code, periode=line["Période"]), "euros")


def test_evaluation_at_a_site_shows_the_published_waits_before_and_after(app, sql):
    site = evaluated_site(sql)
    periode = default_period(sql)
    at = app("evaluation", niveau="pre", territoire=site, periode=periode)
    published = published_period(sql, periode)
    check_key_figures(at, published, [(site_label(sql, site), "pre", site)], "PSYCHOMOTRICITE")
    check_progression(at, published, "pre", site, "PSYCHOMOTRICITE")
    expected = sql("select * from marts.attentes_autour_action where code_pre = ? and type_action = 'PSYCHOMOTRICITE'",
                   [site])
    shown_ = table(at, "Service de soin")
    assert shown_.height == expected.height > 0
    names = catalogue_categories()["structures"]
    windows = {"avant": "12 mois avant", "apres": "12 mois après"}
    for row in expected.iter_rows(named=True):
        line = pick(shown_, **{"Service de soin": names[row["structure"]], "Fenêtre": windows[row["fenetre"]]})
        assert line is not None, row
        assert line["Du"] == formats.day(row["debut"]) and line["Au"] == formats.day(row["fin"])
        assert line["Données"] == ("complète" if row["complete"] else "fenêtre incomplète")
        for column, field in [("Demandes de la fenêtre", "demandes"), ("Attente médiane (jours)", "valeur"),
                              ("Borne basse (IC à 95 %)", "borne_basse"), ("Borne haute (IC à 95 %)", "borne_haute")]:
            if row["masque"]:
                assert line[column] == SECRET, (row, column)
            else:
                assert line[column] == formats.number(row[field]), (row, column)
    first = expected["premiere_action"][0]
    assert any(f"**{formats.day(first)}**" in m.value for m in at.markdown)
    # The reading, one line per structure and window: value, interval, « fenêtre incomplète ».
    lines = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("- **")]
    assert len(lines) == expected.height
    for row in expected.iter_rows(named=True):
        start = f"- **{names[row['structure']]}**, {windows[row['fenetre']]} ({formats.day(row['debut'])} – "
        (line,) = [x for x in lines if x.startswith(start)]
        if row["masque"]:
            assert SECRET in line and not any(ch.isdigit() for ch in line.split(":", 1)[1]), line
        elif row["demandes"] == 0:
            assert "aucune demande" in line
        elif row["valeur"] is not None:
            assert f"{formats.number(row['valeur'])} jours" in line
            if row["borne_basse"] is not None or row["borne_haute"] is not None:
                assert f"[{formats.number(row['borne_basse'])} ; {formats.number(row['borne_haute'])}]" in line
        assert line.endswith("(fenêtre incomplète)") == (not row["complete"]), line
    # The chart draws the shown medians only.
    drawn = {(r["structure"], r["fenetre"], r["valeur"]) for r in chart_rows(at, "avant et après son arrivée")}
    assert drawn == {(names[r["structure"]], windows[r["fenetre"]], r["valeur"])
                     for r in expected.iter_rows(named=True) if not r["masque"] and r["valeur"] is not None}


def test_evaluation_never_shows_a_number_in_a_masked_cell(app, sql):
    """Across sites and periods, every masked published row reads « secret statistique » wherever it shows, and
    no masked value from the warehouse appears in a chart."""
    masked = 0
    for site, periode in [(evaluated_site(sql), "2024"), ("PRE10387", "2022"), ("PRE51649", "2023")]:
        at = app("evaluation", niveau="pre", territoire=site, periode=periode)
        published = published_period(sql, periode)
        masked += check_key_figures(at, published, [(site_label(sql, site), "pre", site)], "PSYCHOMOTRICITE")
        masked += check_progression(at, published, "pre", site, "PSYCHOMOTRICITE")
    assert masked, "aucune case masquée : le jeu de données ne montre pas le secret statistique"


def test_evaluation_keeps_a_coordinator_to_its_perimeter(app):
    own = app("evaluation", role="site", niveau="pre", territoire="PRE51454")
    assert any("non masqués" in i.value for i in own.info)
    other = signed_in(AppTest.from_file(str(APP), default_timeout=60), "site")
    other.query_params.update({"niveau": "pre", "territoire": "PRE51230"})
    other.run()
    other.switch_page("views/evaluation.py").run()
    assert any("ne fait pas partie de votre périmètre" in e.value for e in other.error)
    assert not other.dataframe and not charts(other)


# --- funnel plot ------------------------------------------------------------------------------------------


def test_territoires_funnel_plot_places_each_site_against_binomial_limits(app, sql):
    from scipy.stats import binom

    periode = default_period(sql)
    at = app("territoires", niveau="departement", territoire="51")
    at.selectbox(key="territoires_indicator").set_value("part_qpv").run()
    at.selectbox(key="territoires_level").set_value("pre").run()
    published = published_period(sql, periode).filter(pl.col("indicateur") == "part_qpv")
    # The default scope of the sites: France, whose share is the reference.
    reference = pick(published, niveau="national", territoire="FR")
    assert not reference["masque"]
    assert any(h.value == "Diagramme en entonnoir" for h in at.header)
    (data,) = [pl.from_pandas(f.value) for f in at.dataframe if "Limite haute à 99,8 %" in f.value.columns]
    sites = published.filter((pl.col("niveau") == "pre") & ~pl.col("masque"))
    assert data.height == sites.height > 0
    p = reference["valeur"] / 100
    for row in sites.iter_rows(named=True):
        line = data.filter(pl.col("Territoire") == site_label(sql, row["territoire"])).row(0, named=True)
        n = row["effectif"]
        assert line["Effectif"] == formats.number(n)
        limits = {}
        for name, q in [("basse à 95 %", 0.025), ("haute à 95 %", 0.975), ("basse à 99,8 %", 0.001),
                        ("haute à 99,8 %", 0.999)]:
            r = binom.ppf(q, n, p)
            alpha = (binom.cdf(r, n, p) - q) / (binom.cdf(r, n, p) - binom.cdf(r - 1, n, p))
            limits[name] = 100 * (r - alpha) / n
            assert line[f"Limite {name}"] == formats.percent(limits[name]), (row["territoire"], name)
        inside95 = limits["basse à 95 %"] <= row["valeur"] <= limits["haute à 95 %"]
        inside998 = limits["basse à 99,8 %"] <= row["valeur"] <= limits["haute à 99,8 %"]
        assert (line["Position"] == "dans les limites à 95 %") == inside95
        assert line["Position"].endswith("des limites à 99,8 %") == (not inside998)
    (spec,) = [s for s in charts(at) if "selon l'effectif" in json.dumps(s.get("title"), ensure_ascii=False)]
    assert "Limites à 99,8 %" in json.dumps(spec, ensure_ascii=False)


def test_territoires_has_no_funnel_for_a_count(app):
    at = app("territoires", niveau="departement", territoire="51")
    assert not any(h.value == "Diagramme en entonnoir" for h in at.header)

"""The analysts' recipe for adding an indicator (docs/analystes.md), end to end: a catalogue entry and one SQL
select, in temporary copies of the catalogue and of `sql/`, and the new indicator is in the marts (values worked
out by hand below), on the methodology page and among the dashboard's choices."""

from __future__ import annotations

import shutil

import pytest
from test_dashboard_pages import app, home  # noqa: F401 (fixtures)

from indicator_fixture import build_warehouse, read_indicators
from pipelines.publication.methodology import methodology_markdown
from pipelines.warehouse import catalogue as catalogue_module
from pipelines.warehouse import models

ENTRY = """
  - code: entrees_qpv
    libelle: Entrées en quartier prioritaire
    definition: Ajout d'essai. Parcours entrés pendant la période d'un enfant résidant en quartier prioritaire.
    unite: parcours
    categories: null
    effectif: les parcours entrés eux-mêmes
    format: entier
    sens: neutre
    nature: compte
    base: null
    theme: parcours
    sql: indicateurs/essai_entrees_qpv.sql
"""
SELECT = """-- The recipe's example: pathways of E with a code_qpv, summed over the territory's sites.
with par_site as (
    select code_pre, periode, count(*) filter (where entree and code_qpv is not null) as n
    from intermediaire.parcours_periodes
    group by all
),

sommes as (
    select t.niveau, t.territoire, s.periode, sum(s.n) as n
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
)

select 'entrees_qpv' as indicateur, '' as categorie, g.niveau, g.territoire, g.periode,
    cast(coalesce(s.n, 0) as double) as valeur, coalesce(s.n, 0) as effectif
from intermediaire.grille as g
left join sommes as s using (niveau, territoire, periode)
"""
A, B = "PRE51230", "PRE51454"


def _clear() -> None:
    for cached in (catalogue_module._raw, catalogue_module.catalogue_categories, catalogue_module.evaluated_actions,
                   catalogue_module.norms, models.registry):
        cached.cache_clear()


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The catalogue and the SQL folder copied, the toy indicator added to both, the copies in force."""
    catalogue = tmp_path / "catalogue_indicateurs.yaml"
    catalogue.write_text(catalogue_module.CATALOGUE.read_text(encoding="utf-8").rstrip("\n") + "\n" + ENTRY,
                         encoding="utf-8")
    sql = tmp_path / "sql"
    shutil.copytree(models.SQL_DIR, sql)
    (sql / "indicateurs" / "essai_entrees_qpv.sql").write_text(SELECT, encoding="utf-8")
    monkeypatch.setattr(catalogue_module, "CATALOGUE", catalogue)
    monkeypatch.setattr(models, "SQL_DIR", sql)
    _clear()
    yield
    monkeypatch.undo()
    _clear()


def test_a_new_indicator_reaches_the_marts_the_methodology_and_the_dashboard(toy, app):  # noqa: F811
    parcours = [
        {"code_pre": A, "id_parcours": "P1", "id_enfant": "E1", "date_entree": "2023-03-01", "code_qpv": "QN05101M"},
        {"code_pre": A, "id_parcours": "P2", "id_enfant": "E2", "date_entree": "2023-05-01"},  # not in a QPV
        {"code_pre": A, "id_parcours": "P3", "id_enfant": "E3", "date_entree": "2024-02-01", "code_qpv": "QN05101M"},
        {"code_pre": B, "id_parcours": "Q1", "id_enfant": "E1", "date_entree": "2023-06-01", "code_qpv": "QN05102M"},
    ]
    con = build_warehouse(sites=[{"code_pre": A, "departement": "51", "region": "44"},
                                 {"code_pre": B, "departement": "51", "region": "44"}],
                          depots=[{"code_pre": A, "date_extraction": "2024-12-31"},
                                  {"code_pre": B, "date_extraction": "2024-12-31"}], parcours=parcours)
    models.build(con)
    rows = read_indicators(con)
    con.close()
    # 2023: A entered P1 (QPV) and P2 (not): 1; B entered Q1 (QPV): 1; département 51: 2. 2024: A's P3 only.
    # School year 2022-2023 (to 31 August 2023): P1 (March) and Q1 (June): 2 for the département.
    assert rows[("entrees_qpv", "", "pre", A, "2023")] == (1.0, 1)
    assert rows[("entrees_qpv", "", "pre", B, "2023")] == (1.0, 1)
    assert rows[("entrees_qpv", "", "departement", "51", "2023")] == (2.0, 2)
    assert rows[("entrees_qpv", "", "national", "FR", "2024")] == (1.0, 1)
    assert rows[("entrees_qpv", "", "departement", "51", "2022-2023")] == (2.0, 2)

    assert "#### Entrées en quartier prioritaire (`entrees_qpv`)" in methodology_markdown()
    at = app("methodologie")
    assert any("Parcours entrés pendant la période d'un enfant résidant en quartier prioritaire"
               in m.value for m in at.markdown)
    at = app("territoires", niveau="region", territoire="44")
    options = at.selectbox(key="territoires_indicator").options
    assert "Entrées en quartier prioritaire" in options

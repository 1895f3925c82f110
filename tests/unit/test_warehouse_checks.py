"""The warehouse's asset checks (pipelines/warehouse/checks.py): each passes on a good warehouse built by hand
and fails on one crafted to break exactly what it guards; the French message says what and where."""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest

from indicator_fixture import build_warehouse
from pipelines.warehouse import checks
from pipelines.warehouse.models import build

A, B = "PRE51230", "PRE51454"
SITES = [{"code_pre": A, "departement": "51", "region": "44"}, {"code_pre": B, "departement": "51", "region": "44"}]


def pseudo(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # 32 hexadecimal characters, as a pseudonym


def warehouse(con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    parcours = [{"code_pre": code, "id_parcours": pseudo(f"{code}P{i}"), "id_enfant": pseudo(f"{code}E{i}"),
                 "date_entree": "2023-01-01", "id_referent": pseudo("R1")} for code in (A, B) for i in range(3)]
    actions = [{"code_pre": A, "id_action": pseudo(f"A{i}"), "id_parcours": parcours[i]["id_parcours"],
                "volet": "SANTE", "type_action": "AUTRE", "partenaire": "CMPP", "date_debut": "2023-02-01"}
               for i in range(2)]
    con = build_warehouse(sites=SITES, depots=[{"code_pre": A, "date_extraction": "2024-06-30"},
                                               {"code_pre": B, "date_extraction": "2024-01-31"}],
                          parcours=parcours, actions=actions, con=con)
    con.execute("update ingestion.parcours set id_famille = md5(id_famille)")  # the fixture's family ids in clear
    build(con)
    return con


@pytest.fixture
def con():
    con = warehouse()
    yield con
    con.close()


def test_a_good_warehouse_passes_every_check(con):
    assert checks.indicators_consistent(con).passed
    assert checks.rows_match_ledger(con).passed
    for table in ("parcours", "actions", "bilans", "attentes"):
        assert checks.unique_keys(con, table).passed, table
    marts = [t for (t,) in con.execute("select distinct table_name from duckdb_columns() "
                                       "where schema_name = 'marts'").fetchall()]
    assert {"parcours", "depots", "indicateurs"} <= set(marts)
    for mart in marts:
        outcome = checks.no_clear_identifier(con, mart)
        assert outcome.passed, outcome.message
    assert checks.volume_stable(con).passed
    assert checks.sites_fresh(con, 365, today=date(2024, 12, 31)).passed  # B: 335 days


def test_incoherent_indicators_are_named(con):
    con.execute("insert into marts.indicateurs select * from marts.indicateurs where indicateur = 'entrees' "
                "and niveau = 'national' and periode = '2023'")
    con.execute("update marts.indicateurs set valeur = 120 where indicateur = 'part_filles' and niveau = 'pre' "
                "and territoire = ? and periode = '2023'", [A])
    con.execute("update marts.indicateurs set valeur = valeur + 1 where indicateur = 'parcours_actifs' and "
                "niveau = 'pre' and territoire = ? and periode = '2023'", [B])
    con.execute("update marts.indicateurs set borne_basse = 99 where indicateur = 'part_qpv' and niveau = 'pre' "
                "and territoire = ? and periode = '2023'", [A])
    outcome = checks.indicators_consistent(con)
    assert not outcome.passed
    assert outcome.message.startswith("marts.indicateurs : 1 clé en double (entrees//national/FR/2023)")
    assert f"part_filles//pre/{A}/2023 : part hors de 0 à 100" in outcome.message
    assert f"parcours_actifs//pre/{B}/2023 : compte différent de son effectif" in outcome.message
    assert f"part_qpv//pre/{A}/2023 : borne basse au-dessus de la valeur" in outcome.message
    assert outcome.metadata["lignes_incoherentes"] == 3 and outcome.metadata["cles_en_double"] == 1


def test_rows_that_differ_from_the_ledger_are_named(con):
    con.execute("delete from ingestion.parcours where code_pre = ? and id_parcours = ?", [B, pseudo(f"{B}P0")])
    outcome = checks.rows_match_ledger(con)
    assert not outcome.passed
    assert outcome.message == (f"1 écart entre l'entrepôt et le registre des dépôts ({B}, parcours : 2 lignes pour "
                               "3 au registre).")


def test_a_duplicate_identifier_is_found(con):
    con.execute("insert into ingestion.actions select * from ingestion.actions limit 1")
    outcome = checks.unique_keys(con, "actions")
    assert not outcome.passed and outcome.message == f"marts.actions : 1 identifiant en double (id_action) : {A} (1)."
    assert checks.unique_keys(con, "parcours").passed


@pytest.mark.parametrize(("column", "value"), [("id_enfant", "E1"), ("code_commune", "jean.dupont@exemple.fr"),
                                               ("niveau_scolaire", "06 12 34 56 78"),
                                               ("code_qpv", "1850575123456")])
def test_an_identifier_in_clear_is_found_and_not_repeated(con, column, value):
    con.execute(f"update ingestion.parcours set {column} = ? where id_parcours = ?", [value, pseudo(f"{A}P1")])
    outcome = checks.no_clear_identifier(con, "parcours")
    assert not outcome.passed
    assert outcome.message == ("marts.parcours : valeurs qui ressemblent à des données personnelles en clair (valeurs "
                               f"non reproduites) : colonne {column} (1).")
    assert value not in outcome.message


def test_a_value_in_clear_counts_every_row_that_holds_it(con):
    """Text columns other than identifiers are tested once per distinct value: the count is still of rows."""
    con.execute("update ingestion.parcours set code_commune = 'jean.dupont@exemple.fr' where code_pre = ?", [A])
    con.execute("update ingestion.parcours set niveau_scolaire = '06 12 34 56 78' where id_parcours = ?",
                [pseudo(f"{B}P0")])
    outcome = checks.no_clear_identifier(con, "parcours")
    assert not outcome.passed and outcome.metadata["valeurs_suspectes"] == 4
    assert "colonne code_commune (3)" in outcome.message and "colonne niveau_scolaire (1)" in outcome.message


def test_the_portal_sender_s_address_is_allowed_in_the_ledger(con):
    con.execute("update ingestion.depots set depose_par = 'coordination@reims.fr'")
    build(con)
    assert checks.no_clear_identifier(con, "depots").passed
    con.execute("update ingestion.depots set fichier = 'export de jean.dupont@exemple.fr.zip'")
    build(con)
    assert not checks.no_clear_identifier(con, "depots").passed


def test_a_site_whose_volume_halves_is_flagged_but_small_moves_are_not(con):
    def depot(sha: str, extraction: str, n: int, in_force: bool) -> None:
        con.execute("update ingestion.depots set en_vigueur = false where code_pre = ? and ?", [A, in_force])
        con.execute(
            "insert into ingestion.depots (sha256, fichier, code_pre, date_extraction, recu_le, traite_le, statut, "
            "en_vigueur, nb_bloquants, nb_avertissements, nb_parcours, rapport, chemin) values "
            "(?, 'f.zip', ?, ?, now(), now(), 'accepte', ?, 0, 0, ?, 'r', 'c')", [sha, A, extraction, in_force, n])

    con.execute("delete from ingestion.depots where code_pre = ?", [A])
    depot("s1", "2023-06-30", 100, False)
    depot("s2", "2024-06-30", 45, True)  # 100 → 45: fell by more than half
    outcome = checks.volume_stable(con)
    assert not outcome.passed and f"{A} (100 → 45)" in outcome.message
    con.execute("update ingestion.depots set nb_parcours = 60 where sha256 = 's2'")
    assert checks.volume_stable(con).passed  # 100 → 60
    con.execute("update ingestion.depots set nb_parcours = 12 where sha256 = 's1'")
    con.execute("update ingestion.depots set nb_parcours = 19 where sha256 = 's2'")
    assert checks.volume_stable(con).passed  # 12 → 19: too small to judge


def test_a_stale_site_is_flagged_with_its_age(con):
    outcome = checks.sites_fresh(con, 365, today=date(2025, 2, 1))
    assert not outcome.passed
    assert outcome.message == ("1 site sans données extraites depuis plus de 365 jours (PRE_FRAICHEUR_JOURS) : "
                               f"{B}, extraites le 31/01/2024 (367 jours).")  # 2024 has 366 days
    assert outcome.metadata["plus_ancien_jours"] == 367


def test_a_failing_blocking_check_stops_the_publication_and_says_why(tmp_path, monkeypatch):
    """Through the publication job (pre-eval process with an empty inbox): the published copy is not replaced."""
    from pipelines.common.datahome import DataHome
    from pipelines.process import process
    from pipelines.publication.published import published_path

    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("PRE_PROCESSUS", "1")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    con = duckdb.connect(str(home.warehouse))
    warehouse(con)
    con.execute("insert into ingestion.actions select * from ingestion.actions limit 1")  # a duplicate action
    con.close()
    result = process(home)
    assert not published_path(home).exists()
    assert any(e.startswith("contrôle de l'entrepôt « cles_uniques » en échec : marts.actions : 1 identifiant en "
                            "double") and e.endswith("La copie publiée en vigueur reste inchangée.")
               for e in result.errors), result.errors

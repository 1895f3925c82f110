"""The indicator catalogue and the SQL agree: every catalogue indicator is produced, with its
categories, and nothing the catalogue lacks is produced."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.warehouse.catalogue import catalogue, catalogue_categories
from pipelines.warehouse.models import SQL_DIR, build
from pipelines.warehouse.store import ensure_schema

PARTNERS = ["EDUCATION_NATIONALE", "CMPP", "CAMSP", "PMI", "PROFESSIONNEL_LIBERAL", "ASSOCIATION", "CENTRE_SOCIAL",
            "CAF", "CONSEIL_DEPARTEMENTAL", "COMMUNE", "AUTRE"]
ACTION_TYPES = ["ACCOMPAGNEMENT_SCOLARITE", "COUP_DE_POUCE_LANGAGE", "LIEN_ECOLE_FAMILLE", "ACTIVITE_SPORTIVE",
                "ACTIVITE_CULTURELLE", "SEJOUR_VACANCES", "LOISIRS", "GROUPE_PAROLE_PARENTS", "ENTRETIEN_FAMILIAL",
                "GUIDANCE_FAMILIALE", "MEDIATION", "BILAN_SANTE", "BILAN_PSYCHOMOTRICITE", "PSYCHOMOTRICITE",
                "ORTHOPHONIE", "SUIVI_PSYCHOLOGIQUE", "ORIENTATION_SOIN", "AUTRE"]

# Transcribed by hand from the specification (indicators.md), with their breakdowns.
SPEC = {
    "enfants_suivis": None, "parcours_actifs": None, "entrees": None, "sorties": None,
    "duree_moyenne_mois": None, "duree_mediane_mois": None, "part_filles": None, "part_qpv": None,
    "part_age": ["2_5", "6_10", "11_16", "17_plus"], "part_orientation_ecole": None,
    "enfants_par_referent": None, "actions": ["SCOLARITE", "EDUCATIF", "PARENTALITE", "SANTE"],
    "actions_par_enfant": None, "taux_assiduite": None, "cout_par_enfant": None,
    "part_sorties_objectifs_atteints": None, "part_sorties_relais": None, "taux_objectifs_atteints": None,
    # indicators.md v2, "What the field asked for"
    "part_orientation": ["ECOLE", "SERVICE_SOCIAL", "PMI_SANTE", "FAMILLE", "CENTRE_SOCIAL", "PREVENTION_SPECIALISEE",
                         "PROTECTION_ENFANCE", "AUTRE"],
    "actions_par_partenaire": ["EDUCATION_NATIONALE", "CMPP", "CAMSP", "PMI", "PROFESSIONNEL_LIBERAL", "ASSOCIATION",
                               "CENTRE_SOCIAL", "CAF", "CONSEIL_DEPARTEMENTAL", "COMMUNE", "AUTRE"],
    "part_suivi_6_mois": None,
    "partenaires_par_parcours": None, "part_parcours_multipartenaires": None,
    **{code: ["ACCOMPAGNEMENT_SCOLARITE", "COUP_DE_POUCE_LANGAGE", "LIEN_ECOLE_FAMILLE", "ACTIVITE_SPORTIVE",
              "ACTIVITE_CULTURELLE", "SEJOUR_VACANCES", "LOISIRS", "GROUPE_PAROLE_PARENTS", "ENTRETIEN_FAMILIAL",
              "GUIDANCE_FAMILIALE", "MEDIATION", "BILAN_SANTE", "BILAN_PSYCHOMOTRICITE", "PSYCHOMOTRICITE",
              "ORTHOPHONIE", "SUIVI_PSYCHOLOGIQUE", "ORIENTATION_SOIN", "AUTRE"]
       for code in ("enfants_type_action", "taux_assiduite_type_action")},
    "progression_note": ["scolarite", "comportement", "sante", "parentalite"],
    "part_guidance_18_mois": None, "familles_par_referent_guidance": None,
    "part_referents_guidance_au_dela_norme": None,
    # the project's own (the spec lets it add more): the exits by reason, as exchange-format.md lists them,
    # and attendance and cost per partner
    "part_motif_sortie": ["OBJECTIFS_ATTEINTS", "RELAIS_DROIT_COMMUN", "DEMENAGEMENT", "LIMITE_AGE", "ARRET_FAMILLE",
                          "AUTRE"],
    **{code: ["EDUCATION_NATIONALE", "CMPP", "CAMSP", "PMI", "PROFESSIONNEL_LIBERAL", "ASSOCIATION", "CENTRE_SOCIAL",
              "CAF", "CONSEIL_DEPARTEMENTAL", "COMMUNE", "AUTRE"]
       for code in ("taux_assiduite_partenaire", "cout_actions_partenaire")},
    **{code: ["PRE", "CMPP", "CAMSP", "CMP", "ORTHOPHONISTE", "PSYCHOMOTRICIEN", "PSYCHOLOGUE",
              "PEDOPSYCHIATRIE", "AUTRE"]
       for code in ("demandes_attente", "en_attente_fin_periode", "attente_mediane_jours", "part_rdv_sous_90_jours")},
    # the project's additions for issue 14 (ajout: true): pathways per partner × volet, sessions and cost per
    # action type, progression with and without an evaluated action type (actions_evaluees.yaml)
    "parcours_partenaire_volet": [f"{p}:{v}" for p in PARTNERS for v in ("SCOLARITE", "EDUCATIF", "PARENTALITE",
                                                                         "SANTE")],
    **{code: ACTION_TYPES for code in ("seances_prevues_type_action", "seances_realisees_type_action",
                                        "cout_par_enfant_type_action")},
    **{code: [f"{t}:{d}" for t in ("PSYCHOMOTRICITE", "BILAN_PSYCHOMOTRICITE", "ORTHOPHONIE", "COUP_DE_POUCE_LANGAGE",
                                   "SUIVI_PSYCHOLOGIQUE", "GUIDANCE_FAMILIALE")
              for d in ("scolarite", "comportement", "sante", "parentalite")]
       for code in ("progression_note_avec_action", "progression_note_sans_action")},
}
ADDED = {"part_motif_sortie", "taux_assiduite_partenaire", "cout_actions_partenaire", "parcours_partenaire_volet",
         "seances_prevues_type_action",
         "seances_realisees_type_action", "cout_par_enfant_type_action", "progression_note_avec_action",
         "progression_note_sans_action"}


# indicators.md v2, "Uncertainty": the shares with a Wilson interval, the Kaplan–Meier ones; every other
# indicator has NULL bounds.
WILSON = {"part_filles", "part_qpv", "part_age", "part_orientation", "part_orientation_ecole",
          "part_sorties_objectifs_atteints", "part_sorties_relais", "part_parcours_multipartenaires",
          "part_suivi_6_mois", "part_guidance_18_mois", "part_referents_guidance_au_dela_norme"}
KAPLAN_MEIER = {"attente_mediane_jours", "part_rdv_sous_90_jours"}
# The service norms' defaults (indicators.md v2): the referential of norms holds them.
NORMS = {"suivi_debut_jours": 120, "suivi_fin_jours": 240, "guidance_duree_mois": 18,
         "guidance_familles_par_referent": 10}


@pytest.fixture(scope="module")
def produced():
    con = duckdb.connect()
    ensure_schema(con)
    con.execute("insert into ingestion.sites values ('PRE51454', 'Reims', '51454', '51', '44', 'x')")
    con.execute("""insert into ingestion.depots (sha256, fichier, code_pre, date_extraction, recu_le, traite_le,
        statut, en_vigueur, nb_bloquants, nb_avertissements, rapport, chemin)
        values ('s', 'f.zip', 'PRE51454', date '2024-06-30', now(), now(), 'accepte', true, 0, 0, 'r', 'c')""")
    con.execute("""insert into ingestion.parcours by name select 'PRE51454' as code_pre, 'P1' as id_parcours,
        'E1' as id_enfant, 'F' as sexe, 2015 as annee_naissance, 'CE1' as niveau_scolaire, '51454' as code_commune,
        date '2023-01-01' as date_orientation, 'ECOLE' as origine_orientation, 'SCOLARITE' as motif_orientation,
        date '2023-02-01' as date_entree, 'R1' as id_referent""")
    build(con)
    rows = con.execute("select indicateur, categorie, count(*) from marts.indicateurs group by all").fetchall()
    con.close()
    return rows


def test_catalogue_is_the_spec():
    assert {i.code for i in catalogue()} == set(SPEC)
    categories = catalogue_categories()
    for ind in catalogue():
        expected = SPEC[ind.code]
        got = list(categories[ind.categories]) if ind.categories else None
        assert (sorted(got) if got else None) == (sorted(expected) if expected else None), ind.code


def test_the_project_s_additions_are_marked():
    # every indicator the specification does not list says so, in its entry and on the methodology page
    assert {i.code for i in catalogue() if i.ajout} >= ADDED - {"part_motif_sortie", "taux_assiduite_partenaire",
                                                                 "cout_actions_partenaire"}
    for ind in catalogue():
        if ind.ajout:
            assert ind.code in ADDED and ind.definition.startswith("Ajout du projet."), ind.code


def test_product_sets_are_a_major_with_joined_labels():
    categories = catalogue_categories()
    couples = categories["partenaires_volets"]
    assert list(couples)[:5] == ["EDUCATION_NATIONALE:SCOLARITE", "EDUCATION_NATIONALE:EDUCATIF",
                                 "EDUCATION_NATIONALE:PARENTALITE", "EDUCATION_NATIONALE:SANTE", "CMPP:SCOLARITE"]
    assert couples["CMPP:SANTE"] == f"{categories['partenaires']['CMPP']} — {categories['volets']['SANTE']}"
    assert list(categories["types_action_evalues"]) == ["PSYCHOMOTRICITE", "BILAN_PSYCHOMOTRICITE", "ORTHOPHONIE",
                                                        "COUP_DE_POUCE_LANGAGE", "SUIVI_PSYCHOLOGIQUE",
                                                        "GUIDANCE_FAMILIALE"]
    assert categories["types_action_evalues"]["PSYCHOMOTRICITE"] == categories["types_action"]["PSYCHOMOTRICITE"]
    couples = categories["types_evalues_domaines"]
    assert list(couples)[:5] == ["PSYCHOMOTRICITE:scolarite", "PSYCHOMOTRICITE:comportement",
                                 "PSYCHOMOTRICITE:sante", "PSYCHOMOTRICITE:parentalite",
                                 "BILAN_PSYCHOMOTRICITE:scolarite"]
    assert couples["ORTHOPHONIE:sante"] == \
        f"{categories['types_action']['ORTHOPHONIE']} — {categories['domaines_note']['sante']}"


def test_evaluated_actions_referential_holds_the_defaults():
    from pipelines.warehouse.catalogue import evaluated_actions

    assert evaluated_actions() == {
        "PSYCHOMOTRICITE": ["PSYCHOMOTRICIEN", "CMPP", "CAMSP"],
        "BILAN_PSYCHOMOTRICITE": ["PSYCHOMOTRICIEN", "CMPP", "CAMSP"],
        "ORTHOPHONIE": ["ORTHOPHONISTE", "CMPP", "CAMSP"],
        "COUP_DE_POUCE_LANGAGE": ["ORTHOPHONISTE"],
        "SUIVI_PSYCHOLOGIQUE": ["PSYCHOLOGUE", "CMP", "CMPP", "PEDOPSYCHIATRIE"],
        "GUIDANCE_FAMILIALE": ["CMPP", "CMP"],
    }


def test_catalogue_entries_are_complete():
    for ind in catalogue():
        for field in ("libelle", "definition", "unite", "effectif", "theme"):
            assert getattr(ind, field), (ind.code, field)
        assert ind.format in {"entier", "decimal1", "pourcentage", "euros"}, ind.code
        assert ind.sens in {"hausse_favorable", "baisse_favorable", "neutre"}, ind.code
        assert (SQL_DIR / ind.sql).is_file(), ind.sql


def test_every_catalogue_indicator_and_category_is_produced_and_nothing_else(produced):
    produced_pairs = {(code, cat) for code, cat, _ in produced}
    expected_pairs = {(i.code, c) for i in catalogue() for c in i.category_values()}
    assert produced_pairs == expected_pairs


def test_methodology_page_is_up_to_date():
    from pipelines.publication.methodology import methodology_markdown
    from support import REPO_ROOT

    committed = (REPO_ROOT / "docs" / "indicateurs.md").read_text(encoding="utf-8")
    assert committed == methodology_markdown(), "régénérez : pre-eval docs --methodologie docs/indicateurs.md"
    for ind in catalogue():
        assert f"`{ind.code}`" in committed


def test_intervals_are_the_spec_s():
    assert {i.code for i in catalogue() if i.intervalle == "wilson"} == WILSON
    assert {i.code for i in catalogue() if i.intervalle == "kaplan_meier"} == KAPLAN_MEIER
    assert {i.intervalle for i in catalogue()} == {"wilson", "kaplan_meier", None}
    # a Wilson interval is that of a count over effectif: the disclosure rules' shares
    assert all(i.nature == "part" for i in catalogue() if i.intervalle == "wilson")


def test_norms_referential_holds_the_spec_defaults():
    from pipelines.warehouse.catalogue import norms

    assert {name: n["valeur"] for name, n in norms().items()} == NORMS
    assert all(n["libelle"] and n["unite"] for n in norms().values())


def test_norm_values_are_read_from_the_referential_not_written_in_the_sql():
    # The SQL of the norm indicators names the norms; the default values appear nowhere in it.
    import re

    for relative in ("indicateurs/suivi.sql", "indicateurs/guidance.sql"):
        code = re.sub(r"--[^\n]*", "", (SQL_DIR / relative).read_text(encoding="utf-8"))
        assert "referentiel.normes" in code, relative
        for value in ("120", "240", "18", "10"):
            assert not re.search(rf"\b{value}\b", code), (relative, value)

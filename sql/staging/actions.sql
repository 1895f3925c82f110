-- staging.actions: actions in force.
create schema if not exists staging;
create or replace view staging.actions as
select
    code_pre,
    id_action,
    id_parcours,
    volet,
    type_action,
    partenaire,
    date_debut,
    date_fin,
    seances_prevues,
    seances_realisees,
    cout_euros
from ingestion.actions;

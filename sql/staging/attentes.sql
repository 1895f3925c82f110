-- staging.attentes: waiting-list requests in force.
create schema if not exists staging;
create or replace view staging.attentes as
select
    code_pre,
    id_demande,
    id_enfant,
    id_parcours,
    structure,
    date_demande,
    date_premier_rdv,
    date_abandon
from ingestion.attentes;

-- staging.bilans: assessments in force.
create schema if not exists staging;
create or replace view staging.bilans as
select
    code_pre,
    id_bilan,
    id_parcours,
    type_bilan,
    date_bilan,
    objectifs_fixes,
    objectifs_atteints,
    note_scolarite,
    note_comportement,
    note_sante,
    note_parentalite
from ingestion.bilans;

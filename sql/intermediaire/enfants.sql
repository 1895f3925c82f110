-- intermediaire.enfants: one row per (site, child) with the sex of the child's latest pathway.
create schema if not exists intermediaire;
create or replace table intermediaire.enfants as
select
    code_pre,
    id_enfant,
    first(sexe order by date_entree desc, date_sortie desc nulls first, id_parcours) as sexe
from staging.parcours
group by code_pre, id_enfant;

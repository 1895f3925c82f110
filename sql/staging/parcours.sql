-- staging.parcours: pathways in force, typed as in the exchange format (ids already re-keyed).
create schema if not exists staging;
create or replace view staging.parcours as
select
    code_pre,
    id_parcours,
    id_enfant,
    id_famille,
    id_referent,
    sexe,
    annee_naissance,
    code_qpv,
    origine_orientation,
    date_entree,
    date_sortie,
    motif_sortie
from ingestion.parcours;

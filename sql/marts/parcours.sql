-- marts.parcours: the snapshots in force of every site, one row per source row, identifiers
-- re-keyed, with the exchange format's column names and types plus code_pre.
create or replace view marts.parcours as
with source as (
    select * from ingestion.parcours
),

final as (
    select
        code_pre,
        id_parcours,
        id_enfant,
        id_famille,
        sexe,
        annee_naissance,
        niveau_scolaire,
        code_commune,
        code_qpv,
        date_orientation,
        origine_orientation,
        motif_orientation,
        date_decision_eps,
        date_entree,
        date_sortie,
        motif_sortie,
        id_referent
    from source
)

select * from final;

-- marts.bilans: the snapshots in force of every site, one row per source row, identifiers
-- re-keyed, with the exchange format's column names and types plus code_pre.
create or replace view marts.bilans as
with source as (
    select * from ingestion.bilans
),

final as (
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
    from source
)

select * from final;

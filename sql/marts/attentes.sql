-- marts.attentes: the snapshots in force of every site, one row per source row, identifiers
-- re-keyed, with the exchange format's column names and types plus code_pre.
create or replace view marts.attentes as
with source as (
    select * from ingestion.attentes
),

final as (
    select
        code_pre,
        id_demande,
        id_enfant,
        id_parcours,
        structure,
        date_demande,
        date_premier_rdv,
        date_abandon
    from source
)

select * from final;

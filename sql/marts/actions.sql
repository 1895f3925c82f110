-- marts.actions: the snapshots in force of every site, one row per source row, identifiers
-- re-keyed, with the exchange format's column names and types plus code_pre.
create or replace view marts.actions as
with source as (
    select * from ingestion.actions
),

final as (
    select
        code_pre,
        id_action,
        id_parcours,
        volet,
        type_action,
        modalite,
        partenaire,
        date_debut,
        date_fin,
        seances_prevues,
        seances_realisees,
        cout_euros
    from source
)

select * from final;

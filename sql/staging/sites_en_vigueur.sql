-- staging.sites_en_vigueur: sites whose snapshot is in force, with their territory and dates.
create schema if not exists staging;
create or replace view staging.sites_en_vigueur as
with depots as (
    select code_pre, date_extraction, date_debut_donnees
    from ingestion.depots
    where en_vigueur
),

premiere_entree as (
    select code_pre, min(date_entree) as premiere_date_entree
    from ingestion.parcours
    group by code_pre
),

final as (
    select
        d.code_pre,
        s.nom,
        s.departement,
        s.region,
        d.date_extraction,
        -- default start of the data: the earliest date_entree of the snapshot
        coalesce(d.date_debut_donnees, e.premiere_date_entree) as date_debut_donnees
    from depots as d
    left join ingestion.sites as s using (code_pre)
    left join premiere_entree as e using (code_pre)
)

select * from final;

-- marts.sites: the site referential (shipped file plus the data home's additions).
create or replace table marts.sites as
with source as (
    select * from ingestion.sites
),

final as (
    select
        code_pre,
        nom,
        code_commune,
        departement,
        region,
        porteur
    from source
)

select * from final order by code_pre;

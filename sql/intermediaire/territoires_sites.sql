-- intermediaire.territoires_sites: each site in force belongs to four territories
-- (pre, departement, region, national); upper levels pool the records of their sites.
create schema if not exists intermediaire;
create or replace table intermediaire.territoires_sites as
with sites as (
    select code_pre, departement, region, date_extraction, date_debut_donnees
    from staging.sites_en_vigueur
),

final as (
    select code_pre, 'pre' as niveau, code_pre as territoire, date_extraction, date_debut_donnees from sites
    union all
    select code_pre, 'departement', departement, date_extraction, date_debut_donnees from sites
    where departement is not null
    union all
    select code_pre, 'region', region, date_extraction, date_debut_donnees from sites
    where region is not null
    union all
    select code_pre, 'national', 'FR', date_extraction, date_debut_donnees from sites
)

select * from final;

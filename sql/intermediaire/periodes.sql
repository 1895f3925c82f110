-- intermediaire.periodes: every calendar year (AAAA) and school year (AAAA-AAAA, 1 Sept–31 Aug)
-- overlapping [earliest date_entree, latest date_extraction] of the snapshots in force.
create schema if not exists intermediaire;
create or replace table intermediaire.periodes as
with bornes as (
    select
        (select min(date_entree) from staging.parcours) as debut,
        (select max(date_extraction) from staging.sites_en_vigueur) as fin
),

civiles as (
    select
        cast(y as varchar) as periode,
        'civile' as type_periode,
        make_date(cast(y as integer), 1, 1) as d0,
        make_date(cast(y as integer), 12, 31) as d1
    from bornes, range(year(debut), year(fin) + 1) as t(y)
    where debut is not null and fin is not null
),

scolaires as (
    select
        cast(y as varchar) || '-' || cast(y + 1 as varchar) as periode,
        'scolaire' as type_periode,
        make_date(cast(y as integer), 9, 1) as d0,
        make_date(cast(y as integer) + 1, 8, 31) as d1
    from bornes,
        range(year(debut) - (case when month(debut) < 9 then 1 else 0 end),
              year(fin) - (case when month(fin) < 9 then 1 else 0 end) + 1) as t(y)
    where debut is not null and fin is not null
),

final as (
    select * from civiles
    union all
    select * from scolaires
)

select * from final order by type_periode, d0;

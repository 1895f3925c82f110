-- Referral sources of the entries (date_entree in the period) and exit reasons of the exits
-- (date_sortie in the period) of one territory's sites: counts per code.
with periode as (
    select debut, fin from marts.periodes where periode = $periode
),

sites as (
    select code_pre from marts.sites
    where $niveau = 'national'
        or ($niveau = 'region' and region = $territoire)
        or ($niveau = 'departement' and departement = $territoire)
        or ($niveau = 'pre' and code_pre = $territoire)
),

parcours as (
    select p.* from marts.parcours as p inner join sites using (code_pre)
),

final as (
    select 'origine' as dimension, p.origine_orientation as code, count(*) as n
    from parcours as p, periode as per
    where p.date_entree between per.debut and per.fin
    group by all
    union all
    select 'motif_sortie', coalesce(p.motif_sortie, ''), count(*)
    from parcours as p, periode as per
    where p.date_sortie between per.debut and per.fin
    group by all
)

select * from final
order by dimension, code

-- Coverage of the 6-month follow-up, for every territory, for one period: among the exits of the
-- period at least 7 months before the site's extraction date (the follow-up is due about 6 months
-- after exit), the share with a SUIVI_6_MOIS assessment. effectif = those due exits.
with periode as (
    select debut, fin from marts.periodes where periode = $periode
),

sites as (
    select s.code_pre, s.departement, s.region, d.date_extraction
    from marts.sites as s
    inner join marts.depots as d on d.code_pre = s.code_pre and d.en_vigueur and d.statut = 'accepte'
),

territoires as (
    select code_pre, 'pre' as niveau, code_pre as territoire, coalesce(departement, '') as parent from sites
    union all
    select code_pre, 'departement', departement, coalesce(region, '') from sites where departement is not null
    union all
    select code_pre, 'region', region, 'FR' from sites where region is not null
    union all
    select code_pre, 'national', 'FR', '' from sites
),

suivis as (
    select distinct code_pre, id_parcours from marts.bilans where type_bilan = 'SUIVI_6_MOIS'
),

dues as (
    select p.code_pre, s.id_parcours is not null as suivi
    from marts.parcours as p
    cross join periode as per
    inner join sites as si using (code_pre)
    left join suivis as s using (code_pre, id_parcours)
    where p.date_sortie between per.debut and per.fin
        and p.date_sortie + interval 7 month <= si.date_extraction
),

final as (
    select
        'suivi_6_mois' as indicateur, '' as categorie, t.niveau, t.territoire, $periode as periode,
        100.0 * count(*) filter (where d.suivi) / nullif(count(d.code_pre), 0) as valeur,
        count(d.code_pre) as effectif,
        t.parent
    from territoires as t
    left join dues as d using (code_pre)
    group by t.niveau, t.territoire, t.parent
)

select * from final
order by niveau, territoire

-- Every published (masked) indicator of one period, with the territory's parent (the upper level
-- whose figure is the pooled total of its children): every territory ($niveau = '*'), or one
-- family of territories (one level, one parent).
with parents as (
    select distinct 'pre' as niveau, code_pre as territoire, coalesce(departement, '') as parent from marts.sites
    union all
    select distinct 'departement', departement, coalesce(region, '') from marts.sites where departement is not null
    union all
    select distinct 'region', region, 'FR' from marts.sites where region is not null
    union all
    select 'national', 'FR', ''
),

final as (
    select i.indicateur, i.categorie, i.niveau, i.territoire, i.periode, i.valeur, i.effectif,
        coalesce(p.parent, '') as parent, i.masque
    from marts.indicateurs as i
    left join parents as p using (niveau, territoire)
    where i.periode = $periode
        and ($niveau = '*' or (i.niveau = $niveau and coalesce(p.parent, '') = $parent))
)

select * from final
order by indicateur, niveau, territoire, categorie

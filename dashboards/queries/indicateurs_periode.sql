-- Every published (masked) indicator of one period, with the territory's parent (the upper level
-- whose figure is the pooled total of its children): every territory ($niveau = '*'), or one
-- family of territories (one level, one parent). `borne_basse` / `borne_haute`: the value's 95 %
-- interval (null when the indicator has none, and on masked rows).
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
    -- i.*: an edition frozen before the intervals has no bound columns (`data.with_bounds` adds them).
    select i.*, coalesce(p.parent, '') as parent
    from marts.indicateurs as i
    left join parents as p using (niveau, territoire)
    where i.periode = $periode
        and ($niveau = '*' or (i.niveau = $niveau and coalesce(p.parent, '') = $parent))
)

select * from final
order by indicateur, niveau, territoire, categorie

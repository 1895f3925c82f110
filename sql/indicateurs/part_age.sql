-- part_age: share of entries (E) by age band at entry (year(date_entree) − annee_naissance);
-- ages under 2 count in 2_5. One row per band, zeros included.
with tranches as (
    select categorie from referentiel.categories where liste = 'tranches_age'
),

entrees as (
    select
        t.niveau, t.territoire, pp.periode,
        case
            when pp.age_entree <= 5 then '2_5'
            when pp.age_entree <= 10 then '6_10'
            when pp.age_entree <= 16 then '11_16'
            else '17_plus'
        end as categorie
    from intermediaire.parcours_periodes as pp
    inner join intermediaire.territoires_sites as t using (code_pre)
    where pp.entree
),

par_tranche as (
    select niveau, territoire, periode, categorie, count(*) as n
    from entrees
    group by all
),

totaux as (
    select niveau, territoire, periode, count(*) as e
    from entrees
    group by all
),

final as (
    select
        'part_age' as indicateur,
        tr.categorie,
        g.niveau, g.territoire, g.periode,
        case when coalesce(tot.e, 0) > 0 then 100.0 * coalesce(pt.n, 0) / tot.e end as valeur,
        coalesce(tot.e, 0) as effectif
    from intermediaire.grille as g
    cross join tranches as tr
    left join totaux as tot using (niveau, territoire, periode)
    left join par_tranche as pt
        on pt.niveau = g.niveau and pt.territoire = g.territoire and pt.periode = g.periode
        and pt.categorie = tr.categorie
)

select * from final

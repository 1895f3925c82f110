-- taux_objectifs_atteints: 100 × Σ objectifs_atteints / Σ objectifs_fixes over SORTIE assessments
-- dated in P with objectifs_fixes > 0; effectif = number of such assessments.
with bilans as (
    select t.niveau, t.territoire, per.periode, b.objectifs_fixes, b.objectifs_atteints
    from staging.bilans as b
    inner join intermediaire.periodes as per on b.date_bilan between per.d0 and per.d1
    inner join intermediaire.territoires_sites as t using (code_pre)
    where b.type_bilan = 'SORTIE' and b.objectifs_fixes > 0
),

totaux as (
    select niveau, territoire, periode, count(*) as n,
        sum(objectifs_atteints) as atteints, sum(objectifs_fixes) as fixes
    from bilans
    group by all
),

final as (
    select
        'taux_objectifs_atteints' as indicateur, '' as categorie, g.niveau, g.territoire, g.periode,
        case when coalesce(t.n, 0) > 0 then 100.0 * t.atteints / t.fixes end as valeur,
        coalesce(t.n, 0) as effectif
    from intermediaire.grille as g
    left join totaux as t using (niveau, territoire, periode)
)

select * from final

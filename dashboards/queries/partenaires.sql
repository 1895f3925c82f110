-- Actions started in one period, per partner, for every territory (sites pooled at upper levels).
-- Attendance as in taux_assiduite: actions with both session counts filled and seances_prevues > 0.
with periode as (
    select debut, fin from marts.periodes where periode = $periode
),

territoires as (
    select code_pre, 'pre' as niveau, code_pre as territoire, coalesce(departement, '') as parent from marts.sites
    union all
    select code_pre, 'departement', departement, coalesce(region, '') from marts.sites where departement is not null
    union all
    select code_pre, 'region', region, 'FR' from marts.sites where region is not null
    union all
    select code_pre, 'national', 'FR', '' from marts.sites
),

actions as (
    select a.*, a.seances_prevues > 0 and a.seances_realisees is not null as assiduite_connue
    from marts.actions as a, periode as p
    where a.date_debut between p.debut and p.fin
),

final as (
    select
        t.niveau, t.territoire, t.parent, a.partenaire,
        count(*) as actions,
        count(*) filter (where a.assiduite_connue) as n_assiduite,
        100.0 * sum(a.seances_realisees) filter (where a.assiduite_connue)
            / sum(a.seances_prevues) filter (where a.assiduite_connue) as taux_assiduite,
        coalesce(sum(a.cout_euros), 0) as cout_total
    from actions as a
    inner join territoires as t using (code_pre)
    group by all
)

select * from final
order by niveau, territoire, partenaire

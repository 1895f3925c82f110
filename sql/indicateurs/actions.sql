-- Action indicators: actions (per volet), actions_par_enfant, taux_assiduite, cout_par_enfant.
-- Every action of the territory's sites with date_debut in P counts, whatever its pathway.
with volets as (
    select categorie from referentiel.categories where liste = 'volets'
),

-- Counts and sums are additive: aggregate per site and period first, then add the sites of each
-- territory (four levels), instead of copying every action four times.
par_site as (
    select
        a.code_pre, per.periode, a.volet,
        count(*) as n,
        -- Costs are summed as exact decimals: a sum of doubles depends on the order DuckDB adds them in.
        sum(cast(a.cout_euros as decimal(38, 6))) as cout,
        sum(a.seances_realisees) filter (where a.seances_prevues > 0 and a.seances_realisees is not null)
            as realisees,
        sum(a.seances_prevues) filter (where a.seances_prevues > 0 and a.seances_realisees is not null) as prevues,
        count(*) filter (where a.seances_prevues > 0 and a.seances_realisees is not null) as n_assiduite
    from staging.actions as a
    inner join intermediaire.periodes as per on a.date_debut between per.d0 and per.d1
    group by all
),

actions as (
    select t.niveau, t.territoire, s.*
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
),

par_volet as (
    select niveau, territoire, periode, volet as categorie, sum(n) as n
    from actions
    group by all
),

totaux as (
    select
        niveau, territoire, periode,
        sum(n) as n,
        coalesce(sum(cout), 0) as cout,
        sum(realisees) as realisees,
        sum(prevues) as prevues,
        sum(n_assiduite) as n_assiduite
    from actions
    group by all
),

enfants as (
    select niveau, territoire, periode, c
    from intermediaire.enfants_suivis
),

base as (
    select
        g.niveau, g.territoire, g.periode,
        coalesce(tot.n, 0) as n,
        coalesce(tot.cout, 0) as cout,
        tot.realisees, tot.prevues,
        coalesce(tot.n_assiduite, 0) as n_assiduite,
        coalesce(e.c, 0) as c
    from intermediaire.grille as g
    left join totaux as tot using (niveau, territoire, periode)
    left join enfants as e using (niveau, territoire, periode)
),

final as (
    select
        'actions' as indicateur, v.categorie, g.niveau, g.territoire, g.periode,
        cast(coalesce(pv.n, 0) as double) as valeur, coalesce(pv.n, 0) as effectif
    from intermediaire.grille as g
    cross join volets as v
    left join par_volet as pv
        on pv.niveau = g.niveau and pv.territoire = g.territoire and pv.periode = g.periode
        and pv.categorie = v.categorie
    union all
    select 'actions_par_enfant', '', niveau, territoire, periode,
        case when c > 0 then 1.0 * n / c end, c from base
    union all
    select 'taux_assiduite', '', niveau, territoire, periode,
        case when n_assiduite > 0 then 100.0 * realisees / prevues end, n_assiduite from base
    union all
    select 'cout_par_enfant', '', niveau, territoire, periode,
        case when c > 0 then cast(cout as double) / c end, c from base
)

select * from final

-- Per partner (partenaire), actions with date_debut in P: actions_par_partenaire (their number),
-- taux_assiduite_partenaire (100 × Σ seances_realisees / Σ seances_prevues over those with both filled
-- and seances_prevues > 0; effectif: that many actions) and cout_actions_partenaire (Σ cout_euros, nulls
-- ignored, 0 over no value; effectif: the actions). One row per listed partner, zeros included.
with partenaires as (
    select categorie from referentiel.categories where liste = 'partenaires'
),

par_site as (
    select
        a.code_pre, per.periode, a.partenaire as categorie,
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

sommes as (
    select
        t.niveau, t.territoire, s.periode, s.categorie,
        sum(s.n) as n, coalesce(sum(s.cout), 0) as cout, sum(s.realisees) as realisees,
        sum(s.prevues) as prevues, sum(s.n_assiduite) as n_assiduite
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

base as (
    select
        g.niveau, g.territoire, g.periode, p.categorie,
        coalesce(s.n, 0) as n, coalesce(s.cout, 0) as cout, s.realisees, s.prevues,
        coalesce(s.n_assiduite, 0) as n_assiduite
    from intermediaire.grille as g
    cross join partenaires as p
    left join sommes as s using (niveau, territoire, periode, categorie)
),

final as (
    select 'actions_par_partenaire' as indicateur, categorie, niveau, territoire, periode,
        cast(n as double) as valeur, n as effectif
    from base
    union all
    select 'taux_assiduite_partenaire', categorie, niveau, territoire, periode,
        case when n_assiduite > 0 then 100.0 * realisees / prevues end, n_assiduite
    from base
    union all
    select 'cout_actions_partenaire', categorie, niveau, territoire, periode,
        cast(cout as double), n
    from base
)

select * from final

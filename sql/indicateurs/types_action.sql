-- Per action type (type_action), actions with date_debut in P (indicators.md v2):
-- enfants_type_action = distinct (code_pre, id_enfant) of the pathways having such an action (effectif: that
-- number); taux_assiduite_type_action = 100 × Σ seances_realisees / Σ seances_prevues over those with both
-- filled and seances_prevues > 0 (effectif: that many actions, NULL over none). One row per listed type,
-- AUTRE and zeros included. Children are per site: counts are summed over the territory's sites.
-- The project's additions: seances_prevues_type_action and seances_realisees_type_action = Σ seances_prevues
-- (resp. seances_realisees) over exactly the actions taux_assiduite_type_action is computed on (same effectif,
-- NULL over none); cout_par_enfant_type_action = Σ cout_euros (null counted 0) over the type's actions with
-- date_debut in P / enfants_type_action's count (its effectif, NULL when 0).
with types as (
    select categorie from referentiel.categories where liste = 'types_action'
),

actions as (
    select
        a.code_pre, per.periode, a.type_action, p.id_enfant, a.seances_prevues, a.seances_realisees, a.cout_euros
    from staging.actions as a
    inner join intermediaire.periodes as per on a.date_debut between per.d0 and per.d1
    left join staging.parcours as p using (code_pre, id_parcours)
),

par_site as (
    select
        code_pre, periode, type_action as categorie,
        count(distinct id_enfant) as enfants,
        sum(seances_realisees) filter (where seances_prevues > 0 and seances_realisees is not null) as realisees,
        sum(seances_prevues) filter (where seances_prevues > 0 and seances_realisees is not null) as prevues,
        count(*) filter (where seances_prevues > 0 and seances_realisees is not null) as n_assiduite,
        -- Costs are summed as exact decimals: a sum of doubles depends on the order DuckDB adds them in.
        sum(cast(cout_euros as decimal(38, 6))) as cout
    from actions
    group by all
),

sommes as (
    select
        t.niveau, t.territoire, s.periode, s.categorie,
        sum(s.enfants) as enfants, sum(s.realisees) as realisees, sum(s.prevues) as prevues,
        sum(s.n_assiduite) as n_assiduite, sum(s.cout) as cout
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

base as (
    select
        g.niveau, g.territoire, g.periode, ty.categorie,
        coalesce(s.enfants, 0) as enfants, s.realisees, s.prevues, coalesce(s.n_assiduite, 0) as n_assiduite,
        coalesce(s.cout, 0) as cout
    from intermediaire.grille as g
    cross join types as ty
    left join sommes as s using (niveau, territoire, periode, categorie)
),

final as (
    select 'enfants_type_action' as indicateur, categorie, niveau, territoire, periode,
        cast(enfants as double) as valeur, enfants as effectif
    from base
    union all
    select 'taux_assiduite_type_action', categorie, niveau, territoire, periode,
        case when n_assiduite > 0 then 100.0 * realisees / prevues end, n_assiduite
    from base
    union all
    select 'seances_prevues_type_action', categorie, niveau, territoire, periode,
        case when n_assiduite > 0 then cast(prevues as double) end, n_assiduite
    from base
    union all
    select 'seances_realisees_type_action', categorie, niveau, territoire, periode,
        case when n_assiduite > 0 then cast(realisees as double) end, n_assiduite
    from base
    union all
    select 'cout_par_enfant_type_action', categorie, niveau, territoire, periode,
        case when enfants > 0 then cast(cout as double) / enfants end, enfants
    from base
)

select * from final

-- intermediaire.km_courbes: Kaplan–Meier survival S(t) of the wait, per territory, period and
-- structure, at every distinct time t. At equal times events are counted before censorings:
-- the number at risk at t counts every request whose time is >= t. With the 95 % band of S(t).
-- The estimate itself is the table macro of the same name, intermediaire.km_courbes(observations), the
-- one Kaplan–Meier of the warehouse: one curve per (niveau, territoire, periode, structure) of its
-- observations (columns duree_jours, evenement). marts.attentes_autour_action applies it to the windows
-- around an action's arrival at a site.
create schema if not exists intermediaire;
create or replace macro intermediaire.km_courbes(observations) as table
with temps as (
    select
        niveau, territoire, periode, structure,
        duree_jours as t,
        count(*) filter (where evenement) as evenements,
        count(*) as sorties_du_risque
    from query_table(observations)
    group by all
),

a_risque as (
    select
        *,
        sum(sorties_du_risque) over (
            partition by niveau, territoire, periode, structure
            order by t desc rows between unbounded preceding and current row
        ) as n_a_risque
    from temps
),

courbes as (
    select
        niveau, territoire, periode, structure, t, evenements, n_a_risque,
        product(1.0 - evenements / n_a_risque) over (
            partition by niveau, territoire, periode, structure
            order by t rows between unbounded preceding and current row
        ) as survie,
        -- Greenwood: Σ d / (n (n − d)) over the event times up to t; a term with d = n counts 0.
        sum(case when evenements > 0 and n_a_risque > evenements
                then cast(evenements as double) / (cast(n_a_risque as double) * (n_a_risque - evenements))
                else 0.0 end) over (
            partition by niveau, territoire, periode, structure
            order by t rows between unbounded preceding and current row
        ) as variance_greenwood
    from a_risque
),

-- The 95 % pointwise band of S(t), log(−log) transform with Greenwood's variance, as lifelines'
-- KaplanMeierFitter.confidence_interval_ (z = the normal 97.5 % quantile); where S = 1 or S = 0
-- the band equals S.
final as (
    select
        *,
        case
            when survie >= 1.0 then 1.0
            when survie <= 0.0 then 0.0
            else exp(-exp(ln(-ln(survie)) - cast(1.959963984540054 as double) * sqrt(variance_greenwood) / ln(survie)))
        end as survie_basse,
        case
            when survie >= 1.0 then 1.0
            when survie <= 0.0 then 0.0
            else exp(-exp(ln(-ln(survie)) + cast(1.959963984540054 as double) * sqrt(variance_greenwood) / ln(survie)))
        end as survie_haute
    from courbes
)

select * from final;

create or replace table intermediaire.km_courbes as
with observations as (
    select t.niveau, t.territoire, a.periode, a.structure, a.duree_jours, a.evenement
    from intermediaire.attentes_periodes as a
    inner join intermediaire.territoires_sites as t using (code_pre)
)

select * from intermediaire.km_courbes(observations);

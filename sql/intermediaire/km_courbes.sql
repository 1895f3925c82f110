-- intermediaire.km_courbes: Kaplan–Meier survival S(t) of the wait, per territory, period and
-- structure, at every distinct time t. At equal times events are counted before censorings:
-- the number at risk at t counts every request whose time is >= t.
create schema if not exists intermediaire;
create or replace table intermediaire.km_courbes as
with observations as (
    select t.niveau, t.territoire, a.periode, a.structure, a.duree_jours, a.evenement
    from intermediaire.attentes_periodes as a
    inner join intermediaire.territoires_sites as t using (code_pre)
),

temps as (
    select
        niveau, territoire, periode, structure,
        duree_jours as t,
        count(*) filter (where evenement) as evenements,
        count(*) as sorties_du_risque
    from observations
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

final as (
    select
        niveau, territoire, periode, structure, t, evenements, n_a_risque,
        product(1.0 - evenements / n_a_risque) over (
            partition by niveau, territoire, periode, structure
            order by t rows between unbounded preceding and current row
        ) as survie
    from a_risque
)

select * from final;

-- intermediaire.enfants_suivis: |C| = distinct (code_pre, id_enfant) over the pathways active in P,
-- per territory and period (the denominator of the per-child indicators). Children are per site,
-- so a territory's count is the sum of its sites' counts.
create schema if not exists intermediaire;
create or replace table intermediaire.enfants_suivis as
with par_site as (
    select code_pre, periode, count(distinct id_enfant) as c
    from intermediaire.parcours_periodes
    group by all
)

select t.niveau, t.territoire, s.periode, cast(sum(s.c) as bigint) as c
from par_site as s
inner join intermediaire.territoires_sites as t using (code_pre)
group by all;

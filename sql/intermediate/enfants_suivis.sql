-- intermediaire.enfants_suivis: |C| = distinct (code_pre, id_enfant) over the pathways active in P,
-- per territory and period (the denominator of the per-child indicators).
create schema if not exists intermediaire;
create or replace table intermediaire.enfants_suivis as
select t.niveau, t.territoire, pp.periode, count(distinct pp.code_pre || '|' || pp.id_enfant) as c
from intermediaire.parcours_periodes as pp
inner join intermediaire.territoires_sites as t using (code_pre)
group by all;

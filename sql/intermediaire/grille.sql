-- intermediaire.grille: every (territory, period) for which indicators are produced, with the
-- earliest date_extraction of the territory's sites (for end-of-period backlogs).
create schema if not exists intermediaire;
create or replace table intermediaire.grille as
with territoires as (
    select niveau, territoire, min(date_extraction) as extraction_min, count(*) as nb_sites
    from intermediaire.territoires_sites
    group by niveau, territoire
),

final as (
    select t.niveau, t.territoire, t.extraction_min, t.nb_sites, p.periode, p.type_periode, p.d0, p.d1
    from territoires as t
    cross join intermediaire.periodes as p
)

select * from final;

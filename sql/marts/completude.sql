-- marts.completude: whether each site's data cover each period, and the share of complete sites
-- behind every upper-level figure. A period is incomplete for a site when it ends after the
-- site's date_extraction or starts before its date_debut_donnees.
create or replace table marts.completude as
with sites as (
    select
        t.niveau, t.territoire, t.code_pre, p.periode,
        p.d1 <= t.date_extraction and coalesce(p.d0 >= t.date_debut_donnees, true) as complet
    from intermediaire.territoires_sites as t
    cross join intermediaire.periodes as p
),

final as (
    select
        niveau,
        territoire,
        periode,
        count(*) as nb_sites,
        count(*) filter (where complet) as nb_sites_complets,
        100.0 * count(*) filter (where complet) / count(*) as part_sites_complets,
        bool_and(complet) as complet
    from sites
    group by all
)

select * from final order by niveau, territoire, periode;

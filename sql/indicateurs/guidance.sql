-- Service norms of the Guidance familiale (indicators.md v2), actions of type GUIDANCE_FAMILIALE; the norm
-- values come from the referential of norms (referentiel.normes):
-- - part_guidance_18_mois: G = those with date_fin in P and date_fin <= their site's date_extraction (a
--   later end is only planned); 100 × those of G with date_fin <= date_debut + `guidance_duree_mois` (18)
--   calendar months (a day missing in the target month becomes its last day: DuckDB's month arithmetic)
--   / |G|; effectif |G|.
-- - at r = min(d1, the site's date_extraction), an action is ongoing when date_debut <= r and (date_fin is
--   null or date_fin >= r). R = referents (code_pre, id_referent of the action's pathway) with an ongoing
--   action; a pathway's family is (code_pre, id_famille), or (code_pre, id_enfant) when id_famille is
--   empty, in two namespaces. familles_par_referent_guidance = mean over R of the distinct families of
--   their ongoing actions; part_referents_guidance_au_dela_norme = 100 × referents of R with more than
--   `guidance_familles_par_referent` (10) families / |R|; effectif |R| for both.
-- Every count is per site (code_pre in the keys): summed per site, then over the territory's sites.
with normes as (
    select
        cast(max(valeur) filter (where norme = 'guidance_duree_mois') as integer) as duree_mois,
        max(valeur) filter (where norme = 'guidance_familles_par_referent') as familles_max
    from referentiel.normes
),

guidances as (
    select a.code_pre, a.id_parcours, a.date_debut, a.date_fin, v.date_extraction
    from staging.actions as a
    inner join staging.sites_en_vigueur as v using (code_pre)
    where a.type_action = 'GUIDANCE_FAMILIALE'
),

terminees as (
    select
        g.code_pre, per.periode,
        count(*) as n,
        count(*) filter (where g.date_fin <= g.date_debut + to_months(nm.duree_mois)) as dans_norme
    from guidances as g
    cross join normes as nm
    inner join intermediaire.periodes as per on g.date_fin between per.d0 and per.d1
    where g.date_fin <= g.date_extraction
    group by all
),

en_cours as (
    select
        g.code_pre, per.periode, p.id_referent,
        count(distinct case
            when coalesce(p.id_famille, '') = '' then 'enfant:' || p.id_enfant
            else 'famille:' || p.id_famille
        end) as familles
    from guidances as g
    inner join staging.parcours as p using (code_pre, id_parcours)
    cross join intermediaire.periodes as per
    where g.date_debut <= least(per.d1, g.date_extraction)
        and (g.date_fin is null or g.date_fin >= least(per.d1, g.date_extraction))
    group by all
),

referents as (
    select
        e.code_pre, e.periode,
        count(*) as r,
        sum(e.familles) as familles,
        count(*) filter (where e.familles > nm.familles_max) as au_dela
    from en_cours as e
    cross join normes as nm
    group by all
),

sommes as (
    select
        t.niveau, t.territoire, x.periode,
        sum(x.n) as n, sum(x.dans_norme) as dans_norme, sum(x.r) as r, sum(x.familles) as familles,
        sum(x.au_dela) as au_dela
    from (
        select code_pre, periode, n, dans_norme, 0 as r, 0 as familles, 0 as au_dela from terminees
        union all
        select code_pre, periode, 0, 0, r, familles, au_dela from referents
    ) as x
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

base as (
    select
        g.niveau, g.territoire, g.periode,
        coalesce(s.n, 0) as n, coalesce(s.dans_norme, 0) as dans_norme, coalesce(s.r, 0) as r,
        coalesce(s.familles, 0) as familles, coalesce(s.au_dela, 0) as au_dela
    from intermediaire.grille as g
    left join sommes as s using (niveau, territoire, periode)
),

final as (
    select 'part_guidance_18_mois' as indicateur, '' as categorie, niveau, territoire, periode,
        case when n > 0 then 100.0 * dans_norme / n end as valeur, n as effectif
    from base
    union all
    select 'familles_par_referent_guidance', '', niveau, territoire, periode,
        case when r > 0 then cast(familles as double) / r end, r
    from base
    union all
    select 'part_referents_guidance_au_dela_norme', '', niveau, territoire, periode,
        case when r > 0 then 100.0 * au_dela / r end, r
    from base
)

select * from final

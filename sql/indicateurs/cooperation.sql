-- Cooperation in pathways (indicators.md v2): for each pathway active in P (A), the number of distinct
-- partenaire values among its actions with date_debut <= d1 (0 when it has none).
-- partenaires_par_parcours = mean of that number over A; part_parcours_multipartenaires = 100 × pathways
-- of A with at least 2 / |A|; effectif |A| for both. Pathways are per site (code_pre in the key): whole
-- numbers are summed per site, then over the territory's sites.
-- The project's parcours_partenaire_volet: per (partenaire, volet) couple (categories "PARTENAIRE:VOLET" of the
-- product set partenaires_volets), the pathways of A with at least one action of that partner in that volet
-- with date_debut <= d1; a pathway counts in every couple it has; zeros included.
with partenaires as (
    -- each (pathway, partner) from its earliest action: the partner counts from that day on
    select code_pre, id_parcours, partenaire, min(date_debut) as debut
    from staging.actions
    where partenaire is not null
    group by all
),

couples as (
    -- each (pathway, partner, volet) from its earliest action
    select code_pre, id_parcours, partenaire, volet, min(date_debut) as debut
    from staging.actions
    where partenaire is not null and volet is not null
    group by all
),

couples_par_site as (
    select pp.code_pre, pp.periode, c.partenaire || ':' || c.volet as categorie, count(*) as n
    from intermediaire.parcours_periodes as pp
    inner join intermediaire.periodes as per using (periode)
    inner join couples as c
        on c.code_pre = pp.code_pre and c.id_parcours = pp.id_parcours and c.debut <= per.d1
    group by all
),

couples_sommes as (
    select t.niveau, t.territoire, s.periode, s.categorie, sum(s.n) as n
    from couples_par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

couples_base as (
    select g.niveau, g.territoire, g.periode, c.categorie, coalesce(s.n, 0) as n
    from intermediaire.grille as g
    cross join (select categorie from referentiel.categories where liste = 'partenaires_volets') as c
    left join couples_sommes as s using (niveau, territoire, periode, categorie)
),

par_parcours as (
    select pp.code_pre, pp.id_parcours, pp.periode, count(pa.partenaire) as n
    from intermediaire.parcours_periodes as pp
    inner join intermediaire.periodes as per using (periode)
    left join partenaires as pa
        on pa.code_pre = pp.code_pre and pa.id_parcours = pp.id_parcours and pa.debut <= per.d1
    group by pp.code_pre, pp.id_parcours, pp.periode
),

par_site as (
    select code_pre, periode, count(*) as a, sum(n) as partenaires, count(*) filter (where n >= 2) as multi
    from par_parcours
    group by all
),

sommes as (
    select t.niveau, t.territoire, s.periode, sum(s.a) as a, sum(s.partenaires) as partenaires, sum(s.multi) as multi
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

base as (
    select
        g.niveau, g.territoire, g.periode,
        coalesce(s.a, 0) as a, coalesce(s.partenaires, 0) as partenaires, coalesce(s.multi, 0) as multi
    from intermediaire.grille as g
    left join sommes as s using (niveau, territoire, periode)
),

final as (
    select 'partenaires_par_parcours' as indicateur, '' as categorie, niveau, territoire, periode,
        case when a > 0 then cast(partenaires as double) / a end as valeur, a as effectif
    from base
    union all
    select 'part_parcours_multipartenaires', '', niveau, territoire, periode,
        case when a > 0 then 100.0 * multi / a end, a
    from base
    union all
    select 'parcours_partenaire_volet', categorie, niveau, territoire, periode, cast(n as double), n
    from couples_base
)

select * from final

-- Pathway indicators: enfants_suivis, parcours_actifs, entrees, sorties, durations, shares.
-- A = pathways active in P, E = entries in P, S = exits in P, C = distinct (code_pre, id_enfant) over A.
-- Every figure but the median is additive over sites (children and referents are per site, as
-- the keys include code_pre): aggregate per site and period, then add the sites of each territory.
-- Only the median needs the exits themselves at each level.
with pp as (
    select pp.*, e.sexe as sexe_enfant
    from intermediaire.parcours_periodes as pp
    left join intermediaire.enfants as e using (code_pre, id_enfant)
),

par_site as (
    select
        code_pre, periode,
        count(*) as a,
        count(distinct id_enfant) as c,
        count(distinct id_enfant) filter (where sexe_enfant = 'F') as c_filles,
        count(*) filter (where entree) as e,
        count(*) filter (where sortie) as s,
        -- Whole days are summed (exact), months computed at the end: a sum of doubles would depend on
        -- the order DuckDB adds them in.
        sum(duree_jours) filter (where sortie) as duree_somme,
        count(duree_jours) filter (where sortie) as duree_n,
        count(*) filter (where code_qpv is not null) as a_qpv,
        count(*) filter (where entree and origine_orientation = 'ECOLE') as e_ecole,
        count(distinct id_referent) as referents,
        count(*) filter (where sortie and motif_sortie = 'OBJECTIFS_ATTEINTS') as s_objectifs,
        count(*) filter (where sortie and motif_sortie = 'RELAIS_DROIT_COMMUN') as s_relais
    from pp
    group by code_pre, periode
),

medianes as (
    select t.niveau, t.territoire, pp.periode, median(pp.duree_mois) as duree_mediane
    from pp
    inner join intermediaire.territoires_sites as t using (code_pre)
    where pp.sortie
    group by all
),

sommes as (
    select
        t.niveau, t.territoire, s.periode,
        sum(s.a) as a, sum(s.c) as c, sum(s.c_filles) as c_filles, sum(s.e) as e, sum(s.s) as s,
        case when sum(s.duree_n) > 0 then cast(sum(s.duree_somme) as double) / 30.4375 / sum(s.duree_n) end
            as duree_moyenne,
        sum(s.a_qpv) as a_qpv, sum(s.e_ecole) as e_ecole, sum(s.referents) as referents,
        sum(s.s_objectifs) as s_objectifs, sum(s.s_relais) as s_relais
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

agregats as (
    select s.*, m.duree_mediane
    from sommes as s
    left join medianes as m using (niveau, territoire, periode)
),

base as (
    select
        g.niveau, g.territoire, g.periode,
        coalesce(a.a, 0) as a,
        coalesce(a.c, 0) as c,
        coalesce(a.c_filles, 0) as c_filles,
        coalesce(a.e, 0) as e,
        coalesce(a.s, 0) as s,
        a.duree_moyenne,
        a.duree_mediane,
        coalesce(a.a_qpv, 0) as a_qpv,
        coalesce(a.e_ecole, 0) as e_ecole,
        coalesce(a.referents, 0) as referents,
        coalesce(a.s_objectifs, 0) as s_objectifs,
        coalesce(a.s_relais, 0) as s_relais
    from intermediaire.grille as g
    left join agregats as a using (niveau, territoire, periode)
),

final as (
    select 'enfants_suivis' as indicateur, '' as categorie, niveau, territoire, periode,
        cast(c as double) as valeur, c as effectif from base
    union all
    select 'parcours_actifs', '', niveau, territoire, periode, cast(a as double), a from base
    union all
    select 'entrees', '', niveau, territoire, periode, cast(e as double), e from base
    union all
    select 'sorties', '', niveau, territoire, periode, cast(s as double), s from base
    union all
    select 'duree_moyenne_mois', '', niveau, territoire, periode, duree_moyenne, s from base
    union all
    select 'duree_mediane_mois', '', niveau, territoire, periode, duree_mediane, s from base
    union all
    select 'part_filles', '', niveau, territoire, periode,
        case when c > 0 then 100.0 * c_filles / c end, c from base
    union all
    select 'part_qpv', '', niveau, territoire, periode,
        case when a > 0 then 100.0 * a_qpv / a end, a from base
    union all
    select 'part_orientation_ecole', '', niveau, territoire, periode,
        case when e > 0 then 100.0 * e_ecole / e end, e from base
    union all
    select 'enfants_par_referent', '', niveau, territoire, periode,
        case when referents > 0 then 1.0 * c / referents end, referents from base
    union all
    select 'part_sorties_objectifs_atteints', '', niveau, territoire, periode,
        case when s > 0 then 100.0 * s_objectifs / s end, s from base
    union all
    select 'part_sorties_relais', '', niveau, territoire, periode,
        case when s > 0 then 100.0 * s_relais / s end, s from base
)

select * from final

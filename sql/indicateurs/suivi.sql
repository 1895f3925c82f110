-- part_suivi_6_mois: S6 = pathways that exited in P at least `suivi_fin_jours` (240) days before their
-- site's date_extraction; 100 × those of S6 with a SUIVI_6_MOIS bilan dated from date_sortie +
-- `suivi_debut_jours` (120) to date_sortie + `suivi_fin_jours` days, both inclusive / |S6|.
-- The window comes from the referential of norms.
with fenetre as (
    select
        max(valeur) filter (where norme = 'suivi_debut_jours') as debut,
        max(valeur) filter (where norme = 'suivi_fin_jours') as fin
    from referentiel.normes
),

sorties as (
    select p.code_pre, p.id_parcours, p.periode, s.date_sortie
    from intermediaire.parcours_periodes as p
    inner join staging.parcours as s using (code_pre, id_parcours)
    inner join staging.sites_en_vigueur as v using (code_pre)
    cross join fenetre as f
    where p.sortie and s.date_sortie + cast(f.fin as integer) <= v.date_extraction
),

suivies as (
    select distinct o.code_pre, o.id_parcours, o.periode
    from sorties as o
    inner join staging.bilans as b
        on b.code_pre = o.code_pre and b.id_parcours = o.id_parcours and b.type_bilan = 'SUIVI_6_MOIS'
    cross join fenetre as f
    where b.date_bilan between o.date_sortie + cast(f.debut as integer) and o.date_sortie + cast(f.fin as integer)
),

par_site as (
    select o.code_pre, o.periode, count(*) as n, count(x.id_parcours) as suivis
    from sorties as o
    left join suivies as x using (code_pre, id_parcours, periode)
    group by all
),

sommes as (
    select t.niveau, t.territoire, s.periode, sum(s.n) as n, sum(s.suivis) as suivis
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

final as (
    select
        'part_suivi_6_mois' as indicateur, '' as categorie, g.niveau, g.territoire, g.periode,
        case when coalesce(s.n, 0) > 0 then 100.0 * s.suivis / s.n end as valeur,
        coalesce(s.n, 0) as effectif
    from intermediaire.grille as g
    left join sommes as s using (niveau, territoire, periode)
)

select * from final

-- part_orientation: share of the entries (E) by referral source (origine_orientation);
-- part_motif_sortie: share of the exits (S) by exit reason (motif_sortie). One row per listed value,
-- zeros included; effectif |E| and |S|. Counts are per site, so territories add their sites' counts.
with origines as (
    select categorie from referentiel.categories where liste = 'origines'
),

motifs as (
    select categorie from referentiel.categories where liste = 'motifs_sortie'
),

par_site as (
    select code_pre, periode, 'part_orientation' as indicateur, origine_orientation as categorie, count(*) as n
    from intermediaire.parcours_periodes
    where entree
    group by all
    union all
    select code_pre, periode, 'part_motif_sortie', motif_sortie, count(*)
    from intermediaire.parcours_periodes
    where sortie
    group by all
),

comptes as (
    select t.niveau, t.territoire, s.periode, s.indicateur, s.categorie, sum(s.n) as n
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

totaux as (
    select niveau, territoire, periode, indicateur, sum(n) as total
    from comptes
    group by all
),

cellules as (
    select g.niveau, g.territoire, g.periode, 'part_orientation' as indicateur, o.categorie
    from intermediaire.grille as g
    cross join origines as o
    union all
    select g.niveau, g.territoire, g.periode, 'part_motif_sortie', m.categorie
    from intermediaire.grille as g
    cross join motifs as m
),

final as (
    select
        c.indicateur, c.categorie, c.niveau, c.territoire, c.periode,
        case when coalesce(t.total, 0) > 0 then 100.0 * coalesce(n.n, 0) / t.total end as valeur,
        coalesce(t.total, 0) as effectif
    from cellules as c
    left join totaux as t using (niveau, territoire, periode, indicateur)
    left join comptes as n using (niveau, territoire, periode, indicateur, categorie)
)

select * from final

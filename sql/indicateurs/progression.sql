-- progression_note (indicators.md v2), per note domain: over the pathways of S (exits in P) having an ENTREE
-- and a SORTIE bilan carrying that domain's note, the mean of (exit note − entry note). Entry note = mean of
-- the domain's notes of the ENTREE bilans on the earliest date_bilan among those carrying it; exit note
-- likewise on the latest SORTIE date. Bilans count whatever their date. Effectif: that many pathways
-- (NULL value over none). One row per domain, zeros included.
with domaines as (
    select categorie from referentiel.categories where liste = 'domaines_note'
),

notes as (
    select code_pre, id_parcours, type_bilan, date_bilan, 'scolarite' as domaine, note_scolarite as note
    from staging.bilans where note_scolarite is not null
    union all
    select code_pre, id_parcours, type_bilan, date_bilan, 'comportement', note_comportement
    from staging.bilans where note_comportement is not null
    union all
    select code_pre, id_parcours, type_bilan, date_bilan, 'sante', note_sante
    from staging.bilans where note_sante is not null
    union all
    select code_pre, id_parcours, type_bilan, date_bilan, 'parentalite', note_parentalite
    from staging.bilans where note_parentalite is not null
),

datees as (
    select
        *,
        min(date_bilan) over (partition by code_pre, id_parcours, domaine, type_bilan) as premiere,
        max(date_bilan) over (partition by code_pre, id_parcours, domaine, type_bilan) as derniere
    from notes
    where type_bilan in ('ENTREE', 'SORTIE')
),

-- Entry and exit note of each (pathway, domain), averaged over the bilans tied on the date that counts.
par_parcours as (
    select
        code_pre, id_parcours, domaine,
        avg(note) filter (where type_bilan = 'ENTREE' and date_bilan = premiere) as entree,
        avg(note) filter (where type_bilan = 'SORTIE' and date_bilan = derniere) as sortie
    from datees
    group by all
),

progressions as (
    -- Each difference as an exact decimal (12 places): a sum of doubles depends on the order DuckDB adds
    -- them in.
    select pp.code_pre, pp.periode, n.domaine, cast(n.sortie - n.entree as decimal(38, 12)) as ecart
    from intermediaire.parcours_periodes as pp
    inner join par_parcours as n using (code_pre, id_parcours)
    where pp.sortie and n.entree is not null and n.sortie is not null
),

par_site as (
    select code_pre, periode, domaine as categorie, count(*) as n, sum(ecart) as ecarts
    from progressions
    group by all
),

sommes as (
    select t.niveau, t.territoire, s.periode, s.categorie, sum(s.n) as n, sum(s.ecarts) as ecarts
    from par_site as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

final as (
    select
        'progression_note' as indicateur, d.categorie, g.niveau, g.territoire, g.periode,
        case when coalesce(s.n, 0) > 0 then cast(s.ecarts as double) / s.n end as valeur,
        coalesce(s.n, 0) as effectif
    from intermediaire.grille as g
    cross join domaines as d
    left join sommes as s
        on s.niveau = g.niveau and s.territoire = g.territoire and s.periode = g.periode
        and s.categorie = d.categorie
)

select * from final

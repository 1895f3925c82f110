-- progression_note (indicators.md v2), per note domain: over the pathways of S (exits in P) having an ENTREE
-- and a SORTIE bilan carrying that domain's note, the mean of (exit note − entry note). Entry note = mean of
-- the domain's notes of the ENTREE bilans on the earliest date_bilan among those carrying it; exit note
-- likewise on the latest SORTIE date. Bilans count whatever their date. Effectif: that many pathways
-- (NULL value over none). One row per domain, zeros included.
-- The project's progression_note_avec_action / progression_note_sans_action: per (evaluated action type, domain)
-- (categories "TYPE:domaine" of types_evalues_domaines), the same pathways and differences split by whether the
-- pathway has at least one action of that type with date_debut <= its date_sortie; mean and effectif as above.
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
    select pp.code_pre, pp.id_parcours, pp.periode, n.domaine, cast(n.sortie - n.entree as decimal(38, 12)) as ecart
    from intermediaire.parcours_periodes as pp
    inner join par_parcours as n using (code_pre, id_parcours)
    where pp.sortie and n.entree is not null and n.sortie is not null
),

types_evalues as (
    select categorie as type_action from referentiel.categories where liste = 'types_action_evalues'
),

-- The (pathway, evaluated type) pairs where the pathway had such an action started by its exit.
avec_action as (
    select distinct a.code_pre, a.id_parcours, a.type_action
    from staging.actions as a
    inner join staging.parcours as p using (code_pre, id_parcours)
    where a.date_debut <= p.date_sortie and a.type_action in (select type_action from types_evalues)
),

par_site_action as (
    select
        pr.code_pre, pr.periode, te.type_action || ':' || pr.domaine as categorie,
        count(*) filter (where aa.id_parcours is not null) as n_avec,
        sum(pr.ecart) filter (where aa.id_parcours is not null) as ecarts_avec,
        count(*) filter (where aa.id_parcours is null) as n_sans,
        sum(pr.ecart) filter (where aa.id_parcours is null) as ecarts_sans
    from progressions as pr
    cross join types_evalues as te
    left join avec_action as aa
        on aa.code_pre = pr.code_pre and aa.id_parcours = pr.id_parcours and aa.type_action = te.type_action
    group by all
),

sommes_action as (
    select
        t.niveau, t.territoire, s.periode, s.categorie,
        sum(s.n_avec) as n_avec, sum(s.ecarts_avec) as ecarts_avec,
        sum(s.n_sans) as n_sans, sum(s.ecarts_sans) as ecarts_sans
    from par_site_action as s
    inner join intermediaire.territoires_sites as t using (code_pre)
    group by all
),

grille_action as (
    select
        g.niveau, g.territoire, g.periode, c.categorie,
        coalesce(s.n_avec, 0) as n_avec, s.ecarts_avec, coalesce(s.n_sans, 0) as n_sans, s.ecarts_sans
    from intermediaire.grille as g
    cross join (select categorie from referentiel.categories where liste = 'types_evalues_domaines') as c
    left join sommes_action as s
        on s.niveau = g.niveau and s.territoire = g.territoire and s.periode = g.periode
        and s.categorie = c.categorie
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
    union all
    select
        'progression_note_avec_action', categorie, niveau, territoire, periode,
        case when n_avec > 0 then cast(ecarts_avec as double) / n_avec end, n_avec
    from grille_action
    union all
    select
        'progression_note_sans_action', categorie, niveau, territoire, periode,
        case when n_sans > 0 then cast(ecarts_sans as double) / n_sans end, n_sans
    from grille_action
)

select * from final

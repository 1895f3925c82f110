-- Waiting lists: demandes_attente (requests with date_demande in P) and en_attente_fin_periode
-- (date_demande <= d1, no appointment nor abandonment by d1), per structure, zeros included.
-- The backlog is produced only when d1 <= the date_extraction of every site of the territory.
with structures as (
    select categorie from referentiel.categories where liste = 'structures'
),

demandes as (
    select niveau, territoire, periode, structure as categorie, count(*) as n
    from intermediaire.attentes_periodes
    inner join intermediaire.territoires_sites using (code_pre)
    group by all
),

en_attente as (
    select g.niveau, g.territoire, g.periode, a.structure as categorie, count(*) as n
    from intermediaire.grille as g
    inner join intermediaire.territoires_sites as t using (niveau, territoire)
    inner join staging.attentes as a on a.code_pre = t.code_pre
    where a.date_demande <= g.d1
        and (a.date_premier_rdv is null or a.date_premier_rdv > g.d1)
        and (a.date_abandon is null or a.date_abandon > g.d1)
    group by all
),

final as (
    select
        'demandes_attente' as indicateur, s.categorie, g.niveau, g.territoire, g.periode,
        cast(coalesce(d.n, 0) as double) as valeur, coalesce(d.n, 0) as effectif
    from intermediaire.grille as g
    cross join structures as s
    left join demandes as d
        on d.niveau = g.niveau and d.territoire = g.territoire and d.periode = g.periode
        and d.categorie = s.categorie
    union all
    select
        'en_attente_fin_periode', s.categorie, g.niveau, g.territoire, g.periode,
        cast(coalesce(w.n, 0) as double), coalesce(w.n, 0)
    from intermediaire.grille as g
    cross join structures as s
    left join en_attente as w
        on w.niveau = g.niveau and w.territoire = g.territoire and w.periode = g.periode
        and w.categorie = s.categorie
    where g.d1 <= g.extraction_min
)

select * from final

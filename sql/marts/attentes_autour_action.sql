-- marts.attentes_autour_action: waits of the care services related to an evaluated action type, in the 12 months before and after the type's first action at a site.
-- One row per (code_pre, type_action of referentiel.actions_evaluees with at least one action at the site,
-- structure related to it, fenetre): premiere_action = min date_debut of the site's actions of that type;
-- window 'avant' = [premiere_action − 12 months, premiere_action − 1 day], 'apres' = [premiere_action,
-- premiere_action + 12 months − 1 day] (DuckDB's month arithmetic: a day missing in the target month becomes
-- its last day); complete when fin <= the site's date_extraction and debut >= its date_debut_donnees;
-- demandes = requests of that structure at the site with date_demande in the window; valeur = their
-- Kaplan–Meier median wait in days, borne_basse / borne_haute its 95 % interval, with the wait, censoring,
-- median and band of attente_mediane_jours (the curve is intermediaire.km_courbes's table macro).
create or replace table marts.attentes_autour_action as
with premieres as (
    select a.code_pre, a.type_action, min(a.date_debut) as premiere_action
    from staging.actions as a
    inner join referentiel.actions_evaluees as r on r.type_action = a.type_action and r.ordre_structure = 1
    group by all
),

fenetres as (
    select
        p.code_pre, p.type_action, r.structure, f.fenetre, p.premiere_action, r.ordre_type, r.ordre_structure,
        s.date_extraction, s.date_debut_donnees,
        case f.fenetre
            when 'avant' then cast(p.premiere_action - interval 12 month as date)
            else p.premiere_action
        end as debut,
        case f.fenetre
            when 'avant' then cast(p.premiere_action - interval 1 day as date)
            else cast(p.premiere_action + interval 12 month - interval 1 day as date)
        end as fin
    from premieres as p
    inner join referentiel.actions_evaluees as r using (type_action)
    inner join staging.sites_en_vigueur as s using (code_pre)
    cross join (select unnest(['avant', 'apres']) as fenetre) as f
),

-- The requests of each window, as intermediaire.attentes_periodes defines the wait: event = first
-- appointment; censored at the abandonment, else at the site's date_extraction. The macro's key columns:
-- niveau 'pre', territoire = the site, periode = "TYPE:fenetre", structure.
observations as (
    select
        'pre' as niveau, f.code_pre as territoire, f.type_action || ':' || f.fenetre as periode, f.structure,
        date_diff('day', a.date_demande, coalesce(a.date_premier_rdv, a.date_abandon, f.date_extraction))
            as duree_jours,
        a.date_premier_rdv is not null as evenement
    from fenetres as f
    inner join staging.attentes as a
        on a.code_pre = f.code_pre and a.structure = f.structure and a.date_demande between f.debut and f.fin
),

-- The median and its band's crossings, as sql/indicateurs/attente_km.sql reads them off the curve.
estimations as (
    select
        territoire as code_pre, split_part(periode, ':', 1) as type_action, split_part(periode, ':', 2) as fenetre,
        structure,
        max(n_a_risque) as n,
        min(t) filter (where evenements > 0 and survie <= 0.5 + 1e-9) as mediane,
        min(t) filter (where evenements > 0 and survie_basse <= 0.5 + 1e-9) as mediane_basse,
        min(t) filter (where evenements > 0 and survie_haute <= 0.5 + 1e-9) as mediane_haute
    from intermediaire.km_courbes(observations)
    group by all
),

final as (
    select
        f.code_pre,
        f.type_action,
        f.structure,
        f.fenetre,
        f.premiere_action,
        f.debut,
        f.fin,
        f.fin <= f.date_extraction and coalesce(f.debut >= f.date_debut_donnees, true) as complete,
        cast(coalesce(e.n, 0) as bigint) as demandes,
        cast(e.mediane as double) as valeur,
        cast(e.mediane_basse as double) as borne_basse,
        cast(e.mediane_haute as double) as borne_haute,
        f.ordre_type,
        f.ordre_structure
    from fenetres as f
    left join estimations as e using (code_pre, type_action, fenetre, structure)
)

select * exclude (ordre_type, ordre_structure)
from final
order by code_pre, ordre_type, ordre_structure, fenetre desc;

-- Censoring-aware waits (Kaplan–Meier), per structure, for requests with date_demande in P:
-- attente_mediane_jours = smallest event time t with S(t) <= 0.5 (tolerance 1e-9), NULL if never;
-- part_rdv_sous_90_jours = 100 × (1 − S(90)), S carried forward, 0 when no appointment yet.
-- No request: both NULL, effectif 0.
-- 95 % intervals from the pointwise band of S(t) (intermediaire.km_courbes): for the median, the first
-- event time at which the band's lower (borne_basse) or upper (borne_haute) bound falls to 0.5 or below,
-- NULL if it never does; for the 90-day share, 100 × (1 − upper band) and 100 × (1 − lower band) at
-- t = 90, carried forward like S(90).
with structures as (
    select categorie from referentiel.categories where liste = 'structures'
),

estimations as (
    select
        niveau, territoire, periode, structure as categorie,
        max(n_a_risque) as n,
        min(t) filter (where evenements > 0 and survie <= 0.5 + 1e-9) as mediane,
        -- In time order: a product of doubles in another order may differ in its last digit.
        coalesce(product(1.0 - evenements / n_a_risque order by t) filter (where t <= 90), 1.0) as survie_90,
        min(t) filter (where evenements > 0 and survie_basse <= 0.5 + 1e-9) as mediane_basse,
        min(t) filter (where evenements > 0 and survie_haute <= 0.5 + 1e-9) as mediane_haute,
        -- the band at the last time <= 90 (it changes at event times only), 1 before any
        coalesce(arg_max(survie_basse, t) filter (where t <= 90), 1.0) as survie_90_basse,
        coalesce(arg_max(survie_haute, t) filter (where t <= 90), 1.0) as survie_90_haute
    from intermediaire.km_courbes
    group by all
),

final as (
    select
        'attente_mediane_jours' as indicateur, s.categorie, g.niveau, g.territoire, g.periode,
        cast(e.mediane as double) as valeur, coalesce(e.n, 0) as effectif,
        cast(e.mediane_basse as double) as borne_basse, cast(e.mediane_haute as double) as borne_haute
    from intermediaire.grille as g
    cross join structures as s
    left join estimations as e
        on e.niveau = g.niveau and e.territoire = g.territoire and e.periode = g.periode
        and e.categorie = s.categorie
    union all
    select
        'part_rdv_sous_90_jours', s.categorie, g.niveau, g.territoire, g.periode,
        case when e.n > 0 then 100.0 * (1.0 - e.survie_90) end, coalesce(e.n, 0),
        case when e.n > 0 then 100.0 * (1.0 - e.survie_90_haute) end,
        case when e.n > 0 then 100.0 * (1.0 - e.survie_90_basse) end
    from intermediaire.grille as g
    cross join structures as s
    left join estimations as e
        on e.niveau = g.niveau and e.territoire = g.territoire and e.periode = g.periode
        and e.categorie = s.categorie
)

select * from final

-- intermediaire.parcours_periodes: one row per (pathway, period) where the pathway is active:
-- date_entree <= d1 and (date_sortie is null or date_sortie >= d0). Entries (E) and exits (S)
-- of a period are active in it, so they are flagged here.
create schema if not exists intermediaire;
create or replace table intermediaire.parcours_periodes as
with parcours as (
    select * from staging.parcours
),

final as (
    select
        p.code_pre,
        p.id_parcours,
        p.id_enfant,
        p.id_referent,
        p.code_qpv,
        p.origine_orientation,
        p.motif_sortie,
        per.periode,
        p.date_entree between per.d0 and per.d1 as entree,
        p.date_sortie is not null and p.date_sortie between per.d0 and per.d1 as sortie,
        date_diff('day', p.date_entree, p.date_sortie) as duree_jours,
        date_diff('day', p.date_entree, p.date_sortie) / 30.4375 as duree_mois,
        year(p.date_entree) - p.annee_naissance as age_entree
    from parcours as p
    inner join intermediaire.periodes as per
        on p.date_entree <= per.d1 and (p.date_sortie is null or p.date_sortie >= per.d0)
)

select * from final;

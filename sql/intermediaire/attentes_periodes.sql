-- intermediaire.attentes_periodes: requests by period of date_demande, with their waiting time
-- for the Kaplan–Meier estimate: event = first appointment at t = date_premier_rdv − date_demande;
-- censored at the abandonment, else at the site's date_extraction (even after the period).
create schema if not exists intermediaire;
create or replace table intermediaire.attentes_periodes as
with attentes as (
    select a.*, s.date_extraction
    from staging.attentes as a
    inner join staging.sites_en_vigueur as s using (code_pre)
),

final as (
    select
        a.code_pre,
        a.id_demande,
        a.structure,
        per.periode,
        a.date_premier_rdv is not null as evenement,
        date_diff('day', a.date_demande, coalesce(a.date_premier_rdv, a.date_abandon, a.date_extraction)) as duree_jours
    from attentes as a
    inner join intermediaire.periodes as per
        on a.date_demande between per.d0 and per.d1
)

select * from final;

-- marts.depots: one row per submission received (identical re-drops excluded).
create or replace table marts.depots as
with source as (
    select * from ingestion.depots
),

final as (
    select
        fichier,
        sha256,
        code_pre,
        date_extraction,
        recu_le,
        statut,
        nb_bloquants,
        nb_avertissements,
        nb_parcours,
        nb_actions,
        nb_bilans,
        nb_attentes,
        rapport,
        date_debut_donnees,
        en_vigueur,
        traite_le,
        chemin,
        depose_par
    from source
)

select * from final order by recu_le, fichier;

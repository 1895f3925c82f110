-- Every submission received, newest first.
select
    fichier, code_pre, date_extraction, recu_le, statut, nb_bloquants, nb_avertissements,
    rapport, date_debut_donnees, coalesce(en_vigueur, false) as en_vigueur
from marts.depots
order by recu_le desc, fichier

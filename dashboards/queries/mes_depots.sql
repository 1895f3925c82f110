-- Every submission received, newest first, with its sender through the portal (live copy only).
select
    fichier, sha256, code_pre, date_extraction, recu_le, statut, nb_bloquants, nb_avertissements,
    rapport, coalesce(en_vigueur, false) as en_vigueur, depose_par
from marts.depots
order by recu_le desc, fichier

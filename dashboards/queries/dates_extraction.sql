-- The extraction date and data start of each site's snapshot in force.
select code_pre, date_extraction, date_debut_donnees
from marts.depots
where en_vigueur and statut = 'accepte'
order by code_pre

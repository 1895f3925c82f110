-- Kaplan–Meier waiting curves of one territory and period, one per structure.
select categorie as structure, jours, evenements, n_a_risque, survie
from marts.km_courbes
where niveau = $niveau and territoire = $territoire and periode = $periode
order by structure, jours

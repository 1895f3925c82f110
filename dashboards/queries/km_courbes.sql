-- Kaplan–Meier waiting curves of one territory and period, one per structure (published only
-- while at least s requests are at risk).
select categorie as structure, jours, survie
from marts.km_courbes
where niveau = $niveau and territoire = $territoire and periode = $periode
order by structure, jours

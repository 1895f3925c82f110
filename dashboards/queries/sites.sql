-- The site referential.
select code_pre, nom, code_commune, departement, region, porteur
from marts.sites
order by code_pre

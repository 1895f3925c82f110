-- Whether each territory's data cover each period, and the share of complete sites.
select niveau, territoire, periode, nb_sites, nb_sites_complets, part_sites_complets, complet
from marts.completude
order by niveau, territoire, periode

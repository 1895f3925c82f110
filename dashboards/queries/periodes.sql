-- The periods indicators exist for, oldest first.
select periode, type_periode, debut, fin
from marts.periodes
order by debut, periode

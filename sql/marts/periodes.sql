-- marts.periodes: the periods indicators are produced for (calendar and school years).
create or replace table marts.periodes as
select periode, type_periode, d0 as debut, d1 as fin
from intermediaire.periodes
order by type_periode, d0;

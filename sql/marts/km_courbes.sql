-- marts.km_courbes: Kaplan–Meier curves of the wait for a first appointment, per territory,
-- period and structure (one row per distinct time t; S(t) after the events at t, with its 95 %
-- pointwise band: log(−log) transform, Greenwood's variance).
create or replace table marts.km_courbes as
select
    niveau,
    territoire,
    periode,
    structure as categorie,
    t as jours,
    evenements,
    cast(n_a_risque as bigint) as n_a_risque,
    survie,
    survie_basse,
    survie_haute
from intermediaire.km_courbes
order by niveau, territoire, periode, structure, t;

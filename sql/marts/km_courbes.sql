-- marts.km_courbes: Kaplan–Meier curves of the wait for a first appointment, per territory,
-- period and structure (one row per distinct time t; S(t) after the events at t).
create or replace table marts.km_courbes as
select
    niveau,
    territoire,
    periode,
    structure as categorie,
    t as jours,
    evenements,
    cast(n_a_risque as bigint) as n_a_risque,
    survie
from intermediaire.km_courbes
order by niveau, territoire, periode, structure, t;

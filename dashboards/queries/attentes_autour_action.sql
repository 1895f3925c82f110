-- The published (masked) waits of the care services related to an evaluated action type, at one site,
-- in the 12 months before and after the action first appeared there (`fenetre` 'avant' | 'apres').
select *
from marts.attentes_autour_action
where code_pre = $code_pre
order by type_action, structure, fenetre desc

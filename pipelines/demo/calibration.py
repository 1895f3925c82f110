"""The figures the synthetic submissions are calibrated on.

National figures first (ANCT survey on 2021 data, see `indicators.md`): age bands, share of
boys, referral sources, exit reasons, action types and their partners, waits by care
structure; then the traits of the French territory that invented sites draw on (overseas
communes, départements dense in priority neighbourhoods) and the names that exports carry.

Tables are keyed by the codes of the data contracts, never by position: the simulation lines
them up with the contracts' code lists itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# --------------------------------------------------------------------------- children

# Age bands at entry (2–5, 6–10, 11–16, 17+) from the ANCT survey; 17+ capped at 18.
AGE_BANDS = ((2, 5), (6, 10), (11, 16), (17, 18))
P_AGE_BANDS = (0.146, 0.524, 0.315, 0.015)
P_BOY = 0.582
# School levels from not yet at school to lycée, one grade a year from 3 (PS) on.
SCHOOL_LADDER = ("NON_SCOLARISE", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2", "6E", "5E", "4E", "3E",
                 "LYCEE")

# --------------------------------------------------------------------------- pathways

# Referral source: children not yet at school are never referred by the school.
P_ORIGINE_SCOLARISE = {"ECOLE": 0.63, "SERVICE_SOCIAL": 0.11, "PMI_SANTE": 0.03, "FAMILLE": 0.08,
                       "CENTRE_SOCIAL": 0.05, "PREVENTION_SPECIALISEE": 0.03, "PROTECTION_ENFANCE": 0.03,
                       "AUTRE": 0.04}
P_ORIGINE_NON_SCOLARISE = {"ECOLE": 0.0, "SERVICE_SOCIAL": 0.32, "PMI_SANTE": 0.35, "FAMILLE": 0.15,
                           "CENTRE_SOCIAL": 0.09, "PREVENTION_SPECIALISEE": 0.0, "PROTECTION_ENFANCE": 0.05,
                           "AUTRE": 0.04}
P_MOTIF_ORIENTATION = {"SCOLARITE": 0.34, "COMPORTEMENT": 0.22, "SANTE": 0.13, "PARENTALITE": 0.16,
                       "ISOLEMENT_SOCIAL": 0.09, "AUTRE": 0.06}
P_MOTIF_SORTIE = {"OBJECTIFS_ATTEINTS": 0.38, "RELAIS_DROIT_COMMUN": 0.22, "DEMENAGEMENT": 0.12,
                  "LIMITE_AGE": 0.03, "ARRET_FAMILLE": 0.15, "AUTRE": 0.10}
# Share of a pathway's objectives reached, by exit reason (drives SORTIE bilans and notes).
SUCCESS_BY_MOTIF = {"OBJECTIFS_ATTEINTS": 0.85, "RELAIS_DROIT_COMMUN": 0.6, "DEMENAGEMENT": 0.35,
                    "LIMITE_AGE": 0.5, "ARRET_FAMILLE": 0.25, "AUTRE": 0.4}

# Entries by calendar month (school rhythm: few in July and August, many in the autumn).
MONTH_WEIGHT = (1.1, 1.0, 1.1, 0.9, 0.9, 0.8, 0.3, 0.15, 1.1, 1.4, 1.3, 0.9)
# First Covid lockdown: almost no entries.
LOCKDOWN = (date(2020, 3, 17), date(2020, 5, 10))

# --------------------------------------------------------------------------- actions

P_VOLETS = {"SCOLARITE": 0.30, "EDUCATIF": 0.30, "PARENTALITE": 0.17, "SANTE": 0.23}
# First action's strand follows the referral reason (None: any strand).
VOLET_OF_MOTIF = {"SCOLARITE": "SCOLARITE", "COMPORTEMENT": "EDUCATIF", "SANTE": "SANTE",
                  "PARENTALITE": "PARENTALITE", "ISOLEMENT_SOCIAL": "EDUCATIF", "AUTRE": None}


@dataclass(frozen=True)
class ActionType:
    volet: str  # "" for AUTRE, drawn in every strand
    weight: float  # within its strand
    days: tuple[int, int]  # duration range
    sessions: tuple[int, int]  # planned sessions range
    p_no_sessions: float
    cost: float  # median cost in euros (per child)
    p_collective: float
    partners: dict[str, float]


ACTION_TYPES: dict[str, ActionType] = {
    "ACCOMPAGNEMENT_SCOLARITE": ActionType("SCOLARITE", 0.6, (90, 280), (15, 40), 0.1, 250, 0.5,
                                           {"ASSOCIATION": 50, "CENTRE_SOCIAL": 25,
                                            "EDUCATION_NATIONALE": 15, "COMMUNE": 10}),
    "COUP_DE_POUCE_LANGAGE": ActionType("SCOLARITE", 0.2, (120, 250), (30, 60), 0.1, 350, 0.9,
                                        {"ASSOCIATION": 50, "EDUCATION_NATIONALE": 30, "COMMUNE": 20}),
    "LIEN_ECOLE_FAMILLE": ActionType("SCOLARITE", 0.2, (14, 150), (2, 8), 0.2, 30, 0.1,
                                     {"EDUCATION_NATIONALE": 60, "COMMUNE": 25, "ASSOCIATION": 15}),
    "ACTIVITE_SPORTIVE": ActionType("EDUCATIF", 0.35, (90, 300), (20, 35), 0.1, 180, 0.9,
                                    {"ASSOCIATION": 70, "COMMUNE": 20, "CENTRE_SOCIAL": 10}),
    "ACTIVITE_CULTURELLE": ActionType("EDUCATIF", 0.30, (60, 280), (10, 30), 0.1, 200, 0.8,
                                      {"ASSOCIATION": 60, "COMMUNE": 25, "CENTRE_SOCIAL": 15}),
    "SEJOUR_VACANCES": ActionType("EDUCATIF", 0.15, (4, 14), (1, 1), 0.5, 550, 1.0,
                                  {"ASSOCIATION": 50, "CENTRE_SOCIAL": 25, "COMMUNE": 15, "CAF": 10}),
    "LOISIRS": ActionType("EDUCATIF", 0.20, (30, 180), (5, 20), 0.2, 90, 0.8,
                          {"CENTRE_SOCIAL": 45, "ASSOCIATION": 35, "COMMUNE": 20}),
    "GROUPE_PAROLE_PARENTS": ActionType("PARENTALITE", 0.25, (60, 240), (4, 10), 0.2, 40, 1.0,
                                        {"CENTRE_SOCIAL": 40, "ASSOCIATION": 35, "CAF": 25}),
    "ENTRETIEN_FAMILIAL": ActionType("PARENTALITE", 0.30, (1, 90), (1, 6), 0.2, 25, 0.0,
                                     {"COMMUNE": 50, "ASSOCIATION": 30, "CONSEIL_DEPARTEMENTAL": 20}),
    # Long: about one in six runs past the 18-month norm (see GUIDANCE_* below).
    "GUIDANCE_FAMILIALE": ActionType("PARENTALITE", 0.25, (90, 650), (6, 30), 0.1, 300, 0.0,
                                     {"CMPP": 40, "ASSOCIATION": 40, "PROFESSIONNEL_LIBERAL": 20}),
    "MEDIATION": ActionType("PARENTALITE", 0.20, (14, 120), (2, 8), 0.2, 120, 0.1,
                            {"ASSOCIATION": 70, "CAF": 15, "COMMUNE": 15}),
    "BILAN_SANTE": ActionType("SANTE", 0.15, (1, 30), (1, 2), 0.3, 80, 0.0,
                              {"PMI": 50, "PROFESSIONNEL_LIBERAL": 30, "EDUCATION_NATIONALE": 20}),
    "BILAN_PSYCHOMOTRICITE": ActionType("SANTE", 0.10, (7, 45), (1, 3), 0.2, 180, 0.0,
                                        {"PROFESSIONNEL_LIBERAL": 60, "CAMSP": 20, "CMPP": 20}),
    "PSYCHOMOTRICITE": ActionType("SANTE", 0.15, (90, 330), (15, 35), 0.1, 700, 0.05,
                                  {"PROFESSIONNEL_LIBERAL": 60, "CMPP": 25, "CAMSP": 15}),
    "ORTHOPHONIE": ActionType("SANTE", 0.25, (120, 365), (20, 40), 0.1, 300, 0.0,
                              {"PROFESSIONNEL_LIBERAL": 65, "CMPP": 30, "CAMSP": 5}),
    "SUIVI_PSYCHOLOGIQUE": ActionType("SANTE", 0.25, (90, 365), (10, 30), 0.1, 500, 0.0,
                                      {"PROFESSIONNEL_LIBERAL": 45, "CMPP": 40, "ASSOCIATION": 15}),
    "ORIENTATION_SOIN": ActionType("SANTE", 0.10, (7, 90), (1, 3), 0.3, 30, 0.0,
                                   {"CMPP": 40, "PMI": 30, "CONSEIL_DEPARTEMENTAL": 15, "AUTRE": 15}),
    "AUTRE": ActionType("", 0.03, (14, 180), (2, 15), 0.3, 100, 0.3,
                        {"AUTRE": 60, "ASSOCIATION": 40}),
}

# Service norms of the Guidance familiale (at most 18 months, at most 10 families per educator, a review
# with the family 6 months after exit), so that the norm indicators have something to show.
# A guidance follows the family on its own schedule: often it goes on after the PRE pathway closes.
P_GUIDANCE_PAST_EXIT = 0.6
# Pathways with a guidance are mostly followed by the site's guidance educators (a third of its referents):
# at busy sites some of them hold more than 10 families.
P_GUIDANCE_EDUCATOR = 0.8
GUIDANCE_EDUCATORS_SHARE = 1 / 3
# Follow-up bilan (SUIVI_6_MOIS): how often one is made, and when, in days after the exit: early, in
# the norm's 120–240-day window, or late (low, high, share).
P_FOLLOW_UP = 0.45
FOLLOW_UP_DAYS = ((45, 119, 0.15), (120, 240, 0.65), (241, 330, 0.20))
# Pathways with psychomotricity sessions: a better exit note in health and behaviour (points on 1–4).
PSYCHOMOTRICITY_LIFT = 0.35


@dataclass(frozen=True)
class Launch:
    """An action type a site starts offering on a known date (like Épernay's psychomotricity workshops,
    started because CMPP waits ran to years): before it, the site's actions of that type were orientations
    to care (`before`); after it, more of its actions in the type's strand are of that type, and the
    waits at the related care services drop."""

    type_action: str
    day: date
    before: str  # what the type's actions were before the launch
    share_after: float  # other actions of the strand that become of this type after the launch
    wait_factor: dict[str, float]  # care structure → factor on the wait of requests made after the launch
    min_size: float  # children a year, at least (enough requests to compare waits before and after)


ACTION_LAUNCHES: dict[str, Launch] = {
    "PRE51230": Launch("PSYCHOMOTRICITE", date(2023, 1, 9), "ORIENTATION_SOIN", 0.25,
                       {"CMPP": 0.45, "PSYCHOMOTRICIEN": 0.35}, 320),
    "PRE57227": Launch("PSYCHOMOTRICITE", date(2022, 9, 5), "ORIENTATION_SOIN", 0.2,
                       {"CMPP": 0.6, "PSYCHOMOTRICIEN": 0.5}, 250),
    "PRE88160": Launch("PSYCHOMOTRICITE", date(2024, 1, 8), "ORIENTATION_SOIN", 0.2,
                       {"CMPP": 0.6, "PSYCHOMOTRICIEN": 0.4}, 250),
}

# Share of a pathway's later actions kept with the partner of its first action (when that partner offers
# the action's type): a site's trait, drawn in this range; the rest go to the type's usual partners.
PARTNER_FOCUS = (0.2, 0.8)

# --------------------------------------------------------------------------- waiting lists

# Median wait (days) and share of requests by structure.
WAIT_MEDIAN_DAYS = {"PRE": 35, "CMPP": 300, "CAMSP": 170, "CMP": 140, "ORTHOPHONISTE": 210,
                    "PSYCHOMOTRICIEN": 150, "PSYCHOLOGUE": 60, "PEDOPSYCHIATRIE": 240, "AUTRE": 75}
P_STRUCTURE_UNDER_6 = {"CAMSP": 0.45, "CMPP": 0.2, "ORTHOPHONISTE": 0.25, "PSYCHOMOTRICIEN": 0.1}
P_STRUCTURE_6_PLUS = {"CMPP": 0.45, "ORTHOPHONISTE": 0.17, "CMP": 0.08, "PSYCHOMOTRICIEN": 0.08,
                      "PSYCHOLOGUE": 0.10, "PEDOPSYCHIATRIE": 0.06, "AUTRE": 0.06}

# --------------------------------------------------------------------------- sites and exports

# Case-management software named in exports (invented names). Hand-filled workbooks name none.
SOFTWARE = ("Millésime Réussite 4.2", "ParcoursPlus Édition 2.7", "Suivi Éducatif 5.1",
            "Orée PRE 3.0", "Réussite & Parcours 1.9")
PORTEURS = ("Commune {de}", "CCAS {de}", "Caisse des écoles {de}", "GIP Réussite éducative {de}")

# Number of communes (upper bound of the commune number) in the overseas départements.
OVERSEAS_COMMUNES = {"971": 34, "972": 34, "973": 22, "974": 24, "976": 17}
# Départements with many priority neighbourhoods are drawn more often.
DENSE_DEPTS = {"13", "59", "62", "69", "75", "77", "78", "91", "92", "93", "94", "95", "974"}

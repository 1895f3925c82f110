"""The methodology of the indicators, in French, generated from the catalogue.

Used for `docs/indicateurs.md` (`pre-eval docs --methodologie docs/indicateurs.md`) and by the
dashboard's methodology page.
"""

from __future__ import annotations

from pipelines import settings
from pipelines.common import formats
from pipelines.warehouse.catalogue import catalogue, catalogue_categories, norms

FORMAT_LABEL = {"entier": "nombre entier", "decimal1": "nombre à une décimale", "pourcentage": "pourcentage",
                "euros": "euros"}
SENS_LABEL = {"hausse_favorable": "une hausse est favorable", "baisse_favorable": "une baisse est favorable",
              "neutre": "ni hausse ni baisse n'est favorable en soi"}
THEME_LABEL = {"parcours": "Parcours", "actions": "Actions et partenariats", "cooperation": "Coopération",
               "resultats": "Résultats", "normes": "Normes de service", "attentes": "Listes d'attente"}
INTERVAL_LABEL = {"wilson": "intervalle de confiance à 95 % de Wilson",
                  "kaplan_meier": "intervalle de confiance à 95 % tiré de la bande de Kaplan-Meier"}


def methodology_markdown() -> str:
    categories = catalogue_categories()
    out = [
        "<!-- Page générée à partir du catalogue des indicateurs (pipelines/warehouse/catalogue_indicateurs.yaml) "
        "par `pre-eval docs --methodologie docs/indicateurs.md` : ne pas la modifier à la main. -->",
        "",
        "# Méthodologie des indicateurs",
        "",
        "## Population et périodes",
        "",
        "- Seules comptent les **données en vigueur** de chaque site : son dernier dépôt accepté.",
        "- Périodes : **année civile** (`AAAA`, du 1er janvier au 31 décembre) et **année scolaire** "
        "(`AAAA-AAAA`, du 1er septembre au 31 août).",
        "- Un parcours est **actif** sur une période s'il a commencé au plus tard le dernier jour de la période "
        "et n'était pas terminé avant son premier jour.",
        "- Les indicateurs sont produits pour toutes les périodes qui recouvrent l'intervalle allant de la plus "
        "ancienne date d'entrée à la plus récente date d'extraction, pour chaque site, département, région et "
        "pour la France entière.",
        "- Une période est **incomplète** pour un site si elle se termine après sa date d'extraction ou commence "
        "avant le début de ses données ; les tableaux de bord le signalent, avec la part des sites complets "
        "derrière chaque chiffre d'un territoire.",
        "- Un niveau territorial supérieur est calculé sur l'ensemble des enregistrements de ses sites, jamais en "
        "faisant la moyenne des valeurs des sites.",
        "- Durées en mois = jours ÷ 30,4375. Médiane d'un effectif pair = moyenne des deux valeurs centrales.",
        "",
        "## Effectif et secret statistique",
        "",
        "Chaque valeur est accompagnée de son **effectif** : le nombre d'éléments sur lequel elle repose (enfants, "
        "parcours, sorties, demandes…, précisé pour chaque indicateur ci-dessous). Avec un seuil de "
        f"{settings.default('SEUIL_SECRET')} (pratique de l'INSEE pour les données individuelles), tout chiffre "
        "diffusé est masqué (« secret statistique ») lorsque son effectif est compris entre 1 et le seuil moins "
        "un, ou lorsqu'une part laisserait compter moins que le seuil de personnes d'un côté ou de l'autre "
        "(numérateur ou complément) ; les chiffres qui partagent un même effectif sont masqués ensemble. "
        "D'autres chiffres sont masqués en complément (secret secondaire), choisis pour perdre le moins "
        "d'information possible, jusqu'à ce qu'aucun chiffre masqué ne puisse être encadré à moins de seuil "
        "unités près par un lecteur qui combine tous les chiffres affichés (totaux des sites, départements et "
        "régions, catégories, effectifs communs) : la plateforme le vérifie par programmation linéaire. Un "
        "zéro n'est pas masqué. L'entrepôt conserve les valeurs exactes, non arrondies, pour les analystes ; "
        "le détail est dans [secret-statistique.md](secret-statistique.md).",
        "",
        "## Attentes : pourquoi la méthode de Kaplan-Meier",
        "",
        "Beaucoup d'enfants attendent encore au moment de l'export, et ce sont justement les attentes les plus "
        "longues. Une simple moyenne des attentes terminées sous-estimerait donc l'attente réelle. La méthode de "
        "Kaplan-Meier tient compte des demandes encore en attente (jusqu'à la date d'extraction) et des demandes "
        "abandonnées (jusqu'à l'abandon) : elle estime la part des demandes encore sans rendez-vous après t jours. "
        "L'attente médiane est le plus petit délai auquel cette part tombe à 50 % ou moins ; tant que ce n'est pas "
        "le cas, elle n'est pas calculée.",
        "",
        "## Attentes avant et après l'arrivée d'une action sur un site",
        "",
        "Pour chaque type d'action évalué (référentiel `pipelines/warehouse/actions_evaluees.yaml`) présent sur un "
        "site, la plateforme compare les attentes des structures de soin liées (par exemple psychomotricien, CMPP "
        "et CAMSP pour la psychomotricité) dans les 12 mois qui précèdent la première action de ce type sur le site "
        "et dans les 12 mois qui la suivent (le jour de la première action compris). L'attente médiane et son "
        "intervalle de confiance à 95 % sont estimés par la méthode de Kaplan-Meier exactement comme l'attente "
        "médiane des indicateurs, sur les demandes faites dans chaque fenêtre. Une fenêtre est dite complète "
        "lorsqu'elle finit au plus tard à la date d'extraction du site et commence au plus tôt au début de ses "
        "données. Une fenêtre qui compte de 1 à seuil moins un demandes est masquée (« secret statistique ») : "
        "ni le nombre de demandes, ni la médiane, ni son intervalle ne sont affichés ; une fenêtre qui coïncide "
        "avec une année civile ou scolaire est aussi masquée quand les demandes de cette période le sont. Ces "
        "fenêtres dépendent de la date propre à chaque site : elles ne font pas partie de la vérification par "
        "programmation linéaire des indicateurs (voir [evaluer-une-action.md](evaluer-une-action.md)). La "
        "comparaison avant / après est descriptive : d'autres changements ont pu survenir en même temps.",
        "",
        "## Incertitude",
        "",
        "Un chiffre calculé sur peu de personnes varie beaucoup d'une année à l'autre par le seul hasard. "
        "L'entrepôt accompagne donc certaines valeurs d'un **intervalle de confiance à 95 %** (bornes basse et "
        "haute) :",
        "",
        "- pour une part (nombre de personnes rapporté à l'effectif), l'intervalle de **Wilson**, qui reste "
        "entre 0 et 100 % même sur de petits effectifs ;",
        "- pour l'attente médiane, les délais auxquels les bornes basse et haute de la bande de confiance de la "
        "courbe de Kaplan-Meier (transformation log(−log), variance de Greenwood) passent à 50 % ou moins ; une "
        "borne qui n'y passe jamais n'est pas calculée (la borne basse peut exister alors que la médiane n'est "
        "pas atteinte : la médiane est alors au moins aussi longue) ;",
        "- pour la part des demandes ayant un rendez-vous sous 90 jours, les valeurs tirées de la même bande au "
        "90e jour.",
        "",
        "Les autres indicateurs n'ont pas d'intervalle. Deux territoires dont les intervalles se chevauchent "
        "largement ne sont pas nettement différents.",
        "",
        "## Normes de service",
        "",
        "Certains indicateurs mesurent l'écart à une norme de service (par exemple celles de la guidance "
        "familiale). Les valeurs des normes sont tenues dans un référentiel modifiable par les analystes "
        "(`pipelines/warehouse/normes.yaml`) ; les indicateurs utilisent les valeurs en vigueur :",
        "",
        *[f"- {n['libelle']} : {formats.exact(n['valeur'])} {n['unite']}." for n in norms().values()],
        "",
        "## Indicateurs",
        "",
    ]
    for theme, title in THEME_LABEL.items():
        out += [f"### {title}", ""]
        for ind in [i for i in catalogue() if i.theme == theme]:
            out += [f"#### {ind.libelle} (`{ind.code}`)", "", ind.definition, ""]
            out.append(f"- Unité : {ind.unite} ; affichage : {FORMAT_LABEL[ind.format]} ; {SENS_LABEL[ind.sens]}.")
            out.append(f"- Effectif : {ind.effectif}.")
            if ind.ajout:
                out.append("- Indicateur ajouté par le projet (la spécification des indicateurs permet d'en ajouter "
                           "au catalogue) ; voir [evaluer-une-action.md](evaluer-une-action.md).")
            if ind.categories:
                values = ", ".join(categories[ind.categories].values())
                out.append(f"- Une valeur par catégorie ({values}), y compris les catégories à zéro.")
            if ind.intervalle:
                out.append(f"- Incertitude : {INTERVAL_LABEL[ind.intervalle]}.")
            out.append(f"- Calcul : `sql/{ind.sql}`.")
            out.append("")
    out += ["## Sources", "",
            "Dépôts des sites PRE au format d'échange (voir [format/format-echange.md](format/format-echange.md)) ; "
            "référentiel des sites ; repères nationaux de l'enquête annuelle de l'ANCT (données 2021).", ""]
    return "\n".join(out)

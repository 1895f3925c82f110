"""Tableau de bord PRE (Streamlit): entry point, builds the navigation only."""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run app.py` puts this folder on the import path; AppTest and other launchers may not.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import access
import accessibility
from pipelines.common.datahome import DASHBOARD_UMASK, restrict_umask


def main() -> None:
    # What the dashboard writes (a file sent into inbox/, the access journal) is for the platform's
    # account, through the shared group, and for nobody else (deploy/systemd/pre-dashboard.service).
    restrict_umask(DASHBOARD_UMASK)
    st.set_page_config(page_title=accessibility.SITE_NAME, page_icon="📊", layout="wide")
    accessibility.frame()  # page language, visible focus, print layout: the sign-in page included

    # Sign-in first: without a signed-in, authorised person the script stops here (no figure, no list).
    person = access.signed_in()

    # Pages live in `views/`, not `pages/`: with a `pages/` folder beside the entry point, Streamlit
    # starts in its legacy multipage mode (pages run without this navigation) until a session loads
    # the root URL, so a shared link opened first after a restart would show the wrong app.
    sections = {
        "Indicateurs": [
            st.Page("views/synthese.py", title="Synthèse", icon=":material/dashboard:", default=True),
            st.Page("views/territoires.py", title="Territoires", icon=":material/map:"),
            st.Page("views/parcours.py", title="Parcours", icon=":material/route:"),
            st.Page("views/actions.py", title="Actions et partenariats", icon=":material/handshake:"),
            st.Page("views/resultats.py", title="Résultats", icon=":material/task_alt:"),
            st.Page("views/attentes.py", title="Listes d'attente", icon=":material/hourglass_empty:"),
            st.Page("views/cooperation.py", title="Coopération", icon=":material/diversity_3:",
                    url_path="cooperation"),
            st.Page("views/evaluation.py", title="Évaluer une action", icon=":material/science:",
                    url_path="evaluer-une-action"),
            st.Page("views/normes.py", title="Normes de service", icon=":material/rule:", url_path="normes"),
        ],
        "Données": [
            st.Page("views/qualite.py", title="Qualité des données", icon=":material/fact_check:"),
            st.Page("views/changements.py", title="Ce qui a changé", icon=":material/compare_arrows:"),
            st.Page("views/methodologie.py", title="Méthodologie", icon=":material/menu_book:"),
        ],
        # RGAA's mention on every page, a link to the statement.
        "À propos": [
            st.Page("views/accessibilite.py", title=accessibility.MENTION, icon=":material/accessibility:",
                    url_path=accessibility.STATEMENT_PATH),
        ],
    }
    if person.role in ("site", "exploitant"):
        sections["Mes dépôts"] = [
            st.Page("views/depot.py", title="Déposer un fichier", icon=":material/upload_file:", url_path="depot"),
            st.Page("views/mes_depots.py", title="Mes dépôts", icon=":material/inbox:", url_path="mes-depots"),
        ]
    if person.role == "exploitant":
        sections["Exploitation"] = [
            st.Page("views/journal.py", title="Journal des accès", icon=":material/history:", url_path="journal"),
        ]
    st.navigation(sections, expanded=True).run()  # every page listed: no « View more » button (English)


# Streamlit (and AppTest) run this file as `__main__`. A process pool started with "spawn" from a
# process that ran it re-imports it as `__mp_main__`: nothing must run then.
if __name__ == "__main__":
    main()

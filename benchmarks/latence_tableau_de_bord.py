"""Render time of every dashboard page (Streamlit AppTest), cold and warm cache.

Run in its own process by the benchmark, with PRE_HOME pointing at the data home to read:
    python benchmarks/latence_tableau_de_bord.py RESULTAT.json [--cold N] [--warm N]

Cold: the data cache (`st.cache_data`) is cleared before each render, so every query reaches the
published DuckDB file (the modules are already imported, as in a running server). Warm: the page
is rendered again with the cache as the previous render left it. Each render is a fresh session
(`AppTest.from_file`), as a new visitor's would be. Times are those of the script run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"
PAGES = {
    "synthese": "Synthèse", "territoires": "Territoires", "parcours": "Parcours",
    "actions": "Actions et partenariats", "resultats": "Résultats", "attentes": "Listes d'attente",
    "qualite": "Qualité des données", "methodologie": "Méthodologie",
}


def _render(page: str, cold: bool) -> float:
    """Seconds to run one page in a new session. AppTest starts on the entry script's default
    page; for another page that first run is not counted, and for a cold render the data cache
    is cleared after it, so the timed run finds nothing cached (as a deep link on a cold server)."""
    import streamlit as st

    at = AppTest.from_file(str(DASHBOARDS / "app.py"), default_timeout=120)
    # Signed in a moment ago (`iat`: older sessions are refused), national perimeter (see `_authorise`).
    at.user = {"is_logged_in": True, "email": VISITOR, "iat": int(time.time())}
    if page != "synthese":
        at.run()
    if cold:
        st.cache_data.clear()
    start = time.perf_counter()
    if page == "synthese":
        at.run()
    else:
        at.switch_page(f"views/{page}.py").run()
    seconds = time.perf_counter() - start
    if at.exception or at.error:
        raise SystemExit(f"page {page} en erreur : {[e.value for e in [*at.exception, *at.error]]}")
    titles = [t.value for t in at.title]
    if titles[:1] != [PAGES[page]]:  # a refusal (session expired, no authorisation) renders fast and says so
        raise SystemExit(f"page {page} non affichée : titre {titles[:1]} au lieu de « {PAGES[page]} »")
    return seconds


VISITOR = "banc-essai@pre-eval.local"
# Sign-in variables: AppTest gives the signed-in user, no provider is contacted.
SIGN_IN = {"PRE_OIDC_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
           "PRE_OIDC_CLIENT_ID": "banc", "PRE_OIDC_CLIENT_SECRET": "banc",
           "PRE_OIDC_REDIRECT_URI": "http://127.0.0.1:8501/oauth2callback", "PRE_COOKIE_SECRET": "banc"}


def _authorise() -> None:
    """The benchmark's own data home: a national account for the timed sessions."""
    from pipelines.common.datahome import DataHome

    folder = DataHome.from_settings().access
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "habilitations.csv").write_text(f"email,role,perimetre,nom\n{VISITOR},national,FR,Banc d'essai\n",
                                              encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def main() -> int:
    from streamlit.logger import set_log_level

    set_log_level("error")  # AppTest outside a server warns about its bare mode on every call

    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=10)
    args = parser.parse_args()
    sys.path.insert(0, str(DASHBOARDS))
    os.environ.update(SIGN_IN)
    _authorise()
    _render("synthese", cold=True)  # imports and first connection, not counted
    results = {}
    for page, title in PAGES.items():
        cold = [_render(page, cold=True) for _ in range(args.cold)]
        warm = [_render(page, cold=False) for _ in range(args.warm)]
        results[page] = {
            "titre": title,
            "froid_p50": statistics.median(cold), "froid_p95": percentile(cold, 95),
            "chaud_p50": statistics.median(warm), "chaud_p95": percentile(warm, 95),
            "mesures": {"froid": len(cold), "chaud": len(warm)},
        }
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

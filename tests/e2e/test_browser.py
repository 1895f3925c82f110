"""The dashboard in a real browser: every page of the navigation opens, in French, without an error.

A published copy is built from generator output in a temporary data home, the real
Streamlit server is started on it, and Debian's Chromium (driven by Playwright) visits
every page listed in the navigation while `pre-eval process` replaces the published copy, then every
page once more on the new copy. Each page must show its French heading and no error box; a full-page
screenshot of each lands in `test-artifacts/screenshots/`.

On each page (and on the sign-in page) axe-core checks accessibility once (WCAG 2.1 A and AA
rules and best practices): no serious or critical finding may remain in the app's own content;
what Streamlit draws itself (`STREAMLIT_OWN`) is listed in the accessibility statement instead
(docs/accessibilite.md). The page's language, its title, and its print layout are checked too.

Chromium is required: without /usr/bin/chromium this test fails (it never skips);
`bash scripts/test.sh` installs it when run as root.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.common.datahome import DataHome
from support import ACCOUNTS, PRE_EVAL, REPO_ROOT, SIX_SITES, authorise, free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]
MISSING_CHROMIUM = ("Chromium est nécessaire pour le test navigateur : installez-le avec "
                    "sudo apt-get install chromium")
DASHBOARDS = REPO_ROOT / "dashboards"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"

# The pages the dashboard must offer, by their French heading (h1).
EXPECTED_TITLES = [
    "Synthèse",
    "Territoires",
    "Parcours",
    "Actions et partenariats",
    "Résultats",
    "Listes d'attente",
    "Coopération",
    "Évaluer une action",
    "Normes de service",
    "Qualité des données",
    "Méthodologie",
    "Déposer un fichier",
    "Mes dépôts",
    "Journal des accès",
    "Déclaration d'accessibilité",
]
SIGN_IN = "connexion"  # the key of the sign-in page among the visits
SIGN_IN_TITLE = "Connexion — Évaluation des PRE"

# axe-core's rules run on every page, and the impacts that must not remain in the app's own content.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}
BLOCKING = ("serious", "critical")
ALWAYS_BLOCKING = {"heading-order"}  # moderate for axe, but a page's outline is the app's own
# What Streamlit draws itself and the app cannot change: axe's rule → the Streamlit element its findings lie
# in. Each is a « Non-conformité » of the accessibility statement (docs/accessibilite.md).
STREAMLIT_OWN = {
    "list": '[data-testid="stSidebarNav"]',  # the page list: a <ul> holding its sections' <div>s…
    "listitem": '[data-testid="stSidebarNav"]',  # …whose <li>s are then in no list
}

# Text a page shows only when the framework or the code failed (Streamlit's own messages are English).
ENGLISH_ERRORS = [
    "Traceback",
    "This app has encountered an error",
    "Page not found",
    "You have requested page",
    "Connection error",
    "Is Streamlit still running",
    "StreamlitAPIException",
    "Something went wrong",
    "No such file or directory",
    "Please replace",
]
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")

SERVER_START_TIMEOUT = 60
PAGE_TIMEOUT_MS = 45_000
APP_READY = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
NAV_LINKS = '[data-testid="stSidebarNav"] a'
TOP_NAV_LINKS = '[data-testid="stTopNavLink"]'  # if the navigation is ever moved to the top


@dataclass
class Visit:
    """What one page showed."""

    link_text: str
    url: str
    h1: list[str] = field(default_factory=list)
    exceptions: int = 0
    english_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failure: str | None = None
    screenshot: Path | None = None
    seconds: float = 0.0
    title: str = ""  # the browser's title
    lang: str = ""  # <html lang>
    axe_ran: bool = False
    axe_own: list[str] = field(default_factory=list)  # blocking findings in the app's own content
    axe_streamlit: list[str] = field(default_factory=list)  # findings in Streamlit's own elements
    axe_minor: list[str] = field(default_factory=list)  # moderate or minor findings, for the record
    print_problems: list[str] = field(default_factory=list)
    pdf: bytes | None = None  # the territory sheet its « Imprimer / PDF » button gave (Synthèse, Territoires)
    printed_table: list[list[str]] = field(default_factory=list)  # the page's table that the sheet prints

    def problems(self) -> list[str]:
        found = []
        if self.failure:
            found.append(self.failure)
        if not any(text.strip() for text in self.h1):
            found.append("aucun titre h1 non vide")
        if self.exceptions:
            found.append(f"{self.exceptions} encadré(s) d'erreur (stException)")
        if self.english_errors:
            found.append(f"texte d'erreur du framework : {self.english_errors}")
        return found


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "page"


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="module")
def published_home(chromium, tmp_path_factory, processed_homes) -> DataHome:
    """A data home whose published copy comes from six generated sites (the dashboard tests' data,
    processed by `pre-eval process`), this module's own copy: `browsed_while_processing` processes more files."""
    home = processed_homes.get(**SIX_SITES).copy(tmp_path_factory.mktemp("navigateur") / "data")
    assert any(home.published.iterdir()), "aucune copie publiée après le traitement"
    authorise(home.root)
    return home


VISITOR = ACCOUNTS["exploitant"][0]  # sees every page, the portal and the journal included


@pytest.fixture(scope="module")
def provider():
    """A real local OpenID Connect provider (oidc-provider-mock) with the visitor's account."""
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("oidc-provider-mock")), "--host", "127.0.0.1",
                             "--port", str(port), "--user-claims",
                             f'{{"sub": "{VISITOR}", "email": "{VISITOR}"}}'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    yield url
    _stop_group(proc)


def _sign_in(page, base: str, on_sign_in_page=None) -> None:
    page.goto(base + "/", timeout=PAGE_TIMEOUT_MS)
    _wait_rendered(page)
    if on_sign_in_page:
        on_sign_in_page()
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("button", name=VISITOR).click()
    page.wait_for_url(base + "/**", timeout=PAGE_TIMEOUT_MS)
    _wait_rendered(page)


@pytest.fixture(scope="module")
def server(published_home, provider, tmp_path_factory):
    """The real Streamlit server on the published copy (`pre-eval dashboard`, signing in through the
    local provider), in its own process group."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ,
           "PRE_HOME": str(published_home.root),
           "DAGSTER_HOME": str(published_home.root.parent / "dagster"),
           "PRE_OIDC_METADATA_URL": provider, "PRE_OIDC_CLIENT_ID": "essai-navigateur",
           "PRE_OIDC_CLIENT_SECRET": "secret-navigateur", "PRE_OIDC_REDIRECT_URI": f"{base}/oauth2callback",
           "PRE_COOKIE_SECRET": "cookie-navigateur"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PRE_EVAL, "dashboard", "--port", str(port)], cwd=DASHBOARDS, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Streamlit s'est arrêté (code {proc.returncode}) :\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Streamlit ne répond pas après {SERVER_START_TIMEOUT} s :\n{log_path.read_text()}")
            time.sleep(0.3)
        yield base, log_path
    finally:
        _stop_group(proc)


def _wait_rendered(page) -> None:
    """Until the script run has finished and the elements it sent are drawn."""
    page.wait_for_selector(APP_READY, state="attached", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
        timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(800)  # charts draw after the script run ends
    page.wait_for_selector(APP_READY, state="attached", timeout=PAGE_TIMEOUT_MS)


def _screenshot(page, path: Path) -> None:
    """A full-page screenshot: Streamlit scrolls inside stMain, so grow the viewport to its height."""
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 20_000))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def _nav_links(page) -> list[tuple[str, str]]:
    """(label, absolute URL) of every page link in the navigation, "View more" unfolded, icons left out."""
    button = page.locator('[data-testid="stSidebarNavViewButton"]')
    if button.count() and "more" in button.first.inner_text():
        button.first.click()
        page.wait_for_timeout(300)
    links = page.locator(NAV_LINKS)
    if not links.count():
        links = page.locator(TOP_NAV_LINKS)
    found = []
    for link in links.all():
        label, href, external = link.evaluate(
            """a => { const copy = a.cloneNode(true);
                      copy.querySelectorAll('[data-testid^="stIcon"]').forEach(icon => icon.remove());
                      return [copy.textContent, a.href, a.target === '_blank']; }""")
        if not external:
            found.append((" ".join(label.split()), href))
    return found


def _screenshot_path(visit: Visit) -> Path:
    """<page>.png, named after the page's heading (else its link or URL path), never overwriting another."""
    headings = [h for h in visit.h1 if h.strip()]
    name = _slug(headings[0] if headings else visit.link_text or urllib.parse.urlsplit(visit.url).path or "accueil")
    path, n = SCREENSHOTS / f"{name}.png", 1
    while path.exists():
        n += 1
        path = SCREENSHOTS / f"{name}-{n}.png"
    return path


def _open(page, visit: Visit) -> None:
    """Go to the visit's URL, wait for the page to be drawn, and note what it shows."""
    page.goto(visit.url, timeout=PAGE_TIMEOUT_MS)
    _wait_rendered(page)
    visit.h1 = [h.inner_text() for h in page.locator("h1").all()]
    visit.title = page.title()
    visit.lang = page.evaluate("document.documentElement.lang")
    visit.exceptions = page.locator('[data-testid="stException"]').count()
    body = page.locator("body").inner_text()
    visit.english_errors = [e for e in ENGLISH_ERRORS if e in body]
    visit.english_errors += sorted(set(EXCEPTION_NAME.findall(body)))


def _check_accessibility(page, visit: Visit) -> None:
    """One axe-core run on the page as shown; each finding sorted into the app's own or Streamlit's."""
    from axe_playwright_python.sync_playwright import Axe

    for violation in Axe().run(page, options=AXE_OPTIONS).response["violations"]:
        rule = violation["id"]
        for node in violation["nodes"]:
            target = node["target"][-1]
            text = f"{rule} ({node['impact']}) : {target} — {' '.join(node['html'].split())[:160]}"
            container = STREAMLIT_OWN.get(rule)
            if container and isinstance(target, str) and page.evaluate(
                    "([target, container]) => !!document.querySelector(target)?.closest(container)",
                    [target, container]):
                visit.axe_streamlit.append(text)
            elif node["impact"] in BLOCKING or rule in ALWAYS_BLOCKING:
                visit.axe_own.append(text)
            else:
                visit.axe_minor.append(text)
    visit.axe_ran = True


PRINT_STATE = """() => ({
    sidebar: [...document.querySelectorAll('[data-testid="stSidebar"]')].map(e => getComputedStyle(e).display),
    grids: [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(e => getComputedStyle(e).display),
    tables: [...document.querySelectorAll('table.%s')].map(t => getComputedStyle(t).display)})"""


def _check_print(page, visit: Visit) -> None:
    """Printed, the page has no sidebar, and each grid (an image once printed) gives way to its HTML table."""
    query = PRINT_STATE % "print-only"  # the class of the tables printed in place of the grids
    screen = page.evaluate(query)
    page.emulate_media(media="print")
    try:
        printed = page.evaluate(query)
    finally:
        page.emulate_media(media="screen")
    if len(screen["tables"]) != len(screen["grids"]):
        visit.print_problems.append(f"{len(screen['grids'])} grille(s) pour {len(screen['tables'])} tableau(x) "
                                    "à imprimer")
    if any(d != "none" for d in screen["tables"]):
        visit.print_problems.append("tableau à imprimer affiché à l'écran")
    if any(d != "none" for d in printed["sidebar"] + printed["grids"]):
        visit.print_problems.append("menu latéral ou grille imprimés")
    if any(d != "table" for d in printed["tables"]):
        visit.print_problems.append("tableau à imprimer masqué à l'impression")


PRINT_BUTTON = "Imprimer / PDF"
PRINTED_TABLES = """() => [...document.querySelectorAll('table.print-only')]
    .map(t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim())))"""
SHEET_TABLE_FIRST_HEADER = {"Synthèse": "Indicateur", "Territoires": "Rang"}  # the table the sheet prints


def _download_sheet(page, visit: Visit) -> None:
    """On a page with the « Imprimer / PDF » button, the PDF it downloads and the page's first table."""
    button = page.get_by_role("button", name=PRINT_BUTTON)
    if not button.count():
        return
    first = SHEET_TABLE_FIRST_HEADER.get(visit.link_text)
    visit.printed_table = next((t for t in page.evaluate(PRINTED_TABLES) if t and t[0][:1] == [first]), [])
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        button.first.click()
    visit.pdf = Path(download.value.path()).read_bytes()


NEW_FILES_SITES = ["PRE08105", "PRE10387"]  # a new site, and a newer snapshot of 10387 (one of SIX_SITES)


def _process(home: DataHome, files: list[Path], outcome: dict) -> None:
    env = {**os.environ, "PRE_HOME": str(home.root), "DAGSTER_HOME": str(home.root.parent / "dagster")}
    for file in files:
        shutil.copy(file, home.inbox / file.name)
    run = subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=900)
    outcome["code"], outcome["stderr"] = run.returncode, run.stderr[-2000:]


@pytest.fixture(scope="module")
def browsed_while_processing(chromium, server, published_home, tmp_path_factory) -> dict:
    """A real browser goes round every page while `pre-eval process` replaces the published copy (2
    submissions: a newer snapshot of a site already published and a new site), until processing ends. The
    browser is mid-page whenever the copy is replaced, however long the processing (this test once had 10
    files of 2021–2025 in 5 runs, then 4 files in 2 runs: that only lengthened it, by minutes of CI each).
    Every page is then visited again on the new copy by `visits`, with all its checks."""
    import threading

    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from pipelines.demo.generate import generate

    base, _log = server
    home = published_home
    files = [f.path for f in generate(tmp_path_factory.mktemp("nouveaux"), seed=8, sites=NEW_FILES_SITES,
                                      from_year=2025, to_year=2025, home=home)]
    assert [f.name[:8] for f in files] == NEW_FILES_SITES
    outcome: dict = {}
    worker = threading.Thread(target=_process, args=(home, files, outcome))
    seen: list[Visit] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="fr-FR")
            _sign_in(page, base)
            links = _nav_links(page)
            worker.start()
            while worker.is_alive():
                for text, url in links:
                    if not worker.is_alive():
                        break
                    visit = Visit(link_text=text, url=url)
                    try:
                        _open(page, visit)
                    except PlaywrightError as exc:
                        visit.failure = f"la page ne s'est pas affichée : {exc.message.splitlines()[0]}"
                    seen.append(visit)
        finally:
            browser.close()
            worker.join(900)
    return {"outcome": outcome, "seen": seen, "files": files, "links": links}


@pytest.fixture(scope="module")
def visits(chromium, server, browsed_while_processing) -> dict[str, Visit]:
    """Every page of the navigation, visited once after `browsed_while_processing` (so on the published copy
    that processing replaced); keyed by its URL."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    base, _log = server
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    results: dict[str, Visit] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="fr-FR")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            sign_in = Visit(link_text="Connexion", url=base + "/")

            def on_sign_in_page() -> None:
                sign_in.h1 = [h.inner_text() for h in page.locator("h1").all()]
                sign_in.title, sign_in.lang = page.title(), page.evaluate("document.documentElement.lang")
                _check_accessibility(page, sign_in)
                sign_in.screenshot = SCREENSHOTS / "connexion.png"
                _screenshot(page, sign_in.screenshot)

            _sign_in(page, base, on_sign_in_page)
            results[SIGN_IN] = sign_in
            links = _nav_links(page)
            if not links:  # a single page: Streamlit hides the navigation
                links = [("", page.url)]
            for text, url in links:
                started = time.monotonic()
                visit = Visit(link_text=text, url=url)
                errors.clear()
                try:
                    _open(page, visit)
                    visit.screenshot = _screenshot_path(visit)
                    _screenshot(page, visit.screenshot)
                    _check_accessibility(page, visit)
                    _check_print(page, visit)
                    _download_sheet(page, visit)
                except PlaywrightError as exc:
                    visit.failure = f"la page ne s'est pas affichée : {exc.message.splitlines()[0]}"
                    with contextlib.suppress(PlaywrightError):
                        page.screenshot(path=str(SCREENSHOTS / f"{_slug(text or 'accueil')}-echec.png"))
                visit.page_errors = list(errors)
                visit.seconds = round(time.monotonic() - started, 1)
                results[url] = visit
        finally:
            browser.close()
    print(f"\nPages visitées ({len(results)}) :")
    for url, visit in results.items():
        print(f"  {url} [{visit.link_text}] h1={visit.h1} {visit.seconds} s -> {visit.screenshot}")
        for finding in visit.axe_own + visit.axe_minor:
            print(f"      axe : {finding}")
        if visit.axe_streamlit:
            rules = collections.Counter(f.split(" ")[0] for f in visit.axe_streamlit)
            print("      axe, éléments de Streamlit : " + ", ".join(f"{r} ×{n}" for r, n in sorted(rules.items())))
    return results


def test_every_navigation_page_renders_without_error(visits, server):
    assert visits, "aucune page dans la navigation"
    broken = {key: visit.problems() for key, visit in visits.items() if visit.problems()}
    log = server[1].read_text()[-3000:]
    assert not broken, f"pages en erreur : {broken}\n--- journal Streamlit ---\n{log}"
    for visit in visits.values():
        assert visit.screenshot and visit.screenshot.stat().st_size > 0


def _headings(visit: Visit) -> list[str]:
    return [" ".join(h.split()) for h in visit.h1]


@pytest.mark.parametrize("title", EXPECTED_TITLES, ids=_slug)
def test_page_is_reachable_with_its_french_title(visits, title):
    found = {visit.link_text or url: visit.h1 for url, visit in visits.items()}
    visit = next((v for v in visits.values() if title in _headings(v)), None)
    if visit is None:
        linked = next((v for v in visits.values() if title in v.link_text), None)
        assert linked is None, f"« {title} » : lien présent mais titre h1 {linked.h1}, problèmes : {linked.problems()}"
        pytest.fail(f"« {title} » absent de la navigation (pages trouvées et leurs h1 : {found})", pytrace=False)
    assert not visit.problems(), f"« {title} » : {visit.problems()}"


# --- accessibility (RGAA 4.1, WCAG 2.1 AA) ---------------------------------------------------------------


def test_axe_finds_nothing_serious_in_the_app_s_own_content(visits):
    """0 serious or critical finding of axe-core outside Streamlit's own elements, on every page."""
    assert all(v.axe_ran for v in visits.values() if not v.failure), "axe-core n'a pas tourné sur chaque page"
    found = {visit.link_text or key: visit.axe_own for key, visit in visits.items() if visit.axe_own}
    assert not found, f"anomalies d'accessibilité du tableau de bord : {found}"


def test_each_page_is_in_french_with_a_title_of_its_own(visits):
    for key, visit in visits.items():
        assert visit.lang == "fr", (visit.link_text, visit.lang)
        expected = SIGN_IN_TITLE if key == SIGN_IN else f"{_headings(visit)[0]} — Évaluation des PRE"
        assert visit.title == expected
    titles = [visit.title for visit in visits.values()]
    assert len(set(titles)) == len(titles), titles


def test_every_page_links_the_statement_which_lists_what_streamlit_leaves(visits):
    assert "Accessibilité : non conforme" in [visit.link_text for visit in visits.values()]
    statement = (REPO_ROOT / "docs" / "accessibilite.md").read_text(encoding="utf-8")
    left = {finding.split(" ")[0] for visit in visits.values() for finding in visit.axe_streamlit}
    assert left <= set(STREAMLIT_OWN)
    for rule in left:
        assert f"`{rule}`" in statement, f"« {rule} » (Streamlit) absent de la déclaration d'accessibilité"


def test_printed_pages_have_no_sidebar_and_whole_tables(visits):
    problems = {visit.link_text: visit.print_problems for visit in visits.values() if visit.print_problems}
    assert not problems, problems


# --- the dashboard read in a browser while files are processed ---------------------------------------------


def test_the_print_button_gives_the_page_s_figures_on_an_a4_sheet(visits):
    """« Imprimer / PDF » on Synthèse and Territoires downloads a one- or two-page A4 PDF holding the page's
    main table as the page prints it (masked cells included), read back by rendering it with pdfium."""
    import pypdfium2 as pdfium

    sheets = {v.link_text: v for v in visits.values() if v.pdf is not None}
    assert set(sheets) == {"Synthèse", "Territoires"}, sorted(sheets)
    for name, visit in sheets.items():
        pdf = pdfium.PdfDocument(visit.pdf)
        assert 1 <= len(pdf) <= 2, (name, len(pdf))
        width, height = pdf[0].get_size()
        assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1, (name, width, height)
        text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        flat = " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())
        assert flat.startswith("Fiche territoire — "), (name, flat[:80])
        assert visit.h1 and f"page « {name} »" in flat
        # Every figure of the page's table (numbers and « secret statistique »), in the sheet as on screen.
        cells = [" ".join(c.replace("\u202f", " ").replace("\xa0", " ").split())
                 for row in visit.printed_table[1:] for c in row]
        figures = [c for c in cells if c and (c[0].isdigit() or c == "secret statistique")]
        assert figures, (name, visit.printed_table[:3])
        words = set(flat.split())
        for cell in figures:
            assert cell in flat or set(cell.split()) <= words, (name, cell)
        assert "Source : " in flat and "page 1 / " in flat


def test_pages_keep_working_while_submissions_are_processed(browsed_while_processing, visits, published_home, server):
    """While the copy was replaced, every page opened answered without error; once processing ended, every page
    was opened again on the new copy (`visits`, whose other tests check each page's content)."""
    outcome, seen = browsed_while_processing["outcome"], browsed_while_processing["seen"]
    files, links = browsed_while_processing["files"], browsed_while_processing["links"]
    assert outcome["code"] == 0, outcome["stderr"]
    problems = [(v.link_text, v.problems()) for v in seen if v.problems()]
    assert problems == [], f"{problems}\n--- journal Streamlit ---\n{server[1].read_text()[-3000:]}"
    assert len(seen) >= 1 and len(links) >= len(EXPECTED_TITLES)
    after = {url for url, visit in visits.items() if url != SIGN_IN and not visit.problems()}
    assert after >= {url for _, url in links}
    assert "Traceback" not in server[1].read_text()
    import duckdb

    con = duckdb.connect(str(published_home.published / "entrepot.duckdb"), read_only=True)
    try:
        accepted = con.execute("select count(*) from marts.depots where statut = 'accepte' and fichier in "
                               f"({', '.join('?' for _ in files)})", [f.name for f in files]).fetchone()[0]
    finally:
        con.close()
    assert accepted == len(files)
    print(f"\n{len(seen)} pages affichées pendant le traitement de {len(files)} dépôts, {len(after)} après, 0 erreur")

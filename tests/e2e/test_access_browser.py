"""Sign-in, perimeters and the coordinators' portal in a real browser, against `pre-eval dev`: the real
local OpenID Connect provider, the Dagster daemon with its sensors, and the Streamlit server.

A coordinator checks a flawed file (report shown, no « Envoyer »), a file of another site (refused,
naming its own site), then its own valid file, sends it, and sees it accepted in « Mes dépôts » once
the running sensor has handled it. Regional and départemental users who name a territory outside
their perimeter in the URL get a French message and no figure. The access journal records each step.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pipelines.common.datahome import DataHome
from pipelines.demo.generate import generate
from support import BIN, PRE_EVAL, REPO_ROOT, free_port, isolated_env

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots" / "acces"
APP_READY = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
TIMEOUT_MS = 60_000
NATIONAL = "anct@demo.pre-eval.fr"
REIMS = "coordination-reims@demo.pre-eval.fr"
MARNE = "ddets-marne@demo.pre-eval.fr"
GRAND_EST = "dreets-grand-est@demo.pre-eval.fr"
OPERATOR = "exploitation@demo.pre-eval.fr"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """`pre-eval dev` on a data home with three sites published (two in Grand Est, one in Marseille, région
    93); Reims (Grand Est) sends its own file through the portal."""
    root = tmp_path_factory.mktemp("acces")
    home = DataHome(root / "data").ensure()
    (home.referentiel / "autres.csv").write_text(
        "code_pre,nom,code_commune,departement,region,porteur\n"
        "PRE13055,Marseille,13055,13,93,Commune de Marseille\n", encoding="utf-8")
    gen = DataHome(root / "gen")
    shutil.copytree(home.referentiel, gen.referentiel)
    files = generate(root / "depots", seed=21, sites=["PRE51454", "PRE51230", "PRE57463", "PRE13055"],
                     from_year=2024, to_year=2024, home=gen)
    valid = {f.code_pre: f for f in files if f.expected_rule is None}
    for code in ("PRE51230", "PRE57463", "PRE13055"):  # Reims sends its own file through the portal
        shutil.copy(valid[code].path, home.inbox / valid[code].path.name)
    ports = {"dagster": free_port(), "dashboard": free_port(), "provider": free_port()}
    env = isolated_env(home.root, root, PRE_DELAI_STABILITE_S="1", PRE_INTERVALLE_PUBLICATION_MIN="0")
    env["PATH"] = f"{BIN}:{env['PATH']}"
    # The three sites are loaded and published by one `pre-eval process` before the services start (one
    # process, where the sensor would launch a run per file: the daemon's path is what the portal test
    # and tests/e2e/test_event_driven.py exercise).
    loaded = subprocess.run([PRE_EVAL, "process"], env=env, capture_output=True, text=True, timeout=900)
    assert loaded.returncode == 0 and loaded.stdout.count("ACCEPTÉ") == 3, loaded.stdout + loaded.stderr[-3000:]
    log_path = root / "dev.log"
    log = log_path.open("w")
    proc = subprocess.Popen([PRE_EVAL, "dev", "--dagster-port", str(ports["dagster"]), "--dashboard-port",
                             str(ports["dashboard"]), "--provider-port", str(ports["provider"])],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and "Ctrl+C pour tout arrêter" not in log_path.read_text():
            time.sleep(1)
        text = log_path.read_text()
        assert "Ctrl+C pour tout arrêter" in text, text[-3000:]
        assert REIMS in text and "fournisseur d'identité local" in text
        assert len(_depots(home)) == 3, log_path.read_text()[-4000:]
        # Flawed copies are made of the smallest site generated: Reims alone, for Reims's coordinator.
        flawed = next(f for f in generate(root / "erreurs", seed=21, sites=["PRE51454"], from_year=2024,
                                          to_year=2024, with_errors=True, home=gen)
                      if f.expected_rule == "actions.volet.liste")
        yield {"home": home, "base": f"http://127.0.0.1:{ports['dashboard']}", "valid": valid, "flawed": flawed,
               "log": log_path}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _depots(home: DataHome) -> dict[str, tuple[str, str | None]]:
    import duckdb

    path = home.published / "entrepot.duckdb"
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {f: (s, d) for f, s, d in con.execute("select fichier, statut, depose_par from marts.depots").fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Chromium est nécessaire : sudo apt-get install chromium", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _ready(page) -> None:
    page.wait_for_selector(APP_READY, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_timeout(700)
    page.wait_for_selector(APP_READY, state="attached", timeout=TIMEOUT_MS)


def _sign_in(browser, base: str, email: str):
    """A new browser session signed in as `email` through the local provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.goto(base + "/", timeout=TIMEOUT_MS)
    _ready(page)
    assert "Se connecter" in page.locator("body").inner_text()
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=TIMEOUT_MS)
    page.get_by_role("button", name=email).click()
    page.wait_for_url(base + "/**", timeout=TIMEOUT_MS)
    _ready(page)
    return context, page


def _body(page) -> str:
    return page.locator("body").inner_text()


def test_before_sign_in_nothing_is_shown(browser, platform):
    page = browser.new_page()
    page.goto(platform["base"] + "/?niveau=pre&territoire=PRE51454", timeout=TIMEOUT_MS)
    _ready(page)
    text = _body(page)
    assert "Se connecter" in text and "Reims" not in text and "Enfants suivis" not in text
    page.screenshot(path=str(SCREENSHOTS / "connexion.png"))
    page.close()


@pytest.mark.parametrize(("email", "url", "role_label"), [
    (GRAND_EST, "/?niveau=departement&territoire=13", "région"),  # another region's département
    (MARNE, "/?niveau=pre&territoire=PRE57463", "département"),  # a site of another département
])
def test_a_url_outside_the_perimeter_shows_no_figure(browser, platform, email, url, role_label):
    context, page = _sign_in(browser, platform["base"], email)
    try:
        assert role_label in _body(page)
        page.goto(platform["base"] + url, timeout=TIMEOUT_MS)
        _ready(page)
        text = _body(page)
        assert "Ce territoire ne fait pas partie de votre périmètre" in text
        assert "Enfants suivis" not in text and "Marseille" not in text and "Metz" not in text
        page.screenshot(path=str(SCREENSHOTS / f"hors-perimetre-{role_label}.png"), full_page=True)
    finally:
        context.close()
    events = _journal(platform["home"])
    assert any(e["email"] == email and e["evenement"] == "connexion" for e in events)
    assert any(e["email"] == email and e["evenement"] == "acces_refuse" for e in events)


def test_the_national_user_sees_every_region_and_no_portal(browser, platform):
    context, page = _sign_in(browser, platform["base"], NATIONAL)
    try:
        assert "national (ANCT)" in _body(page)
        page.goto(platform["base"] + "/?niveau=departement&territoire=13", timeout=TIMEOUT_MS)
        _ready(page)
        text = _body(page)
        assert "ne fait pas partie de votre périmètre" not in text and "Bouches-du-Rhône" in text
        assert "Déposer un fichier" not in text and "Journal des accès" not in text  # not in its navigation
        page.screenshot(path=str(SCREENSHOTS / "national.png"), full_page=True)
        page.goto(platform["base"] + "/depot", timeout=TIMEOUT_MS)
        _ready(page)
        assert page.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0
    finally:
        context.close()
    events = _journal(platform["home"])
    assert any(e["email"] == NATIONAL and e["evenement"] == "connexion" and e["role"] == "national" for e in events)


def _journal(home: DataHome) -> list[dict]:
    path = home.root / "journal" / "acces.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _upload(page, path: Path) -> str:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.wait_for_timeout(1000)
    _ready(page)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = _body(page)
        if "ACCEPTÉ" in text or "REFUSÉ" in text or "autre site que le vôtre" in text:
            return text
        page.wait_for_timeout(500)
    return _body(page)


def test_a_coordinator_checks_and_sends_through_the_portal(browser, platform):
    home, base = platform["home"], platform["base"]
    context, page = _sign_in(browser, base, REIMS)
    try:
        page.goto(base + "/depot", timeout=TIMEOUT_MS)
        _ready(page)
        assert "Déposer un fichier" in _body(page)
        # A flawed file: the report is on the page, and it cannot be sent.
        text = _upload(page, platform["flawed"].path)
        assert "REFUSÉ" in text and "anomalie" in text
        assert page.get_by_role("button", name="Envoyer").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "depot-refuse.png"), full_page=True)
        # Another site's file: refused at the check, naming the coordinator's own site.
        page.goto(base + "/depot", timeout=TIMEOUT_MS)
        _ready(page)
        text = _upload(page, platform["valid"]["PRE57463"].path)
        assert "autre site que le vôtre" in text and "PRE51454 (Reims)" in text
        assert page.get_by_role("button", name="Envoyer").count() == 0
        # Its own valid file: checked, sent once (a double click gives one submission).
        page.goto(base + "/depot", timeout=TIMEOUT_MS)
        _ready(page)
        own = platform["valid"]["PRE51454"].path
        text = _upload(page, own)
        assert "ACCEPTÉ" in text
        page.get_by_role("button", name="Envoyer").dblclick()
        _ready(page)
        # The rerun that files it may end after the page looks ready on a busy machine: wait for its message.
        page.get_by_text("Fichier reçu").first.wait_for(timeout=TIMEOUT_MS)
        assert "Fichier reçu" in _body(page)
        page.screenshot(path=str(SCREENSHOTS / "depot-envoye.png"), full_page=True)
        # The running sensor handles it; « Mes dépôts » shows it accepted, sent by the coordinator.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and own.name not in _depots(home):
            time.sleep(2)
        assert _depots(home).get(own.name) == ("accepte", REIMS), platform["log"].read_text()[-4000:]
        page.goto(base + "/mes-depots", timeout=TIMEOUT_MS)
        _ready(page)
        text = _body(page)
        assert own.name in text and "accepté" in text and REIMS in text
        assert "Metz" not in text and "PRE57463" not in text  # another site's submissions are not listed
        page.screenshot(path=str(SCREENSHOTS / "mes-depots.png"), full_page=True)
    finally:
        context.close()
    received = [e for e in _journal(home) if e["email"] == REIMS]
    kinds = [e["evenement"] for e in received]
    assert kinds.count("verification") == 3 and kinds.count("envoi") >= 1
    assert sum(1 for p in Path(home.archive).rglob("*") if p.is_file() and p.name.endswith(own.name)) == 1


def test_the_operator_reads_the_access_journal(browser, platform):
    context, page = _sign_in(browser, platform["base"], OPERATOR)
    try:
        page.goto(platform["base"] + "/journal", timeout=TIMEOUT_MS)
        _ready(page)
        text = _body(page)
        assert "Journal des accès" in text and "connexion" in text
        page.screenshot(path=str(SCREENSHOTS / "journal.png"), full_page=True)
    finally:
        context.close()
    context, page = _sign_in(browser, platform["base"], MARNE)
    try:
        page.goto(platform["base"] + "/journal", timeout=TIMEOUT_MS)
        _ready(page)
        assert "Journal des accès" not in [h.inner_text() for h in page.locator("h1").all()]
    finally:
        context.close()

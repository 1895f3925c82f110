"""Alerts on a failed run (issue 13, item 5): real runs failing in a real Dagster instance, the real
sensor evaluated on them, a real SMTP server (aiosmtpd) and a real HTTP server receiving the alerts.

Expected texts are written here by hand; the time is checked against the test's own clock.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import re
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pipelines.common.datahome import DataHome
from pipelines.definitions import defs
from pipelines.defs.alerts import alerte_echec
from pipelines.defs.ingestion import sites
from support import BIN, REPO_ROOT, free_port, isolated_env

SENDER = "pre-alertes@essai.fr"
RECIPIENTS = ["exploitation@essai.fr", "astreinte@essai.fr"]
WEBHOOK_TOKEN = "jeton-webhook-7f3a9c2e51"
SMTP_PASSWORD = "mdp-smtp-Zq8w2k"
POSTGRES_URL = "postgresql://pre:mdp-pg-Hx4r9t@127.0.0.1:5432/dagster"
PERSON = "MME DURAND"


# --------------------------------------------------------------------------- real servers


class Mailbox:
    """aiosmtpd handler keeping each message with what the session was (TLS, signed in)."""

    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "raw": envelope.original_content or envelope.content,
                              "tls": session.ssl is not None, "login": session.auth_data})
        return "250 Message accepted for delivery"


def _smtp(**options) -> tuple[Controller, Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller, box


@pytest.fixture
def smtp():
    controller, box = _smtp()
    yield controller, box
    controller.stop()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append({"path": self.path, "type": self.headers.get("Content-Type"), "body": body})
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _webhook_url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hooks/{WEBHOOK_TOKEN}"


def _channels(monkeypatch, smtp_port: int | None, webhook_url: str | None, **extra: str) -> None:
    if smtp_port is not None:
        monkeypatch.setenv("PRE_ALERTE_SMTP_HOTE", "127.0.0.1")
        monkeypatch.setenv("PRE_ALERTE_SMTP_PORT", str(smtp_port))
        monkeypatch.setenv("PRE_ALERTE_EMAIL_DE", SENDER)
        monkeypatch.setenv("PRE_ALERTE_EMAIL_A", ", ".join(RECIPIENTS))
        monkeypatch.setenv("PRE_ALERTE_SMTP_MOT_DE_PASSE", SMTP_PASSWORD)
    if webhook_url is not None:
        monkeypatch.setenv("PRE_ALERTE_WEBHOOK_URL", webhook_url)
    monkeypatch.setenv("PRE_DAGSTER_POSTGRES_URL", POSTGRES_URL)  # a secret that must never show
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


# --------------------------------------------------------------------------- failing runs


@pytest.fixture
def instance(tmp_path):
    folder = tmp_path / "dagster_home"
    folder.mkdir()
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with dg.DagsterInstance.from_config(str(folder)) as instance:
        yield instance


def _leaky_job(webhook_url: str):
    """A job whose steps fail with errors carrying a person's name and secrets, as libraries write them."""

    @dg.op
    def lecture_duckdb():
        duckdb.sql(f"select cast('{PERSON}' as integer)").fetchall()

    @dg.op
    def conversion_polars():
        pl.Series("partenaire", [PERSON]).cast(pl.Int64)

    @dg.op
    def connexion():
        raise ConnectionError(f"connexion impossible à {webhook_url} ({POSTGRES_URL}, mot de passe "
                              f"{SMTP_PASSWORD}) @channel **urgent** [cliquer](http://piege.example) <b>x</b>\n"
                              f"{PERSON} en deuxième ligne")

    @dg.job(name="essai_alerte")
    def essai_alerte():
        lecture_duckdb()
        conversion_polars()
        connexion()

    return essai_alerte


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _failed_leaky_run(instance, webhook_url: str) -> dg.ExecuteInProcessResult:
    result = _leaky_job(webhook_url).execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET)
    assert not result.success
    return result


def _failed_ingestion(instance, tmp_path, monkeypatch) -> dg.ExecuteInProcessResult:
    """The project's ingestion job, launched with a run configuration that passes validation but
    fails at run time (a path instead of an inbox file name, as from the launchpad)."""
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    (home.secret / "cle_pseudonymisation").write_bytes(b"k" * 32)
    if "PRE51454" not in instance.get_dynamic_partitions(sites.name):
        instance.add_dynamic_partitions(sites.name, ["PRE51454"])
    config = {"ops": {"depot": {"config": {"files": [
        {"name": f"../{PERSON}.zip", "size": 2, "mtime": 0.0, "sha256": "0" * 64}]}}}} | QUIET
    result = defs.resolve_job_def("ingestion").execute_in_process(
        run_config=config, instance=instance, partition_key="PRE51454", raise_on_error=False)
    assert not result.success
    return result


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def at(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]


def _evaluate(instance, result: dg.ExecuteInProcessResult) -> Records:
    """The real sensor evaluated on the failure, as the daemon hands it one failed run."""
    context = dg.build_run_status_sensor_context(
        sensor_name="alerte_echec", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event())
    records = Records()
    context.log.addHandler(records)
    alerte_echec(context)
    return records


def _mail(message: dict) -> email.message.EmailMessage:
    return email.message_from_bytes(message["raw"], policy=email.policy.default)


def _body(message: dict) -> str:
    return _mail(message).get_content().replace("\r\n", "\n")


def _paris_time(body: str) -> dt.datetime:
    day, month, year, hour, minute, second = map(int, re.search(
        r"Heure de l'échec : (\d\d)/(\d\d)/(\d{4}) à (\d\d):(\d\d):(\d\d) \(heure de Paris\)", body).groups())
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo("Europe/Paris"))


# --------------------------------------------------------------------------- the alert


def test_a_failed_run_is_mailed_and_posted_in_french(instance, smtp, webhook, monkeypatch):
    controller, box = smtp
    _channels(monkeypatch, controller.port, _webhook_url(webhook))
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = _failed_leaky_run(instance, _webhook_url(webhook))
    after = dt.datetime.now(dt.UTC)
    run_id = result.dagster_run.run_id

    records = _evaluate(instance, result)

    [message] = box.messages
    assert message["from"] == SENDER and sorted(message["to"]) == sorted(RECIPIENTS)
    mail = _mail(message)
    assert mail["Subject"] == "[PRE] Échec de l'exécution essai_alerte"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    body = _body(message)
    assert "Traitement : essai_alerte" in body
    assert f"Exécution : {run_id}" in body
    assert f"Détails dans l'interface Dagster : /runs/{run_id}" in body
    assert "Étapes en échec :" in body
    # Each failed step with its error's class and the first line of its message, values masked.
    assert "- lecture_duckdb : ConversionException, Conversion Error: Could not convert string «…» to INT32" in body
    assert "- conversion_polars : InvalidOperationError, conversion from «…» to «…» failed in column «…» for " \
           "1 out of 1 values: «…»" in body
    assert "- connexion : ConnectionError, connexion impossible à «…»" in body
    assert before <= _paris_time(body) <= after

    [post] = webhook.received
    assert post["path"] == f"/hooks/{WEBHOOK_TOKEN}" and post["type"].startswith("application/json")
    payload = json.loads(post["body"].decode("utf-8"))
    assert list(payload) == ["text"]
    text = payload["text"]
    assert text.startswith("**[PRE] Échec de l'exécution essai_alerte**")
    for fact in ("Traitement : essai_alerte", f"Exécution : {run_id}", f"/runs/{run_id}",
                 "lecture_duckdb : ConversionException", "conversion_polars : InvalidOperationError",
                 "connexion : ConnectionError"):
        assert fact in text and fact in body

    # What never leaves: the person's name, the secrets, markup that a chat would act on.
    for shown in (body, mail["Subject"], text):
        for secret in (PERSON, "DURAND", WEBHOOK_TOKEN, "/hooks/", SMTP_PASSWORD, POSTGRES_URL, "mdp-pg-Hx4r9t",
                       "@channel", "**urgent", "](", "<b>", "piege", "deuxième ligne"):
            assert secret not in shown, secret
    assert records.at(logging.INFO) == ["Alerte envoyée par courriel.", "Alerte envoyée par webhook."]
    assert records.at(logging.WARNING) == []


def test_the_ingestion_jobs_failure_names_its_step_and_site(instance, smtp, webhook, tmp_path, monkeypatch):
    controller, box = smtp
    _channels(monkeypatch, controller.port, _webhook_url(webhook))
    result = _failed_ingestion(instance, tmp_path, monkeypatch)

    _evaluate(instance, result)

    [message] = box.messages
    mail = _mail(message)
    assert mail["Subject"] == "[PRE] Échec de l'exécution ingestion"
    body = _body(message)
    assert "Partition : PRE51454" in body
    assert "Cause : échec d'une étape" in body
    assert ("Étape en échec :\n- depot : Failure, Configuration d'exécution refusée, fichier n° 1 : le nom de "
            "fichier contient un chemin") in body
    assert f"/runs/{result.dagster_run.run_id}" in body
    assert PERSON not in body and "DURAND" not in json.loads(webhook.received[0]["body"])["text"]
    assert len(webhook.received) == 1


def test_a_run_lost_outside_its_steps_is_alerted_too(instance, smtp, monkeypatch):
    """What run monitoring reports when a run's process dies: a failure with no failed step."""
    controller, box = smtp
    _channels(monkeypatch, controller.port, None)
    job = _leaky_job("http://127.0.0.1:9/x")
    run = instance.create_run_for_job(job_def=job, run_config=QUIET)
    event = instance.report_run_failed(run, message=f"Processus de l'exécution perdu ('{PERSON}')")
    context = dg.build_run_status_sensor_context(sensor_name="alerte_echec", dagster_instance=instance,
                                                 dagster_run=instance.get_run_by_id(run.run_id), dagster_event=event)

    alerte_echec(context)

    [message] = box.messages
    body = _body(message)
    assert "Aucune étape en échec : l'exécution a échoué avant ou après ses étapes." in body
    assert "Message de Dagster : Processus de l'exécution perdu («…»)" in body
    assert f"Exécution : {run.run_id}" in body and PERSON not in body


def test_without_a_channel_nothing_is_sent_and_one_line_is_logged(instance, smtp, webhook, monkeypatch):
    _, box = smtp
    result = _failed_leaky_run(instance, "http://127.0.0.1:9/x")

    records = _evaluate(instance, result)

    assert box.messages == [] and webhook.received == []
    [line] = records.records
    assert line.levelno == logging.INFO
    assert line.getMessage().startswith("Aucun canal d'alerte configuré")


def test_a_mail_server_down_is_a_french_warning_and_the_other_channel_still_works(instance, webhook, monkeypatch):
    stopped, box = _smtp()
    stopped.stop()
    _channels(monkeypatch, stopped.port, _webhook_url(webhook))
    result = _failed_leaky_run(instance, _webhook_url(webhook))

    records = _evaluate(instance, result)  # completes: nothing raised

    [warning] = records.at(logging.WARNING)
    assert warning.startswith("Alerte par courriel non envoyée (ConnectionRefusedError")
    assert "ne sera pas renvoyée" in warning
    assert len(webhook.received) == 1 and box.messages == []


def test_a_webhook_down_or_refusing_is_a_warning_without_its_address(instance, smtp, webhook, monkeypatch):
    controller, box = smtp
    webhook.status = 500
    _channels(monkeypatch, controller.port, _webhook_url(webhook))
    result = _failed_leaky_run(instance, _webhook_url(webhook))

    records = _evaluate(instance, result)

    [warning] = records.at(logging.WARNING)
    assert warning.startswith("Alerte par webhook non envoyée (HTTPError : réponse HTTP 500)")
    assert len(box.messages) == 1  # the mail went out all the same

    # Nothing listens any more: refused at once, the sensor still completes.
    closed = f"http://127.0.0.1:{free_port()}/hooks/{WEBHOOK_TOKEN}"
    monkeypatch.setenv("PRE_ALERTE_WEBHOOK_URL", closed)
    records = _evaluate(instance, result)
    [warning] = records.at(logging.WARNING)
    assert warning.startswith("Alerte par webhook non envoyée (URLError")
    for record in records.records:
        assert WEBHOOK_TOKEN not in record.getMessage() and "127.0.0.1" not in record.getMessage()


def test_the_operators_test_command_reaches_the_configured_channels(smtp, webhook, tmp_path):
    controller, box = smtp
    env = isolated_env(tmp_path / "donnees", tmp_path, PRE_ALERTE_SMTP_HOTE="127.0.0.1",
                       PRE_ALERTE_SMTP_PORT=str(controller.port), PRE_ALERTE_EMAIL_DE=SENDER,
                       PRE_ALERTE_EMAIL_A=",".join(RECIPIENTS), PRE_ALERTE_WEBHOOK_URL=_webhook_url(webhook))
    command = [str(BIN / "python"), "-m", "pipelines.common.alerts"]

    sent = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)

    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.splitlines() == ["Alerte envoyée par courriel.", "Alerte envoyée par webhook."]
    [message] = box.messages
    assert _mail(message)["Subject"] == "[PRE] Essai des alertes" and sorted(message["to"]) == sorted(RECIPIENTS)
    assert json.loads(webhook.received[0]["body"])["text"].startswith("**[PRE] Essai des alertes**")

    stopped, _ = _smtp()
    stopped.stop()
    env["PRE_ALERTE_SMTP_PORT"] = str(stopped.port)
    failed = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stdout.startswith("Alerte par courriel non envoyée (ConnectionRefusedError")
    assert WEBHOOK_TOKEN not in failed.stdout + failed.stderr


# --------------------------------------------------------------------------- STARTTLS and sign-in


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl absent")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(folder / "cle.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return folder / "cert.pem", folder / "cle.pem"


def _tls_smtp(certificate: tuple[Path, Path], logins: list):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"alertes", SMTP_PASSWORD.encode()))

    return _smtp(tls_context=context, require_starttls=True, authenticator=authenticator, auth_required=True)


def test_starttls_and_sign_in_when_asked(instance, certificate, monkeypatch):
    logins: list = []
    controller, box = _tls_smtp(certificate, logins)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the client trusts this test's certificate
        _channels(monkeypatch, controller.port, None, PRE_ALERTE_SMTP_TLS="oui",
                  PRE_ALERTE_SMTP_UTILISATEUR="alertes")
        result = _failed_leaky_run(instance, "http://127.0.0.1:9/x")

        records = _evaluate(instance, result)

        assert records.at(logging.WARNING) == []
        [message] = box.messages
        assert message["tls"] and logins == [(b"alertes", SMTP_PASSWORD.encode())]
        assert _mail(message)["Subject"] == "[PRE] Échec de l'exécution essai_alerte"
    finally:
        controller.stop()


def test_without_starttls_the_password_is_never_sent_in_clear(instance, certificate, monkeypatch):
    logins: list = []
    controller, box = _tls_smtp(certificate, logins)
    try:
        _channels(monkeypatch, controller.port, None, PRE_ALERTE_SMTP_UTILISATEUR="alertes")
        result = _failed_leaky_run(instance, "http://127.0.0.1:9/x")

        records = _evaluate(instance, result)

        [warning] = records.at(logging.WARNING)
        assert warning.startswith("Alerte par courriel non envoyée")
        assert box.messages == [] and logins == []
    finally:
        controller.stop()


# --------------------------------------------------------------------------- a refused file alerts nobody


@pytest.mark.slow
def test_a_refused_submission_alerts_nobody_but_a_failure_does(tmp_path, smtp, webhook, monkeypatch):
    """Through the sensor's real tick over the instance: the refused file's runs send nothing; a run
    failing afterwards on the same instance is the one alert."""
    from pipelines.demo.generate import generate
    from pipelines.process import dagster_instance, process

    controller, box = smtp
    _channels(monkeypatch, controller.port, _webhook_url(webhook))
    monkeypatch.delenv("PRE_DAGSTER_POSTGRES_URL")  # this test's instance is the data home's SQLite one
    home = DataHome(tmp_path / "donnees").ensure()
    monkeypatch.setenv("PRE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    generated = generate(tmp_path / "depots", seed=5, sites=["PRE51454"], from_year=2023, to_year=2024,
                         with_errors=True, home=DataHome(tmp_path / "gen"))
    flawed = next(f for f in generated if f.expected_rule == "actions.volet.liste")
    shutil.copy(flawed.path, home.inbox / flawed.path.name)
    instance = dagster_instance(home)
    records = Records()

    def tick(cursor: str | None) -> str | None:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        context.log.addHandler(records)
        return alerte_echec.evaluate_tick(context).cursor

    cursor = tick(None)  # the sensor's first tick starts at the instance's latest failure

    outcome = process(home)

    assert outcome.ok and outcome.handled == 1
    assert "REFUSÉ" in outcome.lines[0] and not (home.inbox / flawed.path.name).exists()
    runs = {run.job_name: run for run in instance.get_runs()}
    assert runs["publication"].status == dg.DagsterRunStatus.SUCCESS
    # Finding (issue 13): the refused file's ingestion run ends in FAILURE, its blocking contract
    # check failing; the sensor recognises it. Should the run succeed one day, this still holds.
    assert runs["ingestion"].status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
    cursor = tick(cursor)
    assert box.messages == [] and webhook.received == []
    if runs["ingestion"].status == dg.DagsterRunStatus.FAILURE:
        assert any("dépôt refusé par le contrôle des contrats" in m for m in records.at(logging.INFO))

    failed = _failed_ingestion(instance, tmp_path / "autre", monkeypatch)
    tick(cursor)

    [message] = box.messages
    assert f"Exécution : {failed.dagster_run.run_id}" in _body(message)
    assert len(webhook.received) == 1

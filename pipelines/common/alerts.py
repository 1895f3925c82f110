"""Alerts to the operators when a run fails: the French message, and its sending by e-mail (SMTP)
or to a webhook (Mattermost, Tchap through a Matrix hookshot: both accept `{"text": "…"}`).

Standard library only, no Dagster: the sensor (`pipelines/defs/alerts.py`) gathers the facts of a
failed run into a `RunFailure`; this module makes them safe, writes the message and sends it.

An error message may carry untrusted text (a file name, a value read from a file): only its first
line is kept, quoted or bracketed literals, addresses and paths are masked, every secret of the
settings is removed, what remains is reduced to a small character set and capped. The full error
stays in the Dagster UI, for the operators.

A failed sending is logged as a French warning and not retried: the run status sensor has already
moved past the failed run, and retrying in the sensor's tick would hold the daemon's loop while a
mail server is down. The failure itself stays in the Dagster UI and the tick's logs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from pipelines.common import formats
from pipelines.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
SUBJECT_PREFIX = "[PRE]"
MASK = "«…»"
MESSAGE_LIMIT = 240   # characters of an error message kept in an alert
NAME_LIMIT = 80       # job, step, class and partition names
STEPS_SHOWN = 5       # failed steps listed; the others are counted
SMTP_TIMEOUT_S = 10
WEBHOOK_TIMEOUT_S = 5

# What survives in an alert: Latin letters (accents included), digits, spaces and plain punctuation.
# No Markdown or HTML markup, no mention (`@channel`), no quote, no bracket, no slash.
_PUNCTUATION = set(" .,;:!?'()-_%=+°«»…")
# Literals: quoted ('…' not taken for an elision like d'exécution, "…", «…», `…`), bracketed ([…],
# {…}, <…>); an unclosed one runs to the end of the line.
_LITERALS = re.compile(
    r"""(?<![^\W\d_])'[^']*(?:'(?![^\W\d_])|$)|"[^"]*(?:"|$)|«[^»]*(?:»|$)|`[^`]*(?:`|$)"""
    r"""|\[[^\]]*(?:\]|$)|\{[^}]*(?:\}|$)|<[^>]*(?:>|$)""")
_ADDRESSES = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*|\S+@\S+|\S*[/\\]\S*|\bwww\.\S+", re.IGNORECASE)
_FAILURE_REASONS = {
    "STEP_FAILURE": "échec d'une étape",
    "RUN_EXCEPTION": "erreur de l'exécution hors des étapes",
    "START_TIMEOUT": "exécution non démarrée dans le délai",
    "RUN_WORKER_RESTART": "processus de l'exécution interrompu",
    "JOB_INITIALIZATION_FAILURE": "échec de l'initialisation",
    "UNEXPECTED_TERMINATION": "arrêt inattendu",
    "UNKNOWN": "inconnue",
}


@dataclass(frozen=True)
class StepError:
    """One failed step: its key, the error's class and its message as raised (untrusted)."""

    step: str
    error_class: str
    message: str


@dataclass(frozen=True)
class RunFailure:
    """The facts of a failed run, as Dagster gives them (nothing made safe yet)."""

    job: str
    run_id: str
    failed_at: dt.datetime
    errors: list[StepError] = field(default_factory=list)
    partition: str | None = None
    reason: str | None = None
    summary: str | None = None  # Dagster's message on the run's failure


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str


@dataclass(frozen=True)
class Channels:
    """Where alerts go, from the `PRE_ALERTE_*` settings, and the secrets no alert may show."""

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Channels:
        password = settings.ALERTE_SMTP_MOT_DE_PASSE
        webhook = settings.ALERTE_WEBHOOK_URL
        return cls(
            webhook_url=webhook.get_secret_value() if webhook else None,
            smtp_host=settings.ALERTE_SMTP_HOTE, smtp_port=settings.ALERTE_SMTP_PORT,
            smtp_user=settings.ALERTE_SMTP_UTILISATEUR,
            smtp_password=password.get_secret_value() if password else None,
            smtp_tls=settings.ALERTE_SMTP_TLS, sender=settings.ALERTE_EMAIL_DE,
            recipients=tuple(a.strip() for a in (settings.ALERTE_EMAIL_A or "").split(",") if a.strip()),
            secrets=secrets_of(settings))

    @property
    def email(self) -> bool:
        return bool(self.smtp_host)

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)

    @property
    def any(self) -> bool:
        return self.email or self.webhook


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every secret setting's value, and for an address its password and path (a webhook's token)."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if not isinstance(value, SecretStr):
            continue
        text = value.get_secret_value()
        found.append(text)
        parsed = urlsplit(text)
        if parsed.scheme and parsed.netloc:
            found += [parsed.password or "", parsed.path.strip("/"), parsed.query, parsed.netloc]
    # Longest first, so that a secret holding another is removed whole.
    return tuple(sorted({s for s in found if len(s) >= 4}, key=len, reverse=True))


def safe_text(text: str | None, secrets: tuple[str, ...] = (), limit: int = MESSAGE_LIMIT) -> str:
    """The first line of `text`, fit to show in an alert: secrets, literals, addresses and paths
    masked, only letters, digits and plain punctuation kept, at most `limit` characters."""
    lines = (text or "").strip().splitlines()
    line = lines[0] if lines else ""
    for secret in secrets:
        line = line.replace(secret, MASK)
    line = line[:20 * limit]  # a literal cut here is unclosed, hence masked to the end
    line = _LITERALS.sub(f" {MASK} ", line)
    line = _ADDRESSES.sub(f" {MASK} ", line)
    line = "".join(c if _allowed(c) else " " for c in line)
    line = re.sub(r"\s+", " ", line).strip().replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    line = re.sub(rf"{MASK}(?:\W*{MASK})+", MASK, line)
    if len(line) > limit:
        line = line[:limit - 1].rstrip() + "…"
    return line


def _allowed(char: str) -> bool:
    return char in _PUNCTUATION or (char.isascii() and char.isalnum()) or (char.isalpha() and ord(char) < 0x250)


def french_time(moment: dt.datetime) -> str:
    """`01/12/2026 à 09:20:58 (heure de Paris)`."""
    local = moment.astimezone(PARIS)
    return f"{formats.day(local)} à {local:%H:%M:%S} (heure de Paris)"


def compose(failure: RunFailure, secrets: tuple[str, ...] = ()) -> Alert:
    """The French alert for a failed run."""
    def name(text: str | None) -> str:
        return safe_text(text, secrets, NAME_LIMIT) or "inconnu"

    job, run_id = name(failure.job), name(failure.run_id)
    lines = [f"L'exécution {run_id} du traitement {job} a échoué.", "",
             f"Traitement : {job}",
             f"Exécution : {run_id}",
             f"Heure de l'échec : {french_time(failure.failed_at)}"]
    if failure.partition:
        lines.append(f"Partition : {name(failure.partition)}")
    if failure.reason:
        lines.append(f"Cause : {_FAILURE_REASONS.get(failure.reason) or name(failure.reason)}")
    lines.append("")
    if failure.errors:
        lines.append("Étape en échec :" if len(failure.errors) == 1 else "Étapes en échec :")
        for error in failure.errors[:STEPS_SHOWN]:
            message = safe_text(error.message, secrets) or "(sans message)"
            lines.append(f"- {name(error.step)} : {name(error.error_class)}, {message}")
        if len(failure.errors) > STEPS_SHOWN:
            lines.append(f"- et {formats.plural(len(failure.errors) - STEPS_SHOWN, 'autre étape', 'autres étapes')}")
    else:
        lines.append("Aucune étape en échec : l'exécution a échoué avant ou après ses étapes.")
        if failure.summary:
            lines.append(f"Message de Dagster : {safe_text(failure.summary, secrets) or '(sans message)'}")
    lines += ["", f"Détails dans l'interface Dagster : /runs/{run_id}",
              "Message abrégé : valeurs citées, adresses et chemins masqués ; l'erreur complète est dans "
              "l'interface Dagster.", "",
              "-- ", "Alerte automatique de la plateforme d'évaluation des PRE (capteur alerte_echec)."]
    return Alert(subject=f"{SUBJECT_PREFIX} Échec de l'exécution {job}", body="\n".join(lines) + "\n")


def email_message(alert: Alert, channels: Channels) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = channels.sender or ""
    message["To"] = ", ".join(channels.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=(channels.sender or "pre.invalid").rpartition("@")[2])
    message.set_content(alert.body, charset="utf-8")
    return message


def send_email(alert: Alert, channels: Channels) -> None:
    """Send `alert` to the recipients; SMTP errors propagate."""
    with smtplib.SMTP(channels.smtp_host or "", channels.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
        smtp.ehlo()
        if channels.smtp_tls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if channels.smtp_user:
            smtp.login(channels.smtp_user, channels.smtp_password or "")
        smtp.send_message(email_message(alert, channels))


def webhook_payload(alert: Alert) -> bytes:
    """`{"text": "…"}`: what Mattermost's incoming webhooks and Matrix hookshot (Tchap) accept."""
    return json.dumps({"text": f"**{alert.subject}**\n\n{alert.body}"}, ensure_ascii=False).encode("utf-8")


def send_webhook(alert: Alert, channels: Channels) -> None:
    """POST `alert` to the webhook; an HTTP or network error propagates."""
    request = urllib.request.Request(channels.webhook_url or "", data=webhook_payload(alert), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "pre-eval-alertes"})
    # The address is an http(s) one (checked by the settings); an error status raises HTTPError.
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"réponse HTTP {response.status}")


def notify(failure: RunFailure, channels: Channels, log: logging.Logger | logging.LoggerAdapter) -> dict[str, bool]:
    """Send the alert of `failure` on every configured channel; each channel's success.

    Never raises for a channel that fails: logs a French warning (without the address or any secret)
    and goes on with the next channel.
    """
    if not channels.any:
        log.info("Aucun canal d'alerte configuré (PRE_ALERTE_WEBHOOK_URL, PRE_ALERTE_SMTP_HOTE) : l'échec de "
                 f"l'exécution {safe_text(failure.run_id, channels.secrets, NAME_LIMIT)} n'est signalé à personne.")
        return {}
    return deliver(compose(failure, channels.secrets), channels, log)


def deliver(alert: Alert, channels: Channels, log: logging.Logger | logging.LoggerAdapter) -> dict[str, bool]:
    """Send `alert` on every configured channel, one after the other; each channel's success."""
    results = {}
    if channels.email:
        if channels.sender and channels.recipients:
            results["courriel"] = _attempt("courriel", lambda: send_email(alert, channels), channels, log)
        else:
            log.warning("Alerte par courriel non envoyée : PRE_ALERTE_EMAIL_DE et PRE_ALERTE_EMAIL_A sont requis "
                        "avec PRE_ALERTE_SMTP_HOTE.")
            results["courriel"] = False
    if channels.webhook:
        results["webhook"] = _attempt("webhook", lambda: send_webhook(alert, channels), channels, log)
    return results


def _attempt(channel: str, send, channels: Channels, log) -> bool:
    try:
        send()
    except (OSError, smtplib.SMTPException, ValueError, UnicodeError) as error:
        reason = safe_text(_reason(error), channels.secrets, 160)
        log.warning(f"Alerte par {channel} non envoyée ({type(error).__name__}{' : ' + reason if reason else ''}). "
                    "Elle ne sera pas renvoyée : voir l'exécution en échec dans l'interface Dagster.")
        return False
    log.info(f"Alerte envoyée par {channel}.")
    return True


def _reason(error: BaseException) -> str:
    """What went wrong, in the words of the server or the system (never an address)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"réponse HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"réponse SMTP {error.smtp_code} {text}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


TEST_ALERT = Alert(
    subject=f"{SUBJECT_PREFIX} Essai des alertes",
    body="Message d'essai des alertes de la plateforme d'évaluation des PRE : aucune exécution n'a échoué.\n\n"
         "Les exploitants recevront ici, pour chaque exécution en échec, le traitement, l'identifiant de "
         "l'exécution, l'heure, les étapes en échec et l'adresse de l'exécution dans l'interface Dagster.\n")


def main() -> int:
    """`python -m pipelines.common.alerts`: send a test alert on the configured channels (exit 0 when
    every configured channel took it)."""
    from pipelines.settings import SettingsError, load

    log = logging.getLogger("pipelines.alertes.essai")
    log.propagate = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        channels = Channels.from_settings(load())
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if not channels.any:
        log.info("Aucun canal d'alerte configuré : renseignez PRE_ALERTE_WEBHOOK_URL ou PRE_ALERTE_SMTP_HOTE "
                 "(avec PRE_ALERTE_EMAIL_DE et PRE_ALERTE_EMAIL_A).")
        return 1
    results = deliver(TEST_ALERT, channels, log)
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

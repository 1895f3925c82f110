"""The coordinators' portal, without its pages: check a file as `pre-eval validate` does, then send it
into the inbox for the user's own site (access.md, "The coordinators' portal").

- `check(home, person, name, data)` keeps a private copy of the uploaded bytes under
  `$PRE_HOME/portail/verifications/`, reads and validates it with the same reader, validator and
  report as `pre-eval validate`, and says whether it may be sent: no blocking anomaly, and a
  manifest whose `code_pre` the user may send for (otherwise it is refused at the check, naming
  the user's sites, and never sent).
- `send(home, person, checked)` writes the copy into the inbox under a temporary name (`.….tmp`),
  syncs it, then links it under its final name (never overwriting a file) and removes the
  temporary name. The sender is recorded first, under the content's hash, with an exclusive
  create: a second click, or the same content sent again, gives one submission, not two.
- `sender_of(home, sha256)` is who sent a content through the portal (`marts.depots.depose_par`).

Everything the user gives (file name, bytes) is untrusted: the name is reduced to a safe bare
name and never used as a path, the size is bounded before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines import settings
from pipelines.access.authorisations import Person, sends_for
from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.contracts import notices
from pipelines.contracts.reader import read_submission
from pipelines.contracts.referential import load_sites
from pipelines.contracts.report import summary_line, to_json, to_markdown
from pipelines.contracts.validator import Context, validate_many

FOLDER = "portail"
SUFFIXES = (".zip", ".xlsx")
MAX_NAME = 120
ALREADY_SENT = ("Ce fichier a déjà été envoyé : il n'est pas envoyé une seconde fois. Suivez son traitement dans "
                "« Mes dépôts ».")
READ_SHARE = 0.3  # of the progress bar given to reading the file, before the tables' checks
KEEP_CHECKS_HOURS = 24  # a checked file not sent is removed after this long (retention: operations.md)


class PortalError(ValueError):
    """A French message for the user; nothing was written."""


@dataclass(frozen=True)
class Checked:
    name: str  # the safe name shown and used in the inbox
    sha256: str
    size: int
    code_pre: str | None
    site_name: str | None
    accepted: bool  # no blocking anomaly
    allowed: bool  # the user may send for the manifest's site
    verdict: str  # one French line
    report_markdown: str  # empty when the file is refused for another site
    report_json: str
    copy: Path  # the private copy checked (what `send` sends: the bytes checked, not new ones)

    @property
    def sendable(self) -> bool:
        return self.accepted and self.allowed


@dataclass(frozen=True)
class Sent:
    name: str  # the name in the inbox
    already: bool  # the same content had already been sent or received: nothing new was written
    message: str


def safe_name(name: str) -> str:
    """A bare, printable file name (accents kept) that keeps the upload's suffix."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c if (c.isalnum() or c in "._- ") else "_" for c in base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"_+", "_", stem)[: MAX_NAME - 6] or "depot"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _folder(home: DataHome, *parts: str) -> Path:
    path = home.root.joinpath(FOLDER, *parts)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def check(home: DataHome, person: Person, name: str, data: bytes,
          progress: Callable[[float, str], None] | None = None) -> Checked:
    """Check an uploaded file for `person`. Raises `PortalError` for a file that cannot even be
    checked (wrong type, too big, empty). `progress(fraction, French label)` follows the stages."""
    tell = progress or (lambda fraction, label: None)
    shown = safe_name(name)
    if not shown.lower().endswith(SUFFIXES):
        raise PortalError("Le fichier doit être une archive ZIP (.zip) ou un classeur Excel (.xlsx), "
                          "comme le décrit le format d'échange.")
    limit = settings.load().MAX_FICHIER_OCTETS
    if len(data) > limit:
        raise PortalError(f"Le fichier fait {formats.number(len(data) / 1e6, 1)} Mo : la limite est de "
                          f"{formats.number(limit / 1e6)} Mo. Réduisez la période exportée ou contactez l'exploitant.")
    if not data:
        raise PortalError("Le fichier est vide.")
    _forget_old_checks(home)
    copy = _folder(home, "verifications") / f"{uuid.uuid4().hex}{Path(shown).suffix}"
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    sites = load_sites(home)
    names = dict(zip(sites["code_pre"].to_list(), sites["nom"].to_list(), strict=True))
    tell(0.0, f"Lecture du fichier ({formats.number(len(data) / 1e6, 1)} Mo)…")
    submission = read_submission(copy, name=shown)

    def on_table(table: str, number: int, total: int) -> None:
        tell(READ_SHARE + (1 - READ_SHARE) * (number - 1) / total,
             f"Contrôle de la table « {table} » ({number} sur {total})…")

    [report] = validate_many([submission], [Context(known_sites=set(names))], on_table=on_table)
    tell(1.0, "Contrôle terminé : rédaction du rapport…")
    code = report.code_pre if isinstance(report.code_pre, str) else None
    site_name = names.get(code or "")
    allowed = code is not None and sends_for(person, code)
    if code is not None and not allowed:
        verdict = (f"Ce fichier concerne un autre site que le vôtre : il ne peut pas être envoyé. "
                   f"Vous pouvez déposer pour {_own_sites(person, names)}.")
        return Checked(shown, hashlib.sha256(data).hexdigest(), len(data), code, None, report.accepted, False,
                       verdict, "", "", copy)
    verdict = summary_line(report, site_name)
    return Checked(shown, hashlib.sha256(data).hexdigest(), len(data), code, site_name, report.accepted, allowed,
                   verdict, to_markdown(report, site_name), to_json(report), copy)


def _own_sites(person: Person, names: dict[str, str]) -> str:
    if person.role == "exploitant":
        return "n'importe quel site du référentiel"
    own = [f"{c} ({names[c]})" if c in names else c for c in person.codes]
    return ("le site " if len(own) == 1 else "les sites ") + ", ".join(own) + " uniquement"


def send(home: DataHome, person: Person, checked: Checked) -> Sent:
    """Put a checked file into the inbox, once. Raises `PortalError` if it may not be sent."""
    if not checked.allowed:
        raise PortalError("Ce fichier concerne un site pour lequel vous n'êtes pas habilité : il n'est pas envoyé.")
    if not checked.accepted:
        raise PortalError("Ce fichier a des anomalies bloquantes : corrigez-les (voir le rapport), vérifiez-le de "
                          "nouveau, puis envoyez-le.")
    if checked.code_pre is None or not sends_for(person, checked.code_pre):
        raise PortalError("Ce fichier concerne un site pour lequel vous n'êtes pas habilité : il n'est pas envoyé.")
    if (home.ledger / f"{checked.sha256}.json").exists():
        return Sent(checked.name, True, "Ce contenu a déjà été reçu par la plateforme : il n'est pas envoyé une "
                                        "seconde fois. Suivez son traitement dans « Mes dépôts ».")
    sender = _folder(home, "envois") / f"{checked.sha256}.json"
    if sender.exists():
        return Sent(checked.name, True, ALREADY_SENT)
    try:
        data = checked.copy.read_bytes()
    except OSError:
        raise PortalError("La vérification de ce fichier a expiré : déposez-le de nouveau.") from None
    if hashlib.sha256(data).hexdigest() != checked.sha256:
        raise PortalError("Le fichier vérifié a changé : déposez-le de nouveau.")
    record = {"email": person.email, "role": person.role, "code_pre": checked.code_pre, "fichier": checked.name,
              "sha256": checked.sha256, "envoye_le": datetime.now(tz=UTC).isoformat(timespec="seconds")}
    try:
        # Group-readable: in production the dashboard runs under its own account and the platform's
        # account reads who sent the file through the shared group (deploy/systemd/README.md).
        fd = os.open(sender, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:  # another click won the race
        return Sent(checked.name, True, ALREADY_SENT)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, ensure_ascii=False)
    home.inbox.mkdir(parents=True, exist_ok=True)
    tmp = home.inbox / f".{uuid.uuid4().hex}.tmp"
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    final = _link_unique(tmp, home.inbox, checked.name, checked.sha256)
    checked.copy.unlink(missing_ok=True)
    return Sent(final.name, False, f"Fichier reçu : « {final.name} » est dans la boîte de dépôt. Son contrôle et "
                                   "son chargement suivent dans quelques instants ; suivez-les dans « Mes dépôts ».")


def _link_unique(tmp: Path, folder: Path, name: str, sha256: str) -> Path:
    """Give `tmp` its final name without ever replacing a file (a hard link fails if the name exists)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for candidate in (name, f"{stem}_{sha256[:8]}{suffix}", f"{stem}_{uuid.uuid4().hex[:8]}{suffix}"):
        target = folder / candidate
        try:
            os.link(tmp, target)
        except FileExistsError:
            continue
        tmp.unlink()
        return target
    raise PortalError("Impossible de nommer le fichier dans la boîte de dépôt : réessayez.")


# A file sent through the portal, not yet in the published figures: where it stands.
WAITING = "en attente"
CHECKED = {"accepte": "accepté, chargement en cours", "refuse": "refusé"}
FILED = {"accepte": "accepté, publication à venir", "refuse": "refusé", "ignore": "ignoré"}


def pending(home: DataHome, handled: set[str]) -> list[dict]:
    """Files sent through the portal whose content is not yet among the published submissions
    (`handled`, their hashes): « en attente » until checked, then their verdict and report as soon as
    the inbox sensor has checked them (`pipelines.contracts.notices`), and after that as filed."""
    folder = home.root / FOLDER / "envois"
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            sent = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        sha256 = str(sent.get("sha256", ""))
        if not re.fullmatch(r"[0-9a-f]{64}", sha256) or sha256 in handled:
            continue
        notice = notices.read(home, sha256)
        filed = _filed_status(home, sha256)
        if filed is not None and notice is None:  # filed before verdicts had notices: shown once published
            continue
        if filed:
            status = FILED.get(filed, WAITING)
        elif notice:
            status = CHECKED[notice["statut"]]
        else:
            status = WAITING
        rows.append({"fichier": sent.get("fichier", ""), "code_pre": sent.get("code_pre", ""),
                     "recu_le": sent.get("envoye_le", ""), "depose_par": sent.get("email", ""),
                     "statut": status, "rapport": notice["rapport"] if notice else None})
    return rows


def _filed_status(home: DataHome, sha256: str) -> str | None:
    """The ledger's status of this content, None when it is not filed yet."""
    try:
        entry = json.loads((home.ledger / f"{sha256}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return ""
    return str(entry.get("statut", "")) if isinstance(entry, dict) else ""


def sender_of(home: DataHome, sha256: str) -> str | None:
    """The email of whoever sent this content through the portal (None: another channel)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        return None
    try:
        return json.loads((home.root / FOLDER / "envois" / f"{sha256}.json").read_text(encoding="utf-8"))["email"]
    except (OSError, ValueError, KeyError):
        return None


def _forget_old_checks(home: DataHome) -> None:
    folder = home.root / FOLDER / "verifications"
    if not folder.is_dir():
        return
    horizon = datetime.now(tz=UTC).timestamp() - KEEP_CHECKS_HOURS * 3600
    for copy in folder.iterdir():
        try:
            if copy.stat().st_mtime < horizon:
                copy.unlink()
        except OSError:
            continue

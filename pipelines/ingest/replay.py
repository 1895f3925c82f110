"""Replay ("rejeu") of the snapshots in force: each site's archived file in force read, checked and loaded
again, as when it arrived, with today's loading code and today's pseudonymisation key.

What analysts use it for: a change of the reader or of the loading code, or a new key, that the rows in
force should follow. A replay goes through the same steps as a load (`read_submission`, the contracts'
checks with the file's original day of receipt, `ready_frames`, `replace_site_rows`), one transaction per
site, under the warehouse's writer lock:

- the file checks out (accepted, as at its arrival): the site's rows are replaced;
- the file is now refused (a contract became stricter): the site's rows in force are left as they are, and
  the replay's report says why;
- the archived file is gone (retention rules) or the site has no snapshot in force: nothing changes, and
  the French message says so.

The ledger (`ingestion.depots`) is not touched: the snapshot in force is the same submission, received on
the same day. Every replay is journaled in `journal/rejeux.jsonl` (when, who, why, each site's outcome and
the key's fingerprint, never the key), and its report is written beside the site's others
(`reports/<site>/<horodatage>_rejeu_<fichier>.md`). Entry points: `pre-eval rejouer` and the `depot` asset
materialised without run config (the Dagster UI, a backfill), both through `replay`.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.common import formats
from pipelines.common.datahome import DataHome, share_dir, share_file
from pipelines.contracts import report as reports
from pipelines.contracts.model import load_contracts
from pipelines.contracts.reader import read_submission
from pipelines.contracts.referential import load_sites
from pipelines.contracts.validator import Context, day_of_receipt, validate_many
from pipelines.ingest import pseudonym
from pipelines.ingest.lifecycle import _CODE_PRE, _safe_name, identifier_columns, ready_frames, replace_site_rows
from pipelines.warehouse.store import connect

JOURNAL_NAME = "rejeux.jsonl"
MAX_REASON = 300


class ReplayError(ValueError):
    """A replay that cannot start (French message; nothing changed)."""


@dataclass(frozen=True)
class Replayed:
    code_pre: str
    fichier: str | None
    resultat: str  # rejoue | refuse | fichier_absent | sans_depot
    lignes: int  # rows loaded (0 unless rejoue)
    rapport: str | None  # the replay's report, relative to the data home

    @property
    def changed(self) -> bool:
        return self.resultat == "rejoue"

    def line(self) -> str:
        """One French line for the terminal and the Dagster metadata."""
        name = f" ({self.fichier})" if self.fichier else ""
        if self.resultat == "rejoue":
            return (f"{self.code_pre}{name} : rejoué, {formats.plural(self.lignes, 'ligne chargée', 'lignes chargées')}"
                    f" de nouveau — rapport : {self.rapport}")
        if self.resultat == "refuse":
            return (f"{self.code_pre}{name} : refusé au rejeu par les contrôles d'aujourd'hui ; les données en vigueur"
                    f" restent inchangées — rapport : {self.rapport}")
        if self.resultat == "fichier_absent":
            return (f"{self.code_pre}{name} : fichier archivé supprimé (règles de conservation) ou introuvable ; "
                    "rejeu impossible, les données en vigueur restent inchangées")
        return f"{self.code_pre} : aucun dépôt en vigueur, rien à rejouer"


def checked_reason(text: object) -> str:
    """The replay's reason, required: printable text of at most MAX_REASON characters (it goes to a journal
    that operators read; control characters could forge lines)."""
    if not isinstance(text, str):
        raise ReplayError("Motif du rejeu obligatoire (--motif « … »).")
    reason = " ".join(text.split())
    if not reason:
        raise ReplayError("Motif du rejeu obligatoire (--motif « … ») : dites pourquoi les dépôts sont rejoués.")
    if len(reason) > MAX_REASON:
        raise ReplayError(f"Motif du rejeu trop long : {MAX_REASON} caractères au plus.")
    if any(unicodedata.category(c).startswith("C") for c in reason):
        raise ReplayError("Motif du rejeu : caractères de contrôle refusés.")
    return reason


def checked_sites(codes: list[str]) -> list[str]:
    """Site codes as given on the command line or by Dagster's partitions: well-formed or refused (a
    malformed code is not echoed)."""
    bad = [c for c in codes if not isinstance(c, str) or not _CODE_PRE.match(c)]
    if bad:
        raise ReplayError(f"{formats.plural(len(bad), 'code de site invalide', 'codes de site invalides')} : "
                          "un code de site s'écrit PRE suivi de cinq caractères (ex. PRE51454).")
    return sorted(set(codes))


def replay(home: DataHome, sites: list[str] | None, *, reason: str, by: str, run_id: str = "") -> list[Replayed]:
    """Replay the snapshots in force of `sites` (None: every site with one); journaled (with the Dagster run's
    id when it runs in one)."""
    reason = checked_reason(reason)
    wanted = None if sites is None else checked_sites(sites)
    contracts = load_contracts()
    identifiers = identifier_columns(contracts)
    referential = load_sites(home)
    known = set(referential["code_pre"].to_list())
    names = dict(zip(referential["code_pre"].to_list(), referential["nom"].to_list(), strict=True))
    done: list[Replayed] = []
    started = datetime.now(tz=UTC)
    with connect(home) as con:
        key = pseudonym.load_key(home, con)
        in_force = {code: (fichier, chemin, recu_le) for code, fichier, chemin, recu_le in con.execute(
            "select code_pre, fichier, chemin, recu_le from ingestion.depots "
            "where en_vigueur and statut = 'accepte' order by code_pre").fetchall()}
        for code in (sorted(in_force) if wanted is None else wanted):
            if code not in in_force:
                done.append(Replayed(code, None, "sans_depot", 0, None))
                continue
            fichier, chemin, recu_le = in_force[code]
            path = _archived(home, chemin)
            if path is None:
                done.append(Replayed(code, fichier, "fichier_absent", 0, None))
                continue
            sub = read_submission(path, contracts, name=fichier)
            context = Context(known_sites=known, received_on=day_of_receipt(recu_le))
            (rep,) = validate_many([sub], [context], contracts)
            rapport = _write_report(home, code, fichier, rep, names.get(code), started)
            if not rep.accepted or rep.code_pre != code:
                done.append(Replayed(code, fichier, "refuse", 0, rapport))
                continue
            frames = ready_frames(sub.tables, code, key, identifiers)
            con.begin()
            try:
                replace_site_rows(con, code, frames)
                con.commit()
            except BaseException:
                con.rollback()
                raise
            done.append(Replayed(code, fichier, "rejoue", sum(f.height for f in frames.values()), rapport))
    _journal(home, started, by, reason, done, pseudonym.fingerprint(key), run_id)
    return done


def _archived(home: DataHome, chemin: str | None) -> Path | None:
    """The archived file the ledger names, confined to the archive folder; None when it is gone."""
    if not chemin:
        return None
    archive = home.archive.resolve()
    path = (home.root / chemin).resolve()
    if not path.is_relative_to(archive) or not path.is_file():
        return None
    return path


def _write_report(home: DataHome, code: str, fichier: str, rep, site_name: str | None, moment: datetime) -> str:
    target = share_dir(home.reports / code)  # a well-formed, known code: checked by the caller's ledger
    stem = f"{moment:%Y%m%d-%H%M%S}_rejeu_{_safe_name(fichier)}"
    (target / f"{stem}.json").write_text(reports.to_json(rep, {"rejeu": True}), encoding="utf-8")
    (target / f"{stem}.md").write_text(
        f"{reports.to_markdown(rep, site_name)}\n_Rejeu du dépôt en vigueur ({moment:%d/%m/%Y %H:%M} UTC) : ce "
        "rapport ne remplace pas celui de sa réception._\n", encoding="utf-8")
    share_file(target / f"{stem}.json")
    share_file(target / f"{stem}.md")
    return str((target / f"{stem}.md").relative_to(home.root))


def _journal(home: DataHome, started: datetime, by: str, reason: str, done: list[Replayed], key: str,
             run_id: str) -> None:
    home.journal.mkdir(parents=True, exist_ok=True)
    line = json.dumps({
        "horodatage": started.isoformat(timespec="seconds"), "evenement": "rejeu", "par": by[:200],
        "motif": reason, "execution": run_id, "empreinte_cle": key[:16],
        "sites": [{"code_pre": r.code_pre, "fichier": r.fichier, "resultat": r.resultat, "lignes": r.lignes,
                   "rapport": r.rapport} for r in done]}, ensure_ascii=False)
    with (home.journal / JOURNAL_NAME).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def from_journal(entry: dict) -> list[Replayed]:
    """The outcomes of one journaled replay."""
    return [Replayed(s["code_pre"], s["fichier"], s["resultat"], s["lignes"], s.get("rapport")) for s in entry["sites"]]


def journal(home: DataHome) -> list[dict]:
    """The replays journaled so far, oldest first."""
    path = home.journal / JOURNAL_NAME
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

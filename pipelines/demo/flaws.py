"""Deliberately flawed submissions: one site's valid data, broken to fail one blocking rule each.

The catalogue below lists them family by family (envelope, manifest, then each data table),
in the order their files are written. Each flaw edits a copy of the data (never the data
themselves) through a `make(data, variant)` function; most edit one cell, built by `_cell`.
Rule codes are checked against `data_contracts/` when the files are written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.common.datahome import DataHome
from pipelines.contracts.model import BLOQUANT, DATA_TABLES, load_contracts
from pipelines.contracts.referential import load_sites
from pipelines.demo.simulation import SiteData
from pipelines.demo.sites import UNKNOWN_CODE_PRE
from pipelines.demo.writers import VARIANTS, GeneratedFile, Submission, file_name, write_submission

ERRORS_DIR = "erreurs"
ZIP8, CP1252, XLSX = VARIANTS

Make = Callable[[SiteData, str], Submission]  # (valid data, variant) → flawed submission


@dataclass(frozen=True)
class _Flaw:
    rule: str
    description: str  # French, short
    make: Make
    variant: str = ZIP8
    tag: str = ""  # tells apart the files of flaws breaking the same rule


def write_error_files(out_dir: Path, base: SiteData, home: DataHome,
                      notify: Callable[[str], None]) -> list[GeneratedFile]:
    """Write every flawed submission into `out_dir/erreurs/`."""
    rules = load_contracts().rules_by_code
    known = set(load_sites(home)["code_pre"].to_list())
    files = []
    for flaw in _flaws(known):
        rule = rules.get(flaw.rule)
        if rule is None or rule.severity != BLOQUANT:
            raise RuntimeError(f"règle {flaw.rule} absente des contrats ou non bloquante")
        sub = flaw.make(base, flaw.variant)
        code = next((str(v) for k, v in sub.manifest if k == "code_pre" and v), base.site.code_pre)
        tag = f"_{flaw.tag}" if flaw.tag else ""
        name = file_name(code, base.date_extraction, flaw.variant, prefix=f"erreur_{flaw.rule}{tag}_")
        path = out_dir / ERRORS_DIR / name
        write_submission(path, sub, base.date_extraction)
        files.append(GeneratedFile(path, code, flaw.variant, flaw.rule, flaw.description))
        notify(f"Dépôt erroné écrit : {ERRORS_DIR}/{name} (règle {flaw.rule})")
    return files


def expected_rules() -> list[str]:
    """Rule codes the flawed submissions are built to break (for tests and documentation)."""
    return [f.rule for f in _flaws(set())]


def _flaws(known: set[str]) -> list[_Flaw]:
    """Every flaw, in the order the files are written; `known`: the referential's codes."""
    return [*_ENVELOPE_FLAWS, *_manifest_flaws(known), *_PARCOURS_FLAWS, *_ACTIONS_FLAWS,
            *_BILANS_FLAWS, *_ATTENTES_FLAWS]


# --------------------------------------------------------------------------- editing helpers
# Each returns a modified copy, never touches the base data.


def _sub(data: SiteData, variant: str, manifest: list | None = None, **tables: pl.DataFrame) -> Submission:
    """The valid submission, with the manifest and tables given replaced."""
    return Submission(manifest if manifest is not None else list(data.manifest), {**data.tables, **tables}, variant)


def _set(frame: pl.DataFrame, column: str, row: int, value) -> pl.DataFrame:
    series = frame[column]
    if isinstance(value, str) and series.dtype != pl.String:
        series = _as_text(series)
    series = series.clone().scatter(row, value)
    return frame.with_columns(series)


def _as_text(series: pl.Series, variant: str = ZIP8) -> pl.Series:
    if series.dtype == pl.Date:
        return series.dt.to_string("%d/%m/%Y" if variant == CP1252 else "%Y-%m-%d")
    return series.cast(pl.String)


def _row(frame: pl.DataFrame, condition: pl.Expr | None = None) -> int:
    """A row meeting the condition (the middle one of those), else the middle row."""
    rows = np.arange(frame.height)
    if condition is not None:
        hits = np.flatnonzero(frame.select(condition.fill_null(False)).to_series().to_numpy())
        if len(hits):
            rows = hits
    return int(rows[len(rows) // 2])


def _single_child(parcours: pl.DataFrame) -> pl.Expr:
    singles = parcours.group_by("id_enfant").len().filter(pl.col("len") == 1)["id_enfant"]
    return pl.col("id_enfant").is_in(singles.to_list())


def _ongoing() -> pl.Expr:
    return pl.col("date_sortie").is_null()


def _exited() -> pl.Expr:
    return pl.col("date_sortie").is_not_null()


def _shift(d: date, days: int) -> date:
    return d + timedelta(days=days)


def _unused_id(frame: pl.DataFrame, column: str, prefix: str) -> str:
    taken = set(frame[column].drop_nulls().to_list())
    number = 999999
    while f"{prefix}{number}" in taken:
        number -= 1
    return f"{prefix}{number}"


def _absent_pathway(_current: dict, data: SiteData) -> str:
    return _unused_id(data.tables["parcours"], "id_parcours", "P")


def _detach(data: SiteData, pathway: str) -> dict[str, pl.DataFrame]:
    """Tables without what refers to one pathway (so a broken id cascades into nothing else)."""
    t = data.tables
    return {
        "actions": t["actions"].filter(pl.col("id_parcours") != pathway),
        "bilans": t["bilans"].filter(pl.col("id_parcours") != pathway),
        "attentes": t["attentes"].with_columns(
            pl.when(pl.col("id_parcours") == pathway).then(None).otherwise(pl.col("id_parcours"))
            .alias("id_parcours")),
    }


def _cell(table: str, column: str, value, where: pl.Expr | None = None, *, single_child: bool = False) -> Make:
    """Set one cell of the middle row meeting `where`; `value` may be a function of (row, data).

    `single_child`: a pathway of a child who has only one, so the edit breaks no rule across a
    child's pathways as well.
    """
    def make(data: SiteData, variant: str) -> Submission:
        frame = data.tables[table]
        condition = where
        if single_child:
            condition = _single_child(frame) if condition is None else condition & _single_child(frame)
        row = _row(frame, condition)
        new = value(frame.row(row, named=True), data) if callable(value) else value
        return _sub(data, variant, **{table: _set(frame, column, row, new)})
    return make


def _pathway_cell(column: str, value, where: pl.Expr | None = None) -> Make:
    """`_cell` of the parcours table, on a child with a single pathway."""
    return _cell("parcours", column, value, where, single_child=True)


def _duplicate_id(table: str, column: str) -> Make:
    """The middle row takes the identifier of the row before it."""
    def make(data: SiteData, variant: str) -> Submission:
        frame = data.tables[table]
        row = _row(frame)
        return _sub(data, variant, **{table: _set(frame, column, row, frame[column][row - 1])})
    return make


def _manifest_value(key: str, value) -> Make:
    """The manifest with one value replaced; `value` may be a function of the data."""
    def make(data: SiteData, variant: str) -> Submission:
        new = value(data) if callable(value) else value
        return _sub(data, variant, [(k, new if k == key else v) for k, v in data.manifest])
    return make


# --------------------------------------------------------------------------- envelope: file, tables, columns

_SURNAMES = ("MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND",
             "LEROY", "MOREAU", "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID")


def _truncated(data: SiteData, variant: str) -> Submission:
    sub = _sub(data, variant)
    sub.damage = lambda raw: raw[: len(raw) * 3 // 5]
    return sub


def _without_bilans(data: SiteData, variant: str) -> Submission:
    sub = _sub(data, variant)
    sub.tables = {k: v for k, v in sub.tables.items() if k != "bilans"}
    return sub


def _parcours_twice(data: SiteData, variant: str) -> Submission:
    sub = _sub(data, variant)
    sub.members_hook = lambda members: {**members, "Parcours.csv": members["parcours.csv"]}
    return sub


def _extra_member(data: SiteData, variant: str) -> Submission:
    sub = _sub(data, variant)
    sub.members_hook = lambda members: {**members, "familles.csv": b"id_famille,nb_enfants\nF00001,2\n"}
    return sub


def _unknown_column(data: SiteData, variant: str) -> Submission:
    return _sub(data, variant, parcours=data.tables["parcours"].with_columns(pl.lit("PRE").alias("dispositif")))


def _surname_column(data: SiteData, variant: str) -> Submission:
    frame = data.tables["parcours"]
    names = pl.Series("nom", [_SURNAMES[i % len(_SURNAMES)] for i in range(frame.height)])
    columns = frame.columns
    return _sub(data, variant, parcours=frame.with_columns(names).select([*columns[:2], "nom", *columns[2:]]))


def _missing_column(data: SiteData, variant: str) -> Submission:
    return _sub(data, variant, parcours=data.tables["parcours"].drop("sexe"))


def _duplicate_column(data: SiteData, variant: str) -> Submission:
    # Polars cannot hold two columns of one name: a copy is renamed in the CSV header.
    frame = data.tables["parcours"]
    sub = _sub(data, variant, parcours=frame.with_columns(pl.col("date_entree").alias("Date_Entree_copie")))

    def hook(members: dict[str, bytes]) -> dict[str, bytes]:
        text = members["parcours.csv"].decode()
        header, rest = text.split("\n", 1)
        header = header.replace("Date_Entree_copie", "Date_Entrée")
        return {**members, "parcours.csv": (header + "\n" + rest).encode()}
    sub.members_hook = hook
    return sub


def _ragged_line(data: SiteData, variant: str) -> Submission:
    sub = _sub(data, variant)

    def hook(members: dict[str, bytes]) -> dict[str, bytes]:
        lines = members["parcours.csv"].decode().split("\n")
        lines[5] += ",à revoir"
        return {**members, "parcours.csv": "\n".join(lines).encode()}
    sub.members_hook = hook
    return sub


_ENVELOPE_FLAWS = (
    _Flaw("depot.illisible", "Archive ZIP tronquée (transfert interrompu).", _truncated),
    _Flaw("depot.table_manquante", "Classeur sans onglet « bilans ».", _without_bilans, XLSX),
    _Flaw("depot.table_en_double", "Table parcours présente deux fois (parcours.csv et Parcours.csv).",
          _parcours_twice),
    _Flaw("depot.membre_inconnu", "Fichier familles.csv en trop dans l'archive.", _extra_member),
    _Flaw("depot.colonne_inconnue", "Colonne « dispositif » ajoutée à la table parcours.", _unknown_column),
    _Flaw("depot.colonne_personnelle", "Colonne « nom » (nom de famille) ajoutée à la table parcours.",
          _surname_column, CP1252),
    _Flaw("depot.colonne_manquante", "Colonne obligatoire « sexe » retirée de la table parcours.",
          _missing_column),
    _Flaw("depot.colonne_en_double", "Colonne date d'entrée présente deux fois (« date_entree » et "
          "« Date_Entrée »).", _duplicate_column),
    _Flaw("depot.ligne_malformee", "Ligne 6 de parcours.csv avec une valeur de trop.", _ragged_line),
)


# --------------------------------------------------------------------------- manifest


def _late_start(data: SiteData, variant: str) -> Submission:
    manifest = [(k, v) for k, v in data.manifest if k != "date_debut_donnees"]
    manifest.insert(2, ("date_debut_donnees", _shift(data.date_extraction, 20)))
    return _sub(data, variant, manifest)


def _repeated_key(data: SiteData, variant: str) -> Submission:
    return _sub(data, variant, [*data.manifest[:1], *data.manifest])


def _manifest_flaws(known: set[str]) -> list[_Flaw]:
    # The usual wrong code, unless a referential made it a site: then one no commune has.
    unknown = UNKNOWN_CODE_PRE if UNKNOWN_CODE_PRE not in known else "PRE99999"
    why = " (code d'arrondissement au lieu de la commune)." if unknown == UNKNOWN_CODE_PRE else "."
    return [
        _Flaw("manifeste.code_pre.obligatoire", "Code PRE vide dans le manifeste.",
              _manifest_value("code_pre", None)),
        _Flaw("manifeste.code_pre.format", "Code PRE mal formé dans le manifeste (« PRE » + 4 chiffres).",
              _manifest_value("code_pre", lambda d: d.site.code_pre[:-1])),
        _Flaw("manifeste.code_pre.inconnu", f"Code PRE {unknown} absent du référentiel des sites{why}",
              _manifest_value("code_pre", unknown)),
        _Flaw("manifeste.date_extraction.type", "Date d'extraction impossible (32/12).",
              _manifest_value("date_extraction", lambda d: f"{d.date_extraction.year}-12-32")),
        _Flaw("manifeste.date_extraction.apres_reception", "Date d'extraction dans le futur (année 2099 tapée "
              "par erreur) : postérieure au jour de réception.",
              _manifest_value("date_extraction", lambda d: d.date_extraction.replace(year=2099).isoformat())),
        _Flaw("manifeste.date_debut_donnees.apres_extraction", "Date de début des données postérieure à la date "
              "d'extraction.", _late_start),
        _Flaw("manifeste.version_format.liste", "Version de format « 2 » inconnue.",
              _manifest_value("version_format", "2")),
        _Flaw("manifeste.cle_en_double", "Clé code_pre répétée dans le manifeste.", _repeated_key),
    ]


# --------------------------------------------------------------------------- parcours


def _duplicate_pathway_id(data: SiteData, variant: str) -> Submission:
    # What refers to the renamed pathway follows it, so that only the duplicate is wrong.
    frame = data.tables["parcours"]
    row = _row(frame, _single_child(frame))
    old, new = frame["id_parcours"][row], frame["id_parcours"][row - 1 if row else 1]
    renamed = pl.when(pl.col("id_parcours") == old).then(pl.lit(new)).otherwise(
        pl.col("id_parcours")).alias("id_parcours")
    t = data.tables
    return _sub(data, variant, parcours=_set(frame, "id_parcours", row, new),
                actions=t["actions"].with_columns(renamed),
                bilans=t["bilans"].with_columns(renamed),
                attentes=t["attentes"].with_columns(renamed))


def _spaced_pathway_id(data: SiteData, variant: str) -> Submission:
    frame = data.tables["parcours"]
    row = _row(frame, _single_child(frame))
    old = frame["id_parcours"][row]
    return _sub(data, variant, parcours=_set(frame, "id_parcours", row, f"{old[0]} {old[1:]}"),
                **_detach(data, old))


def _referent_name(data: SiteData, variant: str) -> Submission:
    frame = data.tables["parcours"]
    first = frame["id_referent"][0]
    return _sub(data, variant, parcours=frame.with_columns(
        pl.when(pl.col("id_referent") == first).then(pl.lit("DURAND"))
        .otherwise(pl.col("id_referent")).alias("id_referent")))


def _impossible_entry(data: SiteData, variant: str) -> Submission:
    # A date that no typed column can hold: the column is written as text.
    frame = data.tables["parcours"]
    row = _row(frame, _single_child(frame))
    entry = frame["date_entree"][row]
    text = _as_text(frame["date_entree"], variant).clone().scatter(row, f"31/02/{entry.year}")
    return _sub(data, variant, parcours=frame.with_columns(text))


def _entry_before_2005(data: SiteData, variant: str) -> Submission:
    # The pathway's other dates and the birth year move with it, so that only the entry is wrong.
    frame = data.tables["parcours"]
    row = _row(frame, _single_child(frame) & _exited())
    r = frame.row(row, named=True)
    entry = date(2004, 10, 4)
    shift = (entry - r["date_entree"]).days
    age = r["date_entree"].year - r["annee_naissance"]
    out = _set(frame, "date_entree", row, entry)
    out = _set(out, "date_orientation", row, _shift(r["date_orientation"], shift))
    if r["date_decision_eps"] is not None:
        out = _set(out, "date_decision_eps", row, _shift(r["date_decision_eps"], shift))
    out = _set(out, "annee_naissance", row, 2004 - age)
    return _sub(data, variant, parcours=out)


def _empty_tables(data: SiteData, variant: str) -> Submission:
    return _sub(data, variant, **{t: data.tables[t].clear() for t in DATA_TABLES})


_PARCOURS_FLAWS = (
    _Flaw("parcours.id_parcours.unique", "Deux parcours portent le même identifiant.", _duplicate_pathway_id),
    _Flaw("parcours.id_parcours.format", "Identifiant de parcours avec une espace (ses actions, bilans et "
          "demandes retirés).", _spaced_pathway_id),
    _Flaw("parcours.id_enfant.donnee_personnelle", "Nom de famille à la place de l'identifiant d'un enfant.",
          _pathway_cell("id_enfant", "DUPONT"), tag="nom"),
    _Flaw("parcours.id_enfant.donnee_personnelle", "Numéro de téléphone à la place de l'identifiant d'un "
          "enfant.", _pathway_cell("id_enfant", "0612345678"), tag="telephone"),
    _Flaw("parcours.id_referent.donnee_personnelle", "Nom du référent à la place de son identifiant.",
          _referent_name),
    _Flaw("parcours.id_famille.format", "Identifiant de famille avec une barre oblique.",
          _cell("parcours", "id_famille", lambda r, d: r["id_famille"][:1] + "/" + r["id_famille"][1:])),
    _Flaw("parcours.sexe.liste", "Sexe « G » (garçon) au lieu de M.",
          _pathway_cell("sexe", "G", pl.col("sexe") == "M"), XLSX),
    _Flaw("parcours.niveau_scolaire.liste", "Niveau scolaire « 6EME » au lieu de 6E.",
          _pathway_cell("niveau_scolaire", "6EME", pl.col("niveau_scolaire") == "6E")),
    _Flaw("parcours.origine_orientation.liste", "Origine d'orientation « EDUCATION_NATIONALE » hors liste.",
          _pathway_cell("origine_orientation", "EDUCATION_NATIONALE", pl.col("origine_orientation") == "ECOLE")),
    _Flaw("parcours.code_commune.format", "Code commune à 6 chiffres.",
          _pathway_cell("code_commune", lambda r, d: r["code_commune"] + "0")),
    _Flaw("parcours.code_qpv.format", "Code QPV amputé d'un chiffre.",
          _pathway_cell("code_qpv", lambda r, d: r["code_qpv"][:-2] + r["code_qpv"][-1],
                        pl.col("code_qpv").is_not_null())),
    _Flaw("parcours.annee_naissance.type", "Année de naissance saisie avec la lettre O.",
          _pathway_cell("annee_naissance", lambda r, d: str(r["annee_naissance"]).replace("0", "O", 1))),
    _Flaw("parcours.annee_naissance.age_impossible", "Année de naissance erronée d'un siècle (âge à l'entrée "
          "> 25 ans).", _pathway_cell("annee_naissance", lambda r, d: r["annee_naissance"] - 100)),
    _Flaw("parcours.date_orientation.obligatoire", "Date d'orientation vide.",
          _cell("parcours", "date_orientation", None)),
    _Flaw("parcours.date_entree.type", "Date d'entrée impossible (31/02).", _impossible_entry, CP1252),
    _Flaw("parcours.date_entree.trop_ancienne", "Date d'entrée en 2004, avant la création des PRE.",
          _entry_before_2005),
    _Flaw("parcours.date_entree.apres_extraction", "Date d'entrée postérieure à la date d'extraction.",
          _pathway_cell("date_entree", lambda r, d: _shift(d.date_extraction, 3), _ongoing())),
    _Flaw("parcours.date_sortie.avant_entree", "Date de sortie antérieure à la date d'entrée.",
          _pathway_cell("date_sortie", lambda r, d: _shift(r["date_entree"], -30), _exited())),
    _Flaw("parcours.date_sortie.apres_extraction", "Date de sortie prévue saisie comme date de sortie "
          "(postérieure à l'extraction).",
          _pathway_cell("date_sortie", lambda r, d: _shift(d.date_extraction, 10), _exited())),
    _Flaw("parcours.motif_sortie.sans_date_sortie", "Motif de sortie renseigné sur un parcours en cours.",
          _pathway_cell("motif_sortie", "DEMENAGEMENT", _ongoing())),
    _Flaw("parcours.motif_sortie.liste", "Motif de sortie « FIN_DE_PRISE_EN_CHARGE » hors liste.",
          _pathway_cell("motif_sortie", "FIN_DE_PRISE_EN_CHARGE", _exited())),
    _Flaw("parcours.table_vide", "Table parcours vide (en-tête seul), comme les autres tables.", _empty_tables),
)


# --------------------------------------------------------------------------- actions


def _action_after_extraction(data: SiteData, variant: str) -> Submission:
    # On an ongoing pathway, not yet ended nor attended, so that only the start is wrong.
    frame = data.tables["actions"]
    ongoing = data.tables["parcours"].filter(_ongoing())["id_parcours"].to_list()
    row = _row(frame, pl.col("id_parcours").is_in(ongoing))
    out = _set(frame, "date_debut", row, _shift(data.date_extraction, 7))
    out = _set(out, "date_fin", row, None)
    return _sub(data, variant, actions=_set(out, "seances_realisees", row, None))


def _negative_sessions(data: SiteData, variant: str) -> Submission:
    frame = data.tables["actions"]
    row = _row(frame, pl.col("seances_prevues").is_not_null())
    out = _set(_set(frame, "seances_prevues", row, -2), "seances_realisees", row, None)
    return _sub(data, variant, actions=out)


_ACTIONS_FLAWS = (
    _Flaw("actions.id_action.unique", "Deux actions portent le même identifiant.",
          _duplicate_id("actions", "id_action")),
    _Flaw("actions.id_parcours.parcours_inconnu", "Action rattachée à un parcours absent.",
          _cell("actions", "id_parcours", _absent_pathway)),
    _Flaw("actions.volet.liste", "Volet « CULTURE » hors liste.",
          _cell("actions", "volet", "CULTURE", pl.col("volet") == "EDUCATIF")),
    _Flaw("actions.type_action.liste", "Type d'action « SOUTIEN_SCOLAIRE » hors liste.",
          _cell("actions", "type_action", "SOUTIEN_SCOLAIRE", pl.col("volet") == "SCOLARITE")),
    _Flaw("actions.modalite.liste", "Modalité abrégée « INDIV ».",
          _cell("actions", "modalite", "INDIV", pl.col("modalite") == "INDIVIDUELLE")),
    _Flaw("actions.partenaire.liste", "Partenaire « ORTHOPHONISTE » (structure) au lieu de PROFESSIONNEL_LIBERAL.",
          _cell("actions", "partenaire", "ORTHOPHONISTE", pl.col("type_action") == "ORTHOPHONIE")),
    _Flaw("actions.date_debut.apres_extraction", "Action commençant après la date d'extraction.",
          _action_after_extraction),
    _Flaw("actions.date_fin.avant_debut", "Date de fin d'action antérieure à son début.",
          _cell("actions", "date_fin", lambda r, d: _shift(r["date_debut"], -10), pl.col("date_fin").is_not_null())),
    _Flaw("actions.seances_prevues.negatif", "Nombre de séances prévues négatif (-2).", _negative_sessions),
    _Flaw("actions.seances_realisees.type", "Nombre de séances réalisées écrit en lettres.",
          _cell("actions", "seances_realisees", "huit")),
    _Flaw("actions.cout_euros.type", "Coût « gratuit » écrit en toutes lettres.",
          _cell("actions", "cout_euros", "gratuit")),
    _Flaw("actions.cout_euros.negatif", "Coût négatif (avoir saisi en négatif).",
          _cell("actions", "cout_euros", -150.0)),
)


# --------------------------------------------------------------------------- bilans

_BILANS_FLAWS = (
    _Flaw("bilans.id_bilan.unique", "Deux bilans portent le même identifiant.", _duplicate_id("bilans", "id_bilan")),
    _Flaw("bilans.id_parcours.parcours_inconnu", "Bilan rattaché à un parcours absent.",
          _cell("bilans", "id_parcours", _absent_pathway)),
    _Flaw("bilans.type_bilan.liste", "Type de bilan « FINAL » hors liste.",
          _cell("bilans", "type_bilan", "FINAL", pl.col("type_bilan") == "ENTREE")),
    _Flaw("bilans.date_bilan.apres_extraction", "Bilan daté après la date d'extraction.",
          _cell("bilans", "date_bilan", lambda r, d: _shift(d.date_extraction, 20),
                pl.col("type_bilan") == "INTERMEDIAIRE")),
    _Flaw("bilans.objectifs_atteints.superieur_fixes", "Plus d'objectifs atteints que d'objectifs fixés.",
          _cell("bilans", "objectifs_atteints", lambda r, d: r["objectifs_fixes"] + 1)),
    _Flaw("bilans.objectifs_atteints.negatif", "Nombre d'objectifs atteints négatif.",
          _cell("bilans", "objectifs_atteints", -1)),
    _Flaw("bilans.note_sante.echelle", "Note de santé 5 sur une échelle de 1 à 4.", _cell("bilans", "note_sante", 5)),
)


# --------------------------------------------------------------------------- attentes
# Where an edit would break another rule too, the request's other dates are cleared.


def _waiting() -> pl.Expr:
    return pl.col("date_premier_rdv").is_null() & pl.col("date_abandon").is_null()


def _seen() -> pl.Expr:
    return pl.col("date_premier_rdv").is_not_null()


def _request_after_extraction(data: SiteData, variant: str) -> Submission:
    frame = data.tables["attentes"]
    row = _row(frame, _waiting())
    out = _set(frame, "date_demande", row, _shift(data.date_extraction, 3))
    return _sub(data, variant, attentes=_set(_set(out, "date_premier_rdv", row, None), "date_abandon", row, None))


def _appointment_before_request(data: SiteData, variant: str) -> Submission:
    frame = data.tables["attentes"]
    row = _row(frame, _seen())
    out = _set(frame, "date_premier_rdv", row, _shift(frame["date_demande"][row], -15))
    return _sub(data, variant, attentes=_set(out, "date_abandon", row, None))


def _planned_appointment(data: SiteData, variant: str) -> Submission:
    frame = data.tables["attentes"]
    row = _row(frame, _waiting())
    out = _set(frame, "date_premier_rdv", row, _shift(data.date_extraction, 10))
    return _sub(data, variant, attentes=_set(out, "date_abandon", row, None))


def _appointment_and_withdrawal(data: SiteData, variant: str) -> Submission:
    frame = data.tables["attentes"]
    row = _row(frame, _seen())
    return _sub(data, variant, attentes=_set(frame, "date_abandon", row, frame["date_premier_rdv"][row]))


def _withdrawal_before_request(data: SiteData, variant: str) -> Submission:
    frame = data.tables["attentes"]
    row = _row(frame, pl.col("date_abandon").is_not_null())
    out = _set(frame, "date_abandon", row, _shift(frame["date_demande"][row], -5))
    return _sub(data, variant, attentes=_set(out, "date_premier_rdv", row, None))


_ATTENTES_FLAWS = (
    _Flaw("attentes.id_demande.unique", "Deux demandes portent le même identifiant.",
          _duplicate_id("attentes", "id_demande")),
    _Flaw("attentes.id_parcours.parcours_inconnu", "Demande rattachée à un parcours absent.",
          _cell("attentes", "id_parcours", _absent_pathway, pl.col("id_parcours").is_not_null())),
    _Flaw("attentes.structure.liste", "Structure « ORTHOPHONIE » au lieu de ORTHOPHONISTE.",
          _cell("attentes", "structure", "ORTHOPHONIE", pl.col("structure") == "ORTHOPHONISTE")),
    _Flaw("attentes.date_demande.apres_extraction", "Demande datée après la date d'extraction.",
          _request_after_extraction),
    _Flaw("attentes.date_premier_rdv.avant_demande", "Premier rendez-vous antérieur à la demande.",
          _appointment_before_request),
    _Flaw("attentes.date_premier_rdv.apres_extraction", "Rendez-vous à venir saisi comme premier rendez-vous.",
          _planned_appointment),
    _Flaw("attentes.date_abandon.avec_rdv", "Demande avec à la fois un rendez-vous et un abandon.",
          _appointment_and_withdrawal),
    _Flaw("attentes.date_abandon.avant_demande", "Abandon daté avant la demande.", _withdrawal_before_request),
)

"""A corpus of hostile and broken submissions, each with its expected outcome and French message.

Every file is checked in one batch; none may crash the reader or the validator, and none may
write anything outside the folder under test.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipelines.contracts.reader import read_submission
from pipelines.contracts.validator import Context, validate_many
from submission_builder import COLUMNS, base_tables, copy_tables, csv_text, write_zip

SITES = {"PRE51454"}


def _zip_bytes(tables=None, **kwargs) -> bytes:
    buffer = io.BytesIO()
    write_zip(buffer, tables or base_tables(), **kwargs)
    return buffer.getvalue()


def _zip_members(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


def _base_members(**replace: bytes) -> dict[str, bytes]:
    tables = base_tables()
    members = {f"{n}.csv": csv_text(rows, ["cle", "valeur"] if n == "manifeste" else COLUMNS[n]).encode()
               for n, rows in tables.items()}
    members.update(replace)
    return members


def _xlsx(tables=None, *, extra_sheet: str | None = None, formula: tuple | None = None,
          merge: tuple | None = None) -> bytes:
    tables = tables or base_tables()
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in tables.items():
        sheet = book.create_sheet(name)
        cols = ["cle", "valeur"] if name == "manifeste" else COLUMNS[name]
        sheet.append(cols)
        for row in rows:
            sheet.append([row.get(c, "") or None for c in cols])
    if extra_sheet:
        book.create_sheet(extra_sheet).append(["x"])
    if formula:
        sheet_name, cell, text = formula
        book[sheet_name][cell] = text
    if merge:
        sheet_name, cells = merge
        book[sheet_name].merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _with(table, row, column, value):
    tables = copy_tables(base_tables())
    tables[table][row][column] = value
    return tables


def _manifest(key, value):
    tables = copy_tables(base_tables())
    for row in tables["manifeste"]:
        if row["cle"] == key:
            row["valeur"] = value
    return tables


def _cases() -> list[tuple[str, str, bytes, str | None, str]]:
    """(name, file name, content, expected rule or None if accepted, fragment of the French message)."""
    utf16 = "\ufeff" + csv_text(base_tables()["parcours"], COLUMNS["parcours"])
    actions_cp1252 = csv_text(_with("actions", 0, "partenaire", "ASSOCIATION")["actions"], COLUMNS["actions"])
    zip_ok = _zip_bytes()
    no_manifest = _base_members()
    del no_manifest["manifeste.csv"]
    ragged = csv_text(base_tables()["actions"], COLUMNS["actions"]).splitlines()
    ragged[2] += ",en trop,encore"
    header_only = {n: rows if n != "parcours" else [] for n, rows in base_tables().items()}
    actions_empty = {n: rows if n != "actions" else [] for n, rows in base_tables().items()}
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("parcours.csv", "w", force_zip64=True) as member:
        for _ in range(8):
            member.write(b"0" * (1 << 24))
    return [
        ("vide", "vide.zip", b"", "depot.illisible", "ni une archive ZIP"),
        ("texte renommé en xlsx", "notes.xlsx", "Bonjour, voici nos données".encode(), "depot.illisible",
         "ni une archive ZIP"),
        ("pdf renommé en zip", "export.zip", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj", "depot.illisible", "ni une archive"),
        ("xls ancien", "export.xls", bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 500, "depot.illisible", ".xls"),
        ("zip tronqué", "tronque.zip", zip_ok[: len(zip_ok) // 2], "depot.illisible", "endommagé"),
        ("zip corrompu", "corrompu.zip", b"PK\x03\x04" + os.urandom(600), "depot.illisible", "endommagé"),
        ("xlsx tronqué", "tronque.xlsx", _xlsx()[:3000], "depot.illisible", "endommagé"),
        ("bombe de décompression", "bombe.zip", bomb.getvalue(), "depot.illisible", "bombe"),
        ("trop d'éléments", "membres.zip", _zip_members({f"f{i}.csv": b"a" for i in range(250)}), "depot.illisible",
         "éléments"),
        ("csv utf-16", "utf16.zip", _zip_members(_base_members(**{"parcours.csv": utf16.encode("utf-16")})),
         "depot.illisible", "enregistrez-le en « CSV UTF-8 » (Excel : Enregistrer sous… > CSV UTF-8 ; LibreOffice"),
        ("chemin ../", "remontee.zip", _zip_members({**_base_members(), "../parcours2.csv": b"x"}),
         "depot.membre_inconnu", "« nom illisible »"),
        ("chemin absolu", "absolu.zip", _zip_members({**_base_members(), "/etc/parcours.csv": b"x"}),
         "depot.membre_inconnu", "« nom illisible »"),
        ("lien symbolique", "lien.zip", _zip_members({k: v for k, v in _base_members().items() if k != "bilans.csv"},
                                                     links={"bilans.csv": "/etc/passwd"}),
         "depot.membre_inconnu", "bilans.csv"),
        # All five in one folder (the export's folder zipped): read as if at the root (issue 17, point 1).
        ("sous-dossier", "dossier.zip", _zip_members({f"export/{k}": v for k, v in _base_members().items()}),
         None, ""),
        ("sous-dossier pour une seule table", "dossier_partiel.zip",
         _zip_members({**{k: v for k, v in _base_members().items() if k != "parcours.csv"},
                       "export/parcours.csv": _base_members()["parcours.csv"]}),
         "depot.membre_inconnu", "« parcours.csv (dans un dossier de l'archive) » n'est pas reconnu : placez-le à "
         "la racine de l'archive"),
        ("archive imbriquée", "imbrique.zip", _zip_members({**_base_members(), "donnees.zip": zip_ok}),
         "depot.membre_inconnu", "donnees.zip"),
        ("table en double", "double.zip", _zip_members({**_base_members(), "PARCOURS.CSV": b"a,b\n"}),
         "depot.table_en_double", "plusieurs fois"),
        ("manifeste absent", "sans_manifeste.zip", _zip_members(no_manifest), "depot.table_manquante", "manifeste"),
        ("fichier parcours vide", "parcours_vide.zip", _zip_members(_base_members(**{"parcours.csv": b""})),
         "depot.colonne_manquante", "obligatoire"),
        ("parcours en-tête seul", "entete.zip", _zip_bytes(header_only), "parcours.table_vide", "effacerait"),
        ("actions en-tête seul", "actions_vides.zip", _zip_bytes(actions_empty), None, ""),
        ("ligne trop longue", "ragged.zip", _zip_bytes(raw_members={"actions": "\n".join(ragged) + "\n"}),
         "depot.ligne_malformee", "nombre de colonnes"),
        ("encodages mélangés", "melange.zip", _zip_members(_base_members(**{
            "actions.csv": actions_cp1252.replace("ASSOCIATION", "ASSOCIATION").encode("cp1252")})), None, ""),
        ("formule sans valeur", "formule.xlsx", _xlsx(formula=("parcours", "D2", "=1+1")),
         "parcours.sexe.obligatoire", "obligatoire"),
        ("cellules fusionnées", "fusion.xlsx", _xlsx(merge=("parcours", "D2:D3")), "parcours.sexe.obligatoire",
         "obligatoire"),
        ("onglet inconnu", "onglet.xlsx", _xlsx(extra_sheet="Notes internes"), "depot.membre_inconnu",
         "Notes internes"),
        ("injection =", "inj1.zip", _zip_bytes(_with("parcours", 0, "sexe", "=cmd|'/C calc'!A0")),
         "parcours.sexe.liste", "« valeur non reproduite »"),
        ("injection +", "inj2.zip", _zip_bytes(_with("parcours", 0, "niveau_scolaire", "+SUM(A1)")),
         "parcours.niveau_scolaire.liste", "« valeur non reproduite »"),
        ("injection -", "inj3.zip", _zip_bytes(_with("actions", 0, "volet", "-2+3")), "actions.volet.liste",
         "« valeur non reproduite »"),
        ("injection @", "inj4.zip", _zip_bytes(_with("bilans", 0, "type_bilan", "@SUM(1)")),
         "bilans.type_bilan.liste", "« valeur non reproduite »"),
        ("courriel en identifiant", "mail.zip", _zip_bytes(_with("parcours", 0, "id_enfant", "lea.martin@mail.fr")),
         "parcours.id_enfant.donnee_personnelle", "pas reproduite"),
        ("téléphone en identifiant", "tel.zip", _zip_bytes(_with("attentes", 0, "id_enfant", "0612345678")),
         "attentes.id_enfant.donnee_personnelle", "pas reproduite"),
        ("NIR en identifiant", "nir.zip", _zip_bytes(_with("parcours", 1, "id_famille", "2850775123456")),
         "parcours.id_famille.donnee_personnelle", "pas reproduite"),
        ("nom en identifiant", "nom.zip", _zip_bytes(_with("parcours", 0, "id_referent", "Dupont")),
         "parcours.id_referent.donnee_personnelle", "pas reproduite"),
        ("colonne Prénom", "prenom.zip", _zip_bytes(columns={"parcours": [*COLUMNS["parcours"], "Prénom"]}),
         "depot.colonne_personnelle", "données personnelles"),
        ("colonne date_naissance", "ddn.zip",
         _zip_bytes(columns={"parcours": [*COLUMNS["parcours"], "date_naissance"]}),
         "depot.colonne_personnelle", "données personnelles"),
        ("colonne commentaire", "com.zip", _zip_bytes(columns={"actions": [*COLUMNS["actions"], "Commentaire"]}),
         "depot.colonne_personnelle", "données personnelles"),
        ("site inconnu", "site.zip", _zip_bytes(_manifest("code_pre", "PRE99999")), "manifeste.code_pre.inconnu",
         "référentiel"),
        ("code site traversant", "trav.zip", _zip_bytes(_manifest("code_pre", "../../etc")),
         "manifeste.code_pre.format", "PRE suivi"),
        ("date future", "futur.zip", _zip_bytes(_with("parcours", 0, "date_entree", "2030-01-01")),
         "parcours.date_entree.apres_extraction", "postérieure"),
        ("guillemet non fermé", "guillemet.zip", _zip_bytes(raw_members={
            "bilans": csv_text(base_tables()["bilans"], COLUMNS["bilans"]).replace("B2,", '"B2,', 1)}),
         "bilans.id_bilan.format", ""),
        ("octets NUL", "nul.zip", _zip_bytes(raw_members={
            "attentes": csv_text(base_tables()["attentes"], COLUMNS["attentes"]).replace("D1", "D\x001")}),
         "attentes.id_demande.format", ""),
        ("BOM, CRLF et point-virgule", "bom.zip", _zip_members(_base_members(**{
            "parcours.csv": ("\ufeff" + csv_text(base_tables()["parcours"], COLUMNS["parcours"], ";")
                             .replace("\n", "\r\n")).encode()})), None, ""),
    ]


CASES = _cases()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    before = set(Path("/tmp").iterdir())
    paths = []
    for i, (_, name, content, _, _) in enumerate(CASES):
        path = folder / f"{i:02d}_{name}"
        path.write_bytes(content)
        paths.append(path)
    reports = validate_many([read_submission(p) for p in paths], [Context(known_sites=SITES)] * len(paths))
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)  # nothing written beside
    created = {p for p in set(Path("/tmp").iterdir()) - before if p.name.startswith(("parcours", "etc"))}
    assert not created
    return dict(zip([c[0] for c in CASES], reports, strict=True))


def test_corpus_size():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_expected_outcome(case, outcomes):
    label, _, _, expected, fragment = case
    report = outcomes[label]
    if expected is None:
        assert report.accepted, [(g.rule.code, g.count) for g in report.findings.groups()]
        return
    assert not report.accepted
    messages = [f.message for f in report.findings if f.rule == expected]
    assert messages, (expected, sorted(report.findings.rules()))
    assert any(fragment in m for m in messages), (fragment, messages)
    for finding in report.findings:
        # Never a formula at the start of an echoed value, never a personal value echoed.
        assert "« =" not in finding.message and "« +" not in finding.message and "« @" not in finding.message
        for secret in ("lea.martin@mail.fr", "0612345678", "2850775123456", "Dupont", "cmd|", "SUM(", "-2+3",
                       "../", "/etc/", "export/"):
            assert secret not in finding.message

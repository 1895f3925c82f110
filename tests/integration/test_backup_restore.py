"""Backup and restore of the data home (`pre-eval sauvegarder`, `pre-eval restaurer`), with real files.

- The pipeline test processes generated submissions, freezes an edition, backs the data home up with
  the key, wipes it, restores into a new data home and checks that the warehouse, the published copy
  and the edition serve the same figures, and that a new submission of an existing site keeps its
  children's pseudonyms (expected pseudonym computed here with `hmac`, not by the pipeline).
- The attack tests run on a small data home built by hand (a real DuckDB file, real folders): a byte
  changed, a manifest path leaving the backup, symbolic links, a non-empty target, a missing or
  different key. Each refusal is checked to have written nothing.
- Every `pre-eval …` command quoted in the operators' documentation parses with the real parser.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.common.datahome import DataHome
from pipelines.ingest import backup as backup_module
from pipelines.ingest.backup import BackupError, backup, restore
from support import PRE_EVAL, REPO_ROOT, THREE_SITES, authorise, isolated_env

KEY = "ab" * 32
OTHER_KEY = "ef" * 32


def key_fingerprint(key: str) -> str:
    """HMAC-SHA256 of the fixed label, keyed with the key (pipelines/ingest/pseudonym.py's docstring)."""
    return hmac.new(key.encode(), b"pre-eval/empreinte-cle-pseudonymisation/v1", hashlib.sha256).hexdigest()


def run(root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([PRE_EVAL, *args], capture_output=True, text=True, timeout=900,
                          env=isolated_env(root, root.parent, **extra))


def rows(database: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return sorted(con.execute(query).fetchall(), key=repr)
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the real pipeline


@pytest.fixture(scope="module")
def platform(tmp_path_factory, processed_homes) -> dict:
    """Three sites processed, an edition frozen, figures read, a backup with the key; then the data
    home is wiped and the backup restored into a new one."""
    work = tmp_path_factory.mktemp("sauvegarde")
    first = work / "premier"
    processed = processed_homes.get(**THREE_SITES)  # generated, then processed by `pre-eval process`
    home = processed.copy(first)
    authorise(first)
    zipped = sorted(f.path for f in processed.files if f.path.suffix == ".zip")[0]  # ZIPs and XLSX workbooks
    site, site_zip = zipped.name.split("_")[0], zipped.read_bytes()
    made = run(first, "edition", "creer", "2024-T4")
    assert made.returncode == 0, made.stderr
    exported = run(first, "export", "--out", str(work / "export-avant"), "--edition", "2024-T4")
    assert exported.returncode == 0, exported.stderr
    before = {
        "indicateurs": rows(home.warehouse, "select * from marts.indicateurs"),
        "depots": rows(home.warehouse, "select * from marts.depots"),
        "publie": rows(home.published / "entrepot.duckdb", "select * from marts.indicateurs"),
        "pseudonymes": rows(home.warehouse, "select id_parcours, id_enfant from marts.parcours "
                                            f"where code_pre = '{site}'"),
        "edition": tree(first / "editions"),
        "archive": tree(first / "archive"),
        "acces": tree(first / "acces"),
    }
    key = (first / "secret" / "cle_pseudonymisation").read_text(encoding="utf-8").strip()
    # Files that must not be backed up: one waiting in the inbox, one refused in quarantine.
    (home.inbox / "en_attente.zip").write_bytes(b"pas encore traite")
    (home.quarantine / "INCONNU").mkdir(exist_ok=True)
    (home.quarantine / "INCONNU" / "refuse.zip").write_bytes(b"nom et prenom envoyes par erreur")

    saved = work / "sauvegarde"
    result = run(first, "sauvegarder", "--out", str(saved), "--avec-cle")
    assert result.returncode == 0, result.stderr
    shutil.rmtree(first)  # the server is lost

    second = work / "second"
    restored = run(second, "restaurer", "--depuis", str(saved))
    return {"work": work, "saved": saved, "home": DataHome(second), "before": before, "key": key,
            "site": site, "site_zip": site_zip, "backup_out": result.stdout, "restore": restored}


@pytest.mark.slow
def test_the_backup_is_owner_only_and_its_manifest_describes_every_file(platform):
    saved = platform["saved"]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o700
    manifest = json.loads((saved / "sauvegarde.json").read_text(encoding="utf-8"))
    listed = {e["chemin"]: e for e in manifest["fichiers"]}
    on_disk = {p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()} - {"sauvegarde.json"}
    assert set(listed) == on_disk
    for relative, entry in listed.items():
        path = saved / relative
        assert entry["sha256"] == sha256(path) and entry["octets"] == path.stat().st_size, relative
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, relative
    for folder in (p for p in saved.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert manifest["version"] == "0.1.0" and manifest["avec_cle"] is True
    assert dt.datetime.fromisoformat(manifest["cree_le"]).date() == dt.datetime.now(tz=dt.UTC).date()
    tops = {r.split("/")[0] for r in listed}
    assert {"warehouse.duckdb", "archive", "registre", "reports", "acces", "journal", "editions", "secret"} <= tops
    assert not tops & {"inbox", "quarantine", "published", "dagster", "staging"}
    assert "secret/cle_pseudonymisation" in listed and "secret/graine_secret_statistique" in listed
    assert "1 fichier(s) en attente dans la boîte de dépôt ne sont pas sauvegardés" in platform["backup_out"]
    printed = re.search(r"manifeste : ([0-9a-f]{64})", platform["backup_out"]).group(1)
    assert printed == sha256(saved / "sauvegarde.json")


@pytest.mark.slow
def test_the_restored_home_serves_the_same_figures(platform):
    restored, home, before = platform["restore"], platform["home"], platform["before"]
    assert restored.returncode == 0, restored.stderr
    assert "Copie publiée reconstruite" in restored.stdout
    assert rows(home.warehouse, "select * from marts.indicateurs") == before["indicateurs"]
    assert rows(home.warehouse, "select * from marts.depots") == before["depots"]
    assert (home.published / "entrepot.duckdb").is_file()
    published = rows(home.published / "entrepot.duckdb", "select * from marts.indicateurs")
    assert published == before["publie"]
    masked = rows(home.published / "entrepot.duckdb", "select count(*) from marts.indicateurs where masque")
    assert masked[0][0] > 0  # the comparison covers masked cells, not only shown ones
    assert tree(home.root / "editions") == before["edition"]
    assert tree(home.root / "archive") == before["archive"]
    assert tree(home.root / "acces") == before["acces"]
    exported = run(home.root, "export", "--out", str(platform["work"] / "export-apres"), "--edition", "2024-T4")
    assert exported.returncode == 0, exported.stderr
    assert (tree(platform["work"] / "export-apres") == tree(platform["work"] / "export-avant"))
    # Not restored: the inbox's waiting file, the quarantine's refused one.
    assert not any(home.inbox.iterdir()) and not list(home.quarantine.rglob("*.zip"))
    # Owner-only, but for what the dashboard's group reads; the key is back, owner-only.
    key_file = home.secret / "cle_pseudonymisation"
    assert key_file.read_text(encoding="utf-8").strip() == platform["key"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.secret.stat().st_mode) == 0o700
    for path in [home.root, *home.root.rglob("*")]:
        assert stat.S_IMODE(path.lstat().st_mode) & 0o007 == 0, path  # nothing for other accounts
    assert stat.S_IMODE(next((home.root / "archive").rglob("*.zip")).stat().st_mode) == 0o600
    assert stat.S_IMODE(next((home.root / "reports").rglob("*.md")).stat().st_mode) == 0o640
    edition_file = home.root / "editions" / "2024-T4" / "edition.json"
    assert stat.S_IMODE(edition_file.stat().st_mode) & 0o222 == 0  # still read-only


@pytest.mark.slow
def test_a_new_submission_on_the_restored_home_keeps_the_pseudonyms(platform):
    home, before = platform["home"], platform["before"]
    assert platform["restore"].returncode == 0, platform["restore"].stderr
    # The same export of one site, extracted one day later: the same children, a new content.
    site = platform["site"]
    source = zipfile.ZipFile(io.BytesIO(platform["site_zip"]))
    manifest = source.read("manifeste.csv")
    # The generator writes either separator and either date format, as sites' software does.
    found = re.search(rb"date_extraction([;,])([0-9/-]+)", manifest)
    sep, day = found.group(1).decode(), found.group(2).decode()
    style = "%d/%m/%Y" if "/" in day else "%Y-%m-%d"
    later = (dt.datetime.strptime(day, style) + dt.timedelta(days=1)).strftime(style)
    target = home.inbox / f"{site}_lendemain.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "manifeste.csv":
                data = data.replace(f"date_extraction{sep}{day}".encode(), f"date_extraction{sep}{later}".encode())
            out.writestr(name, data)
    result = run(home.root, "process")
    assert result.returncode == 0, result.stderr
    assert f"{site}_lendemain.zip : ACCEPTÉ" in result.stdout, result.stdout
    after = rows(home.warehouse, f"select id_parcours, id_enfant from marts.parcours where code_pre = '{site}'")
    assert after == before["pseudonymes"]
    # One child's pseudonym worked out by hand: HMAC-SHA256(key, code_pre + 0x1F + id), 32 hex characters.
    text = source.read("parcours.csv").decode("utf-8", errors="replace").lstrip("\ufeff")
    first_row = next(csv.DictReader(io.StringIO(text), delimiter=sep))
    expected = hmac.new(platform["key"].encode(), site.encode() + b"\x1f" + first_row["id_parcours"].encode(),
                        hashlib.sha256).hexdigest()[:32]
    assert expected in {p for p, _ in after}
    in_force = rows(home.warehouse, f"select fichier from marts.depots where code_pre = '{site}' and en_vigueur")
    assert in_force == [(f"{site}_lendemain.zip",)]


@pytest.mark.slow
def test_a_tampered_backup_is_refused_with_the_file_named(platform, tmp_path):
    assert platform["restore"].returncode == 0
    copy = tmp_path / "copie"
    shutil.copytree(platform["saved"], copy)
    manifest = json.loads((copy / "sauvegarde.json").read_text(encoding="utf-8"))
    victim = next(e["chemin"] for e in manifest["fichiers"] if e["chemin"].startswith(f"archive/{platform['site']}/"))
    data = bytearray((copy / victim).read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte changed
    (copy / victim).write_bytes(bytes(data))
    target = tmp_path / "cible"
    refused = run(target, "restaurer", "--depuis", str(copy))
    assert refused.returncode == 2
    assert "Sauvegarde altérée" in refused.stderr and victim in refused.stderr
    assert not target.exists()  # nothing written

    shutil.copy(platform["saved"] / victim, copy / victim)  # repaired
    manifest["fichiers"].append({"chemin": "../../x", "octets": 0, "sha256": hashlib.sha256(b"").hexdigest(),
                                 "mode": "0600"})
    (copy / "sauvegarde.json").write_text(json.dumps(manifest), encoding="utf-8")
    refused = run(target, "restaurer", "--depuis", str(copy))
    assert refused.returncode == 2 and "../../x" in refused.stderr and "refusé" in refused.stderr
    assert not target.exists()

    refused = run(platform["home"].root, "restaurer", "--depuis", str(platform["saved"]))
    assert refused.returncode == 2 and "n'est pas vide" in refused.stderr


# --------------------------------------------------------------------------- attacks, on a small home


@pytest.fixture
def small(tmp_path) -> dict:
    """A small data home built by hand, and its backup with the key."""
    root = tmp_path / "maison"
    files = {
        "archive/PRE51454/depot.zip": b"contenu archive",
        "registre/" + "a" * 64 + ".json": b'{"statut": "accepte"}',
        "reports/PRE51454/depot.zip.md": b"# Rapport\n",
        "referentiel/sites-generes.csv": b"code_pre,nom\n",
        "acces/habilitations.csv": b"email,role,perimetre,nom\n",
        "journal/acces.jsonl": b'{"action": "connexion"}\n',
        "editions/2024-T4/edition.json": b'{"nom": "2024-T4"}',
        "portail/envois/" + "b" * 64 + ".json": b'{"email": "reims@essai.fr"}',
        "secret/cle_pseudonymisation": KEY.encode(),
        "secret/graine_secret_statistique": b"cd" * 32,
        "secret/masques/x.json": b"{}",
        # Never backed up:
        "inbox/en_attente.zip": b"en attente",
        "quarantine/INCONNU/refuse.zip": b"refuse",
        "published/entrepot.duckdb": b"copie",
        "dagster/dagster.yaml": b"telemetry: {enabled: false}\n",
        "portail/verifications/copie.zip": b"copie privee",
        "staging/run/lecture.json": b"{}",
    }
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    # Modes as a production data home has them (deploy/systemd/README.md): folders the dashboard's
    # account reads (2750) or writes into (3770), an edition read-only, what others could read.
    os.chmod(root / "editions/2024-T4/edition.json", 0o440)
    os.chmod(root / "editions/2024-T4", 0o550)
    os.chmod(root / "acces/habilitations.csv", 0o640)
    for folder, mode in {"acces": 0o2750, "registre": 0o2750, "journal": 0o3770, "portail": 0o3770,
                         "portail/envois": 0o3770, "archive/PRE51454": 0o755}.items():
        os.chmod(root / folder, mode)
    os.chmod(root / "archive/PRE51454/depot.zip", 0o4755)  # set-user-id and world-readable: never restored
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("create schema marts; create table marts.depots as select 'PRE51454' as code_pre, 42 as n")
    # The key's fingerprint as the warehouse keeps it (docs/exploitation/cle.md), worked out here.
    con.execute("create schema ingestion; create table ingestion.cle_pseudonymisation "
                "(empreinte varchar not null, enregistree_le timestamptz not null)")
    con.execute("insert into ingestion.cle_pseudonymisation values (?, now())", [key_fingerprint(KEY)])
    con.close()
    saved = tmp_path / "sauvegarde"
    backup(DataHome(root), saved, with_key=True)
    return {"root": root, "files": files, "saved": saved, "tmp": tmp_path}


def test_a_backup_holds_what_a_restore_needs_and_nothing_else(small):
    manifest = json.loads((small["saved"] / "sauvegarde.json").read_text(encoding="utf-8"))
    listed = {e["chemin"] for e in manifest["fichiers"]}
    kept = {r for r in small["files"] if r.split("/")[0] not in ("inbox", "quarantine", "published", "dagster",
                                                                  "staging")} - {"portail/verifications/copie.zip"}
    assert listed == kept | {"warehouse.duckdb"}
    without_key = small["tmp"] / "sans-cle"
    backup(DataHome(small["root"]), without_key)
    listed = {e["chemin"] for e in json.loads((without_key / "sauvegarde.json").read_text())["fichiers"]}
    assert "secret/cle_pseudonymisation" not in listed and "secret/graine_secret_statistique" in listed
    assert not (without_key / "secret" / "cle_pseudonymisation").exists()


def test_a_backup_waits_for_no_one_but_says_when_another_program_holds_the_warehouse(small):
    """An analyst's read-only DuckDB session in another process: the checkpoint cannot open the file;
    a French refusal, and what was written is not a backup (no manifest: a restore refuses it)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print('ouvert', flush=True); time.sleep(60)", str(small["root"] / "warehouse.duckdb")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ouvert"
        out = small["tmp"] / "pendant"
        with pytest.raises(BackupError, match="un autre programme"):
            backup(DataHome(small["root"]), out)
        assert not (out / "sauvegarde.json").exists()
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(BackupError, match="incomplète"):
        restore(out, DataHome(small["tmp"] / "cible"))


def test_a_backup_refuses_a_folder_that_is_not_empty(small):
    with pytest.raises(BackupError, match="n'est pas vide"):
        backup(DataHome(small["root"]), small["saved"])
    with pytest.raises(BackupError, match="hors du dossier de données"):
        backup(DataHome(small["root"]), small["root"] / "sauvegardes")


def test_a_restore_puts_back_every_file_with_safe_modes(small):
    target = small["tmp"] / "restauree"
    done = restore(small["saved"], DataHome(target))
    for relative, data in small["files"].items():
        if relative.split("/")[0] in ("inbox", "quarantine", "published", "dagster", "staging") \
                or relative.startswith("portail/verifications"):
            assert not (target / relative).exists(), relative
        else:
            assert (target / relative).read_bytes() == data, relative
    assert rows(target / "warehouse.duckdb", "select * from marts.depots") == [("PRE51454", 42)]
    assert stat.S_IMODE((target / "secret/cle_pseudonymisation").stat().st_mode) == 0o600
    assert stat.S_IMODE((target / "secret").stat().st_mode) == 0o700
    modes = {relative: stat.S_IMODE((target / relative).stat().st_mode) for relative in (
        "editions/2024-T4/edition.json", "editions/2024-T4", "acces", "acces/habilitations.csv", "registre",
        "journal", "portail", "portail/envois", "archive/PRE51454", "archive/PRE51454/depot.zip",
        "secret/masques", "secret/masques/x.json")}
    assert modes == {"editions/2024-T4/edition.json": 0o440, "editions/2024-T4": 0o550, "acces": 0o2750,
                     "acces/habilitations.csv": 0o640, "registre": 0o2750, "journal": 0o3770, "portail": 0o3770,
                     "portail/envois": 0o3770, "archive/PRE51454": 0o750, "archive/PRE51454/depot.zip": 0o750,
                     "secret/masques": 0o700, "secret/masques/x.json": 0o600}
    for path in [target, *target.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path  # nothing for other accounts
    assert done.files == len(json.loads((small["saved"] / "sauvegarde.json").read_text())["fichiers"])


def _manifest(saved: Path) -> dict:
    return json.loads((saved / "sauvegarde.json").read_text(encoding="utf-8"))


def _write_manifest(saved: Path, manifest: dict) -> None:
    (saved / "sauvegarde.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_one_byte_changed_is_refused_before_anything_is_written(small):
    path = small["saved"] / "secret" / "masques" / "x.json"
    assert path.read_bytes() == b"{}"
    path.write_bytes(b"{]")  # same size, one byte changed
    target = small["tmp"] / "cible"
    with pytest.raises(BackupError, match=r"Sauvegarde altérée : secret/masques/x\.json"):
        restore(small["saved"], DataHome(target))
    assert not target.exists()


def test_a_truncated_file_is_refused(small):
    path = small["saved"] / "warehouse.duckdb"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(BackupError, match=r"warehouse\.duckdb"):
        restore(small["saved"], DataHome(small["tmp"] / "cible"))


@pytest.mark.parametrize("bad", ["../../x", "/etc/passwd", "archive/../../x", "archive/./a", "archive//a",
                                 "dagster/dagster.yaml", "published/entrepot.duckdb", "inbox/a.zip",
                                 "sauvegarde.json", "archive\\..\\x"])
def test_a_manifest_path_outside_the_backup_is_refused(small, bad):
    (small["tmp"] / "x").write_bytes(b"")
    manifest = _manifest(small["saved"])
    manifest["fichiers"].append({"chemin": bad, "octets": 0, "sha256": hashlib.sha256(b"").hexdigest(),
                                 "mode": "0600"})
    _write_manifest(small["saved"], manifest)
    target = small["tmp"] / "cible"
    with pytest.raises(BackupError, match=r"(refusé|invalide)") as refused:
        restore(small["saved"], DataHome(target))
    assert bad in str(refused.value) or repr(bad) in str(refused.value)
    assert not target.exists() and not (small["tmp"] / "etc").exists()


def test_a_folder_mode_entry_outside_the_backup_is_refused(small):
    manifest = _manifest(small["saved"])
    manifest["dossiers"].append({"chemin": "../..", "mode": "0777"})
    _write_manifest(small["saved"], manifest)
    with pytest.raises(BackupError, match="refusé"):
        restore(small["saved"], DataHome(small["tmp"] / "cible"))


def test_symbolic_links_in_the_backup_are_refused(small):
    """A link to a file with the very content the manifest expects is still refused: a restore reads
    the backup folder only."""
    outside = small["tmp"] / "ailleurs.zip"
    outside.write_bytes(small["files"]["archive/PRE51454/depot.zip"])
    link = small["saved"] / "archive" / "PRE51454" / "depot.zip"
    link.unlink()
    link.symlink_to(outside)
    with pytest.raises(BackupError, match=r"Lien symbolique refusé dans la sauvegarde : archive/PRE51454/depot\.zip"):
        restore(small["saved"], DataHome(small["tmp"] / "cible"))
    link.unlink()
    shutil.copy(outside, link)
    folder = small["saved"] / "reports"
    shutil.move(folder, small["tmp"] / "rapports")
    folder.symlink_to(small["tmp"] / "rapports")
    with pytest.raises(BackupError, match="Lien symbolique refusé"):
        restore(small["saved"], DataHome(small["tmp"] / "cible"))
    assert not (small["tmp"] / "cible").exists()


def test_a_home_that_is_not_empty_is_refused(small):
    target = small["tmp"] / "occupee"
    target.mkdir()
    (target / "warehouse.duckdb").write_bytes(b"autre")
    with pytest.raises(BackupError, match="n'est pas vide"):
        restore(small["saved"], DataHome(target))
    assert (target / "warehouse.duckdb").read_bytes() == b"autre"
    empty = small["tmp"] / "vide"
    empty.mkdir()
    restore(small["saved"], DataHome(empty))  # an empty folder (a mount point) is fine
    assert (empty / "warehouse.duckdb").is_file()


def test_a_missing_manifest_or_another_format_is_refused(small):
    manifest = _manifest(small["saved"])
    manifest["format"] = "autre/9"
    _write_manifest(small["saved"], manifest)
    with pytest.raises(BackupError, match="n'est pas un manifeste"):
        restore(small["saved"], DataHome(small["tmp"] / "cible"))
    (small["saved"] / "sauvegarde.json").unlink()
    with pytest.raises(BackupError, match=r"sauvegarde\.json est absent"):
        restore(small["saved"], DataHome(small["tmp"] / "cible"))


def test_the_key_kept_apart_is_required_and_must_match(small, monkeypatch):
    without_key = small["tmp"] / "sans-cle"
    backup(DataHome(small["root"]), without_key)
    target = small["tmp"] / "cible"
    with pytest.raises(BackupError, match="--cle FICHIER"):
        restore(without_key, DataHome(target))
    assert not target.exists()
    key_file = small["tmp"] / "cle.txt"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    done = restore(without_key, DataHome(target), key_file=key_file)
    assert (target / "secret/cle_pseudonymisation").read_bytes() == KEY.encode()
    assert "installée depuis" in done.key_source
    other = small["tmp"] / "autre.txt"
    other.write_text(OTHER_KEY, encoding="utf-8")
    with pytest.raises(BackupError, match="diffère"):
        restore(small["saved"], DataHome(small["tmp"] / "cible2"), key_file=other)
    monkeypatch.setenv("PRE_CLE_PSEUDONYMISATION", OTHER_KEY)
    with pytest.raises(BackupError, match="PRE_CLE_PSEUDONYMISATION"):
        restore(small["saved"], DataHome(small["tmp"] / "cible3"))
    assert not (small["tmp"] / "cible2").exists() and not (small["tmp"] / "cible3").exists()


def test_a_key_kept_apart_that_is_not_the_warehouse_s_is_refused(small):
    """The backup without the key, and the wrong key given: refused before anything is written, by the
    fingerprint the warehouse keeps (a restore would otherwise succeed and the next load fail)."""
    without_key = small["tmp"] / "sans-cle"
    backup(DataHome(small["root"]), without_key)
    wrong = small["tmp"] / "mauvaise.txt"
    wrong.write_text(OTHER_KEY, encoding="utf-8")
    target = small["tmp"] / "cible"
    with pytest.raises(BackupError, match="n'est pas celle de l'entrepôt sauvegardé"):
        restore(without_key, DataHome(target), key_file=wrong)
    assert not target.exists()
    result = run(target, "restaurer", "--depuis", str(without_key), "--cle", str(wrong))
    assert result.returncode == 2 and "empreinte diffère" in result.stderr and not target.exists()


def test_a_rotation_s_pending_key_goes_with_the_key(small):
    """A rotation that committed but did not put its new key in place: the warehouse holds the new
    key's fingerprint; the backup with the key carries both files and the restore accepts them."""
    root = small["root"]
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("update ingestion.cle_pseudonymisation set empreinte = ?", [key_fingerprint(OTHER_KEY)])
    con.close()
    (root / "secret" / "cle_pseudonymisation.nouvelle").write_text(OTHER_KEY, encoding="utf-8")
    without_key, with_key = small["tmp"] / "sans-cle", small["tmp"] / "avec-cle"
    backup(DataHome(root), without_key)
    backup(DataHome(root), with_key, with_key=True)
    assert not list((without_key / "secret").glob("cle_pseudonymisation*"))
    assert (with_key / "secret" / "cle_pseudonymisation.nouvelle").read_text() == OTHER_KEY
    target = small["tmp"] / "cible"
    restore(with_key, DataHome(target))
    assert (target / "secret" / "cle_pseudonymisation.nouvelle").read_text() == OTHER_KEY
    assert (target / "secret" / "cle_pseudonymisation").read_text() == KEY


def test_the_restore_command_refuses_in_french(small):
    target = small["tmp"] / "cible"
    (small["saved"] / "registre" / ("a" * 64 + ".json")).write_bytes(b"{}")
    result = run(target, "restaurer", "--depuis", str(small["saved"]))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Restauration refusée : Sauvegarde altérée : registre/")
    assert not target.exists()


# --------------------------------------------------------------------------- the documentation's commands

DOCS = sorted((REPO_ROOT / "docs" / "exploitation").glob("*.md"))
COMMAND = re.compile(r"(?:^|[\s(=])(?:\S*/bin/)?pre-eval((?:\s+[^\s`|;&>#']+)+)")


def quoted_commands() -> list[tuple[str, str, bool]]:
    """Every `pre-eval …` command line in the operators' docs, as (page, command, in a code block):
    in code blocks (continuation lines joined) and in inline code. Skipped: the placeholder `pre-eval …`
    and the shell function that defines `pre-eval` (`"$@"`); `$(…)` stands for one argument."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        chunks = [(block.replace("\\\n", " "), True) for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)]
        chunks += [(span, False) for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))]
        for chunk, in_block in chunks:
            for line in chunk.splitlines():
                line = re.sub(r"\$\([^)]*\)", "X", line)
                for match in COMMAND.finditer(line):
                    command = "pre-eval" + match.group(1)
                    if "…" not in command and '"$@"' not in command:
                        found.append((doc.name, command, in_block))
    return found


def parses(args: list[str]) -> bool:
    from pipelines.cli import build_parser

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(args)
    except SystemExit as exc:
        return exc.code == 0 and "--help" in args
    return True


def test_the_docs_quote_the_backup_commands():
    commands = {c.split()[1] for _, c, _ in quoted_commands()}
    assert {"sauvegarder", "restaurer", "process", "purger", "cle"} <= commands


@pytest.mark.parametrize("doc,command,in_block", quoted_commands())
def test_every_command_in_the_docs_parses(doc, command, in_block):
    """A command line parses with the real parser; a command named in the text (`pre-eval purger`)
    is a real command (its `--help` answers)."""
    args = shlex.split(command)[1:]
    if not in_block and len(args) == 1:
        args.append("--help")
    assert parses(args), f"{doc} : « {command} » n'est pas accepté par pre-eval"


def test_the_docs_check_catches_a_wrong_command():
    assert not parses(["sauvegarder"]) and not parses(["inexistante"]) and not parses(["purger", "--jour", "x"])
    assert parses(["restaurer", "--depuis", "D", "--cle", "F"]) and parses(["purger", "--help"])


def test_backup_module_lists_the_spec_folders():
    """The folders backed up are the data home's (operations.md), by their DataHome names."""
    home = DataHome(Path("/x"))
    names = {home.archive.name, home.ledger.name, home.reports.name, home.referentiel.name, home.access.name,
             home.journal.name, "editions"}
    assert names <= set(backup_module.FOLDERS)

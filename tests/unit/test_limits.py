"""Size limits: oversized files and decompression bombs are refused before anything is unpacked."""

from __future__ import annotations

import zipfile

from pipelines.contracts.reader import read_submission


def _rules(path):
    return [(f.rule, f.table) for f in read_submission(path).findings]


def test_decompression_bomb_is_refused_unopened(tmp_path):
    path = tmp_path / "bombe.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("parcours.csv", "w", force_zip64=True) as member:
        for _ in range(8):
            member.write(b"0" * (1 << 24))  # 128 MiB of zeros, about 130 kB compressed
    assert path.stat().st_size < 1_000_000
    assert _rules(path) == [("depot.illisible", None)]
    message = next(iter(read_submission(path).findings)).message
    assert "bombe de décompression" in message


def test_too_many_members(tmp_path, monkeypatch):
    monkeypatch.setenv("PRE_MAX_MEMBRES", "10")
    path = tmp_path / "membres.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(11):
            archive.writestr(f"f{i}.csv", "a\n")
    assert _rules(path) == [("depot.illisible", None)]
    assert "11 éléments" in next(iter(read_submission(path).findings)).message


def test_file_over_size_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("PRE_MAX_FICHIER_OCTETS", "1000")
    path = tmp_path / "gros.zip"
    path.write_bytes(b"PK\x03\x04" + b"x" * 2000)
    findings = list(read_submission(path).findings)
    assert [(f.rule, f.table) for f in findings] == [("depot.illisible", None)]
    assert "limite" in findings[0].message


def _zip_with_actions(path, actions: bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("actions.csv", actions)
    return path


def _actions_messages(path) -> list[str]:
    return [f.message for f in read_submission(path).findings if f.rule == "depot.illisible" and f.table == "actions"]


def test_a_csv_line_over_the_limit_is_not_parsed(tmp_path):
    # 1 000 001 bytes on line 2, no newline at the end: the limit is 1 000 000 bytes a line.
    path = _zip_with_actions(tmp_path / "ligne.zip", b"id_action\n" + b"a" * 1_000_001)
    assert _actions_messages(path) == [
        "Le fichier ne peut pas être lu : la ligne 2 du fichier actions.csv fait plus de 1 000 000 octets "
        "(limite de la plateforme : 1 000 000 octets par ligne) ; vérifiez les fins de ligne."]
    exactly = _zip_with_actions(tmp_path / "juste.zip", b"id_action\n" + b"a" * 1_000_000 + b"\n")
    assert _actions_messages(exactly) == []


def test_a_csv_header_over_the_column_limit_is_not_parsed(tmp_path):
    path = _zip_with_actions(tmp_path / "large.zip", b";".join([b"c"] * 1001) + b"\n")
    assert _actions_messages(path) == [
        "Le fichier ne peut pas être lu : l'en-tête du fichier actions.csv compte 1 001 colonnes "
        "(limite de la plateforme : 1 000)."]
    assert _actions_messages(_zip_with_actions(tmp_path / "ok.zip", b";".join([b"c"] * 1000) + b"\n")) == []


def test_a_manifest_of_many_lines_is_not_parsed(tmp_path):
    path = tmp_path / "manifeste.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifeste.csv", "cle,valeur\n" + "code_pre,PRE51454\n" * 1000)  # 1 001 lines
    found = [f.message for f in read_submission(path).findings
             if f.table == "manifeste" and f.rule == "depot.illisible"]
    assert found == ["Le fichier ne peut pas être lu : le manifeste compte 1 001 lignes (limite de la plateforme : "
                     "1 000 ; il n'a que cinq clés)."]


def test_many_bad_cells_are_counted_but_only_the_first_are_kept(tmp_path):
    """200 000 unreadable dates: the count is exact, the report keeps 1 000 lines and 10 examples."""
    rows = "".join(f"A{i},P1,SCOLARITE,AUTRE,INDIVIDUELLE,CMPP,hier,,,,\n" for i in range(200_000))
    path = _zip_with_actions(tmp_path / "dates.zip", (",".join([
        "id_action", "id_parcours", "volet", "type_action", "modalite", "partenaire", "date_debut", "date_fin",
        "seances_prevues", "seances_realisees", "cout_euros"]) + "\n" + rows).encode())
    [group] = read_submission(path).findings.by_rule("actions.date_debut.type")
    assert group.count == 200_000
    assert group.lines == list(range(2, 1002))
    assert [line for line, _ in group.examples] == list(range(2, 12))

"""The authorisations file (every invalid case names its line), perimeters per role, and the journal.
Expected perimeters are read from the table of access.md, by hand, for a small two-region tree."""

from __future__ import annotations

import json
import threading

import pytest

from pipelines.access.authorisations import (
    AuthorisationsError,
    Person,
    Territories,
    in_detail,
    load,
    parse,
    sends_for,
    unmasked_site,
)
from pipelines.access.journal import read_journal, record
from pipelines.common.datahome import DataHome

TREE = Territories({"PRE51454": ("51", "44"), "PRE51230": ("51", "44"), "PRE08105": ("08", "44"),
                    "PRE13055": ("13", "93")})
HEADER = "email,role,perimetre,nom\n"


def people(body: str) -> dict[str, Person]:
    return parse((HEADER + body).encode("utf-8"), TREE)


def test_a_valid_file_gives_each_person_a_role_and_perimeter():
    found = people("Anne.Martin@anct.gouv.fr,national,FR,Anne Martin\n"
                   "dreets@grand-est.gouv.fr,region,44,\n"
                   "\n"
                   "ddets51@marne.gouv.fr,departement,51|08,DDETS\n"
                   "coord@reims.fr,site,PRE51454|PRE51230,Coordination Reims\n"
                   "ops@pre.fr,exploitant,FR,\n")
    assert found["anne.martin@anct.gouv.fr"] == Person("anne.martin@anct.gouv.fr", "national", ("FR",), "Anne Martin")
    assert found["ddets51@marne.gouv.fr"].codes == ("51", "08")
    assert found["coord@reims.fr"].codes == ("PRE51454", "PRE51230")
    assert len(found) == 5


def test_bom_and_crlf_are_accepted():
    raw = ("\ufeff" + HEADER + "a@b.fr,site,PRE13055,\r\n").replace("\n", "\r\n").encode("utf-8")
    assert parse(raw, TREE)["a@b.fr"].role == "site"


@pytest.mark.parametrize(("body", "line", "rule"), [
    ("a@b.fr,admin,FR,\n", 2, "rôle inconnu"),
    ("a@b.fr,National,FR,\n", 2, "rôle inconnu"),
    ("ok@b.fr,national,FR,\na@b.fr,region,11,\n", 3, "n'existe pas parmi les codes des régions"),
    ("a@b.fr,region,51,\n", 2, "n'existe pas parmi les codes des régions"),
    ("a@b.fr,departement,44,\n", 2, "n'existe pas parmi les codes des départements"),
    ("a@b.fr,site,PRE99999,\n", 2, "n'existe pas parmi les codes des sites"),
    ("a@b.fr,site,PRE51454|PRE0000,\n", 2, "le code n° 2 n'existe pas"),
    ("a@b.fr,site,,\n", 2, "code vide"),
    ("a@b.fr,site,PRE51454|,\n", 2, "code vide"),
    ("a@b.fr,national,44,\n", 2, "doit être « FR »"),
    ("a@b.fr,exploitant,,\n", 2, "code vide"),
    ("a@b.fr,national,FR,\nA@B.FR,site,PRE51454,\n", 3, "déjà habilitée ligne 2"),
    ("pas-une-adresse,national,FR,\n", 2, "adresse électronique invalide"),
    ("a b@c.fr,national,FR,\n", 2, "adresse électronique invalide"),
    ("a@b.fr,national,FR\n", 2, "4 colonnes attendues"),
    ("a@b.fr,national,FR,nom,en trop\n", 2, "4 colonnes attendues"),
    ('a@b.fr,national,FR,"nom\n', 2, "mal formée"),
    ("a@b.fr,national,FR,x\x01y\n", 2, "sans caractère de contrôle"),
])
def test_every_invalid_line_is_named_in_french(body, line, rule):
    with pytest.raises(AuthorisationsError) as error:
        people(body)
    message = str(error.value)
    assert f"ligne {line} :" in message and rule in message
    assert "Personne ne peut se connecter" in message


def test_a_wrong_header_or_encoding_is_refused():
    with pytest.raises(AuthorisationsError, match="ligne 1 : l'en-tête"):
        parse(b"mail,role,perimetre,nom\n", TREE)
    with pytest.raises(AuthorisationsError, match="ligne 1 : l'en-tête"):
        parse(b"", TREE)
    with pytest.raises(AuthorisationsError, match="ligne 3 : le fichier doit être encodé en UTF-8"):
        parse((HEADER + "a@b.fr,national,FR,\n").encode() + "b@b.fr,national,FR,Hélène\n".encode("latin-1"), TREE)


def test_the_raw_value_is_never_echoed():
    with pytest.raises(AuthorisationsError) as error:
        people("a@b.fr,<script>alert(1)</script>,FR,\n")
    assert "<script>" not in str(error.value)


def test_an_absent_file_lets_nobody_in(tmp_path):
    with pytest.raises(AuthorisationsError, match="absent"):
        load(DataHome(tmp_path), TREE)


def test_changes_take_effect_at_the_next_read(tmp_path):
    home = DataHome(tmp_path)
    home.access.mkdir()
    (home.access / "habilitations.csv").write_text(HEADER + "a@b.fr,national,FR,\n", encoding="utf-8")
    assert set(load(home, TREE)) == {"a@b.fr"}
    (home.access / "habilitations.csv").write_text(HEADER + "c@d.fr,site,PRE13055,\n", encoding="utf-8")
    assert set(load(home, TREE)) == {"c@d.fr"}


# Expected visibility, from access.md's table: (niveau, territoire) → roles that see it.
EVERY = ("national", "region44", "departement51", "site51454")
EXPECTED = {
    ("national", "FR"): EVERY,
    ("region", "44"): EVERY,
    ("region", "93"): ("national", "region44", "site51454"),  # a DDETS sees its own region only
    ("departement", "51"): EVERY,
    ("departement", "08"): ("national", "region44", "departement51", "site51454"),
    ("departement", "13"): ("national", "departement51", "site51454"),  # another region's dép.: not a DREETS of 44
    ("pre", "PRE51454"): EVERY,
    ("pre", "PRE51230"): ("national", "region44", "departement51"),  # a coordinator: its own site only
    ("pre", "PRE08105"): ("national", "region44"),
    ("pre", "PRE13055"): ("national",),
    ("pre", "PRE00000"): (),  # unknown to the referential
}
PEOPLE = {"national": Person("n@x.fr", "national", ("FR",)), "region44": Person("r@x.fr", "region", ("44",)),
          "departement51": Person("d@x.fr", "departement", ("51",)),
          "site51454": Person("s@x.fr", "site", ("PRE51454",))}


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_each_role_sees_exactly_its_perimeter(who):
    person = PEOPLE[who]
    seen = {place for place in EXPECTED if in_detail(person, *place, TREE)}
    expected = {place for place, roles in EXPECTED.items() if who in roles and place != ("pre", "PRE00000")}
    if who == "national":
        expected.add(("pre", "PRE00000"))  # national sees everything that exists; unknown codes have no figures
    assert seen == expected


def test_an_operator_sees_what_national_sees():
    ops = Person("o@x.fr", "exploitant", ("FR",))
    assert all(in_detail(ops, *place, TREE) for place in EXPECTED)


def test_a_coordinator_of_two_sites_and_unmasked_figures():
    two = Person("c@x.fr", "site", ("PRE51454", "PRE13055"))
    assert in_detail(two, "pre", "PRE13055", TREE) and in_detail(two, "pre", "PRE51454", TREE)
    assert not in_detail(two, "pre", "PRE51230", TREE)
    assert unmasked_site(two, "PRE13055") and not unmasked_site(two, "PRE51230")
    assert not unmasked_site(PEOPLE["national"], "PRE51454")  # nobody else sees unmasked figures
    assert sends_for(two, "PRE51454") and not sends_for(two, "PRE51230")
    assert not sends_for(PEOPLE["region44"], "PRE51454")
    assert sends_for(Person("o@x.fr", "exploitant", ("FR",)), "PRE51230")


def test_the_journal_keeps_whole_lines_under_concurrency(tmp_path):
    home = DataHome(tmp_path)

    def write(k: int) -> None:
        for i in range(50):
            record(home, "page", email=f"u{k}@x.fr", role="site", detail={"page": "Synthèse", "i": i, "k": k})

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (home.journal / "acces.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == 200
    assert {e["evenement"] for e in events} == {"page"}
    assert all(e["horodatage"].endswith("+00:00") for e in events)
    assert read_journal(home, limit=3)[0] == events[-1]
    with pytest.raises(ValueError):
        record(home, "inconnu")

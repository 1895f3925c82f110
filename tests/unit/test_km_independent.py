"""Kaplan–Meier waits against an independent, literal implementation of the specification,
on many random small samples (ties, abandonments, still-waiting requests, S exactly 0.5)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pytest

from pipelines.warehouse.models import build
from pipelines.warehouse.store import ensure_schema

EXTRACTION = date(2024, 12, 31)


def km_reference(samples: list[tuple[int, bool]]) -> tuple[float | None, float | None]:
    """Median and 100 × (1 − S(90)) written from the spec's words, with plain loops."""
    if not samples:
        return None, None
    survival = 1.0
    curve = []  # (event time, S after it)
    for t in sorted({t for t, event in samples if event}):
        at_risk = sum(1 for u, _ in samples if u >= t)  # events before censorings at equal times
        events = sum(1 for u, e in samples if u == t and e)
        survival *= 1 - events / at_risk
        curve.append((t, survival))
    median = next((float(t) for t, s in curve if s <= 0.5 + 1e-9), None)
    s90 = 1.0
    for t, s in curve:
        if t <= 90:
            s90 = s
    return median, 100 * (1 - s90)


def random_requests(rng: random.Random) -> list[dict]:
    out = []
    for i in range(rng.randint(0, 12)):
        demand = date(2023, 1, 1) + timedelta(days=rng.randint(0, 364))
        wait = rng.choice([0, 30, 60, 90, 90, 91, 120, 200]) if rng.random() < 0.8 else rng.randint(0, 400)
        kind = rng.choice(["rdv", "rdv", "abandon", "attente"])
        end = demand + timedelta(days=wait)
        if end > EXTRACTION:
            kind = "attente"
        out.append({"id": f"D{i}", "demande": demand, "rdv": end if kind == "rdv" else None,
                    "abandon": end if kind == "abandon" else None})
    return out


@pytest.mark.parametrize("seed", range(60))
def test_kaplan_meier_matches_reference(seed):
    rng = random.Random(seed)
    requests = random_requests(rng)
    con = duckdb.connect()
    ensure_schema(con)
    con.execute("insert into ingestion.sites values ('PRE51454', 'Reims', '51454', '51', '44', 'x')")
    con.execute("""insert into ingestion.depots (sha256, fichier, code_pre, date_extraction, recu_le, traite_le,
        statut, en_vigueur, nb_bloquants, nb_avertissements, rapport, chemin)
        values ('s', 'f.zip', 'PRE51454', ?, now(), now(), 'accepte', true, 0, 0, 'r', 'c')""", [EXTRACTION])
    con.execute("""insert into ingestion.parcours by name select 'PRE51454' as code_pre, 'P1' as id_parcours,
        'E1' as id_enfant, 'F' as sexe, 2015 as annee_naissance, date '2022-01-01' as date_entree,
        'R1' as id_referent""")
    for r in requests:
        con.execute("insert into ingestion.attentes by name select 'PRE51454' as code_pre, ? as id_demande, "
                    "'E1' as id_enfant, 'CMPP' as structure, ? as date_demande, ? as date_premier_rdv, "
                    "? as date_abandon", [r["id"], r["demande"], r["rdv"], r["abandon"]])
    build(con)
    got = dict(con.execute("""select indicateur, valeur from marts.indicateurs where niveau = 'pre'
        and periode = '2023' and categorie = 'CMPP'
        and indicateur in ('attente_mediane_jours', 'part_rdv_sous_90_jours')""").fetchall())
    effectif = con.execute("""select effectif from marts.indicateurs where niveau = 'pre' and periode = '2023'
        and categorie = 'CMPP' and indicateur = 'attente_mediane_jours'""").fetchone()[0]
    con.close()
    samples = []
    for r in requests:
        end = r["rdv"] or r["abandon"] or EXTRACTION
        samples.append(((end - r["demande"]).days, r["rdv"] is not None))
    median, part = km_reference(samples)
    assert effectif == len(samples)
    assert got["attente_mediane_jours"] == (pytest.approx(median) if median is not None else None)
    assert got["part_rdv_sous_90_jours"] == (pytest.approx(part, abs=1e-9) if part is not None else None)

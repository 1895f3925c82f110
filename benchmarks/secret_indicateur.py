"""What one indicator costs the statistical disclosure control: the protection of a warehouse's
`marts.indicateurs` with and without the indicator's rows, timed, the masks of every other row compared,
the share of the indicator's non-zero cells masked at each level, and the intruder's audit of the whole.

    .venv/bin/python benchmarks/secret_indicateur.py DOSSIER --indicateur parcours_partenaire_volet

DOSSIER is a data home (for example `data/` after the demo). Use it before adding an indicator whose counts
add up to published ones: an indicator that makes the other rows' masks change, or the time jump, is one whose
relations couple it to the rest (docs/evaluer-une-action.md tells such a case).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from secret_avant_apres import warehouse_indicators  # noqa: E402

from pipelines.common import formats  # noqa: E402
from pipelines.publication import disclosure  # noqa: E402
from pipelines.warehouse.catalogue import catalogue  # noqa: E402

KEY = ["indicateur", "categorie", "niveau", "territoire", "periode"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier")
    parser.add_argument("--indicateur", required=True, help="code de l'indicateur du catalogue")
    args = parser.parse_args()
    codes = {i.code for i in catalogue()}
    if args.indicateur not in codes:
        parser.error("indicateur inconnu du catalogue")
    rows, sites = warehouse_indicators(args.dossier)
    code = args.indicateur
    others = rows.filter(pl.col("indicateur") != code)
    print(f"{formats.number(rows.height)} lignes, dont {formats.number(rows.height - others.height)} de {code}")
    started = time.perf_counter()
    without = disclosure.protect(others, sites, seed=b"mesure")
    t_without = time.perf_counter() - started
    started = time.perf_counter()
    with_ = disclosure.protect(rows, sites, seed=b"mesure")
    t_with = time.perf_counter() - started
    print(f"protection sans l'indicateur : {formats.number(t_without, 1)} s ; avec : {formats.number(t_with, 1)} s "
          f"(× {formats.number(t_with / t_without, 2)})")
    both = without.masked.select(*KEY, pl.col("masque").alias("sans")).join(
        with_.masked.select(*KEY, pl.col("masque").alias("avec")), on=KEY)
    changed = both.filter(pl.col("sans") != pl.col("avec")).height
    print(f"masques des autres lignes changés : {formats.number(changed)} sur {formats.number(both.height)}")
    cells = rows.filter((pl.col("indicateur") == code) & (pl.col("effectif") > 0)).select(KEY).join(
        with_.masked.select(*KEY, "masque"), on=KEY)
    for level in disclosure.LEVELS:
        at = cells.filter(pl.col("niveau") == level)
        if at.height:
            print(f"  {level} : {formats.percent(100 * at['masque'].mean(), 0)} des "
                  f"{formats.number(at.height)} cases non nulles masquées")
    found = disclosure.audit(with_.masked, sites)
    print(f"intrus : {len(found.narrow)} chiffre(s) masqué(s) resserré(s) sous le seuil, "
          f"{len(found.primary_violations)} ligne(s) affichée(s) contraire(s) à la règle primaire "
          f"({formats.number(found.seconds, 1)} s)")
    return 0 if found.passed else 1


if __name__ == "__main__":
    sys.exit(main())

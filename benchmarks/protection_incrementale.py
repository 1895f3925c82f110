"""The protection of a period after one site's change: solved whole, or started from its last protection.

    .venv/bin/python benchmarks/protection_incrementale.py AVANT APRES [--periodes 2025,2026]

AVANT and APRES are two data homes whose warehouses hold `marts.indicateurs` before and after a site's new
file (APRES: a copy of AVANT in which the file was processed). For each period whose rows differ (or those
of `--periodes`), one after the other on one core:

1. AVANT's period is protected whole, with a memo folder (what the publication in force did);
2. APRES's period is protected with that memo folder: it starts from AVANT's protection and examines only
   the groups of masked counts the change touches (`disclosure.rules._protect_period`);
3. APRES's period is protected whole, without memo (what the publication did before this change; skipped
   with `--sans-complete-apres`, AVANT's whole protection then being the reference);
4. the project's intruder (`disclosure.audit`) attacks the masks of step 2.

It prints, per period, the rows changed, the three times, the groups examined, the rows masked by steps 2
and 3, and the audit's verdict; then the totals and the ratio whole / incremental.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from national import _machine  # noqa: E402
from secret_avant_apres import warehouse_indicators  # noqa: E402

from pipelines.common import formats  # noqa: E402
from pipelines.publication import disclosure  # noqa: E402

SEED = b"banc-essai"
KEY = ["indicateur", "categorie", "niveau", "territoire"]


def _s(seconds: float) -> str:
    return f"{formats.number(seconds, 1)} s"


def _changed_rows(before: pl.DataFrame, after: pl.DataFrame) -> int:
    """Rows of `after` absent from `before` or with another value or effectif (and rows that left)."""
    joined = before.join(after, on=KEY, how="full", suffix="_apres", coalesce=True)
    return joined.filter(~(pl.col("valeur").eq_missing(pl.col("valeur_apres"))
                           & pl.col("effectif").eq_missing(pl.col("effectif_apres")))).height


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("avant", help="dossier de données avant le dépôt")
    parser.add_argument("apres", help="dossier de données après le dépôt")
    parser.add_argument("--periodes", help="ces périodes seulement (séparées par des virgules ; par défaut, "
                                           "celles dont les lignes ont changé)")
    parser.add_argument("--sans-complete-apres", action="store_true",
                        help="ne pas protéger APRES en entier (étape 3) ; la protection complète d'AVANT "
                             "sert alors de référence")
    args = parser.parse_args()
    before, sites_before = warehouse_indicators(args.avant)
    after, sites_after = warehouse_indicators(args.apres)
    threshold = disclosure.threshold()
    periods = sorted(set(after["periode"]))
    if args.periodes:
        periods = [p.strip() for p in args.periodes.split(",") if p.strip() in periods]
    rows = []
    for period in periods:
        b = before.filter(pl.col("periode") == period)
        a = after.filter(pl.col("periode") == period)
        changed = _changed_rows(b.drop("periode"), a.drop("periode"))
        if changed or args.periodes:
            rows.append((period, b, a, changed))
    print(f"Machine : {_machine()}")
    print(f"{len(rows)} période(s) mesurée(s) ; seuil {threshold} ; un cœur, une étape après l'autre", flush=True)
    print("| période | lignes | lignes changées | complète (avant) | incrémentale | groupes examinés | "
          "complète (après) | complète / incrémentale | lignes masquées (incr. / complète) | audit |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = [0.0, 0.0, 0.0]
    failed = 0
    for period, b, a, changed in rows:
        with tempfile.TemporaryDirectory(prefix="protection-incr-") as folder:
            memo = Path(folder) / "masques"
            started = time.perf_counter()
            disclosure.protect(b, sites_before, threshold=threshold, seed=SEED, memo=memo)
            whole_before = time.perf_counter() - started
            started = time.perf_counter()
            incremental = disclosure.protect(a, sites_after, threshold=threshold, seed=SEED, memo=memo)
            incremental_s = time.perf_counter() - started
        whole = None
        whole_s = whole_before  # the reference when step 3 is skipped
        if not args.sans_complete_apres:
            started = time.perf_counter()
            whole = disclosure.protect(a, sites_after, threshold=threshold, seed=SEED)
            whole_s = time.perf_counter() - started
        attack = disclosure.audit(incremental.masked, sites_after, threshold=threshold)
        failed += not attack.passed
        totals = [totals[0] + whole_before, totals[1] + incremental_s, totals[2] + whole_s]
        verdict = (f"{formats.number(attack.masked_counts)} comptes : aucun trop étroit ({_s(attack.seconds)})"
                   if attack.passed else f"ÉCHEC : {len(attack.narrow)} trop étroits, "
                   f"{len(attack.primary_violations)} lignes sous le seuil")
        print(f"| {period} | {formats.number(a.height)} | {formats.number(changed)} | {_s(whole_before)} | "
              f"{_s(incremental_s)} | {formats.number(incremental.visited_groups)} / "
              f"{formats.number(incremental.groups)} | {_s(whole_s) if whole is not None else '—'} | "
              f"{formats.number(whole_s / max(incremental_s, 1e-9), 1)} | "
              f"{formats.number(int(incremental.masked[disclosure.MASK_COLUMN].sum()))} / "
              f"{formats.number(int(whole.masked[disclosure.MASK_COLUMN].sum())) if whole is not None else '—'} | "
              f"{verdict} |", flush=True)
    if rows:
        print(f"| total | | | {_s(totals[0])} | {_s(totals[1])} | | {_s(totals[2])} | "
              f"{formats.number(totals[2] / max(totals[1], 1e-9), 1)} | | "
              f"{'audit réussi' if not failed else f'{failed} période(s) en échec'} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

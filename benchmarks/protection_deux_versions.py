"""The statistical protection at two revisions, period by period: time of each, and whether the masks agree.

A change meant to make the protection faster without changing what it masks is checked here on real
indicators: the unmasked `marts.indicateurs` of a data home's warehouse, each period protected by the
code at REV (taken from the project's history) and by today's code, one after the other on one core.

    .venv/bin/python benchmarks/protection_deux_versions.py DOSSIER --rev REV [--periodes 2013,2024]
        [--seule avant|apres]

With `--seule`, one version only: two processes can then measure both at once on two cores, and the
fingerprints of their masks say whether they agree.

DOSSIER is a data home (for example the national benchmark's, kept with `--dossier`).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from secret_avant_apres import old_module, warehouse_indicators  # noqa: E402

from pipelines.common import formats  # noqa: E402
from pipelines.publication import disclosure  # noqa: E402

SEED = b"banc-essai"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier")
    parser.add_argument("--rev", required=True, help="révision du code comparé à celui d'aujourd'hui")
    parser.add_argument("--periodes", help="ces périodes seulement (séparées par des virgules ; par défaut toutes)")
    parser.add_argument("--seule", choices=("avant", "apres"), help="une seule des deux versions")
    args = parser.parse_args()
    rows, sites = warehouse_indicators(args.dossier)
    if args.periodes:
        rows = rows.filter(pl.col("periode").is_in([p.strip() for p in args.periodes.split(",")]))
    before = old_module(args.rev)
    threshold = disclosure.threshold()
    print(f"{formats.number(rows.height)} lignes d'indicateurs, {rows['periode'].n_unique()} période(s), "
          f"{sites.height} sites ; {args.rev} (avant) et aujourd'hui (après), un cœur chacune", flush=True)
    versions = [(name, module) for name, module in (("avant", before), ("apres", disclosure))
                if args.seule in (None, name)]
    print("| période | lignes | " + " | ".join(f"{name} | empreinte {name}" for name, _ in versions)
          + (" | avant / après | masques identiques |" if len(versions) == 2 else " |"))
    print("|---" * (2 + 2 * len(versions) + (2 if len(versions) == 2 else 0)) + "|")
    totals = [0.0] * len(versions)
    differ = 0
    for (period,), frame in rows.sort(disclosure.ROW_KEY).group_by(["periode"], maintain_order=True):
        masks, seconds = [], []
        for _name, module in versions:
            started = time.perf_counter()
            masked = module._protect_job((frame, sites, threshold, SEED))[0]  # (frame, counts…) at any revision
            seconds.append(time.perf_counter() - started)
            masks.append("".join("1" if m else "0" for m in masked[disclosure.MASK_COLUMN].to_list()))
        cells = [f"{formats.number(t, 1)} s | {hashlib.sha256(m.encode()).hexdigest()[:12]}"
                 for t, m in zip(seconds, masks, strict=True)]
        totals = [a + b for a, b in zip(totals, seconds, strict=True)]
        line = f"| {period} | {formats.number(frame.height)} | " + " | ".join(cells)
        if len(versions) == 2:
            same = masks[0] == masks[1]
            differ += not same
            line += f" | {formats.number(seconds[0] / max(seconds[1], 1e-9), 1)} | {'oui' if same else 'NON'}"
        print(line + " |", flush=True)
    line = f"| total | {formats.number(rows.height)} | " + " | ".join(f"{formats.number(t, 1)} s | " for t in totals)
    if len(versions) == 2:
        line += (f" | {formats.number(totals[0] / max(totals[1], 1e-9), 1)} | "
                 f"{'oui' if not differ else f'NON ({differ} période(s))'}")
    print(line + " |")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

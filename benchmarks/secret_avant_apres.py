"""Share of indicator rows masked at each level: the masking before issue 11 against today's.

The old masking (threshold on the effectif only, the smallest cell as complement within the
categories of a figure and within the territories of a level) is taken from the project's history,
as it was at REV, and applied to the same rows as today's protection: the unmasked
`marts.indicateurs` of a warehouse. Today's masks are those of the data home's published copy.
Both are then attacked by today's intruder (`--sans-audit-avant` skips the attack on the old masks).

    .venv/bin/python benchmarks/secret_avant_apres.py DOSSIER [--rev 764161a] [--periode 2024] [--regions 44,32]

DOSSIER is a data home (for example the national benchmark's, kept with `--dossier`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.common import formats  # noqa: E402
from pipelines.common.datahome import DataHome  # noqa: E402
from pipelines.publication import disclosure  # noqa: E402
from pipelines.publication.published import open_published  # noqa: E402


def old_module(rev: str) -> types.ModuleType:
    """The disclosure module of an earlier revision, loaded beside today's. Only revisions where it was one
    file (before it became the package `pipelines/publication/disclosure/`); for later ones, run the
    benchmark from a `git worktree` of each revision."""
    shown = subprocess.run(["git", "show", f"{rev}:pipelines/publication/disclosure.py"], cwd=REPO,
                           capture_output=True, text=True)
    if shown.returncode != 0:
        raise SystemExit(f"{rev} : pas de fichier pipelines/publication/disclosure.py à cette révision (le module "
                         "est devenu un paquet) ; comparer deux `git worktree` à la place.")
    source = shown.stdout
    module = types.ModuleType("disclosure_avant")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    module.__file__ = str(REPO / "pipelines" / "publication" / "disclosure" / "rules.py")  # files beside: today's
    exec(compile(source, f"{rev}:disclosure.py", "exec"), module.__dict__)  # the project's own history
    return module


def warehouse_indicators(dossier: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The unmasked `marts.indicateurs` of a data home's warehouse, and its sites' hierarchy."""
    con = duckdb.connect(str(DataHome(Path(dossier)).warehouse), read_only=True)
    try:
        return (con.sql("select * from marts.indicateurs").pl(),
                con.sql("select code_pre, departement, region from staging.sites_en_vigueur").pl())
    finally:
        con.close()


def shares(masked: pl.DataFrame) -> dict[str, str]:
    return {level: formats.percent(100 * share, 0) for level, share in
            disclosure.masked_share_by_level(masked).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier")
    parser.add_argument("--rev", default="764161a", help="révision du masquage « avant »")
    parser.add_argument("--periode", help="une seule période (par défaut : toutes)")
    parser.add_argument("--regions", help="ces régions seulement (codes séparés par des virgules), sans la "
                                           "ligne France : un jeu plus petit, pour comparer deux versions")
    parser.add_argument("--sans-audit-avant", action="store_true", help="ne pas attaquer le masquage d'avant")
    parser.add_argument("--proteger", action="store_true",
                        help="masquer à nouveau l'entrepôt (et mesurer) au lieu de lire la copie publiée")
    parser.add_argument("--memoire", help="avec --proteger : garder les masques de chaque période dans ce dossier "
                                          "(une mesure interrompue reprend là où elle s'est arrêtée)")
    args = parser.parse_args()
    if args.regions and not args.proteger:
        parser.error("--regions demande --proteger (la copie publiée couvre toute la France)")
    home = DataHome(Path(args.dossier))
    rows, sites = warehouse_indicators(args.dossier)
    if args.periode:
        rows = rows.filter(pl.col("periode") == args.periode)
    if args.regions:
        regions = [code.strip() for code in args.regions.split(",")]
        sites = sites.filter(pl.col("region").is_in(regions))
        inside = {"pre": sites["code_pre"].to_list(), "departement": sites["departement"].unique().to_list(),
                  "region": regions}
        rows = rows.filter(pl.any_horizontal([(pl.col("niveau") == level) & pl.col("territoire").is_in(codes)
                                              for level, codes in inside.items()]))
    print(f"{formats.number(rows.height)} lignes d'indicateurs, {rows['periode'].n_unique()} période(s)")

    started = time.perf_counter()
    before = old_module(args.rev).mask_indicators(rows, comparison=True)
    print(f"avant ({args.rev}) : {formats.number(int(before['masque'].sum()))} lignes masquées en "
          f"{formats.number(time.perf_counter() - started, 1)} s ; par niveau {shares(before)}")
    if not args.sans_audit_avant:
        attack = disclosure.audit(before, sites)
        print(f"  intrus : {formats.number(len(attack.narrow))} comptes masqués retrouvables à moins du seuil, "
              f"{formats.number(len(attack.primary_violations))} lignes affichées sous le seuil "
              f"({formats.number(attack.seconds, 1)} s)")

    if args.proteger:
        memo = Path(args.memoire) if args.memoire else None
        protection = disclosure.protect(rows, sites, seed=b"banc-essai", memo=memo)
        after = protection.masked
        print(f"après (masqué à nouveau en {formats.number(protection.seconds, 1)} s ; "
              f"{formats.number(protection.primary)} comptes primaires, {formats.number(protection.secondary)} "
              f"secondaires ; {protection.reused_periods} période(s) reprise(s) de --memoire) : "
              f"{formats.number(int(after['masque'].sum()))} lignes masquées ; "
              f"par niveau {shares(after)}")
    else:
        con = open_published(home)
        try:
            after = con.sql("select * from marts.indicateurs").pl()
        finally:
            con.close()
        if args.periode:
            after = after.filter(pl.col("periode") == args.periode)
        print(f"après (copie publiée) : {formats.number(int(after['masque'].sum()))} lignes masquées ; "
              f"par niveau {shares(after)}")
    attack = disclosure.audit(after, sites)
    print(f"  intrus : {formats.number(attack.masked_counts)} comptes masqués encadrés en "
          f"{formats.number(attack.seconds, 1)} s ; {formats.number(len(attack.narrow))} retrouvables à moins du "
          f"seuil, {formats.number(len(attack.primary_violations))} lignes affichées sous le seuil")
    return 0


if __name__ == "__main__":
    sys.exit(main())

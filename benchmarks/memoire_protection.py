"""The masked indicators of a data home, two ways, each in its own process: the whole table read into one
frame and masked (`disclosure.protect`, the publication's way until 2026-12-03), and the table read one
period at a time with the masks joined back in DuckDB (`disclosure.protect_table`, its way since).

    .venv/bin/python benchmarks/memoire_protection.py DOSSIER

DOSSIER is a data home whose masks are current (after a publication): both ways then recall every period
from the memory, as a publication after one site's change does for its unchanged periods. The data home is
only read (its warehouse is copied to a temporary folder, the memory of masks too). Prints, for each way,
the time to the masked rows written to a DuckDB file and the process's peak resident memory (`ru_maxrss`),
and checks that both files hold the same rows.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipelines.common import formats  # noqa: E402

WAYS = {"cadre": "table entière dans un cadre (protect)", "periodes": "période par période (protect_table)"}


def _one(way: str, warehouse: Path, memo: Path, seed: bytes, out: Path) -> None:
    import duckdb
    import polars as pl

    from pipelines.publication import disclosure

    started = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    con.execute("set memory_limit = '500MB'")  # the published copy's bound (store.connect, memory_share=4)
    sites = con.sql("select code_pre, departement, region from staging.sites_en_vigueur").pl()
    con.execute("attach ? as sortie", [str(out)])
    if way == "cadre":
        protection = disclosure.protect(con.sql("select * from marts.indicateurs").pl(), sites, seed=seed, memo=memo)
        indicateurs = protection.masked.to_arrow(compat_level=pl.CompatLevel.newest())  # noqa: F841
        con.execute("create table sortie.indicateurs as select * from indicateurs")
    else:
        protection = disclosure.protect_table(con, "marts.indicateurs", sites, seed=seed, memo=memo)
        con.execute(f"create table sortie.indicateurs as {protection.select}")
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - started:.2f} {peak:.0f} {protection.reused_periods}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier")
    parser.add_argument("--_une", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._une:
        way, warehouse, memo, seed, out = args._une
        _one(way, Path(warehouse), Path(memo), seed.encode("utf-8"), Path(out))
        return 0
    home = Path(args.dossier)
    seed = (home / "secret" / "graine_secret_statistique").read_text(encoding="utf-8").strip()
    with tempfile.TemporaryDirectory(prefix="pre-memoire-") as tmp:
        work = Path(tmp)
        shutil.copy(home / "warehouse.duckdb", work / "warehouse.duckdb")
        results = {}
        for way in WAYS:
            memo = work / f"masques_{way}"
            shutil.copytree(home / "secret" / "masques", memo)
            line = subprocess.run([sys.executable, __file__, args.dossier, "--_une", way,
                                   str(work / "warehouse.duckdb"),
                                   str(memo), seed, str(work / f"{way}.duckdb")],
                                  check=True, capture_output=True, text=True).stdout.split()
            results[way] = (float(line[0]), float(line[1]), int(line[2]))
        import duckdb
        con = duckdb.connect()
        con.execute(f"attach '{work / 'cadre.duckdb'}' as a (read_only)")
        con.execute(f"attach '{work / 'periodes.duckdb'}' as b (read_only)")
        differ = con.execute("select count(*) from ((select * from a.indicateurs except all select * from "
                             "b.indicateurs) union all (select * from b.indicateurs except all "
                             "select * from a.indicateurs))").fetchall()[0][0]
        rows = con.execute("select count(*) from a.indicateurs").fetchall()[0][0]
    print(f"{formats.number(rows)} lignes d'indicateurs, masques repris de la mémoire")
    print("| manière | durée | mémoire max du processus | périodes reprises |")
    print("|---|---|---|---|")
    for way, (seconds, peak, reused) in results.items():
        print(f"| {WAYS[way]} | {formats.number(seconds, 1)} s | {formats.number(peak)} Mo | {reused} |")
    print(f"lignes différentes entre les deux : {formats.number(differ)}")
    return 0 if differ == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

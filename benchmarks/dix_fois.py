"""The warehouse at N times its volume, simulated: each site in force copied N - 1 times (same rows, new site
codes in the same département), then every SQL model built, at 1× and at N×.

    .venv/bin/python benchmarks/dix_fois.py DOSSIER [--facteur 10]

DOSSIER is a loaded data home (the national benchmark's); its warehouse is copied into a temporary folder,
never written. Each build runs in its own process, so that its peak memory (`ru_maxrss`) is its own, on a
connection configured as the pipeline's writer (DuckDB's memory bounded by `PRE_MEMOIRE_DUCKDB_MO`). It
prints, for 1× and N×: rows of the four tables, the build's time, its peak memory and the file's size, and
the time and peak memory of reading the indicators into one frame, as the publication does before
protecting them.
What it does not simulate: reading and checking files (per file, so linear), Dagster's event log, and the
protection of statistical secrecy (see docs/exploitation/passage-a-l-echelle.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from national import _machine  # noqa: E402

from pipelines.common import formats  # noqa: E402
from pipelines.contracts.model import DATA_TABLES  # noqa: E402


def _build(path: str) -> None:
    """Child process: build every SQL model on this warehouse, print time and peak memory (JSON)."""
    import duckdb

    from pipelines.warehouse import models
    from pipelines.warehouse.store import writer_config

    con = duckdb.connect(path, config=writer_config())  # as the pipeline's writer: DuckDB's memory bounded
    started = time.perf_counter()
    models.build(con)
    con.execute("checkpoint")
    seconds = time.perf_counter() - started
    indicators = con.execute("select count(*) from marts.indicateurs").fetchone()[0]
    con.close()
    print(json.dumps({"secondes": seconds, "rss_mo": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "indicateurs": indicators}))


def _read_indicators(path: str) -> None:
    """Child process: read the indicators into a frame as the publication does before protecting them (time and
    peak memory, JSON)."""
    import duckdb

    con = duckdb.connect(path, read_only=True)
    started = time.perf_counter()
    frame = con.sql("select * from marts.indicateurs").pl()
    seconds = time.perf_counter() - started
    print(json.dumps({"secondes": seconds, "rss_mo": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "lignes": frame.height}))


def _child(flag: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, flag, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(path: Path) -> dict:
    result = _child("--construire", path)
    result["taille_mo"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    result["lecture"] = _child("--lire-indicateurs", path)
    return result


def _rows(path: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from ingestion.{t}").fetchone()[0] for t in DATA_TABLES}
    finally:
        con.close()


def _multiply(path: Path, factor: int) -> float:
    """Copy every site in force `factor - 1` times (codes `<code>-<k>`), in the referential and the ledger
    too, so that the models see `factor` times as many sites, each département `factor` times as full."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(path))
    try:
        codes = "(select code_pre from ingestion.depots where en_vigueur)"
        for k in range(1, factor):
            suffix = f"'-{k}'"
            con.execute(f"insert into ingestion.sites select * replace (code_pre || {suffix} as code_pre) "
                        f"from ingestion.sites where code_pre in {codes}")
            con.execute(f"insert into ingestion.depots select * replace (code_pre || {suffix} as code_pre, "
                        f"sha256 || {suffix} as sha256) from ingestion.depots where en_vigueur "
                        "and code_pre not like '%-%'")
            for table in DATA_TABLES:
                con.execute(f"insert into ingestion.{table} select * replace (code_pre || {suffix} as code_pre) "
                            f"from ingestion.{table} where code_pre not like '%-%'")
        con.execute("checkpoint")
    finally:
        con.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier", nargs="?")
    parser.add_argument("--facteur", type=int, default=10)
    parser.add_argument("--construire", help=argparse.SUPPRESS)
    parser.add_argument("--lire-indicateurs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.construire:
        _build(args.construire)
        return 0
    if args.lire_indicateurs:
        _read_indicators(args.lire_indicateurs)
        return 0
    if not args.dossier or not 2 <= args.facteur <= 20:
        parser.error("DOSSIER requis ; --facteur de 2 à 20")
    source = Path(args.dossier) / "warehouse.duckdb"
    if not source.is_file():
        parser.error(f"{args.dossier} n'a pas d'entrepôt")
    work = Path(tempfile.mkdtemp(prefix="dix-fois-"))
    try:
        target = work / "warehouse.duckdb"
        for part in source.parent.glob(source.name + "*"):
            shutil.copy(part, work / part.name)
        print(_machine(), flush=True)
        one = {"lignes": _rows(target), **_measure(target)}
        print(f"1 × : {formats.number(sum(one['lignes'].values()))} lignes, modèles SQL "
              f"{formats.number(one['secondes'], 1)} s, mémoire maximale {formats.number(one['rss_mo'])} Mo, "
              f"{formats.number(one['taille_mo'])} Mo sur disque", flush=True)
        copy_s = _multiply(target, args.facteur)
        many = {"lignes": _rows(target), **_measure(target)}
        print(f"{args.facteur} × (copie des sites : {formats.number(copy_s, 1)} s) : "
              f"{formats.number(sum(many['lignes'].values()))} lignes, modèles SQL "
              f"{formats.number(many['secondes'], 1)} s, mémoire maximale {formats.number(many['rss_mo'])} Mo, "
              f"{formats.number(many['taille_mo'])} Mo sur disque ; lignes d'indicateurs "
              f"{formats.number(one['indicateurs'])} → {formats.number(many['indicateurs'])}", flush=True)
        for label, result in (("1 ×", one), (f"{args.facteur} ×", many)):
            print(f"{label} : indicateurs lus par la publication avant leur protection en "
                  f"{formats.number(result['lecture']['secondes'], 1)} s, mémoire maximale de ce processus "
                  f"{formats.number(result['lecture']['rss_mo'])} Mo", flush=True)
        print(f"rapports {args.facteur} × / 1 × : temps {formats.number(many['secondes'] / one['secondes'], 1)}, "
              f"mémoire {formats.number(many['rss_mo'] / one['rss_mo'], 1)}, "
              f"indicateurs {formats.number(many['indicateurs'] / one['indicateurs'], 1)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

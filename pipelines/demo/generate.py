"""Synthetic PRE submissions: realistic, deterministic, and optionally deliberately flawed.

`generate()` writes one full-snapshot submission per site, calibrated on the published
national figures, in turn as a ZIP of UTF-8 CSV, a ZIP of Windows-1252 CSV and an XLSX
workbook; with `with_errors`, also one flawed submission per blocking rule family, and the
list of expected outcomes. The same seed gives byte-identical files.

This module is the public API and wires the others together; each imports only those
listed before it: `calibration` (the figures), `sites` (which sites), `writers` (files),
`simulation` (one site's data), `flaws` (broken copies of a site's data).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipelines.common import formats, progress, workers
from pipelines.common.datahome import DataHome
from pipelines.contracts.model import DATA_TABLES
from pipelines.demo.flaws import write_error_files
from pipelines.demo.simulation import LAST_EXTRACTION_DAY, SiteData, simulate_site
from pipelines.demo.sites import GENERATED_SITES_FILE, Site, choose_sites
from pipelines.demo.writers import (
    VARIANTS,
    GeneratedFile,
    Submission,
    file_name,
    valid_description,
    write_expected,
    write_submission,
)

__all__ = ["GENERATED_SITES_FILE", "VARIANTS", "GeneratedFile", "Site", "SiteData", "generate"]

PARALLEL_FROM = 40  # sites; below this, one process is faster than starting workers
LINES_UP_TO = 30  # sites written with a line each; more show a progress bar only


def generate(out_dir: Path, *, seed: int = 42, sites: list[str] | None = None,
             from_year: int = 2021, to_year: int = 2024, sites_count: int | None = None,
             with_errors: bool = False, home: DataHome | None = None,
             on_site: Callable[[str], None] | None = None) -> list[GeneratedFile]:
    """Write one synthetic submission per site into `out_dir` (and flawed ones if asked)."""
    if from_year > to_year:
        raise ValueError(f"Période invalide : {from_year} est après {to_year}.")
    if to_year < 2005:
        raise ValueError("Les PRE existent depuis 2005 : choisissez une année de fin ≥ 2005.")
    if date(to_year + 1, 1, LAST_EXTRACTION_DAY) > date.today():
        # Each site extracts early in the year after `to_year`: that day must be past, or every file is refused.
        raise ValueError(f"L'année de fin doit être passée : les extractions simulées ont lieu du 2 au "
                         f"{LAST_EXTRACTION_DAY} janvier de l'année suivante, qui n'est pas encore écoulé pour "
                         f"{to_year}.")
    if sites_count is not None and sites_count < 1:
        raise ValueError("Le nombre de sites doit être au moins 1.")
    home = home or DataHome.from_settings()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notify = on_site or (lambda _message: None)

    chosen = choose_sites(home, seed, sites, sites_count)
    jobs = [(site, VARIANTS[i % len(VARIANTS)], out_dir, seed, from_year, to_year)
            for i, site in enumerate(chosen)]
    files: list[GeneratedFile] = []
    # A line per site for a handful of sites; beyond, the progress bar (or periodic lines) only.
    per_site = notify if len(jobs) <= LINES_UP_TO else (lambda _message: None)
    with progress.phase("Génération", len(jobs)) as bar:
        for done in workers.ordered_map(_build_site, jobs, parallel_from=PARALLEL_FROM, chunksize=4):
            files.append(done)
            per_site(_written_message(done))
            bar.advance(1, rows=sum(done.rows.values()))

    if with_errors and files:
        # The smallest site keeps the flawed files small; its data are simulated again (cheap).
        smallest, base = min(zip(files, chosen, strict=True), key=lambda fs: fs[0].rows["parcours"])
        data = simulate_site(base, seed=seed, from_year=from_year, to_year=to_year,
                             variant=smallest.variant)
        files += write_error_files(out_dir, data, home, notify)
        write_expected(out_dir, files)
    return files


def _build_site(job: tuple[Site, str, Path, int, int, int]) -> GeneratedFile:
    """Simulate and write one site's valid submission (runs in a worker process for big runs)."""
    site, variant, out_dir, seed, from_year, to_year = job
    data = simulate_site(site, seed=seed, from_year=from_year, to_year=to_year, variant=variant)
    path = out_dir / file_name(site.code_pre, data.date_extraction, variant)
    write_submission(path, Submission(data.manifest, data.tables, variant), data.date_extraction)
    rows = {t: data.tables[t].height for t in DATA_TABLES}
    return GeneratedFile(path, site.code_pre, variant, None, valid_description(rows, variant), rows)


def _written_message(file: GeneratedFile) -> str:
    return f"{file.code_pre} : {formats.number(file.rows['parcours'])} parcours écrits ({file.path.name})"

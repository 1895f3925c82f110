"""The national benchmark, in one command:

    .venv/bin/python benchmarks/national.py            # 530 sites, 2016–2025 (about 15 minutes here)
    .venv/bin/python benchmarks/national.py --quick    # 4 sites, 2024 (CI)

It prints, and writes to benchmarks/resultats/<taille>.md and .json:
- the national data generated (`pre-eval generate`);
- the full initial load through the real pipeline (`pre-eval process`): wall time, rows/s, peak
  memory, and the share of each phase; what is left is orchestration (Dagster runs and their
  bookkeeping, process start, ledgers);
- two lower bounds in plain DuckDB (benchmarks/borne_duckdb.py): (a) no validation, (b) the
  contract rules as SQL; and the ratios pipeline / (a) and pipeline / (b);
- one resubmission of a median-sized site after the full load, and the same on a warehouse of
  a tenth of the sites (the cost of an update must not grow with the sites already loaded);
- the contract checks' throughput;
- the render time of every dashboard page, p50 and p95, cold and warm cache.

Nothing here is a pass/fail test: the targets are shown beside the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from borne_duckdb import lower_bound  # noqa: E402

from pipelines.common import formats  # noqa: E402
from pipelines.common.datahome import DataHome  # noqa: E402
from pipelines.contracts.model import DATA_TABLES  # noqa: E402

BIN = Path(sys.executable).parent
SIZES = {
    "national": {"sites": 530, "from_year": 2016, "to_year": 2025, "froid": 5, "chaud": 10},
    # The quick size only proves the benchmark runs end to end (CI): the smallest set that still has a
    # median site, a smaller warehouse of 2 sites (the tenth of the national one) and every page timed.
    "rapide": {"sites": 4, "from_year": 2024, "to_year": 2024, "froid": 1, "chaud": 2},
}
PHASE_LABELS = {
    "lecture": "lecture des fichiers", "controle": "contrôle des contrats", "chargement": "chargement de l'entrepôt",
    "marts": "marts et indicateurs", "secret": "secret statistique", "publication": "publication",
}
TABLES = DATA_TABLES


def _pct(share: float) -> str:
    return formats.percent(100 * share)


def _s(seconds: float) -> str:
    return f"{formats.number(seconds, 1)} s"


def _run(cmd: list[str], home: DataHome, log: Path) -> float:
    env = {**os.environ, "PRE_HOME": str(home.root), "DAGSTER_HOME": str(home.dagster)}
    start = time.perf_counter()
    with log.open("a", encoding="utf-8") as out:
        done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"échec de {' '.join(cmd)} (code {done.returncode}) ; voir {log}")
    return time.perf_counter() - start


def _process(home: DataHome, log: Path) -> dict:
    figures = home.root / "mesures.json"
    wall = _run([str(BIN / "pre-eval"), "process", "--mesures", str(figures)], home, log)
    result = json.loads(figures.read_text(encoding="utf-8"))
    result["mur_s"] = wall
    return result


def _rows(home: DataHome) -> dict[str, int]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from ingestion.{t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def _median_site(files: list[Path]) -> Path:
    """The ZIP submission of median size (ZIPs only: their manifest is rewritten below)."""
    zips = sorted((f for f in files if f.suffix == ".zip"), key=lambda f: f.stat().st_size)
    return zips[len(zips) // 2]


def _resubmission(original: Path, target: Path, days: int = 1) -> Path:
    """The same site's submission, extracted `days` later (a new snapshot that replaces it)."""
    with zipfile.ZipFile(original) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    text = members["manifeste.csv"].decode("cp1252")
    lines = []
    for line in text.splitlines():
        sep = ";" if ";" in line else ","
        key, _, value = line.partition(sep)
        if key == "date_extraction":
            day = (datetime.strptime(value, "%d/%m/%Y").date() if "/" in value else date.fromisoformat(value))
            later = day + timedelta(days=days)
            value = later.strftime("%d/%m/%Y") if "/" in value else later.isoformat()
            line = f"{key}{sep}{value}"
        lines.append(line)
    members["manifeste.csv"] = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    target.write_bytes(buffer.getvalue())
    return target


def _update(home: DataHome, files: list[Path], log: Path) -> dict:
    site = _median_site(files)
    new = _resubmission(site, home.inbox / f"renvoi_{site.name}")
    result = _process(home, log)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        statut, lignes = con.execute(
            "select statut, nb_parcours + nb_actions + nb_bilans + nb_attentes from ingestion.depots "
            "where fichier = ?", [new.name]).fetchone()
    finally:
        con.close()
    if statut != "accepte":
        raise SystemExit(f"le renvoi {new.name} n'a pas été appliqué (statut {statut})")
    return {"mur_s": result["mur_s"], "site": site.name.split("_")[0], "lignes": lignes,
            "phases": result["phases"]}


def _load(home: DataHome, files: list[Path], log: Path) -> dict:
    for f in files:
        shutil.copy(f, home.inbox / f.name)
    return _process(home, log)


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return (f"{os.cpu_count()} cœurs ({model}), {formats.number(mem_kb / 1024 / 1024, 1)} Gio de mémoire, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai national de la plateforme PRE")
    parser.add_argument("--quick", action="store_true", help="petite taille (4 sites, 2024), pour la CI")
    parser.add_argument("--dossier", help="dossier de travail (par défaut, un dossier temporaire effacé à la fin)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sortie", default=str(HERE / "resultats"), help="où écrire les résultats")
    args = parser.parse_args()
    size_name = "rapide" if args.quick else "national"
    size = SIZES[size_name]
    work = Path(args.dossier) if args.dossier else Path(tempfile.mkdtemp(prefix="pre-banc-"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    log = work / "journal.txt"
    started = datetime.now()
    out: dict = {"taille": size_name, "date": started.strftime("%Y-%m-%d %H:%M"), "machine": _machine(), **size}
    say = lambda text="": print(text, flush=True)  # noqa: E731
    say(f"Banc d'essai « {size_name} » : {size['sites']} sites, {size['from_year']}–{size['to_year']}")
    say(f"Machine : {out['machine']}")

    # 1. data
    home = DataHome(work / "principal").ensure()
    source = work / "depots"
    out["generation_s"] = _run([str(BIN / "pre-eval"), "generate", "--out", str(source), "--seed", str(args.seed),
                                "--sites-count", str(size["sites"]), "--from-year", str(size["from_year"]),
                                "--to-year", str(size["to_year"])], home, log)
    files = sorted(p for p in source.iterdir() if p.is_file())
    say(f"Génération : {len(files)} fichiers en {_s(out['generation_s'])}")

    # 2. full load through the pipeline
    full = _load(home, files, log)
    rows = _rows(home)
    total_rows = sum(rows.values())
    compute = sum(full["phases"].values())
    # Peak memory of the load: the main process plus, at worst, every worker at its peak at once.
    workers = full.get("processus_auxiliaires", 0) * full.get("rss_max_auxiliaire_mo", 0)
    full["memoire_mo"] = full["rss_max_mo"] + workers
    full |= {"lignes": rows, "lignes_total": total_rows, "calcul_s": compute,
             "orchestration_s": full["mur_s"] - compute, "orchestration": orchestration(full)}
    out["chargement_complet"] = full
    say(f"Données : {formats.number(total_rows)} lignes ("
        + ", ".join(f"{t} {formats.number(n)}" for t, n in rows.items()) + ")")
    say()
    say("Chargement initial par le pipeline (pre-eval process)")
    say(f"  durée {_s(full['mur_s'])} · {formats.number(total_rows / full['mur_s'])} lignes/s · "
        f"mémoire max {formats.number(full['memoire_mo'])} Mo "
        f"(processus principal {formats.number(full['rss_max_mo'])} Mo "
        f"+ {full.get('processus_auxiliaires', 0)} × {formats.number(full.get('rss_max_auxiliaire_mo', 0))} Mo)")
    for phase, seconds in full["phases"].items():
        say(f"  {PHASE_LABELS[phase]:<28} {_s(seconds):>10}  {_pct(seconds / full['mur_s'])}")
    say(f"  {'orchestration':<28} {_s(full['orchestration_s']):>10}  "
        f"{_pct(full['orchestration_s'] / full['mur_s'])}")
    for label, seconds in full["orchestration"].items():
        say(f"    dont {label:<40} {_s(seconds):>10}")

    # 3. lower bounds
    say()
    say("Bornes inférieures (DuckDB seul, sans orchestration)")
    bounds = {}
    for key, with_rules in (("a", False), ("b", True)):
        bound = lower_bound(files, work / f"borne_{key}", with_rules=with_rules, home=home)
        bounds[key] = bound
        shutil.rmtree(work / f"borne_{key}", ignore_errors=True)
    out["bornes"] = bounds
    for key, label in (("a", "(a) sans contrôle"), ("b", f"(b) avec {bounds['b']['regles']} règles en SQL")):
        b = bounds[key]
        say(f"  {label:<34} {_s(b['total']):>10}   pipeline / {key} : {formats.number(full['mur_s'] / b['total'], 1)} "
            f"(calcul seul : {formats.number(compute / b['total'], 1)})")
    out["ratios"] = {"pipeline_a": full["mur_s"] / bounds["a"]["total"],
                     "pipeline_b": full["mur_s"] / bounds["b"]["total"],
                     "calcul_b": compute / bounds["b"]["total"]}

    # 4. one site's update: on the full warehouse, then on one of a tenth of the sites
    say()
    update = _update(home, files, log)
    small_home = DataHome(work / "dixieme").ensure()
    shutil.copytree(home.referentiel, small_home.referentiel, dirs_exist_ok=True)
    tenth = files[: max(2, len(files) // 10)]
    site = _median_site(files)
    if site not in tenth:
        tenth = [*tenth[:-1], site]
    _load(small_home, tenth, log)
    update_small = _update(small_home, tenth, log)
    out["mise_a_jour"] = update | {"part_du_chargement": update["mur_s"] / full["mur_s"]}
    out["mise_a_jour_petit_entrepot"] = update_small | {"sites": len(tenth)}
    say(f"Mise à jour d'un site médian ({update['site']}, {formats.number(update['lignes'])} lignes)")
    say(f"  entrepôt de {len(files)} sites : {_s(update['mur_s'])} = "
        f"{_pct(update['mur_s'] / full['mur_s'])} du chargement initial")
    say(f"  entrepôt de {len(tenth)} sites : {_s(update_small['mur_s'])}")

    # 5. validation throughput
    checked = full["lignes"] and full["phases"]["controle"]
    out["debit_controle"] = total_rows / checked if checked else None
    say()
    say(f"Débit du contrôle des contrats (GX et contrôles du projet) : "
        f"{formats.number(out['debit_controle'])} lignes/s")

    # 6. statistical secrecy: the project's intruder on the published figures
    say()
    say("Secret statistique (audit de la copie publiée par programmation linéaire)")
    out["secret"] = _secrecy(home)
    sec = out["secret"]
    say(f"  {formats.number(sec['lignes_masquees'])} lignes masquées sur {formats.number(sec['lignes'])} ; "
        f"comptes masqués par la règle primaire {formats.number(sec['comptes_primaires'])}, en complément "
        f"{formats.number(sec['comptes_secondaires'])}")
    say("  part des lignes masquées : " + ", ".join(f"{level} {_pct(share)}" for level, share in
                                                   sec["part_masquee"].items()))
    say(f"  audit : {formats.number(sec['comptes_audites'])} comptes masqués encadrés en {_s(sec['audit_s'])} ; "
        f"trop étroits {sec['trop_etroits']}, affichés sous le seuil {sec['violations_primaires']}")

    # 7. dashboard
    say()
    say("Tableau de bord (AppTest, temps d'exécution de la page)")
    latency_file = work / "latence.json"
    env = {**os.environ, "PRE_HOME": str(home.root)}
    with log.open("a", encoding="utf-8") as journal:  # Streamlit's bare-mode warnings go to the log
        subprocess.run([sys.executable, str(HERE / "latence_tableau_de_bord.py"), str(latency_file),
                        "--cold", str(size["froid"]), "--warm", str(size["chaud"])], env=env, check=True,
                       stderr=journal)
    pages = json.loads(latency_file.read_text(encoding="utf-8"))
    out["tableau_de_bord"] = pages
    say(f"  {'page':<26} {'froid p50':>10} {'froid p95':>10} {'chaud p50':>10} {'chaud p95':>10}")
    for page in pages.values():
        say(f"  {page['titre']:<26} " + " ".join(f"{_s(page[k]):>10}" for k in
                                                   ("froid_p50", "froid_p95", "chaud_p50", "chaud_p95")))

    # 8. targets
    out["cibles"] = targets(out)
    say()
    say("Cibles")
    for label, value, ok in out["cibles"]:
        say(f"  {'✓' if ok else '✗'} {label} : {value}")
    out["duree_banc_s"] = (datetime.now() - started).total_seconds()
    say()
    say(f"Durée du banc d'essai : {_s(out['duree_banc_s'])}")
    target_dir = Path(args.sortie)
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / f"{size_name}.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str),
                                                  encoding="utf-8")
    (target_dir / f"{size_name}.md").write_text(markdown(out), encoding="utf-8")
    say(f"Résultats écrits dans {target_dir / (size_name + '.md')}")
    if not args.dossier:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _secrecy(home: DataHome) -> dict:
    """The published copy attacked by the project's intruder, with what the protection masked."""
    from pipelines.publication import disclosure
    from pipelines.publication.published import open_published

    con = open_published(home)
    try:
        masked = con.sql("select * from marts.indicateurs").pl()
        sites = con.sql("select code_pre, departement, region from marts.sites where code_pre in "
                        "(select distinct territoire from marts.indicateurs where niveau = 'pre')").pl()
        summary = con.execute("select max(comptes_primaires), max(comptes_secondaires) "
                              "from marts.secret_statistique").fetchone()
    finally:
        con.close()
    audit = disclosure.audit(masked, sites)
    return {"lignes": masked.height, "lignes_masquees": int(masked[disclosure.MASK_COLUMN].sum()),
            "comptes_primaires": summary[0], "comptes_secondaires": summary[1],
            "part_masquee": disclosure.masked_share_by_level(masked), "audit_s": round(audit.seconds, 1),
            "comptes_audites": audit.masked_counts, "trop_etroits": len(audit.narrow),
            "violations_primaires": len(audit.primary_violations)}


def orchestration(run: dict) -> dict[str, float]:
    """Where the time outside the measured phases goes, from `pre-eval process --mesures`."""
    phases, steps = run["phases"], run.get("etapes", {})
    ingestion = steps.get("execution_ingestion", 0) - phases["lecture"] - phases["controle"] - phases["chargement"]
    publication = (steps.get("execution_publication", 0) - phases["marts"] - phases.get("secret", 0)
                   - phases["publication"])
    return {
        "démarrage du processus et imports": run["mur_s"] - run["duree_s"],
        "instance Dagster, tri de la boîte de dépôt": steps.get("avant_execution", 0),
        "exécution d'ingestion (Dagster, hors phases)": ingestion,
        "exécution de publication (Dagster, hors phases)": publication,
        "le reste (résumés, registres)": run["duree_s"] - sum(steps.values()),
    }


def targets(out: dict) -> list[tuple[str, str, bool]]:
    full, pages = out["chargement_complet"], out["tableau_de_bord"]
    worst_warm = max(p["chaud_p95"] for p in pages.values())
    worst_cold = max(p["froid_p95"] for p in pages.values())
    small, big = out["mise_a_jour_petit_entrepot"]["mur_s"], out["mise_a_jour"]["mur_s"]
    return [
        ("chargement initial ≤ 2 × borne (b)", f"{formats.number(out['ratios']['pipeline_b'], 1)} ×",
         out["ratios"]["pipeline_b"] <= 2),
        ("mise à jour d'un site ≤ 10 % du chargement initial",
         _pct(out["mise_a_jour"]["part_du_chargement"]), out["mise_a_jour"]["part_du_chargement"] <= 0.10),
        ("mise à jour : ne croît pas avec le nombre de sites chargés",
         f"{_s(small)} → {_s(big)} ({formats.number(big / small, 1)} ×)", big <= 1.5 * small),
        ("chaque page p95 < 1 s (cache chaud)", _s(worst_warm), worst_warm < 1),
        ("chaque page p95 < 3 s (cache froid)", _s(worst_cold), worst_cold < 3),
        ("mémoire maximale < 4 Go", f"{formats.number(full['memoire_mo'])} Mo", full["memoire_mo"] < 4096),
        ("secret statistique : aucun chiffre masqué encadré à moins du seuil, aucun affiché sous le seuil",
         f"{out['secret']['trop_etroits']} et {out['secret']['violations_primaires']}",
         out["secret"]["trop_etroits"] == 0 and out["secret"]["violations_primaires"] == 0),
    ]


def markdown(out: dict) -> str:
    full = out["chargement_complet"]
    lines = [
        f"# Banc d'essai « {out['taille']} » — {out['date']}", "",
        f"- Machine : {out['machine']}",
        f"- Données : {out['sites']} sites, {out['from_year']}–{out['to_year']}, "
        f"{formats.number(full['lignes_total'])} lignes "
        "(" + ", ".join(f"{t} {formats.number(n)}" for t, n in full["lignes"].items()) + ")",
        f"- Génération : {_s(out['generation_s'])}",
        "- Reproduire : `.venv/bin/python benchmarks/national.py" + (" --quick`" if out["taille"] == "rapide" else "`"),
        "", "## Chargement initial", "",
        "| mesure | valeur |", "|---|---|",
        f"| durée (pipeline réel, `pre-eval process`) | {_s(full['mur_s'])} |",
        f"| débit | {formats.number(full['lignes_total'] / full['mur_s'])} lignes/s |",
        f"| mémoire maximale (principal + auxiliaires au pire simultanés) | {formats.number(full['memoire_mo'])} Mo "
        f"({formats.number(full['rss_max_mo'])} + {full.get('processus_auxiliaires', 0)} × "
        f"{formats.number(full.get('rss_max_auxiliaire_mo', 0))}) |",
    ]
    for phase, seconds in full["phases"].items():
        lines.append(f"| {PHASE_LABELS[phase]} | {_s(seconds)} ({_pct(seconds / full['mur_s'])}) |")
    lines.append(f"| orchestration (Dagster, démarrage, registres) | {_s(full['orchestration_s'])} "
                 f"({_pct(full['orchestration_s'] / full['mur_s'])}) |")
    lines += [f"| — dont {label} | {_s(seconds)} |" for label, seconds in full["orchestration"].items()]
    b = out["bornes"]
    lines += ["", "## Bornes inférieures (DuckDB seul)", "",
              "| route | durée | lecture | contrôle | chargement | marts | publication | pipeline / borne |",
              "|---|---|---|---|---|---|---|---|"]
    for key, label in (("a", "(a) sans contrôle"), ("b", f"(b) {b['b']['regles']} règles en SQL")):
        ph = b[key]["phases"]
        lines.append(f"| {label} | {_s(b[key]['total'])} | " + " | ".join(
            _s(ph[p]) if p in ph else "—" for p in PHASE_LABELS) +
            f" | {formats.number(full['mur_s'] / b[key]['total'], 1)} "
            f"(calcul seul {formats.number(full['calcul_s'] / b[key]['total'], 1)}) |")
    u, us = out["mise_a_jour"], out["mise_a_jour_petit_entrepot"]
    lines += ["", "## Mise à jour d'un site", "",
              f"Site médian {u['site']} ({formats.number(u['lignes'])} lignes), renvoyé après le chargement :", "",
              "| entrepôt | durée | part du chargement initial |", "|---|---|---|",
              f"| {out['sites']} sites | {_s(u['mur_s'])} | {_pct(u['part_du_chargement'])} |",
              f"| {us['sites']} sites | {_s(us['mur_s'])} | |",
              "", f"Débit du contrôle des contrats : {formats.number(out['debit_controle'])} lignes/s.",
              "", "## Tableau de bord (AppTest)", "",
              "| page | froid p50 | froid p95 | chaud p50 | chaud p95 |", "|---|---|---|---|---|"]
    for page in out["tableau_de_bord"].values():
        lines.append(f"| {page['titre']} | " + " | ".join(_s(page[k]) for k in
                                                          ("froid_p50", "froid_p95", "chaud_p50", "chaud_p95")) + " |")
    sec = out["secret"]
    lines += ["", "## Secret statistique", "",
              f"{formats.number(sec['lignes_masquees'])} lignes masquées sur {formats.number(sec['lignes'])} "
              f"(comptes masqués : règle primaire {formats.number(sec['comptes_primaires'])}, en complément "
              f"{formats.number(sec['comptes_secondaires'])}) ; protection en "
              f"{_s(full['phases'].get('secret', 0))} pendant la publication.", "",
              "| niveau | part des lignes masquées |", "|---|---|"]
    lines += [f"| {level} | {_pct(share)} |" for level, share in sec["part_masquee"].items()]
    lines += ["", f"Audit (intrus par programmation linéaire) : {formats.number(sec['comptes_audites'])} comptes "
              f"masqués encadrés en {_s(sec['audit_s'])} ; {sec['trop_etroits']} trop étroits, "
              f"{sec['violations_primaires']} lignes affichées sous le seuil."]
    lines += ["", "## Cibles", "", "| cible | mesuré | atteinte |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {'oui' if ok else 'non'} |" for label, value, ok in out["cibles"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

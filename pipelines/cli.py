"""`pre-eval`: the command line of the PRE evaluation platform (messages in French)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from pipelines import settings
from pipelines.common import formats
from pipelines.common.datahome import DASHBOARD_UMASK, UMASK, DataHome, restrict_umask
from pipelines.common.french_parser import FrenchArgumentParser


def _cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.contracts.reader import read_submission
    from pipelines.contracts.referential import load_sites
    from pipelines.contracts.report import CHECK_ONLY, summary_line, to_json, to_markdown, to_text
    from pipelines.contracts.validator import Context, validate_many

    sites = load_sites()
    names = dict(zip(sites["code_pre"].to_list(), sites["nom"].to_list(), strict=True))
    status = 0
    paths = []
    for file in args.files:
        path = Path(file)
        if path.is_file():
            paths.append(path)
        else:
            print(f"Fichier introuvable : {file}", file=sys.stderr)
            status = 2
    # One batch: the contract checks run once per table for all the files.
    context = Context(known_sites=set(names))
    reports = validate_many([read_submission(p) for p in paths], [context] * len(paths))
    for path, report in zip(paths, reports, strict=True):
        name = names.get(report.code_pre or "")
        if args.rapports:
            out = Path(args.rapports)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{path.name}.rapport.md").write_text(
                f"{to_markdown(report, name, check_only=True)}\n{CHECK_ONLY}\n", encoding="utf-8")
            (out / f"{path.name}.rapport.json").write_text(to_json(report), encoding="utf-8")
        if args.json:
            print(to_json(report))
        elif args.resume:
            print(summary_line(report, name))
        else:
            print(to_text(report, name, check_only=True))  # a terminal: no Markdown symbols
            print(summary_line(report, name))
        if not report.accepted and status == 0:
            status = 1
    if paths:  # a check only: say so, and how to send (after the JSON on stderr, the JSON stays parseable)
        print(CHECK_ONLY, file=sys.stderr if args.json else sys.stdout)
    return status


def _cmd_modele(args: argparse.Namespace) -> int:
    from pipelines.contracts.documents.template import write_template

    path = write_template(Path(args.out))
    print(f"Modèle de dépôt écrit : {path}")
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from pipelines.contracts.documents.site_docs import write_site_docs
    from pipelines.contracts.documents.table_schemas import write_table_schemas

    paths = write_site_docs(Path(args.out)) + write_table_schemas(Path(args.out))
    print(f"Documentation du format écrite : {len(paths)} fichiers dans {args.out} (pages et schémas Table Schema)")
    if args.methodologie:
        from pipelines.publication.methodology import methodology_markdown

        Path(args.methodologie).write_text(methodology_markdown(), encoding="utf-8")
        print(f"Méthodologie des indicateurs écrite : {args.methodologie}")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.common.progress import reporting
    from pipelines.demo.generate import generate

    sites = [s.strip().upper() for s in args.sites.split(",")] if args.sites else None
    with reporting():
        files = generate(Path(args.out), seed=args.seed, sites=sites, from_year=args.from_year,
                         to_year=args.to_year, sites_count=args.sites_count,
                         with_errors=args.with_errors, home=DataHome.from_settings(),
                         on_site=lambda msg: print(msg, flush=True))
    valid = sum(1 for f in files if f.expected_rule is None)
    flawed = len(files) - valid
    written = "écrit" if valid + flawed < 2 else "écrits"
    print(f"{formats.plural(valid, 'dépôt valide', 'dépôts valides')} et "
          f"{formats.plural(flawed, 'dépôt volontairement erroné', 'dépôts volontairement erronés')} "
          f"{written} dans {args.out}")
    return 0


def _cmd_process(args: argparse.Namespace) -> int:
    from pipelines.common import timings
    from pipelines.common.progress import reporting
    from pipelines.ingest.pseudonym import KeyRefused
    from pipelines.process import process

    started = time.perf_counter()
    timings.reset()
    try:
        with reporting():
            result = process(DataHome.from_settings())
    except KeyRefused as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.mesures:
        figures = timings.snapshot() | {"duree_s": round(time.perf_counter() - started, 3),
                                        "fichiers": result.handled}
        Path(args.mesures).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    for line in result.duplicates + result.lines:
        print(line)
    if not result.handled and not result.duplicates:
        print("Boîte de dépôt vide : rien à traiter ; entrepôt republié.")
    for name in result.left_in_inbox:
        print(f"{name} : non traité (erreur interne), laissé dans la boîte de dépôt", file=sys.stderr)
    for error in result.errors:
        print(f"Erreur interne : {error}", file=sys.stderr)
    return 0 if result.ok else 3


def _cmd_dev(args: argparse.Namespace) -> int:
    from pipelines.dev import run_dev

    return run_dev(DataHome.from_settings(), dagster_port=args.dagster_port, dashboard_port=args.dashboard_port,
                   host=args.host, provider_port=args.provider_port)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from pipelines.dev import run_dashboard

    return run_dashboard(DataHome.from_settings(), port=args.port, host=args.host)


def _cmd_indicators(args: argparse.Namespace) -> int:
    from pipelines.publication import analysts
    from pipelines.warehouse.store import WarehouseBusy

    if (args.format is None) != (args.out is None):
        print("--format et --out vont ensemble : par exemple --format xlsx --out indicateurs.xlsx.", file=sys.stderr)
        return 2
    try:
        frame = analysts.indicators(DataHome.from_settings(), indicateur=args.indicateur, niveau=args.niveau,
                                    territoire=args.territoire, periode=args.periode, categorie=args.categorie)
        if args.format is not None:
            path = analysts.write(frame, args.format, Path(args.out))
            print(f"{formats.plural(frame.height, 'ligne écrite', 'lignes écrites')} dans {path} "
                  f"({analysts.INTERNAL}).")
            return 0
    except analysts.AnalystError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"Indicateurs non lus : {exc}.", file=sys.stderr)
        return 3
    print(analysts.NOTICE)
    print(analysts.render_table(frame.to_dicts(), limit=args.limite))
    return 0


def _cmd_copie_analyse(args: argparse.Namespace) -> int:
    from pipelines.publication import analysts
    from pipelines.warehouse.store import WarehouseBusy

    try:
        path = analysts.analysis_copy(DataHome.from_settings(), Path(args.out) if args.out else None)
    except analysts.AnalystError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"Copie non faite : {exc}.", file=sys.stderr)
        return 3
    print(f"Copie de l'entrepôt en lecture seule : {path}\n"
          f"Ouvrez-la avec duckdb -readonly {path} ou, en Python, duckdb.connect(\"{path}\", read_only=True). "
          "Elle contient des données individuelles pseudonymisées : ne la copiez pas hors du dossier de données.")
    return 0


def _cmd_edition(args: argparse.Namespace) -> int:
    from pipelines.publication import editions

    try:
        made = editions.create(DataHome.from_settings(), args.nom)
    except editions.EditionError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    audit = made["audit"]
    print(f"Édition « {made['nom']} » créée : {formats.number(made['lignes'])} lignes d'indicateurs, dont "
          f"{formats.number(made['lignes_masquees'])} masquées (seuil {made['seuil']}) ; "
          f"{formats.number(len(made['sites']))} sites ; méthodologie {made['methodologie']}.")
    print(f"Audit du secret statistique : {formats.number(audit['comptes_masques'])} chiffres masqués, aucun "
          f"retrouvable à moins de {made['seuil']} près ({formats.number(audit['duree_s'], 1)} s).")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from pipelines.publication import editions
    from pipelines.publication.export import export

    try:
        csv_path, schema_path = export(DataHome.from_settings(), Path(args.out), args.edition)
    except editions.EditionError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    source = f"de l'édition « {args.edition} »" if args.edition else "des données en continu (provisoires)"
    print(f"Export public {source} écrit : {csv_path} et {schema_path}")
    return 0


def _cmd_sauvegarder(args: argparse.Namespace) -> int:
    from pipelines.ingest.backup import BackupError, backup
    from pipelines.warehouse.store import WarehouseBusy

    try:
        made = backup(DataHome.from_settings(), Path(args.out), with_key=args.avec_cle)
    except (BackupError, WarehouseBusy) as exc:
        print(f"Sauvegarde refusée : {exc}", file=sys.stderr)
        return 2
    key = ("avec la clé de pseudonymisation : rangez cette sauvegarde comme la clé elle-même" if made.with_key
           else "sans la clé de pseudonymisation (conservez-la à part, hors ligne)")
    print(f"Sauvegarde écrite dans {made.folder} : {formats.number(made.files)} fichiers, "
          f"{formats.number(made.size / 1e6, 1)} Mo, {key}.")
    print(f"Empreinte SHA-256 du manifeste : {made.manifest_sha256} (notez-la à part : la restauration l'affiche).")
    for line in made.left_out:
        print(line)
    return 0


def _cmd_restaurer(args: argparse.Namespace) -> int:
    from pipelines.common.progress import reporting
    from pipelines.ingest.backup import BackupError, restore, version
    from pipelines.process import process

    home = DataHome.from_settings()
    try:
        done = restore(Path(args.depuis), home, key_file=Path(args.cle) if args.cle else None)
    except BackupError as exc:
        print(f"Restauration refusée : {exc}", file=sys.stderr)
        return 2
    print(f"Sauvegarde du {done.created} (pre-eval {done.version}) vérifiée et restaurée dans {done.home} : "
          f"{formats.number(done.files)} fichiers, {formats.number(done.size / 1e6, 1)} Mo ; {done.key_source}.")
    print(f"Empreinte SHA-256 du manifeste : {done.manifest_sha256}")
    if done.version != version():
        print(f"Attention : sauvegarde écrite par pre-eval {done.version}, version installée {version()} ; "
              "en cas d'erreur, restaurez avec la version d'origine.", file=sys.stderr)
    # The published copy is rebuilt exactly as `pre-eval process` publishes (its inbox is empty).
    with reporting():
        result = process(home)
    for error in result.errors:
        print(f"Erreur interne : {error}", file=sys.stderr)
    if not result.ok:
        print("Les fichiers sont restaurés mais la publication a échoué : relancez « pre-eval process ».",
              file=sys.stderr)
        return 3
    print("Copie publiée reconstruite : le tableau de bord peut être relancé.")
    return 0


def _cmd_purger(args: argparse.Namespace) -> int:
    from pipelines.ingest import retention

    try:
        as_of = retention.parse_date(args.date) if args.date is not None else retention.today()
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from pipelines.process import dagster_instance
    from pipelines.warehouse.store import WarehouseBusy

    home = DataHome.from_settings()
    try:
        result = retention.purge(home, as_of, simulation=args.simulation, instance=dagster_instance(home))
    except WarehouseBusy as exc:
        print(f"Purge impossible : {exc} ; rien n'a été supprimé.", file=sys.stderr)
        return 3
    for line in result.lines():
        print(line)
    return 3 if result.failures else 0


def _cmd_cle(args: argparse.Namespace) -> int:
    from pipelines.ingest import pseudonym, rotation
    from pipelines.warehouse.store import WarehouseBusy

    home = DataHome.from_settings()
    try:
        if args.action == "verifier":
            empreinte, stored = pseudonym.verify(home)
            print(f"Clé de pseudonymisation conforme à l'entrepôt (empreinte {empreinte[:16]}…)." if stored else
                  f"Clé de pseudonymisation en place (empreinte {empreinte[:16]}…) ; l'entrepôt n'a pas encore "
                  "d'empreinte : elle sera enregistrée au prochain chargement.")
            return 0
        print("Rotation de la clé de pseudonymisation : relecture des dépôts en vigueur archivés…", flush=True)
        done = rotation.rotate(home)
    except (pseudonym.KeyRefused, rotation.RotationError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"Rotation impossible : {exc} ; rien n'a changé.", file=sys.stderr)
        return 3
    print(f"Nouvelle clé en place : {formats.number(done.sites)} sites, {formats.number(done.rows)} lignes "
          f"pseudonymisées de nouveau (empreinte {done.previous[:16]}… → {done.new[:16]}…). L'ancienne clé est "
          "supprimée : sauvegardez la nouvelle (secret/cle_pseudonymisation) à part, dès maintenant.", flush=True)
    args.mesures = None
    return _cmd_process(args)  # rebuild and publish, as after a load


def _cmd_rejouer(args: argparse.Namespace) -> int:
    import getpass

    from pipelines.ingest.pseudonym import KeyRefused
    from pipelines.ingest.replay import ReplayError
    from pipelines.process import replay
    from pipelines.warehouse.store import WarehouseBusy

    if bool(args.sites) == bool(args.tous):
        print("Indiquez les sites à rejouer (ex. pre-eval rejouer PRE51454 --motif « … ») ou --tous, pas les deux.",
              file=sys.stderr)
        return 2
    home = DataHome.from_settings()
    if not home.warehouse.exists():
        print("Aucun entrepôt : rien à rejouer.", file=sys.stderr)
        return 2
    try:
        by = args.par or getpass.getuser()
    except (KeyError, OSError):
        by = "inconnu"
    try:
        result = replay(home, None if args.tous else args.sites, reason=args.motif, by=by)
    except (ReplayError, KeyRefused) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"Rejeu impossible : {exc} ; rien n'a changé.", file=sys.stderr)
        return 3
    for line in result.lines:
        print(line)
    for error in result.errors:
        print(f"Erreur interne : {error}", file=sys.stderr)
    if result.errors:
        return 3
    return 0 if all(" : rejoué, " in line for line in result.lines) else 1


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError("le port doit être un entier entre 1 et 65535")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchArgumentParser(  # usage, help and errors in French, sub-commands included
        prog="pre-eval", description="Plateforme d'évaluation des Programmes de Réussite Éducative")
    sub = parser.add_subparsers(dest="command", required=True, metavar="commande")

    p = sub.add_parser("validate", help="contrôle un fichier de dépôt et affiche le rapport")
    p.add_argument("files", nargs="+", metavar="FICHIER")
    p.add_argument("--json", action="store_true", help="rapport au format JSON")
    p.add_argument("--resume", action="store_true", help="une ligne par fichier, sans le détail")
    p.add_argument("--rapports", metavar="DOSSIER", help="écrit aussi les rapports (Markdown et JSON) dans ce dossier")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("modele", help="écrit le classeur modèle XLSX à remplir par un site")
    p.add_argument("--out", default="modele_depot_pre.xlsx", metavar="FICHIER")
    p.set_defaults(func=_cmd_modele)

    p = sub.add_parser("docs", help="régénère la documentation du format d'échange à partir des contrats")
    p.add_argument("--out", default="docs/format", metavar="DOSSIER")
    p.add_argument("--methodologie", metavar="FICHIER",
                   help="écrit aussi la méthodologie des indicateurs (catalogue) dans ce fichier")
    p.set_defaults(func=_cmd_docs)

    p = sub.add_parser("process", help="traite tous les fichiers de la boîte de dépôt, puis publie")
    p.add_argument("--mesures", metavar="FICHIER",
                   help="écrit la durée de chaque phase et la mémoire maximale (JSON), pour les mesures de performance")
    p.set_defaults(func=_cmd_process)

    p = sub.add_parser("dev", help="lance l'interface Dagster (avec son démon) et le tableau de bord")
    p.add_argument("--dagster-port", type=_port, default=3000, metavar="PORT",
                   help="port de l'interface Dagster (par défaut 3000)")
    p.add_argument("--dashboard-port", type=_port, default=8501, metavar="PORT",
                   help="port du tableau de bord (par défaut 8501)")
    p.add_argument("--provider-port", type=_port, default=9400, metavar="PORT",
                   help="port du fournisseur d'identité local (développement), sur 127.0.0.1")
    p.add_argument("--host", default="127.0.0.1", metavar="ADRESSE",
                   help="adresse d'écoute (par défaut 127.0.0.1, cette machine seule)")
    p.set_defaults(func=_cmd_dev)

    p = sub.add_parser("dashboard", help="lance le tableau de bord seul (service de production, vérifications)")
    p.add_argument("--port", type=_port, default=8501, metavar="PORT", help="port d'écoute (par défaut 8501)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADRESSE",
                   help="adresse d'écoute (par défaut 127.0.0.1, cette machine seule)")
    p.set_defaults(func=_cmd_dashboard)

    p = sub.add_parser("indicators", help="indicateurs non masqués de l'entrepôt, affichés ou écrits en CSV, XLSX "
                                          "ou Parquet (usage interne ; filtres facultatifs)")
    p.add_argument("--indicateur", "-i", metavar="CODE", help="code d'indicateur (ex. enfants_suivis)")
    p.add_argument("--niveau", "-n", choices=["pre", "departement", "region", "national"],
                   help="niveau territorial")
    p.add_argument("--territoire", "-t", help="code du territoire (ex. PRE51454, 51, 44, FR)")
    p.add_argument("--periode", "-p", help="AAAA ou AAAA-AAAA")
    p.add_argument("--categorie", "-c", help="catégorie (volet, structure, tranche d'âge)")
    p.add_argument("--limite", type=int, default=200, metavar="N", help="nombre maximal de lignes affichées")
    p.add_argument("--format", choices=["csv", "xlsx", "parquet"], help="écrit un fichier au lieu d'afficher "
                   "(avec --out)")
    p.add_argument("--out", metavar="FICHIER", help="fichier à écrire (avec --format)")
    p.set_defaults(func=_cmd_indicators)

    p = sub.add_parser("copie-analyse", help="copie l'entrepôt complet dans un fichier en lecture seule, à ouvrir "
                                             "dans un carnet ou avec duckdb sans gêner les chargements")
    p.add_argument("--out", metavar="FICHIER", help="fichier .duckdb à écrire (par défaut : analyse/ du dossier "
                                                     "de données, qui ne garde que la dernière copie)")
    p.set_defaults(func=_cmd_copie_analyse)

    p = sub.add_parser("edition", help="éditions figées des indicateurs")
    actions = p.add_subparsers(dest="action", required=True, metavar="action")
    q = actions.add_parser("creer", help="fige les indicateurs publiés (masqués) sous ce nom")
    q.add_argument("nom", metavar="NOM")
    q.set_defaults(func=_cmd_edition)

    p = sub.add_parser("export", help="écrit l'export public des indicateurs (CSV et son schéma)")
    p.add_argument("--out", required=True, metavar="DOSSIER", help="dossier où écrire les fichiers publics")
    p.add_argument("--edition", metavar="NOM", help="une édition ; par défaut, les données en continu")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("sauvegarder", help="écrit une sauvegarde cohérente du dossier de données (manifeste SHA-256)")
    p.add_argument("--out", required=True, metavar="DOSSIER", help="dossier neuf (absent ou vide)")
    p.add_argument("--avec-cle", action="store_true",
                   help="inclut la clé de pseudonymisation (par défaut, elle est conservée à part)")
    p.set_defaults(func=_cmd_sauvegarder)

    p = sub.add_parser("restaurer", help="restaure une sauvegarde dans un dossier de données vide, puis republie")
    p.add_argument("--depuis", required=True, metavar="DOSSIER", help="dossier écrit par « pre-eval sauvegarder »")
    p.add_argument("--cle", metavar="FICHIER", help="fichier de la clé de pseudonymisation conservée à part")
    p.set_defaults(func=_cmd_restaurer)

    p = sub.add_parser("purger", help="applique les règles de conservation (quarantaine, archives, espaces de travail)")
    p.add_argument("--date", metavar="AAAA-MM-JJ", help="date de référence des règles (par défaut aujourd'hui)")
    p.add_argument("--simulation", action="store_true", help="liste ce qui serait supprimé, sans rien supprimer")
    p.set_defaults(func=_cmd_purger)

    p = sub.add_parser("cle", help="clé de pseudonymisation : vérification, rotation (docs/exploitation/cle.md)")
    actions = p.add_subparsers(dest="action", required=True, metavar="action")
    actions.add_parser("verifier", help="vérifie que la clé en place est celle de l'entrepôt").set_defaults(
        func=_cmd_cle)
    actions.add_parser("rotation", help="remplace la clé : tous les pseudonymes de l'entrepôt refaits, puis "
                                        "publication").set_defaults(func=_cmd_cle)

    p = sub.add_parser("rejouer", help="recontrôle et recharge le dépôt en vigueur archivé de sites (après un "
                                       "changement du chargement ou de la clé), puis publie ; journalisé")
    p.add_argument("sites", nargs="*", metavar="SITE", help="codes des sites (ex. PRE51454)")
    p.add_argument("--tous", action="store_true", help="tous les sites ayant un dépôt en vigueur")
    p.add_argument("--motif", required=True, help="pourquoi rejouer (obligatoire, inscrit au journal des rejeux)")
    p.add_argument("--par", help="qui demande le rejeu (par défaut : le compte qui lance la commande)")
    p.set_defaults(func=_cmd_rejouer)

    p = sub.add_parser("generate", help="écrit des dépôts synthétiques réalistes")
    p.add_argument("--out", required=True, metavar="DOSSIER", help="dossier où écrire les dépôts générés")
    p.add_argument("--seed", type=int, default=42, metavar="GRAINE",
                   help="graine du générateur (mêmes dépôts pour une même graine ; par défaut 42)")
    p.add_argument("--sites", default=None, metavar="CODES", help="codes PRE séparés par des virgules")
    p.add_argument("--from-year", type=int, default=2021, metavar="ANNÉE",
                   help="première année d'activité générée (par défaut 2021)")
    p.add_argument("--to-year", type=int, default=2024, metavar="ANNÉE",
                   help="dernière année d'activité générée (par défaut 2024)")
    p.add_argument("--sites-count", type=int, default=None, metavar="N",
                   help="nombre de sites générés (par défaut : les sites du référentiel, ou ceux de --sites)")
    p.add_argument("--with-errors", action="store_true", help="ajoute des dépôts erronés")
    p.set_defaults(func=_cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    args = build_parser().parse_args(argv)
    # Owner-only files whatever the caller's umask (published/, reports/, editions/ are opened to the
    # dashboard's group where they are written); the dashboard's own writes stay readable by the group.
    restrict_umask(DASHBOARD_UMASK if args.command == "dashboard" else UMASK)
    try:
        settings.load()  # the whole environment is checked before any work starts
    except settings.SettingsError as exc:
        print(f"Configuration invalide :\n{exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except RuntimeError as exc:
        # Dagster's PostgreSQL database unreachable: a French message (without the password), no traceback.
        process = sys.modules.get("pipelines.process")
        if process is not None and isinstance(exc, process.InstanceUnavailable):
            print(str(exc), file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# README command (a): set up and run the product on the bundled demo data.
# Today: generates the demo submissions of the 15 Grand Est sites and checks each one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PRE_HOME="${PRE_HOME:-$PWD/data}"
demo="$PRE_HOME/demo"
rm -rf "$demo"
mkdir -p "$demo"
echo "== Génération des dépôts de démonstration dans $demo"
.venv/bin/pre-eval generate --out "$demo" --seed 42 --with-errors
echo "== Contrôle de chaque dépôt (rapports détaillés dans $demo/rapports/)"
.venv/bin/pre-eval validate --resume --rapports "$demo/rapports" \
  "$demo"/*.zip "$demo"/*.xlsx "$demo"/erreurs/* || true

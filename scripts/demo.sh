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
echo "== Contrôle de chaque dépôt"
status=0
for f in "$demo"/*.zip "$demo"/*.xlsx "$demo"/erreurs/*; do
  [ -f "$f" ] || continue
  .venv/bin/pre-eval validate "$f" > "$f.rapport.md" 2>&1 || true
  tail -n 1 "$f.rapport.md"
done
echo "Rapports détaillés : $demo/*.rapport.md"

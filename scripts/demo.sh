#!/usr/bin/env bash
# README command (a): set up, process the bundled demo data, then run the product
# (Dagster UI with its daemon and sensors, and the dashboard) until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PRE_HOME="${PRE_HOME:-$PWD/data}"
demo="$PRE_HOME/demo"
mkdir -p "$PRE_HOME/inbox"
if [ ! -d "$demo" ]; then
  echo "== Génération des dépôts de démonstration (15 sites du Grand Est, et des dépôts erronés)"
  .venv/bin/pre-eval generate --out "$demo" --seed 42 --with-errors
  # Valid submissions first, then the flawed ones (built to break one rule each).
  cp "$demo"/*.zip "$demo"/*.xlsx "$PRE_HOME/inbox/"
  cp "$demo"/erreurs/* "$PRE_HOME/inbox/"
else
  echo "== Dépôts de démonstration déjà générés dans $demo (supprimez ce dossier pour repartir de zéro)"
fi
echo "== Traitement de la boîte de dépôt"
.venv/bin/pre-eval process
echo "== Lancement de l'interface Dagster et du tableau de bord"
exec .venv/bin/pre-eval dev

#!/usr/bin/env bash
# README command (b): set up, lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== pytest"
set +e
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
status=$?
set -e
echo "Durée totale des tests : $(( $(date +%s) - start )) s"
exit $status

#!/usr/bin/env bash
# README command (b): set up, lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
echo "== chromium"
# The browser test (tests/e2e/test_browser.py) drives Debian's Chromium; it fails without it.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installation de Chromium (apt-get install chromium) pour le test navigateur…"
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$apt_log" 2>&1; then
      cat "$apt_log" >&2
      echo "Échec de l'installation de Chromium (journal ci-dessus)." >&2
      exit 1
    fi
    rm -f "$apt_log"
  else
    echo "Chromium est nécessaire pour le test navigateur : installez-le avec sudo apt-get install chromium" >&2
    exit 1
  fi
fi
echo "== postgresql"
# The production-instance tests (tests/postgres.py) start a throwaway server from Debian's binaries.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installation de PostgreSQL (apt-get install postgresql) pour les tests de l'instance Dagster…"
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >"$apt_log" 2>&1; then
      cat "$apt_log" >&2
      echo "Échec de l'installation de PostgreSQL (journal ci-dessus)." >&2
      exit 1
    fi
    rm -f "$apt_log"
  else
    echo "PostgreSQL est nécessaire pour les tests de l'instance Dagster : installez-le avec sudo apt-get install postgresql" >&2
    exit 1
  fi
fi
echo "== pytest"
set +e
.venv/bin/python -m pytest -n 2 --dist loadfile --durations=25 "$@"
status=$?
set -e
echo "Durée totale des tests : $(( $(date +%s) - start )) s"
exit $status

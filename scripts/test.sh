#!/usr/bin/env bash
# README command (b): set up, lint, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
# install_debian PACKAGE LABEL PURPOSE CHECK: Debian's PACKAGE, installed (as root) unless the shell test CHECK
# passes; without root, a French message and exit 1.
install_debian() {
  local package=$1 label=$2 purpose=$3 check=$4 apt_log
  if eval "$check"; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$label est nécessaire pour $purpose : installez-le avec sudo apt-get install $package" >&2
    exit 1
  fi
  echo "Installation de $label (apt-get install $package) pour $purpose…"
  apt_log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "Échec de l'installation de $label (journal ci-dessus)." >&2
    exit 1
  fi
  rm -f "$apt_log"
}
echo "== chromium"
# The browser test (tests/e2e/test_browser.py) drives Debian's Chromium; it fails without it.
install_debian chromium Chromium "le test navigateur" '[ -x /usr/bin/chromium ]'
echo "== postgresql"
# The production-instance tests (tests/postgres.py) start a throwaway server from Debian's binaries.
install_debian postgresql PostgreSQL "les tests de l'instance Dagster" 'ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1'
echo "== pytest"
set +e
# Two workers on two cores: a third made the run slower (1 885 s instead of about 1 650 s, 2026-12-02: the
# machine was already 97 % busy, docs/performance.md).
.venv/bin/python -m pytest -n 2 --dist loadfile --durations=25 "$@"
status=$?
set -e
echo "Durée totale des tests : $(( $(date +%s) - start )) s"
exit $status

#!/usr/bin/env bash
# Creates .venv/ and installs the project with its pinned dependencies (requirements.lock).
# Needs only Python 3.11+ and access to the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 ou plus récent est nécessaire (trouvé : $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -c requirements.lock -e '.[dev]'
echo "Environnement prêt : .venv/ (pre-eval $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pre-eval"))'))"

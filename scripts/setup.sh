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
# uv (pinned in requirements.lock like everything else) installs the ~170 pinned packages in parallel:
# about 15 s where pip takes over 2 minutes. uv reads no pip configuration (pip.conf's extra indexes,
# find-links): where it cannot install from the package index, pip does it, more slowly.
pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
pip_install -c requirements.lock uv
if ! .venv/bin/uv pip install --quiet --python .venv/bin/python -c requirements.lock -e '.[dev]'; then
  echo "uv n'a pas pu installer les dépendances ; installation avec pip (plus lente)…" >&2
  pip_install -c requirements.lock -e '.[dev]'
fi
echo "Environnement prêt : .venv/ (pre-eval $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("pre-eval"))'))"

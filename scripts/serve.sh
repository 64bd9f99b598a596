#!/usr/bin/env bash
# Set up this machine and serve the shop with demo data on http://127.0.0.1:5000
#
# Creates .venv (Python 3.11+), installs Chai, compiles the translations, applies the
# database migrations, seeds the demo when the database is empty, and serves.
# Environment: CHAI_HOST, CHAI_PORT, and every CHAI_* setting of the README.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Chai needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
    exit 1
fi
if [[ "${CHAI_SKIP_INSTALL:-}" != "1" ]]; then
    [[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
fi
PYBABEL=.venv/bin/pybabel scripts/translations.sh compile
exec .venv/bin/flask --app app chai serve --host "${CHAI_HOST:-127.0.0.1}" --port "${CHAI_PORT:-5000}"

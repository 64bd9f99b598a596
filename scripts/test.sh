#!/usr/bin/env bash
# Install everything the tests need on this machine, then run the whole suite twice:
# on SQLite, then on PostgreSQL.
#
# System (apt-get, as root or through sudo, only what is missing): Debian's chromium
# for the Playwright browser tests, the DejaVu fonts and poppler-utils (pdffonts) for
# the PDF documents and their tests, and PostgreSQL's server, of which the tests start
# a throw-away cluster in a temporary folder (tests/pgcluster.py) unless DATABASE_URL
# names a server to use. Python: .venv with the pinned dependencies of requirements.lock,
# audited by pip-audit, and Chai.
# Arguments are passed to both pytest runs (e.g. scripts/test.sh -k isolation).
# CHAI_TEST_DBS="sqlite" (or "postgresql") runs one database only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=()
command -v chromium >/dev/null 2>&1 || PACKAGES+=(chromium)
# DejaVu Sans: the PDFs' embedded font (services.pdf; Factur-X invoices are PDF/A, every
# font embedded); pdffonts (poppler-utils): tests/integration/test_facturx.py checks that.
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || PACKAGES+=(fonts-dejavu-core)
command -v pdffonts >/dev/null 2>&1 || PACKAGES+=(poppler-utils)
if [[ -z "${DATABASE_URL:-}" ]] && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    PACKAGES+=(postgresql)
fi
if [[ ${#PACKAGES[@]} -gt 0 ]]; then
    SUDO=""
    [[ "$(id -u)" -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

PYTHON="${PYTHON:-python3}"
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# The pinned versions of requirements.lock (scripts/lock.sh), then Chai itself.
.venv/bin/python -m pip install --quiet -r requirements.lock "pip-audit>=2.7"
.venv/bin/python -m pip install --quiet --no-deps -e .
# Known vulnerabilities in the pinned versions (PyPI's advisory data). Where that
# service cannot be reached, pip-audit lists the packages it could not check and
# passes: the run shows it.
.venv/bin/pip-audit --requirement requirements.lock --no-deps --disable-pip --progress-spinner off
PYBABEL=.venv/bin/pybabel scripts/translations.sh compile

status=0
for database in ${CHAI_TEST_DBS:-sqlite postgresql}; do
    echo "== tests on ${database}"
    .venv/bin/python -m pytest --db "$database" "$@" || status=$?
done
exit $status

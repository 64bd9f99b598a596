#!/usr/bin/env bash
# Install everything the tests need on this machine, then run the whole suite.
#
# System: Debian's chromium for the Playwright browser tests (apt-get, as root or
# through sudo), only when missing. Python: .venv with Chai and its test extras.
# Arguments are passed to pytest (e.g. scripts/test.sh -k isolation).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    [[ "$(id -u)" -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi

PYTHON="${PYTHON:-python3}"
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
PYBABEL=.venv/bin/pybabel scripts/translations.sh compile

exec .venv/bin/python -m pytest "$@"

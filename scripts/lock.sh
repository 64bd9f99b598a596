#!/usr/bin/env bash
# Re-pin requirements.lock from pyproject.toml (runtime + test extras) with pip-tools.
# Run after changing a dependency in pyproject.toml; tests/unit/test_lock.py checks
# that every declared dependency is pinned. scripts/test.sh installs from the lock and
# audits it with pip-audit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -x .venv/bin/pip-compile ]] || .venv/bin/python -m pip install --quiet "pip-tools>=7.4"
.venv/bin/pip-compile --quiet --upgrade --extra test --strip-extras --no-emit-index-url \
    --no-emit-find-links -o requirements.lock pyproject.toml

#!/usr/bin/env bash
# Message catalogues (Flask-Babel). The msgids are the French strings; English is
# the only catalogue, in translations/en/LC_MESSAGES/messages.po.
#
#   scripts/translations.sh update    extract the messages, then merge them into the .po
#   scripts/translations.sh compile   build the .mo files (default; *.mo are not versioned)
#
# Set PYBABEL to use another pybabel than .venv/bin/pybabel.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
POT=translations/messages.pot
LOCALE=en
PO="translations/${LOCALE}/LC_MESSAGES/messages.po"

# Keep these options in sync with tests/unit/test_translations.py.
extract() {
    "$PYBABEL" extract \
        --mapping-file=babel.cfg \
        --keyword=_l --keyword=lazy_gettext --keyword=lazy_ngettext:1,2 \
        --no-location --sort-output \
        --project=Chai \
        --output-file="$POT" \
        .
}

update() {
    mkdir -p translations
    extract
    if [[ -f "$PO" ]]; then
        "$PYBABEL" update --input-file="$POT" --output-dir=translations \
            --locale="$LOCALE" --no-fuzzy-matching --ignore-obsolete
    else
        "$PYBABEL" init --input-file="$POT" --output-dir=translations --locale="$LOCALE"
    fi
}

compile() {
    "$PYBABEL" compile --directory=translations --statistics
}

usage() {
    echo "usage: $0 [update|compile]" >&2
}

case "${1:-compile}" in
    update) update ;;
    compile) compile ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
esac

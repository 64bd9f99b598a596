#!/usr/bin/env bash
# Message catalogues (Flask-Babel). The msgids are the French strings; English is
# the only catalogue: translations/en/LC_MESSAGES/messages.po.
#
#   scripts/translations.sh update            extract the messages, then merge them into the .po
#                                             (new entries come with an empty msgstr: translate them)
#   scripts/translations.sh compile           build the .mo files (default; *.mo are not versioned)
#   scripts/translations.sh extract [FILE]    only extract, to FILE (default translations/messages.pot)
#
# PYBABEL picks the pybabel command (default .venv/bin/pybabel); it is split on
# spaces, so PYBABEL="python -m babel.messages.frontend" works too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a pybabel <<< "${PYBABEL:-.venv/bin/pybabel}"
POT=translations/messages.pot
LOCALE=en
PO="translations/${LOCALE}/LC_MESSAGES/messages.po"

# tests/unit/test_translations.py runs `extract`, so the check uses these very options.
extract() {
    local output="${1:-$POT}"
    mkdir -p "$(dirname "$output")"
    "${pybabel[@]}" extract \
        --mapping-file=babel.cfg \
        --keyword=_l --keyword=lazy_gettext --keyword=lazy_ngettext:1,2 --keyword=lazy_pgettext:1c,2 \
        --no-location --sort-output \
        --project=Chai --version=0.1.0 --copyright-holder="Chai contributors" \
        --output-file="$output" \
        .
}

update() {
    extract "$POT"
    if [[ -f "$PO" ]]; then
        "${pybabel[@]}" update --input-file="$POT" --output-dir=translations \
            --locale="$LOCALE" --no-fuzzy-matching --ignore-obsolete
    else
        "${pybabel[@]}" init --input-file="$POT" --output-dir=translations --locale="$LOCALE"
    fi
}

compile() {
    "${pybabel[@]}" compile --directory=translations --statistics
}

usage() {
    echo "usage: $0 [compile|update|extract [FILE]]" >&2
}

command="${1:-compile}"
case "$command" in
    update) update ;;
    compile) compile ;;
    extract) extract "${2:-$POT}" ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
esac

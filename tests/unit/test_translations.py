"""The English catalogue: complete, and up to date with the French msgids of the sources.

After changing a translatable string, run ``scripts/translations.sh update``, translate
the new (empty) entries of translations/en/LC_MESSAGES/messages.po, then
``scripts/translations.sh compile``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "translations.sh"
ENGLISH_PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def _read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _pybabel_command() -> str:
    """The pybabel of the interpreter running the tests, as $PYBABEL for the script."""
    beside = Path(sys.executable).with_name("pybabel")
    if beside.exists():
        return str(beside)
    return f"{sys.executable} -m babel.messages.frontend"


def _extract(output: Path) -> Catalog:
    # The script's own `extract`, so that the options (mapping, keywords) are the same.
    result = subprocess.run(
        ["bash", str(SCRIPT), "extract", str(output)],
        env={**os.environ, "PYBABEL": _pybabel_command()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return _read(output)


def test_every_english_message_is_translated():
    catalog = _read(ENGLISH_PO)

    empty = [
        message.id
        for message in catalog
        if message.id
        and (not message.string or (isinstance(message.string, tuple) and not all(message.string)))
    ]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]

    assert len(catalog) > 0
    assert not empty, f"untranslated in {ENGLISH_PO.relative_to(ROOT)}: {empty}"
    assert not fuzzy, f"fuzzy in {ENGLISH_PO.relative_to(ROOT)}: {fuzzy}"


def test_english_messages_keep_the_placeholders_of_the_french_ones():
    catalog = _read(ENGLISH_PO)

    # Catalog.check() runs Babel's checkers, among them the python-format one.
    broken = [(message.id, [str(error) for error in errors]) for message, errors in catalog.check()]

    assert not broken, f"translations whose placeholders differ from the msgid: {broken}"


def test_the_english_catalogue_has_every_message_of_the_sources(tmp_path):
    extracted = _extract(tmp_path / "messages.pot")
    catalog = _read(ENGLISH_PO)

    missing = [
        message.id
        for message in extracted
        if message.id and catalog.get(message.id, context=message.context) is None
    ]

    assert len(extracted) > 0
    assert not missing, (
        "messages missing from the English catalogue; run `scripts/translations.sh update`, "
        f"then translate them: {missing}"
    )

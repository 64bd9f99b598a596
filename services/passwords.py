"""Password policy and storage (OWASP ASVS 5.0, chapter 6).

The policy: at least :data:`MIN_LENGTH` characters, at most :data:`MAX_LENGTH`, not a
common password, not built on the person's own name or email. No composition rules
(ASVS 6.2.5): a long phrase is the advice. Pure functions, no Flask, no database.

Storage: scrypt, explicitly, with OWASP's "N=2^15, r=8, p=3" parameters (32 MiB,
about 0.2 s here): werkzeug's default scrypt uses p=1, under OWASP's minimum.
"""

from __future__ import annotations

import re
import string
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 200  #: long enough for any passphrase (ASVS asks at least 64), short enough to hash
HASH_METHOD = "scrypt:32768:8:3"
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common-passwords.txt"

#: what may wrap a common word without making it less guessable: "Soleil2024!", "**azerty**"
_PADDING = string.digits + string.punctuation + string.whitespace
_PERSONAL_MIN = 4  #: shorter names ("Léa") are too likely to appear by chance


class WeakPassword(ValueError):
    """The password breaks the policy; ``reason`` is "too_short", "too_long", "common" or
    "personal" (the view turns it into a French message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased; ``#`` lines are comments."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(
            line.strip().lower() for line in handle if line.strip() and not line.startswith("# ")
        )


def _core(password: str) -> str:
    return password.lower().strip(_PADDING)


def is_common(password: str) -> bool:
    """In the list, case-insensitively, or a listed word padded with digits and symbols
    ("Marseille1313!", "2024motdepasse"), or made of fewer than 4 different characters."""
    common = common_passwords()
    lowered = password.lower()
    if lowered in common or lowered.strip() in common or len(set(lowered)) < 4:  # "abababababab"
        return True
    core = _core(password)
    return len(core) >= _PERSONAL_MIN and core in common


def _fold(text: str) -> str:
    """Lower case without accents or separators, to compare names with passwords."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def uses_personal_info(password: str, personal: tuple[str, ...] | list[str]) -> bool:
    """The password contains the email's local part, or a first or last name (ASVS 6.2.11:
    context-specific words). Parts shorter than 4 characters are ignored."""
    folded = _fold(password)
    for value in personal:
        value = value or ""
        candidates = [value.split("@", 1)[0]] if "@" in value else [value]
        for candidate in candidates:
            part = _fold(candidate)
            if len(part) >= _PERSONAL_MIN and part in folded:
                return True
    return False


def check(password: str, personal: tuple[str, ...] | list[str] = ()) -> None:
    """:raise WeakPassword: the password breaks the policy (length first, then common,
    then personal)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("too_short")
    if len(password) > MAX_LENGTH:
        raise WeakPassword("too_long")
    if is_common(password):
        raise WeakPassword("common")
    if uses_personal_info(password, personal):
        raise WeakPassword("personal")


#: scrypt with these parameters takes 32 MiB for its 0.2 s, and threads hash at once
#: (hashlib releases the GIL): the four threads of a worker logging customers in
#: together took 4 × 32 MiB on top of the worker (bench/run --pg: 249 MB peak, for a
#: target under 150). One hash at a time per process; the others wait their turn.
_ONE_AT_A_TIME = threading.Lock()


def hash_password(password: str) -> str:
    with _ONE_AT_A_TIME:
        return generate_password_hash(password, method=HASH_METHOD)


def verify_password(password_hash: str, password: str) -> bool:
    """werkzeug's ``check_password_hash``, one hash at a time (see above)."""
    with _ONE_AT_A_TIME:
        return check_password_hash(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """A hash made with other parameters (werkzeug's default, an older policy): rehash it
    at the next successful log-in, when the password is at hand."""
    return not password_hash.startswith(HASH_METHOD + "$")

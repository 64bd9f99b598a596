"""The password policy and storage of services.passwords: a table of cases, no database."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from services import passwords


@pytest.mark.parametrize("password, reason", [
    ("court", "too_short"),
    ("onze-carac.", "too_short"),  # 11 characters
    ("x" * 201, "too_long"),
    ("azertyuiop12", "common"),
    ("AZERTYUIOP12", "common"),  # case-insensitive
    ("motdepasse123", "common"),
    ("MotDePasse2024!", "common"),  # a listed word padded with a year and a symbol
    ("soleil123456", "common"),
    ("2024!!Marseille!!", "common"),
    ("qwertyuiop123", "common"),
    ("123456789012", "common"),
    ("aaaaaaaaaaaaaa", "common"),
    ("abcabcabcabcabc", "common"),  # fewer than 4 different characters
    ("p" * 200, "common"),
    ("passwordpassword", "common"),
    ("   motdepasse   ", "common"),
    ("camille.durand.vins", "personal"),  # first name
    ("Mes-vignes-DURAND", "personal"),  # last name, any case
    ("pauline.b-2026-ok", "personal"),  # the email's local part
])
def test_weak_passwords_are_refused_with_their_reason(password, reason):
    with pytest.raises(passwords.WeakPassword) as refused:
        passwords.check(password, ["pauline.b@example.com", "Camille", "Durand"])
    assert refused.value.reason == reason


@pytest.mark.parametrize("password", [
    "un-mot-de-passe",  # 15 characters, used across the tests
    "chai-demo-2026",  # the demo accounts' password
    "nouveau-secret",
    "la vigne en fleur au printemps",
    "Téléphone-rose-9",
    "kq3-vw8-zp1-ht",  # exactly 14, random
    "abcd" * 50,  # 200 characters: the maximum
])
def test_long_uncommon_passwords_pass(password):
    passwords.check(password, ["lea@cave.example", "Léa", "Martin"])


def test_short_names_are_not_held_against_the_password():
    # "Léa" (3 letters) is too likely to appear by chance in a passphrase
    passwords.check("une-leçon-de-vin", ["lea@cave.example", "Léa", "Ba"])


def test_the_shipped_list_is_large_lower_case_and_holds_french_passwords():
    common = passwords.common_passwords()
    assert len(common) > 10_000
    assert all(entry == entry.lower() and entry.strip() == entry for entry in common)
    for french in ("motdepasse", "azertyuiop", "soleil123", "doudou", "jetaime", "marseille"):
        assert french in common
    assert not any(entry.startswith("# ") for entry in common)


def test_passwords_are_hashed_with_scrypt_and_old_hashes_are_flagged_for_rehash():
    hashed = passwords.hash_password("un-mot-de-passe")
    assert hashed.startswith("scrypt:32768:8:3$")
    assert check_password_hash(hashed, "un-mot-de-passe")
    assert not check_password_hash(hashed, "un-autre-mot-de-passe")
    assert not passwords.needs_rehash(hashed)
    assert passwords.needs_rehash(generate_password_hash("x", method="scrypt"))  # werkzeug's default p=1
    assert passwords.needs_rehash(generate_password_hash("x", method="pbkdf2:sha256"))

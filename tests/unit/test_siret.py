import pytest

from services.accounts import InvalidSiret, normalise_siret, siret_checksum_ok


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("732 829 320 00074", "73282932000074"),  # a real, Luhn-valid SIRET
        ("73282932000074", "73282932000074"),
        ("732.829.320.00074", "73282932000074"),
        ("35600000000048", "35600000000048"),  # La Poste head office, Luhn-valid
        ("356 000 000 49837", "35600000049837"),  # a La Poste office: digit sum multiple of 5
    ],
)
def test_valid_sirets_are_normalised_to_fourteen_digits(raw, expected):
    assert normalise_siret(raw) == expected


@pytest.mark.parametrize("raw, reason", [
    ("", "length"),
    ("7328293200007", "length"),
    ("732829320000745", "length"),
    ("7328293200007A", "length"),
    ("73282932000075", "checksum"),
    ("12345678901234", "checksum"),
])
def test_invalid_sirets_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidSiret) as excinfo:
        normalise_siret(raw)
    assert str(excinfo.value) == reason


def test_changing_any_single_digit_breaks_the_checksum():
    valid = "73282932000074"
    assert siret_checksum_ok(valid)
    for index in range(14):
        digit = int(valid[index])
        changed = valid[:index] + str((digit + 1) % 10) + valid[index + 1:]
        assert not siret_checksum_ok(changed), changed

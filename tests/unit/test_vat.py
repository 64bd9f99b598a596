"""The one VAT rounding rule (services.pricing), by table and by property."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pricing import format_euros_plain, parse_euros, percent_of, split_vat


@pytest.mark.parametrize(
    "amount, rate, includes_vat, ht, vat, ttc",
    [
        # TTC prices of the particuliers list, at 20 %
        (1250, 2000, True, 1042, 208, 1250),  # 1250 / 1.2 = 1041.67 → 1042
        (1200, 2000, True, 1000, 200, 1200),
        (1, 2000, True, 1, 0, 1),  # 0.83 → 1
        (999, 2000, True, 833, 166, 999),  # 832.5 → 833 (half up)
        (1100, 1000, True, 1000, 100, 1100),
        (1055, 550, True, 1000, 55, 1055),
        # HT prices of the professionnels list
        (1000, 2000, False, 1000, 200, 1200),
        (833, 2000, False, 833, 167, 1000),  # 166.6 → 167
        (1, 2000, False, 1, 0, 1),  # 0.2 → 0
        (3, 2000, False, 3, 1, 4),  # 0.6 → 1
        (1000, 550, False, 1000, 55, 1055),
        (25, 2000, False, 25, 5, 30),
        (1000, 0, False, 1000, 0, 1000),
    ],
)
def test_vat_split_follows_the_documented_rounding(amount, rate, includes_vat, ht, vat, ttc):
    split = split_vat(amount, rate, includes_vat=includes_vat)
    assert (split.ht_cents, split.vat_cents, split.ttc_cents) == (ht, vat, ttc)


def test_half_a_cent_rounds_up():
    # 2.5 cents of VAT (12.5 % of 20 cents) becomes 3
    assert split_vat(20, 1250, includes_vat=False).vat_cents == 3


def test_cents_must_be_integers():
    with pytest.raises(TypeError):
        split_vat(12.5, 2000, includes_vat=True)  # type: ignore[arg-type]


rates = st.sampled_from([0, 210, 550, 1000, 2000])


@given(amount=st.integers(min_value=0, max_value=10_000_000), rate=rates)
def test_ht_plus_vat_is_ttc_from_a_ttc_price(amount, rate):
    split = split_vat(amount, rate, includes_vat=True)
    assert split.ht_cents + split.vat_cents == split.ttc_cents == amount
    assert 0 <= split.vat_cents <= split.ttc_cents


@given(amount=st.integers(min_value=0, max_value=10_000_000), rate=rates)
def test_ht_plus_vat_is_ttc_from_an_ht_price(amount, rate):
    split = split_vat(amount, rate, includes_vat=False)
    assert split.ht_cents + split.vat_cents == split.ttc_cents
    assert split.ht_cents == amount
    # VAT is within half a cent of the exact value
    assert abs(split.vat_cents * 10_000 - amount * rate) <= 5_000


@given(amount=st.integers(min_value=0, max_value=10_000_000), rate=rates)
def test_ttc_round_trip_is_stable(amount, rate):
    """An HT price turned into TTC and split back gives the same HT, at 20 % and below."""
    ttc = split_vat(amount, rate, includes_vat=False).ttc_cents
    assert abs(split_vat(ttc, rate, includes_vat=True).ht_cents - amount) <= 1


@pytest.mark.parametrize("text, cents", [
    ("12,50", 1250), ("12.5", 1250), ("12", 1200), ("0,99", 99), ("1 250,00 €", 125000), (",5", 50),
])
def test_prices_typed_in_euros_become_cents(text, cents):
    assert parse_euros(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "12,345", "1.2.3", "-5", "12,5a", "€"])
def test_malformed_prices_are_refused(text):
    with pytest.raises(ValueError):
        parse_euros(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_formatting_and_parsing_round_trip(cents):
    assert parse_euros(format_euros_plain(cents)) == cents


def test_percent_of_rounds_half_up():
    assert percent_of(1250, 1000) == 125
    assert percent_of(5, 1000) == 1  # 0.5 → 1
    assert percent_of(4, 1000) == 0

"""Shipping zones, the grid's bands, and the priced quote (pure functions)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import ShippingZone
from services.delivery import grid_price, zone_for
from services.quote import Item, price


@pytest.mark.parametrize("country, postcode, zone", [
    ("FR", "69001", ShippingZone.FR_METRO),
    ("FR", "20000", ShippingZone.CORSE),
    ("FR", "20200", ShippingZone.CORSE),
    ("FR", "97400", ShippingZone.WORLD),  # La Réunion: outside EU VAT territory
    ("BE", "1000", ShippingZone.EU),
    ("de", "10115", ShippingZone.EU),
    ("CH", "1200", ShippingZone.WORLD),
    ("GB", "SW1A", ShippingZone.WORLD),
])
def test_destinations_fall_in_the_right_zone(country, postcode, zone):
    assert zone_for(country, postcode) is zone


BANDS = [(1, 1290), (7, 1690), (13, 2290), (25, 3490)]


@pytest.mark.parametrize("bottles, expected", [(1, 1290), (6, 1290), (7, 1690), (12, 1690), (13, 2290), (24, 2290), (25, 3490), (300, 3490)])
def test_the_band_is_the_last_one_that_starts_at_or_below_the_bottle_count(bottles, expected):
    assert grid_price(BANDS, bottles) == expected


def test_no_band_means_no_delivery():
    assert grid_price([(6, 1000)], 3) is None
    assert grid_price([], 6) is None


def test_a_ttc_quote_with_shipping():
    quote = price([Item(1, "Morgon", 6, 1850, 2000), Item(2, "Fleurie", 3, 1650, 2000)],
                  prices_include_vat=True, shipping_ttc_cents=1290)
    assert quote.goods_ttc_cents == 6 * 1850 + 3 * 1650 == 16050
    assert quote.total_ttc_cents == 16050 + 1290
    assert quote.bottles == 9
    assert quote.shipping_ttc_cents == 1290
    # 11100 TTC → 9250 HT; 4950 → 4125; 1290 → 1075
    assert [line.ht_cents for line in quote.lines] == [9250, 4125, 1075]
    assert quote.total_vat_cents == quote.total_ttc_cents - quote.total_ht_cents


def test_an_ht_quote_for_a_professional():
    quote = price([Item(1, "Morgon", 12, 1200, 2000)], prices_include_vat=False, shipping_ttc_cents=1690)
    goods, shipping = quote.lines
    assert (goods.ht_cents, goods.vat_cents, goods.ttc_cents) == (14400, 2880, 17280)
    assert (shipping.ht_cents, shipping.ttc_cents) == (1408, 1690)
    assert shipping.unit_cents == 1408  # shown HT on an HT quote
    assert quote.vat_breakdown() == [(2000, 14400 + 1408, 2880 + 282)]


items = st.lists(st.builds(Item, st.integers(1, 99), st.just("x"), st.integers(1, 120), st.integers(1, 50_000),
                           st.sampled_from([550, 1000, 2000])), max_size=8)


@given(items=items, ttc=st.booleans(), shipping=st.integers(0, 10_000))
def test_every_line_and_the_totals_add_up(items, ttc, shipping):
    quote = price(items, prices_include_vat=ttc, shipping_ttc_cents=shipping)
    for line in quote.lines:
        assert line.ht_cents + line.vat_cents == line.ttc_cents
        assert line.vat_cents >= 0
    assert quote.total_ht_cents + quote.total_vat_cents == quote.total_ttc_cents
    assert quote.total_ttc_cents >= 0
    assert sum(vat for _, _, vat in quote.vat_breakdown()) == quote.total_vat_cents


def test_an_ht_cart_discounted_away_never_totals_below_zero():
    """6 cents HT less two 3-cent discounts: per-line VAT rounding would give -1 cent TTC."""
    from services.promotions import Adjustment

    quote = price([Item(1, "x", 1, 6, 2000)], prices_include_vat=False,
                  adjustments=[Adjustment("a", -3, 2000), Adjustment("b", -3, 2000)])
    assert quote.total_ht_cents == 0 and quote.total_ttc_cents == 0
    assert all(line.ht_cents + line.vat_cents == line.ttc_cents for line in quote.lines)

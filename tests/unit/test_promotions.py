"""The promotions engine (services.promotions): its contract by tables worked out by
hand, and by properties. Pure values only: no database, no app, no clock."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing import percent_of, split_vat
from services.promotions import (
    Adjustment,
    Benefit,
    Context,
    GiftLine,
    GiftOption,
    Line,
    Promotion,
    Result,
    apply,
    available,
    eligible,
)
from services.quote import Item, price

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

CREMANT = GiftOption(7, "Crémant brut", 1400, 2000)
ROSE = GiftOption(8, "Rosé 2024", 900, 2000)


def line(wine_id: int = 1, label: str = "Morgon", quantity: int = 6, unit: int = 1200, vat: int = 2000,
         colour: str = "rouge") -> Line:
    return Line(wine_id, label, quantity, unit, vat, colour)


MORGON = line()  # 6 × 12,00 € = 72,00 € at 20 %
FLEURIE = line(2, "Fleurie", 6, 1500)  # 6 × 15,00 € = 90,00 €
CREMANT_LINE = line(3, "Crémant brut", 6, 1400, colour="effervescent")  # 84,00 €
JUICE = line(5, "Jus de raisin", 2, 1450, 550, "autre")  # 2 × 14,50 € = 29,00 € at 5,5 %


def promo(benefit: Benefit = Benefit.PERCENT_OFF, **overrides: object) -> Promotion:
    values: dict[str, object] = {"id": 1, "name": "Printemps des vins", "benefit": benefit}
    if benefit is Benefit.PERCENT_OFF:
        values["percent_bp"] = 1000
    values.update(overrides)
    return Promotion(**values)  # type: ignore[arg-type]


def ctx(**overrides: object) -> Context:
    values: dict[str, object] = {"prices_include_vat": True, "customer_kind": "particulier", "now": NOW}
    values.update(overrides)
    return Context(**values)  # type: ignore[arg-type]


def summary(result: Result) -> list[tuple[int | None, int, int]]:
    """(wine_id, vat_rate_bp, amount) of each adjustment, in order."""
    return [(a.wine_id, a.vat_rate_bp, a.amount_cents) for a in result.adjustments]


# --- benefits --------------------------------------------------------------------

@pytest.mark.parametrize("promotion, lines, expected", [
    pytest.param(promo(percent_bp=1000), [MORGON], [(1, 2000, -720)],
                 id="10 % off 6 × 12,00 € is -7,20 €"),
    pytest.param(promo(percent_bp=1000), [line(quantity=3, unit=1005)], [(1, 2000, -302)],
                 id="10 % of 30,15 € is 3,015 € rounded half up to -3,02 €"),
    pytest.param(promo(percent_bp=10000), [MORGON], [(1, 2000, -7200)],
                 id="100 % off takes the whole line"),
    pytest.param(promo(percent_bp=1000), [MORGON, JUICE], [(1, 2000, -720), (5, 550, -290)],
                 id="without a target every line is discounted at its own rate"),
    pytest.param(promo(percent_bp=2000, target_wine_ids=frozenset({2})), [MORGON, FLEURIE], [(2, 2000, -1800)],
                 id="20 % off the Fleurie only: 20 % of 90,00 € is -18,00 €"),
    pytest.param(promo(percent_bp=2000, target_colours=frozenset({"effervescent"})), [MORGON, CREMANT_LINE],
                 [(3, 2000, -1680)], id="20 % off the sparkling wines: 20 % of 84,00 € is -16,80 €"),
    pytest.param(promo(percent_bp=1000, target_wine_ids=frozenset({2}), target_colours=frozenset({"effervescent"})),
                 [MORGON, FLEURIE, CREMANT_LINE], [(2, 2000, -900), (3, 2000, -840)],
                 id="a wine target and a colour target both select lines"),
    pytest.param(promo(Benefit.NTH_FREE, nth=6), [line(quantity=12, unit=950)], [(1, 2000, -1900)],
                 id="12 bottles at 9,50 € with the 6th free: 2 free, -19,00 €"),
    pytest.param(promo(Benefit.NTH_FREE, nth=6), [line(quantity=11, unit=950)], [(1, 2000, -950)],
                 id="11 bottles with the 6th free: 1 free, -9,50 €"),
    pytest.param(promo(Benefit.NTH_FREE, nth=6), [line(quantity=5, unit=950)], [],
                 id="5 bottles with the 6th free: none free"),
    pytest.param(promo(Benefit.NTH_FREE, nth=6), [line(quantity=3), line(2, "Fleurie", 3)], [],
                 id="the nth bottle counts bottles of the same wine: 3 + 3 gives none"),
    pytest.param(promo(Benefit.FIXED_PRICE, fixed_price_cents=800), [line(quantity=6, unit=950)], [(1, 2000, -900)],
                 id="fixed price 8,00 € on a 9,50 € wine × 6 is -9,00 €"),
    pytest.param(promo(Benefit.FIXED_PRICE, fixed_price_cents=1000), [line(quantity=6, unit=950)], [],
                 id="a fixed price above the wine's price takes nothing"),
    pytest.param(promo(Benefit.AMOUNT_OFF_EACH, amount_cents=50), [line(quantity=12)], [(1, 2000, -600)],
                 id="0,50 € off each of 12 bottles is -6,00 €"),
    pytest.param(promo(Benefit.AMOUNT_OFF_EACH, amount_cents=2000), [line(quantity=2)], [(1, 2000, -2400)],
                 id="20,00 € off each 12,00 € bottle stops at the line's 24,00 €"),
    # 72,00 € at 20 % + 29,00 € at 5,5 % = 101,00 €: 10,00 € × 72/101 = 7,1287 € and
    # 10,00 € × 29/101 = 2,8713 €: 7,12 + 2,87 = 9,99, the last cent to the larger remainder (0,87)
    pytest.param(promo(Benefit.AMOUNT_OFF_ORDER, amount_cents=1000), [MORGON, JUICE],
                 [(None, 2000, -713), (None, 550, -287)],
                 id="10,00 € off an order at 20 % and 5,5 % is split pro rata of each rate"),
    pytest.param(promo(Benefit.AMOUNT_OFF_ORDER, amount_cents=5000), [line(quantity=1)], [(None, 2000, -1200)],
                 id="50,00 € off an order of 12,00 € stops at 12,00 €"),
])
def test_each_benefit_takes_off_the_amount_worked_out_by_hand(promotion, lines, expected):
    result = apply([promotion], lines, ctx())
    assert summary(result) == expected
    assert result.applied == (1,)
    assert all(a.promotion_id == 1 for a in result.adjustments)


def test_an_order_discount_is_split_on_what_the_line_discounts_left():
    # 10 % off the Morgon leaves 64,80 € at 20 % and 29,00 € at 5,5 % = 93,80 €:
    # 10,00 € × 64,80/93,80 = 6,9083 € → 6,91 €; 10,00 € × 29,00/93,80 = 3,0917 € → 3,09 €
    result = apply([promo(id=1, target_wine_ids=frozenset({1})), promo(Benefit.AMOUNT_OFF_ORDER, id=2,
                                                                        amount_cents=1000)],
                   [MORGON, JUICE], ctx())
    assert summary(result) == [(1, 2000, -720), (None, 2000, -691), (None, 550, -309)]


def test_free_shipping_is_a_flag_and_no_adjustment():
    result = apply([promo(Benefit.FREE_SHIPPING)], [MORGON], ctx())
    assert result.free_shipping is True
    assert result.adjustments == ()
    assert result.applied == (1,)


def test_no_promotion_means_nothing_off_and_shipping_charged():
    result = apply([], [MORGON], ctx())
    assert result == Result((), (), False, (), (), {})


def test_a_single_gift_is_added_and_cancelled_exactly():
    result = apply([promo(Benefit.GIFT, gift_options=(CREMANT,))], [MORGON], ctx())
    assert result.gifts == (GiftLine(7, "Crémant brut", 1, 1400, 2000, 1),)
    assert result.adjustments == (Adjustment("Offert : Crémant brut (Printemps des vins)", -1400, 2000, 1, 7),)
    assert result.applied == (1,)
    assert result.pending_gift_choice == ()


def test_a_gift_of_two_bottles_is_cancelled_for_both():
    result = apply([promo(Benefit.GIFT, gift_options=(CREMANT,), gift_quantity=2)], [MORGON], ctx())
    assert result.gifts == (GiftLine(7, "Crémant brut", 2, 1400, 2000, 1),)
    assert summary(result) == [(7, 2000, -2800)]


def test_a_gift_to_choose_waits_for_the_customer():
    result = apply([promo(Benefit.GIFT, gift_options=(CREMANT, ROSE))], [MORGON], ctx())
    assert result.pending_gift_choice == (1,)
    assert (result.gifts, result.adjustments, result.applied) == ((), (), ())


def test_the_chosen_gift_is_added():
    result = apply([promo(Benefit.GIFT, gift_options=(CREMANT, ROSE))], [MORGON], ctx(gift_choices={1: 8}))
    assert result.gifts == (GiftLine(8, "Rosé 2024", 1, 900, 2000, 1),)
    assert summary(result) == [(8, 2000, -900)]
    assert result.applied == (1,)
    assert result.pending_gift_choice == ()


def test_a_choice_that_is_not_one_of_the_options_still_waits():
    result = apply([promo(Benefit.GIFT, gift_options=(CREMANT, ROSE))], [MORGON], ctx(gift_choices={1: 99}))
    assert result.pending_gift_choice == (1,)
    assert result.gifts == ()


def test_a_gift_promotion_without_any_option_does_not_apply():
    assert not eligible(promo(Benefit.GIFT), [MORGON], ctx())


# --- conditions ------------------------------------------------------------------

@pytest.mark.parametrize("overrides, lines, context, expected", [
    pytest.param({}, [MORGON], {}, True, id="no condition"),
    pytest.param({}, [], {}, False, id="an empty cart gets nothing"),
    pytest.param({"starts_at": NOW}, [MORGON], {}, True, id="starting now: the start is inclusive"),
    pytest.param({"starts_at": NOW + SECOND}, [MORGON], {}, False, id="starting in a second"),
    pytest.param({"ends_at": NOW}, [MORGON], {}, False, id="ending now: the end is exclusive"),
    pytest.param({"ends_at": NOW + SECOND}, [MORGON], {}, True, id="ending in a second"),
    pytest.param({"starts_at": NOW - DAY, "ends_at": NOW + DAY}, [MORGON], {}, True, id="within its dates"),
    pytest.param({"starts_at": NOW - 2 * DAY, "ends_at": NOW - DAY}, [MORGON], {}, False, id="over"),
    pytest.param({"min_bottles": 6}, [MORGON], {}, True, id="6 bottles for a minimum of 6"),
    pytest.param({"min_bottles": 7}, [MORGON], {}, False, id="6 bottles for a minimum of 7"),
    pytest.param({"min_bottles": 12}, [MORGON, FLEURIE], {}, True, id="6 + 6 bottles for a minimum of 12"),
    pytest.param({"min_bottles": 7, "target_wine_ids": frozenset({2})}, [line(quantity=12), line(2, "Fleurie", 6)],
                 {}, False, id="the minimum counts only the targeted bottles"),
    pytest.param({"min_amount_cents": 7200}, [MORGON], {}, True, id="72,00 € for a minimum of 72,00 €"),
    pytest.param({"min_amount_cents": 7201}, [MORGON], {}, False, id="72,00 € for a minimum of 72,01 €"),
    pytest.param({"min_amount_cents": 8000, "target_colours": frozenset({"rouge"})}, [MORGON, CREMANT_LINE], {},
                 False, id="the minimum amount counts only the targeted lines"),
    pytest.param({"min_amount_cents": 7200, "percent_bp": 5000}, [MORGON], {}, True,
                 id="the minimum amount is before the discount"),
    pytest.param({"france_only": True}, [MORGON], {"country": None}, True, id="france only, country not chosen yet"),
    pytest.param({"france_only": True}, [MORGON], {"country": "FR"}, True, id="france only, shipped to France"),
    pytest.param({"france_only": True}, [MORGON], {"country": "BE"}, False, id="france only, shipped to Belgium"),
    pytest.param({}, [MORGON], {"country": "BE"}, True, id="not france only, shipped to Belgium"),
    pytest.param({"customer_kind": "particulier"}, [MORGON], {}, True, id="for particuliers, a particulier"),
    pytest.param({"customer_kind": "professionnel"}, [MORGON], {}, False, id="for professionnels, a particulier"),
    pytest.param({"customer_kind": "professionnel"}, [MORGON], {"customer_kind": "professionnel"}, True,
                 id="for professionnels, a professionnel"),
    pytest.param({}, [MORGON], {"customer_kind": "professionnel"}, True, id="for everyone, a professionnel"),
    pytest.param({"pickup_only": True}, [MORGON], {"delivery_kind": None}, False,
                 id="pickup only, delivery not chosen yet"),
    pytest.param({"pickup_only": True}, [MORGON], {"delivery_kind": "home"}, False, id="pickup only, home delivery"),
    pytest.param({"pickup_only": True}, [MORGON], {"delivery_kind": "hand"}, False, id="pickup only, by hand"),
    pytest.param({"pickup_only": True}, [MORGON], {"delivery_kind": "pickup"}, True, id="pickup only, pickup"),
    pytest.param({"target_wine_ids": frozenset({2})}, [MORGON, FLEURIE], {}, True, id="the targeted wine in the cart"),
    pytest.param({"target_wine_ids": frozenset({2})}, [MORGON], {}, False, id="the targeted wine not in the cart"),
    pytest.param({"target_colours": frozenset({"effervescent"})}, [MORGON, CREMANT_LINE], {}, True,
                 id="the targeted colour in the cart"),
    pytest.param({"target_colours": frozenset({"blanc"})}, [MORGON, CREMANT_LINE], {}, False,
                 id="the targeted colour not in the cart"),
    pytest.param({"code": "LAVERNETTE"}, [MORGON], {}, False, id="code not entered"),
    pytest.param({"code": "LAVERNETTE"}, [MORGON], {"codes": frozenset({"LAVERNETTE"})}, True, id="code entered"),
    pytest.param({"code": "LAVERNETTE"}, [MORGON], {"codes": frozenset({"AUTRE"})}, False, id="another code entered"),
    pytest.param({"code": "LAVERNETTE", "code_usable": False}, [MORGON], {"codes": frozenset({"LAVERNETTE"})}, False,
                 id="code entered but used up"),
])
def test_a_promotion_applies_only_when_its_conditions_hold(overrides, lines, context, expected):
    promotion = promo(**overrides)
    assert eligible(promotion, lines, ctx(**context)) is expected
    result = apply([promotion], lines, ctx(**context))
    assert result.applied == ((1,) if expected else ())
    assert bool(result.adjustments) is expected


@pytest.mark.parametrize("overrides, entered, lines, expected", [
    pytest.param({}, "NOPE", [MORGON], {"NOPE": "unknown"}, id="no promotion has the code"),
    pytest.param({}, "LAVERNETTE", [MORGON], {}, id="an applied code is not refused"),
    pytest.param({"ends_at": NOW}, "LAVERNETTE", [MORGON], {"LAVERNETTE": "expired"}, id="ended"),
    pytest.param({"starts_at": NOW + DAY}, "LAVERNETTE", [MORGON], {"LAVERNETTE": "expired"}, id="not started"),
    pytest.param({"code_usable": False}, "LAVERNETTE", [MORGON], {"LAVERNETTE": "used_up"}, id="used up"),
    pytest.param({"min_bottles": 12}, "LAVERNETTE", [MORGON], {"LAVERNETTE": "conditions"}, id="too few bottles"),
    pytest.param({"ends_at": NOW, "code_usable": False, "min_bottles": 12}, "LAVERNETTE", [MORGON],
                 {"LAVERNETTE": "expired"}, id="expired comes before used up and conditions"),
    pytest.param({"code_usable": False, "min_bottles": 12}, "LAVERNETTE", [MORGON],
                 {"LAVERNETTE": "used_up"}, id="used up comes before conditions"),
])
def test_a_refused_code_says_why(overrides, entered, lines, expected):
    result = apply([promo(code="LAVERNETTE", **overrides)], lines, ctx(codes=frozenset({entered})))
    assert dict(result.refused_codes) == expected


# --- stacking --------------------------------------------------------------------

def test_an_exclusive_promotion_of_higher_priority_wins_alone():
    exclusive = promo(id=1, percent_bp=2000, cumulative=False, priority=10)
    welcome = promo(Benefit.AMOUNT_OFF_EACH, id=2, amount_cents=50, code="BIENVENUE")
    result = apply([welcome, exclusive], [MORGON], ctx(codes=frozenset({"BIENVENUE"})))
    assert result.applied == (1,)
    assert summary(result) == [(1, 2000, -1440)]  # 20 % of 72,00 €
    assert dict(result.refused_codes) == {"BIENVENUE": "not_cumulative"}


def test_an_exclusive_promotion_of_lower_priority_is_skipped():
    spring = promo(id=1, percent_bp=1000, priority=5)
    solo = promo(id=2, percent_bp=3000, cumulative=False, code="SOLO")
    result = apply([solo, spring], [MORGON], ctx(codes=frozenset({"SOLO"})))
    assert result.applied == (1,)
    assert summary(result) == [(1, 2000, -720)]
    assert dict(result.refused_codes) == {"SOLO": "not_cumulative"}


def test_at_equal_priority_the_older_promotion_comes_first():
    older_exclusive = promo(id=1, percent_bp=2000, cumulative=False)
    newer = promo(id=2, percent_bp=1000)
    assert apply([newer, older_exclusive], [MORGON], ctx()).applied == (1,)
    older = promo(id=1, percent_bp=1000)
    newer_exclusive = promo(id=2, percent_bp=2000, cumulative=False)
    assert apply([newer_exclusive, older], [MORGON], ctx()).applied == (1,)


def test_an_exclusive_promotion_whose_conditions_fail_blocks_nothing():
    exclusive = promo(id=1, percent_bp=3000, cumulative=False, priority=10, min_bottles=24, code="GROS")
    result = apply([exclusive, promo(id=2)], [MORGON], ctx(codes=frozenset({"GROS"})))
    assert result.applied == (2,)
    assert dict(result.refused_codes) == {"GROS": "conditions"}


def test_two_cumulative_promotions_add_up_on_the_original_amounts():
    # 10 % of 72,00 € (not of 69,00 €) and 0,50 € × 6: -7,20 € - 3,00 € = -10,20 €
    result = apply([promo(id=1), promo(Benefit.AMOUNT_OFF_EACH, id=2, amount_cents=50)], [MORGON], ctx())
    assert result.applied == (1, 2)
    assert summary(result) == [(1, 2000, -720), (1, 2000, -300)]


def test_a_percentage_and_a_free_bottle_both_count_on_the_full_line():
    # 12 × 9,50 € = 114,00 €: 10 % is -11,40 € and the 6th free twice is -19,00 €
    lines = [line(quantity=12, unit=950)]
    result = apply([promo(id=1), promo(Benefit.NTH_FREE, id=2, nth=6)], lines, ctx())
    assert summary(result) == [(1, 2000, -1140), (1, 2000, -1900)]


def test_stacked_discounts_never_exceed_the_line():
    # 60 % + 60 % of 72,00 €: 43,20 € then only the 28,80 € left
    result = apply([promo(id=1, percent_bp=6000), promo(id=2, percent_bp=6000)], [MORGON], ctx())
    assert summary(result) == [(1, 2000, -4320), (1, 2000, -2880)]
    assert result.applied == (1, 2)


# --- customer discount and escompte ----------------------------------------------

def test_the_customer_discount_then_the_escompte_come_after_the_promotions():
    # 72,00 € - 10 % = 64,80 €; 5 % of it is 3,24 € → 61,56 €; 2 % of that is 1,2312 € → 1,23 €
    result = apply([promo()], [MORGON], ctx(customer_discount_bp=500, cash_discount_bp=200))
    assert [(a.reason, a.amount_cents, a.promotion_id) for a in result.adjustments] == [
        ("Remise -10 % (Printemps des vins)", -720, 1),
        ("Remise client -5 %", -324, None),
        ("Escompte -2 % pour paiement comptant", -123, None),
    ]


def test_an_occasion_discount_comes_after_the_customer_discount_and_before_the_escompte():
    # 20 %: 72,00 € - 5 % = 68,40 €; the group purchase's 8 % of it is 5,472 € → 5,47 €
    # → 62,93 €; 2 % of that is 1,2586 € → 1,26 €
    # 5,5 %: 29,00 € - 1,45 € = 27,55 €; 8 % is 2,204 € → 2,20 € → 25,35 €; 2 % is 0,507 € → 0,51 €
    result = apply([], [MORGON, JUICE], ctx(customer_discount_bp=500, cash_discount_bp=200,
                                            occasion_discounts=(("Remise achat groupé -8 %", 800),)))
    assert [(a.reason, a.vat_rate_bp, a.amount_cents) for a in result.adjustments] == [
        ("Remise client -5 %", 2000, -360), ("Remise client -5 %", 550, -145),
        ("Remise achat groupé -8 %", 2000, -547), ("Remise achat groupé -8 %", 550, -220),
        ("Escompte -2 % pour paiement comptant", 2000, -126), ("Escompte -2 % pour paiement comptant", 550, -51),
    ]


def test_the_escompte_is_on_what_the_customer_discount_left():
    # 72,00 € - 10 % = 64,80 €; 2 % of 64,80 € is 1,296 € → 1,30 € (not 1,44 € of 72,00 €)
    result = apply([], [MORGON], ctx(customer_discount_bp=1000, cash_discount_bp=200))
    assert summary(result) == [(None, 2000, -720), (None, 2000, -130)]


def test_the_customer_discount_and_the_escompte_give_one_line_per_vat_rate():
    # 20 %: 72,00 € → -3,60 € → 68,40 € → 2,5 % = 1,71 €
    # 5,5 %: 29,00 € → -1,45 € → 27,55 € → 2,5 % = 0,68875 € → 0,69 €
    result = apply([], [MORGON, JUICE], ctx(customer_discount_bp=500, cash_discount_bp=250))
    assert summary(result) == [(None, 2000, -360), (None, 550, -145), (None, 2000, -171), (None, 550, -69)]
    assert result.adjustments[-1].reason == "Escompte -2,5 % pour paiement comptant"


def test_the_customer_discount_and_the_escompte_stack_with_an_exclusive_promotion():
    result = apply([promo(cumulative=False)], [MORGON], ctx(customer_discount_bp=500))
    assert summary(result) == [(1, 2000, -720), (None, 2000, -324)]


def test_nothing_left_means_no_customer_discount_nor_escompte():
    result = apply([promo(percent_bp=10000)], [MORGON], ctx(customer_discount_bp=500, cash_discount_bp=200))
    assert summary(result) == [(1, 2000, -7200)]


def test_a_full_customer_discount_leaves_nothing_for_the_escompte():
    result = apply([], [MORGON], ctx(customer_discount_bp=10000, cash_discount_bp=200))
    assert summary(result) == [(None, 2000, -7200)]


def test_an_ht_cart_is_discounted_in_its_own_basis():
    # the professionnels' list: 6 × 10,00 € HT, 10 % = -6,00 € HT, then 3 % escompte of 54,00 € = -1,62 €
    result = apply([promo(customer_kind="professionnel")], [line(unit=1000)],
                   ctx(prices_include_vat=False, customer_kind="professionnel", cash_discount_bp=300))
    assert summary(result) == [(1, 2000, -600), (None, 2000, -162)]


# --- wording ---------------------------------------------------------------------

@pytest.mark.parametrize("promotion, lines, reason", [
    (promo(code="LAVERNETTE"), [MORGON], "Remise -10 % (code LAVERNETTE)"),
    (promo(), [MORGON], "Remise -10 % (Printemps des vins)"),
    (promo(percent_bp=1250), [MORGON], "Remise -12,5 % (Printemps des vins)"),
    (promo(percent_bp=1234), [MORGON], "Remise -12,34 % (Printemps des vins)"),
    (promo(Benefit.AMOUNT_OFF_EACH, amount_cents=50), [MORGON], "Remise -0,50 € par bouteille (Printemps des vins)"),
    (promo(Benefit.AMOUNT_OFF_ORDER, amount_cents=1000), [MORGON], "Remise -10,00 € (Printemps des vins)"),
    (promo(Benefit.NTH_FREE, nth=6), [MORGON], "6e bouteille offerte — Morgon (Printemps des vins)"),
    (promo(Benefit.FIXED_PRICE, fixed_price_cents=800), [MORGON], "Prix spécial 8,00 € — Morgon (Printemps des vins)"),
    (promo(Benefit.GIFT, gift_options=(CREMANT,), code="CADEAU"), [MORGON], "Offert : Crémant brut (code CADEAU)"),
])
def test_reasons_are_in_french_and_name_the_promotion_or_its_code(promotion, lines, reason):
    result = apply([promotion], lines, ctx(codes=frozenset({"LAVERNETTE", "CADEAU"})))
    assert result.adjustments[0].reason == reason


def test_customer_discount_and_escompte_reasons():
    result = apply([], [MORGON], ctx(customer_discount_bp=500, cash_discount_bp=200))
    assert [a.reason for a in result.adjustments] == ["Remise client -5 %", "Escompte -2 % pour paiement comptant"]


# --- available and context -------------------------------------------------------

def test_available_lists_the_promotions_that_hold_in_stacking_order():
    automatic = promo(id=1)
    coded = promo(id=2, priority=5, code="PRINTEMPS")
    too_big = promo(id=3, priority=5, min_bottles=24)
    exclusive = promo(id=4, priority=1, cumulative=False)
    promotions = [automatic, coded, too_big, exclusive]
    assert available(promotions, [MORGON], ctx()) == [exclusive, automatic]
    assert available(promotions, [MORGON], ctx(codes=frozenset({"PRINTEMPS"}))) == [coded, exclusive, automatic]


def test_a_context_is_a_value():
    choices = {1: 8}
    context = ctx(gift_choices=choices, codes={"LAVERNETTE"})
    choices[1] = 7
    assert context.gift_choices == {1: 8}
    assert context.codes == frozenset({"LAVERNETTE"})
    with pytest.raises(TypeError):
        context.gift_choices[2] = 7  # type: ignore[index]
    assert dict(ctx().gift_choices) == {}


# --- properties ------------------------------------------------------------------

COLOURS = ["rouge", "blanc", "rose", "effervescent", "moelleux", "autre"]
RATES = [2000, 1000, 550, 0]
CODES = ["LAVERNETTE", "PRINTEMPS", "PRO"]
PROPERTY = settings(max_examples=300, deadline=None, database=None)


def mostly(default: object, other: st.SearchStrategy) -> st.SearchStrategy:
    """The permissive value nine times out of ten, so that many promotions apply."""
    return st.integers(0, 9).flatmap(lambda n: other if n == 0 else st.just(default))


carts = st.lists(
    st.builds(Line, wine_id=st.integers(1, 6), label=st.just("Vin"), quantity=st.integers(1, 30),
              unit_cents=st.integers(0, 5000), vat_rate_bp=st.sampled_from(RATES), colour=st.sampled_from(COLOURS)),
    max_size=6, unique_by=lambda line: line.wine_id)

gift_options = st.builds(GiftOption, wine_id=st.integers(1, 8), label=st.just("Cadeau"),
                         unit_cents=st.integers(0, 3000), vat_rate_bp=st.sampled_from(RATES))


@st.composite
def promotion_lists(draw: st.DrawFn, only_cumulative: bool = False) -> list[Promotion]:
    result = []
    for promotion_id in range(1, draw(st.integers(0, 5)) + 1):
        result.append(Promotion(
            id=promotion_id, name=f"Promotion {promotion_id}", benefit=draw(st.sampled_from(Benefit)),
            percent_bp=draw(st.integers(0, 10_000)), amount_cents=draw(st.integers(0, 5000)),
            nth=draw(st.integers(1, 12)), fixed_price_cents=draw(st.integers(0, 5000)),
            gift_options=tuple(draw(st.lists(gift_options, max_size=3))), gift_quantity=draw(st.integers(1, 3)),
            target_wine_ids=draw(mostly(None, st.frozensets(st.integers(1, 6), min_size=1))),
            target_colours=draw(mostly(None, st.frozensets(st.sampled_from(COLOURS), min_size=1))),
            min_bottles=draw(mostly(0, st.integers(1, 24))), min_amount_cents=draw(mostly(0, st.integers(1, 30_000))),
            starts_at=draw(mostly(None, st.sampled_from([NOW - DAY, NOW, NOW + DAY]))),
            ends_at=draw(mostly(None, st.sampled_from([NOW, NOW + DAY]))),
            france_only=draw(mostly(False, st.just(True))),
            customer_kind=draw(mostly(None, st.sampled_from(["particulier", "professionnel"]))),
            pickup_only=draw(mostly(False, st.just(True))),
            cumulative=True if only_cumulative else draw(st.booleans()),
            priority=draw(st.integers(0, 3)), code=draw(mostly(None, st.sampled_from(CODES))),
            code_usable=draw(mostly(True, st.just(False)))))
    return result


contexts = st.builds(
    Context, prices_include_vat=st.booleans(), customer_kind=st.sampled_from(["particulier", "professionnel"]),
    now=st.just(NOW), country=st.sampled_from([None, "FR", "BE"]),
    delivery_kind=st.sampled_from([None, "home", "pickup", "hand"]),
    codes=st.frozensets(st.sampled_from(CODES + ["INCONNU"])),
    gift_choices=st.dictionaries(st.integers(1, 5), st.integers(1, 8)),
    customer_discount_bp=mostly(0, st.integers(1, 10_000)), cash_discount_bp=mostly(0, st.integers(1, 500)))


def amounts_by_wine(result: Result) -> dict[tuple[int | None, int], int]:
    sums: dict[tuple[int | None, int], int] = defaultdict(int)
    for adjustment in result.adjustments:
        sums[adjustment.wine_id, adjustment.vat_rate_bp] += adjustment.amount_cents
    return dict(sums)


@PROPERTY
@given(lines=carts, promotions=promotion_lists(), context=contexts)
def test_every_adjustment_takes_off_and_the_goods_never_go_negative(lines, promotions, context):
    result = apply(promotions, lines, context)
    assert all(a.amount_cents <= 0 for a in result.adjustments)
    left: dict[int, int] = defaultdict(int)
    for item in [*lines, *result.gifts]:
        left[item.vat_rate_bp] += item.unit_cents * item.quantity
    for adjustment in result.adjustments:
        left[adjustment.vat_rate_bp] += adjustment.amount_cents
    assert all(amount >= 0 for amount in left.values())  # so the total too


@PROPERTY
@given(lines=carts, promotions=promotion_lists(), context=contexts)
def test_no_discount_exceeds_the_wine_it_discounts(lines, promotions, context):
    result = apply(promotions, lines, context)
    gift_promotions = {p.id for p in promotions if p.benefit is Benefit.GIFT}
    taken: dict[int, int] = defaultdict(int)
    for adjustment in result.adjustments:
        if adjustment.wine_id is not None and adjustment.promotion_id not in gift_promotions:
            taken[adjustment.wine_id] -= adjustment.amount_cents
    bought = {line.wine_id: line.unit_cents * line.quantity for line in lines}
    assert all(amount <= bought[wine_id] for wine_id, amount in taken.items())
    for gift in result.gifts:  # and a gift's adjustment is its price, exactly
        cancelled = sum(a.amount_cents for a in result.adjustments if a.promotion_id == gift.promotion_id)
        assert cancelled == -gift.unit_cents * gift.quantity


@PROPERTY
@given(lines=carts, promotions=promotion_lists(only_cumulative=True), context=contexts, data=st.data())
def test_with_cumulative_promotions_their_order_does_not_matter(lines, promotions, context, data):
    shuffled = data.draw(st.permutations(promotions))
    first, second = apply(promotions, lines, context), apply(shuffled, lines, context)
    assert amounts_by_wine(first) == amounts_by_wine(second)
    assert first.free_shipping == second.free_shipping
    assert set(first.gifts) == set(second.gifts)


@PROPERTY
@given(lines=carts, promotions=promotion_lists(only_cumulative=True), context=contexts)
def test_with_cumulative_promotions_each_line_loses_the_sum_of_its_discounts_up_to_its_amount(
        lines, promotions, context):
    result = apply(promotions, lines, without_customer_discounts(context))
    applied = [p for p in promotions if p.id in result.applied]
    for item in lines:
        amount = item.unit_cents * item.quantity
        wanted = sum(line_discount(p, item) for p in applied if targeted(p, item))
        taken = -sum(a.amount_cents for a in result.adjustments
                     if a.wine_id == item.wine_id and a.promotion_id in {p.id for p in applied}
                     and a.promotion_id not in {p.id for p in applied if p.benefit is Benefit.GIFT})
        assert taken == min(wanted, amount)


def without_customer_discounts(context: Context) -> Context:
    """The same context without the customer discount and the escompte (order-wide parts)."""
    return Context(context.prices_include_vat, context.customer_kind, context.now, context.country,
                   context.delivery_kind, context.codes, context.gift_choices)


def targeted(promotion: Promotion, item: Line) -> bool:
    if promotion.target_wine_ids is None and promotion.target_colours is None:
        return True
    return item.wine_id in (promotion.target_wine_ids or ()) or item.colour in (promotion.target_colours or ())


def line_discount(promotion: Promotion, item: Line) -> int:
    """The contract's formulas, written again from the module docstring."""
    amount = item.unit_cents * item.quantity
    return {
        Benefit.PERCENT_OFF: percent_of(amount, promotion.percent_bp),
        Benefit.AMOUNT_OFF_EACH: promotion.amount_cents * item.quantity,
        Benefit.NTH_FREE: (item.quantity // promotion.nth) * item.unit_cents,
        Benefit.FIXED_PRICE: max(item.unit_cents - promotion.fixed_price_cents, 0) * item.quantity,
    }.get(promotion.benefit, 0)


@PROPERTY
@given(lines=carts, promotions=promotion_lists(), context=contexts)
def test_ht_plus_vat_is_ttc_on_every_discounted_line(lines, promotions, context):
    result = apply(promotions, lines, context)
    basis = context.prices_include_vat
    quote = price([Item(i.wine_id, i.label, i.quantity, i.unit_cents, i.vat_rate_bp) for i in lines],
                  prices_include_vat=basis, adjustments=result.adjustments, gifts=result.gifts)
    assert all(q.ht_cents + q.vat_cents == q.ttc_cents for q in quote.lines)
    net: dict[tuple[int | None, int], int] = defaultdict(int)
    for item in [*lines, *result.gifts]:
        net[item.wine_id, item.vat_rate_bp] += item.unit_cents * item.quantity
    for adjustment in result.adjustments:
        if adjustment.wine_id is not None:
            net[adjustment.wine_id, adjustment.vat_rate_bp] += adjustment.amount_cents
    for (wine_id, rate), amount in net.items():
        split = split_vat(amount, rate, includes_vat=basis)
        assert split.ht_cents + split.vat_cents == split.ttc_cents
        assert min(split.ht_cents, split.vat_cents, split.ttc_cents) >= 0

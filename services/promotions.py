"""The promotions engine: a pure function from a priced cart, its context and the
estate's promotions to adjustment lines, gifts and free shipping.

No database, no Flask, no clock: ``now`` comes in the Context. Money is integer cents
in the cart's basis (TTC for a TTC price list, HT for an HT one); percentages are
basis points (10 % = 1000). Rounding is services.pricing's (``percent_of``), nothing
else rounds here. Tested in tests/unit/test_promotions.py, by tables and by properties.

Contract
========

Targets. A line is targeted by a promotion when the promotion has no target at all
(``target_wine_ids`` and ``target_colours`` both None: every wine), or when its wine is
in ``target_wine_ids``, or its colour in ``target_colours`` (either list matches).

Eligibility (``eligible``), every condition must hold:

* dates: ``starts_at <= now < ends_at`` (a missing bound is open; the end is exclusive);
* ``france_only``: the destination is France (``country`` None, not chosen yet, counts
  as France; otherwise "FR");
* ``customer_kind``: None, or the customer's kind;
* ``pickup_only``: ``delivery_kind == "pickup"`` (None, not chosen yet, does not qualify);
* the cart holds at least one targeted bottle, and at least ``min_bottles`` of them;
* the targeted lines are worth at least ``min_amount_cents`` before any discount;
* a GIFT promotion has at least one gift option;
* a promotion with a ``code`` needs that code entered (``context.codes``) and
  ``code_usable`` (usage limits and allowed customers, decided by the caller).

``available`` lists the eligible promotions in stacking order: the discounts whose
conditions hold for this cart now (a code promotion only once its code is entered).

Stacking (``apply``). Eligible promotions are sorted by (priority desc, id asc). If the
first one is exclusive (``cumulative`` False) it applies alone; otherwise every
cumulative one applies and the exclusive ones are skipped. Skipped promotions with a
code are reported as "not_cumulative".

Amounts, in this order:

1. Line discounts, each computed on the ORIGINAL line amount (unit × quantity), never on
   an already-discounted amount, per targeted line:

   * PERCENT_OFF: ``percent_of(line amount, percent_bp)``;
   * AMOUNT_OFF_EACH: ``amount_cents × quantity``;
   * NTH_FREE: ``(quantity // nth) × unit`` (every nth bottle of the same wine);
   * FIXED_PRICE: ``max(unit − fixed_price_cents, 0) × quantity``.

   Per line the discounts are clamped, in stacking order, so their sum never exceeds
   the line amount. With only cumulative promotions the discount of each line is
   min(sum of discounts, line amount) whatever the order of the promotions.
2. AMOUNT_OFF_ORDER, once per promotion, capped to the goods left after step 1 (and
   after earlier order discounts), split across VAT rates pro rata of what is left per
   rate, by largest remainder so the parts add up exactly: one Adjustment per rate.
3. FREE_SHIPPING sets ``free_shipping``; the shipping line and its cancellation are the
   caller's (services.quote), no Adjustment here.
4. GIFT adds a GiftLine (``gift_quantity`` × the option) and an Adjustment of exactly
   minus its price, at its VAT rate. With one option it is automatic; with several,
   ``context.gift_choices[promotion.id]`` must name one of them, otherwise the promotion
   is listed in ``pending_gift_choice`` (and not in ``applied``).
5. The customer's individual discount (``customer_discount_bp``) on what is left per
   VAT rate, then the occasion's discounts (``occasion_discounts``: a group purchase's
   tier, a pre-fair price), then the escompte (``cash_discount_bp``) on what is left
   after that: one Adjustment per rate, each capped to what is left. They always apply,
   whatever the promotions (they are not promotions).

So every Adjustment amount is < 0 (zero ones are not emitted), the discounts bearing a
wine id never exceed that wine's lines (plus its gift), and the goods total after
adjustments is >= 0, per VAT rate too.

Refused codes. Every entered code that does not apply gets one reason: "unknown" (no
promotion has it), "expired" (outside its dates), "used_up" (``code_usable`` False),
"conditions" (another condition fails), "not_cumulative" (beaten by an exclusive
promotion, or itself exclusive and beaten), checked in that order.

Reasons are French and name the promotion by its code when it has one, otherwise by
its name: "Remise -10 % (code LAVERNETTE)", "Remise -10 % (Printemps des vins)",
"Remise -0,50 € par bouteille (…)", "Remise -10,00 € (…)", "6e bouteille offerte —
Morgon (…)", "Prix spécial 8,00 € — Morgon (…)", "Offert : Crémant brut (…)",
"Remise client -5 %", "Escompte -2,5 % pour paiement comptant".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Iterable, Mapping

from services.pricing import format_euros_plain, percent_of


class Benefit(enum.Enum):
    PERCENT_OFF = "percent_off"  #: % off the targeted lines (all wines when no target)
    AMOUNT_OFF_ORDER = "amount_off_order"  #: € off the order (goods), once
    AMOUNT_OFF_EACH = "amount_off_each"  #: € off each targeted bottle
    FREE_SHIPPING = "free_shipping"
    NTH_FREE = "nth_free"  #: every nth bottle of the same targeted wine is free (6th, 12th…)
    GIFT = "gift"  #: gift_quantity units of an article free (several options: the customer chooses)
    FIXED_PRICE = "fixed_price"  #: targeted wines at a fixed unit price


LINE_BENEFITS = frozenset({Benefit.PERCENT_OFF, Benefit.AMOUNT_OFF_EACH, Benefit.NTH_FREE, Benefit.FIXED_PRICE})


@dataclass(frozen=True)
class GiftOption:
    wine_id: int
    label: str
    unit_cents: int  #: in the cart's basis
    vat_rate_bp: int


@dataclass(frozen=True)
class Promotion:
    id: int
    name: str  #: as the vigneron named it, e.g. "Printemps des vins"
    benefit: Benefit
    percent_bp: int = 0
    amount_cents: int = 0  #: AMOUNT_OFF_ORDER / AMOUNT_OFF_EACH, in the cart's basis
    nth: int = 0  #: NTH_FREE
    fixed_price_cents: int = 0  #: FIXED_PRICE, in the cart's basis
    gift_options: tuple[GiftOption, ...] = ()
    gift_quantity: int = 1
    target_wine_ids: frozenset[int] | None = None  #: None and target_colours None = every wine
    target_colours: frozenset[str] | None = None  #: "rouge", "blanc", "rose", "effervescent", "moelleux", "autre"
    min_bottles: int = 0  #: counted on the targeted lines
    min_amount_cents: int = 0  #: targeted lines before any discount, in the cart's basis
    starts_at: datetime | None = None
    ends_at: datetime | None = None  #: exclusive
    france_only: bool = False
    customer_kind: str | None = None  #: "particulier" / "professionnel" / None
    pickup_only: bool = False  #: only for "enlèvement à la propriété"
    cumulative: bool = True
    priority: int = 0
    code: str | None = None  #: required code, normalised upper-case; None = automatic
    code_usable: bool = True  #: computed by the caller from usage limits and allowed customers


@dataclass(frozen=True)
class Line:
    """A cart line as priced by the price list (a wine's promotional price is already
    in ``unit_cents``)."""

    wine_id: int
    label: str
    quantity: int
    unit_cents: int
    vat_rate_bp: int
    colour: str

    @property
    def amount_cents(self) -> int:
        return max(self.unit_cents * self.quantity, 0)


def _no_choices() -> Mapping[int, int]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Context:
    prices_include_vat: bool
    customer_kind: str  #: "particulier" / "professionnel"
    now: datetime
    country: str | None = None  #: destination; None (not chosen yet) counts as France
    delivery_kind: str | None = None  #: "home" / "pickup" / "hand" / None (not chosen yet)
    codes: frozenset[str] = frozenset()  #: codes entered, normalised upper-case
    gift_choices: Mapping[int, int] = field(default_factory=_no_choices)  #: promotion id → GiftOption.wine_id
    customer_discount_bp: int = 0  #: the customer's individual, confidential discount
    cash_discount_bp: int = 0  #: escompte for paying at once (set by the caller only when it applies)
    #: (reason, bp) of the occasion the order is for: "Remise achat groupé -5 %", the
    #: "tarif pré-salon" … applied after the customer discount, before the escompte
    occasion_discounts: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        # A caller's dict is copied, so the context stays a value.
        object.__setattr__(self, "codes", frozenset(self.codes))
        object.__setattr__(self, "gift_choices", MappingProxyType(dict(self.gift_choices)))


@dataclass(frozen=True)
class Adjustment:
    reason: str  #: French, shown to the customer: "Remise -10 % (code LAVERNETTE)"
    amount_cents: int  #: < 0, in the cart's basis; a gift's is minus the gift line's price
    vat_rate_bp: int
    promotion_id: int | None = None  #: None for the customer discount and the escompte
    wine_id: int | None = None  #: the discounted wine (or the gift); None for order-wide parts


@dataclass(frozen=True)
class GiftLine:
    wine_id: int
    label: str
    quantity: int
    unit_cents: int
    vat_rate_bp: int
    promotion_id: int


@dataclass(frozen=True)
class Result:
    adjustments: tuple[Adjustment, ...]
    gifts: tuple[GiftLine, ...]
    free_shipping: bool
    applied: tuple[int, ...]  #: promotion ids applied, in application order
    pending_gift_choice: tuple[int, ...]  #: GIFT promotions that hold but wait for the customer's choice
    refused_codes: Mapping[str, str]  #: entered code → "unknown", "expired", "used_up", "conditions", "not_cumulative"


# --- eligibility -----------------------------------------------------------------

def targets(promotion: Promotion, line: Line) -> bool:
    if promotion.target_wine_ids is None and promotion.target_colours is None:
        return True
    return (line.wine_id in (promotion.target_wine_ids or ())
            or line.colour in (promotion.target_colours or ()))


def _in_dates(promotion: Promotion, now: datetime) -> bool:
    if promotion.starts_at is not None and now < promotion.starts_at:
        return False
    return promotion.ends_at is None or now < promotion.ends_at


def _conditions_hold(promotion: Promotion, lines: Iterable[Line], context: Context) -> bool:
    """Every condition except dates and the code."""
    if promotion.france_only and context.country is not None and context.country.upper() != "FR":
        return False
    if promotion.customer_kind is not None and promotion.customer_kind != context.customer_kind:
        return False
    if promotion.pickup_only and context.delivery_kind != "pickup":
        return False
    if promotion.benefit is Benefit.GIFT and not promotion.gift_options:
        return False
    targeted = [line for line in lines if targets(promotion, line) and line.quantity > 0]
    bottles = sum(line.quantity for line in targeted)
    return (bottles >= max(promotion.min_bottles, 1)
            and sum(line.amount_cents for line in targeted) >= promotion.min_amount_cents)


def eligible(promotion: Promotion, lines: Iterable[Line], context: Context) -> bool:
    """Dates, conditions on the cart and the customer, and the code entered and usable."""
    if promotion.code is not None and (promotion.code not in context.codes or not promotion.code_usable):
        return False
    return _in_dates(promotion, context.now) and _conditions_hold(promotion, lines, context)


def _stacking_key(promotion: Promotion) -> tuple[int, int]:
    return (-promotion.priority, promotion.id)


def available(promotions: Iterable[Promotion], lines: Iterable[Line], context: Context) -> list[Promotion]:
    """The discounts whose conditions hold for this cart now, in stacking order (a code
    promotion once its code is entered). Exclusive ones beaten by another are listed too."""
    lines = tuple(lines)
    return [p for p in sorted(promotions, key=_stacking_key) if eligible(p, lines, context)]


# --- amounts ---------------------------------------------------------------------

def apply(promotions: Iterable[Promotion], lines: Iterable[Line], context: Context) -> Result:
    """Apply the eligible promotions, then the customer discount and the escompte
    (see the module docstring for the rules)."""
    lines = tuple(lines)
    promotions = tuple(promotions)
    ordered = available(promotions, lines, context)
    if ordered and not ordered[0].cumulative:
        chosen = [ordered[0]]
    else:
        chosen = [p for p in ordered if p.cumulative]
    chosen_ids = {p.id for p in chosen}

    adjustments: list[Adjustment] = []
    left = [line.amount_cents for line in lines]

    for promotion in chosen:
        if promotion.benefit not in LINE_BENEFITS:
            continue
        for index, line in enumerate(lines):
            if not targets(promotion, line):
                continue
            discount = min(max(_line_discount(promotion, line), 0), left[index])
            if discount:
                left[index] -= discount
                adjustments.append(Adjustment(_line_reason(promotion, line), -discount, line.vat_rate_bp,
                                              promotion.id, line.wine_id))

    left_by_rate: dict[int, int] = {}
    for index, line in enumerate(lines):
        left_by_rate[line.vat_rate_bp] = left_by_rate.get(line.vat_rate_bp, 0) + left[index]

    for promotion in chosen:
        if promotion.benefit is Benefit.AMOUNT_OFF_ORDER:
            reason = f"Remise -{_euros(promotion.amount_cents)} ({_source(promotion)})"
            total = min(max(promotion.amount_cents, 0), sum(left_by_rate.values()))
            for rate, part in _split_pro_rata(total, left_by_rate).items():
                left_by_rate[rate] -= part
                adjustments.append(Adjustment(reason, -part, rate, promotion.id))

    gifts: list[GiftLine] = []
    pending: list[int] = []
    free_shipping = False
    for promotion in chosen:
        if promotion.benefit is Benefit.FREE_SHIPPING:
            free_shipping = True
        elif promotion.benefit is Benefit.GIFT:
            option = _gift_option(promotion, context)
            if option is None:
                pending.append(promotion.id)
                continue
            quantity = max(promotion.gift_quantity, 1)
            gifts.append(GiftLine(option.wine_id, option.label, quantity, option.unit_cents, option.vat_rate_bp,
                                  promotion.id))
            price = max(option.unit_cents * quantity, 0)
            if price:
                adjustments.append(Adjustment(f"Offert : {option.label} ({_source(promotion)})", -price,
                                              option.vat_rate_bp, promotion.id, option.wine_id))

    for percent_bp, reason in (
        (context.customer_discount_bp, f"Remise client -{_percent(context.customer_discount_bp)}"),
        *((bp, occasion) for occasion, bp in context.occasion_discounts),
        (context.cash_discount_bp, f"Escompte -{_percent(context.cash_discount_bp)} pour paiement comptant"),
    ):
        if percent_bp <= 0:
            continue
        for rate in sorted(left_by_rate, reverse=True):
            discount = min(percent_of(left_by_rate[rate], percent_bp), left_by_rate[rate])
            if discount > 0:
                left_by_rate[rate] -= discount
                adjustments.append(Adjustment(reason, -discount, rate))

    applied = tuple(p.id for p in chosen if p.id not in pending)
    refused = _refused_codes(promotions, lines, context, chosen_ids)
    return Result(tuple(adjustments), tuple(gifts), free_shipping, applied, tuple(pending),
                  MappingProxyType(refused))


def _line_discount(promotion: Promotion, line: Line) -> int:
    """What a line-benefit promotion takes off one line, before clamping."""
    if promotion.benefit is Benefit.PERCENT_OFF:
        return percent_of(line.amount_cents, promotion.percent_bp)
    if promotion.benefit is Benefit.AMOUNT_OFF_EACH:
        return promotion.amount_cents * line.quantity
    if promotion.benefit is Benefit.NTH_FREE:
        return (line.quantity // promotion.nth) * line.unit_cents if promotion.nth > 0 else 0
    if promotion.benefit is Benefit.FIXED_PRICE:
        return max(line.unit_cents - promotion.fixed_price_cents, 0) * line.quantity
    return 0


def _split_pro_rata(total: int, weights: Mapping[int, int]) -> dict[int, int]:
    """``total`` (at most the sum of the weights) split pro rata of the weights, by largest
    remainder: the parts add up to ``total`` exactly and none exceeds its weight."""
    positive = {key: weight for key, weight in weights.items() if weight > 0}
    whole = sum(positive.values())
    if total <= 0 or whole <= 0:
        return {}
    parts = {key: total * weight // whole for key, weight in positive.items()}
    short = total - sum(parts.values())
    by_remainder = sorted(positive, key=lambda key: (-(total * positive[key] % whole), -positive[key], key))
    for key in by_remainder[:short]:
        parts[key] += 1
    return {key: part for key, part in parts.items() if part}


def _gift_option(promotion: Promotion, context: Context) -> GiftOption | None:
    if len(promotion.gift_options) == 1:
        return promotion.gift_options[0]
    chosen = context.gift_choices.get(promotion.id)
    return next((option for option in promotion.gift_options if option.wine_id == chosen), None)


def _refused_codes(promotions: tuple[Promotion, ...], lines: tuple[Line, ...], context: Context,
                   chosen_ids: set[int]) -> dict[str, str]:
    """Entered code → why it does not apply; codes that apply are absent."""
    severity = ("expired", "used_up", "conditions", "not_cumulative")  # the nearest to applying last
    refused: dict[str, str] = {}
    for code in sorted(context.codes):
        holders = [p for p in promotions if p.code == code]
        if not holders:
            refused[code] = "unknown"
            continue
        if any(p.id in chosen_ids for p in holders):
            continue
        reasons = []
        for promotion in holders:
            if not _in_dates(promotion, context.now):
                reasons.append("expired")
            elif not promotion.code_usable:
                reasons.append("used_up")
            elif not _conditions_hold(promotion, lines, context):
                reasons.append("conditions")
            else:
                reasons.append("not_cumulative")
        refused[code] = max(reasons, key=severity.index)
    return refused


# --- French wording --------------------------------------------------------------

def _source(promotion: Promotion) -> str:
    return f"code {promotion.code}" if promotion.code else (promotion.name or "promotion")


def _percent(bp: int) -> str:
    """1000 → "10 %", 250 → "2,5 %", 1234 → "12,34 %"."""
    whole, frac = divmod(bp, 100)
    return f"{whole} %" if not frac else f"{whole},{frac:02d}".rstrip("0") + " %"


def _euros(cents: int) -> str:
    return f"{format_euros_plain(cents)} €"


def _ordinal(n: int) -> str:
    return "1re" if n == 1 else f"{n}e"


def _line_reason(promotion: Promotion, line: Line) -> str:
    source = _source(promotion)
    if promotion.benefit is Benefit.PERCENT_OFF:
        return f"Remise -{_percent(promotion.percent_bp)} ({source})"
    if promotion.benefit is Benefit.AMOUNT_OFF_EACH:
        return f"Remise -{_euros(promotion.amount_cents)} par bouteille ({source})"
    if promotion.benefit is Benefit.NTH_FREE:
        return f"{_ordinal(promotion.nth)} bouteille offerte — {line.label} ({source})"
    return f"Prix spécial {_euros(promotion.fixed_price_cents)} — {line.label} ({source})"


#: public name for callers that split an order-level amount the same way (loyalty credit)
split_pro_rata = _split_pro_rata

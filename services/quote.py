"""The priced cart: a pure function from items to lines and totals.

Every amount is integer cents; VAT comes from services.pricing.split_vat, the one
rounding rule. The same Quote is shown in the cart, charged at checkout and copied
onto the order and its invoice. (The promotions engine of issue 4 adds adjustment
lines here.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from services.pricing import split_vat

SHIPPING_VAT_BP = 2000  #: shipping follows the goods' main rate: wine is at 20 %


@dataclass(frozen=True)
class Item:
    wine_id: int
    label: str
    quantity: int
    unit_cents: int  #: in the price list's basis (TTC or HT)
    vat_rate_bp: int


@dataclass(frozen=True)
class Line:
    wine_id: int | None
    label: str  #: for a discount line, its reason: "Remise -10 % (code LAVERNETTE)"
    quantity: int
    unit_cents: int
    vat_rate_bp: int
    ht_cents: int
    vat_cents: int
    ttc_cents: int
    is_shipping: bool = False
    kind: str = "goods"  #: goods, gift, discount, shipping
    promotion_id: int | None = None


@dataclass(frozen=True)
class Quote:
    prices_include_vat: bool
    lines: list[Line] = field(default_factory=list)

    @property
    def goods(self) -> list[Line]:
        """The wines bought (not gifts, discounts or shipping)."""
        return [line for line in self.lines if line.kind == "goods"]

    @property
    def gifts(self) -> list[Line]:
        return [line for line in self.lines if line.kind == "gift"]

    @property
    def discounts(self) -> list[Line]:
        return [line for line in self.lines if line.kind == "discount"]

    @property
    def bottles(self) -> int:
        return sum(line.quantity for line in self.goods)

    @property
    def goods_ht_cents(self) -> int:
        return sum(line.ht_cents for line in self.goods)

    @property
    def goods_ttc_cents(self) -> int:
        return sum(line.ttc_cents for line in self.goods)

    @property
    def shipping_ttc_cents(self) -> int:
        """Shipping as charged: the grid's price less a "frais de port offerts" line."""
        return sum(line.ttc_cents for line in self.lines if line.kind == "shipping")

    @property
    def total_ht_cents(self) -> int:
        return sum(line.ht_cents for line in self.lines)

    @property
    def total_vat_cents(self) -> int:
        return sum(line.vat_cents for line in self.lines)

    @property
    def total_ttc_cents(self) -> int:
        return sum(line.ttc_cents for line in self.lines)

    def vat_breakdown(self) -> list[tuple[int, int, int]]:
        """(rate_bp, base HT, VAT) per rate, for invoices."""
        rates: dict[int, list[int]] = {}
        for line in self.lines:
            base = rates.setdefault(line.vat_rate_bp, [0, 0])
            base[0] += line.ht_cents
            base[1] += line.vat_cents
        return [(rate, ht, vat) for rate, (ht, vat) in sorted(rates.items())]


FREE_SHIPPING = -1  #: promotion_id marker of the "frais de port offerts" line


def price(items: list[Item], *, prices_include_vat: bool, shipping_ttc_cents: int = 0,
          shipping_label: str = "Frais de port", adjustments: Sequence = (), gifts: Sequence = (),
          free_shipping: bool = False, free_shipping_label: str = "Frais de port offerts") -> Quote:
    """Goods, then gifts, then discounts (services.promotions adjustments, amounts <= 0 in
    the list's basis), then shipping. Every line is split HT / VAT / TTC by split_vat."""
    lines = [_line(item.wine_id, item.label, item.quantity, item.unit_cents, item.vat_rate_bp, prices_include_vat)
             for item in items]
    for gift in gifts:
        lines.append(_line(gift.wine_id, gift.label, gift.quantity, gift.unit_cents, gift.vat_rate_bp,
                           prices_include_vat, kind="gift", promotion_id=gift.promotion_id))
    for adjustment in adjustments:
        lines.append(_line(adjustment.wine_id, adjustment.reason, 1, adjustment.amount_cents, adjustment.vat_rate_bp,
                           prices_include_vat, kind="discount", promotion_id=adjustment.promotion_id))
    if shipping_ttc_cents:
        split = split_vat(shipping_ttc_cents, SHIPPING_VAT_BP, includes_vat=True)
        unit = shipping_ttc_cents if prices_include_vat else split.ht_cents
        lines.append(Line(None, shipping_label, 1, unit, SHIPPING_VAT_BP,
                          split.ht_cents, split.vat_cents, split.ttc_cents, is_shipping=True, kind="shipping"))
        if free_shipping:
            lines.append(Line(None, free_shipping_label, 1, -unit, SHIPPING_VAT_BP, -split.ht_cents,
                              -split.vat_cents, -split.ttc_cents, kind="shipping", promotion_id=FREE_SHIPPING))
    _no_negative_total(lines)
    return Quote(prices_include_vat=prices_include_vat, lines=lines)


def _no_negative_total(lines: list[Line]) -> None:
    """VAT is rounded per line; in an HT cart whose goods are discounted away entirely,
    those roundings can leave a TTC total of -1 or -2 cents. The last discount line's
    VAT absorbs it (its HT is unchanged), so a total is never negative."""
    total = sum(line.ttc_cents for line in lines)
    discounts = [i for i, line in enumerate(lines) if line.kind == "discount" or line.ttc_cents < 0]
    if total >= 0 or not discounts:
        return
    i = discounts[-1]
    line = lines[i]
    lines[i] = Line(line.wine_id, line.label, line.quantity, line.unit_cents, line.vat_rate_bp, line.ht_cents,
                    line.vat_cents - total, line.ttc_cents - total, line.is_shipping, line.kind, line.promotion_id)


def _line(wine_id: int | None, label: str, quantity: int, unit_cents: int, vat_rate_bp: int, includes_vat: bool,
          kind: str = "goods", promotion_id: int | None = None) -> Line:
    split = split_vat(unit_cents * quantity, vat_rate_bp, includes_vat=includes_vat)
    return Line(wine_id, label, quantity, unit_cents, vat_rate_bp, split.ht_cents, split.vat_cents,
                split.ttc_cents, kind=kind, promotion_id=promotion_id)

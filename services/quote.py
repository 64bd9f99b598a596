"""The priced cart: a pure function from items to lines and totals.

Every amount is integer cents; VAT comes from services.pricing.split_vat, the one
rounding rule. The same Quote is shown in the cart, charged at checkout and copied
onto the order and its invoice. (The promotions engine of issue 4 adds adjustment
lines here.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    label: str
    quantity: int
    unit_cents: int
    vat_rate_bp: int
    ht_cents: int
    vat_cents: int
    ttc_cents: int
    is_shipping: bool = False


@dataclass(frozen=True)
class Quote:
    prices_include_vat: bool
    lines: list[Line] = field(default_factory=list)

    @property
    def goods(self) -> list[Line]:
        return [line for line in self.lines if not line.is_shipping]

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
        return sum(line.ttc_cents for line in self.lines if line.is_shipping)

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


def price(items: list[Item], *, prices_include_vat: bool, shipping_ttc_cents: int = 0,
          shipping_label: str = "Frais de port") -> Quote:
    lines = []
    for item in items:
        split = split_vat(item.unit_cents * item.quantity, item.vat_rate_bp, includes_vat=prices_include_vat)
        lines.append(Line(item.wine_id, item.label, item.quantity, item.unit_cents, item.vat_rate_bp,
                          split.ht_cents, split.vat_cents, split.ttc_cents))
    if shipping_ttc_cents:
        split = split_vat(shipping_ttc_cents, SHIPPING_VAT_BP, includes_vat=True)
        unit = shipping_ttc_cents if prices_include_vat else split.ht_cents
        lines.append(Line(None, shipping_label, 1, unit, SHIPPING_VAT_BP,
                          split.ht_cents, split.vat_cents, split.ttc_cents, is_shipping=True))
    return Quote(prices_include_vat=prices_include_vat, lines=lines)

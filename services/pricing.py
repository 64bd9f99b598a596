"""Money rules: VAT splitting and display. The one place where VAT is rounded.

Rounding rule (documented once, tested in tests/unit/test_vat.py):

* amounts are integer cents; rates are basis points (20 % = 2000);
* from an HT amount, VAT = round_half_up(HT × rate / 10000) and TTC = HT + VAT;
* from a TTC amount, HT = round_half_up(TTC × 10000 / (10000 + rate)) and VAT = TTC − HT;
* so HT + VAT = TTC exactly, on every line; totals are sums of lines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VatSplit:
    ht_cents: int
    vat_cents: int
    ttc_cents: int


def _div_round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero (commercial rounding)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def split_vat(amount_cents: int, rate_bp: int, *, includes_vat: bool) -> VatSplit:
    if not isinstance(amount_cents, int) or not isinstance(rate_bp, int):
        raise TypeError("cents and basis points are integers")
    if includes_vat:
        ht = _div_round_half_up(amount_cents * 10_000, 10_000 + rate_bp)
        return VatSplit(ht, amount_cents - ht, amount_cents)
    vat = _div_round_half_up(amount_cents * rate_bp, 10_000)
    return VatSplit(amount_cents, vat, amount_cents + vat)


def percent_of(amount_cents: int, rate_bp: int) -> int:
    """``rate_bp`` basis points of an amount, rounded half up."""
    return _div_round_half_up(amount_cents * rate_bp, 10_000)


def parse_euros(text: str) -> int:
    """"12,50", "12.5", "12 €" → 1250. :raise ValueError: not an amount in euros."""
    cleaned = (text or "").replace("€", "").replace("\u00a0", "").replace(" ", "").strip()
    cleaned = cleaned.replace(",", ".")
    if not cleaned or cleaned.count(".") > 1:
        raise ValueError(text)
    whole, _, frac = cleaned.partition(".")
    if not whole.isdigit() and whole != "":
        raise ValueError(text)
    if frac and (not frac.isdigit() or len(frac) > 2):
        raise ValueError(text)
    return int(whole or "0") * 100 + int((frac + "00")[:2])


def format_euros_plain(cents: int) -> str:
    """1250 → "12,50" (for form fields)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole},{frac:02d}"

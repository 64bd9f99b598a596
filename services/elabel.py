"""A wine's e-label (EU regulation 2021/2117): what must be shown before a distance sale
and on the public page a bottle's QR code points to.

* Before a wine is made visible in the shop it needs its alcohol % vol, its volume and
  its allergens ("Contient des sulfites"; a wine truly without allergen says so in
  words). A wine already visible without them stays visible (they came before this
  rule) but may not lose another one; the back office flags it "Étiquette incomplète".
* The QR code encodes the label page's absolute URL (``PUBLIC_URL``): the same code
  whatever the wine's later edits, so a label printed once stays right.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from models import Estate, Wine
from services.errors import FieldError

#: what a visible wine needs, in the order the message names them
REQUIRED = ("alcohol", "volume", "allergens")
SULFITES = "Contient des sulfites"
#: nutrients per 100 ml, in tenths of a gram (Wine.<name>_dg), in the order of the
#: nutrition declaration (regulation 1169/2011, annex XV)
NUTRIENTS = ("fat", "saturates", "carbohydrate", "sugars", "protein", "salt")
#: the regulation's conversion factor (annex XIV): 1 kcal = 4.184 kJ
KJ_PER_KCAL = 4.184


class LabelIncomplete(FieldError):
    """The wine would be visible without what its e-label requires; ``missing``: codes
    of :data:`REQUIRED`, every one still missing; ``was_visible``: it is visible now
    (and would lose a piece of its label)."""

    def __init__(self, missing: tuple[str, ...], was_visible: bool) -> None:
        super().__init__("is_visible", "label_incomplete")
        self.missing, self.was_visible = missing, was_visible


def missing(alcohol_permille: int | None, volume_ml: int | None, allergens: str | None) -> tuple[str, ...]:
    """The codes of :data:`REQUIRED` these values lack, in order."""
    lacking = {"alcohol": not alcohol_permille, "volume": not volume_ml, "allergens": not (allergens or "").strip()}
    return tuple(code for code in REQUIRED if lacking[code])


def missing_of(wine: Wine) -> tuple[str, ...]:
    return missing(wine.alcohol_permille, wine.volume_ml, wine.allergens)


def check_visibility(*, shown: bool, missing_now: Collection[str], was_visible: bool,
                     missing_before: Collection[str]) -> None:
    """A wine saved with ``shown`` (its is_visible) and lacking ``missing_now``.

    :raise LabelIncomplete: it would be shown and lacks something it did not lack while
        visible before (a hidden wine, or a new one, lacks nothing "before").
    """
    if not shown or not missing_now:
        return
    tolerated = set(missing_before) if was_visible else set()
    if set(missing_now) - tolerated:
        raise LabelIncomplete(tuple(code for code in REQUIRED if code in missing_now), was_visible)


def with_sulfites(allergens: str | None) -> str:
    """The allergens field once "Contient des sulfites" is clicked: that text, put first
    when something is written already, left alone when sulfites are named."""
    text = (allergens or "").strip()
    if "sulfite" in text.lower():
        return text
    return f"{SULFITES}, {text}" if text else SULFITES


def default_bottler(estate: Estate) -> str:
    """"EARL Domaine de la Vernette, 214 route des Thorins, 71570 Romanèche-Thorins": the
    bottler shown when the wine names none (bottled at the estate)."""
    town = " ".join(part for part in (estate.postcode, estate.city) if part)
    return ", ".join(part for part in (estate.legal_name or estate.name, estate.street, town) if part)


def bottler_of(wine: Wine, estate: Estate) -> str:
    return wine.bottler.strip() or default_bottler(estate)


def energy_pair(kj: int | None, kcal: int | None) -> tuple[int | None, int | None]:
    """Both energies when one is given: the other computed with :data:`KJ_PER_KCAL`."""
    if kj is None and kcal is not None:
        kj = round(kcal * KJ_PER_KCAL)
    elif kcal is None and kj is not None:
        kcal = round(kj / KJ_PER_KCAL)
    return kj, kcal


def energies_agree(kj: int, kcal: int) -> bool:
    """kJ ≈ kcal × 4.184, within rounding and 3 % (labels round each value on its own)."""
    return abs(kj - kcal * KJ_PER_KCAL) <= max(5.0, 0.03 * kcal * KJ_PER_KCAL)


@dataclass(frozen=True)
class Nutrient:
    code: str  #: one of :data:`NUTRIENTS`
    decigrams: int  #: per 100 ml


def nutrients(wine: Wine) -> list[Nutrient]:
    """The nutrients the wine declares (None: not filled in), in declaration order."""
    values = ((code, getattr(wine, f"{code}_dg")) for code in NUTRIENTS)
    return [Nutrient(code, value) for code, value in values if value is not None]


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as one SVG path, 1 mm a module (error correction M, a
    4-module quiet zone): scalable for the label's printer.

    qrcode is imported here: about 8 MB of resident memory in every worker otherwise
    (services.two_factor says the same)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + image.to_string()


def qr_png(url: str) -> bytes:
    """The same QR code as a black and white PNG, 10 pixels a module."""
    import io

    import qrcode

    buffer = io.BytesIO()
    qrcode.make(url, box_size=10, border=4).save(buffer, format="PNG")
    return buffer.getvalue()

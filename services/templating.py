"""Jinja filters and globals shared by the shop, the back office and the emails."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import numbers as babel_numbers
from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_translations
from flask_babel import lazy_gettext as _l

from models import Colour
from services.catalogue import price_on
from services.delivery import KIND_LABELS
from services.orders import ACTION_LABELS, PAYMENT_LABELS, STATUS_LABELS

COLOUR_LABELS = {
    Colour.ROUGE: _l("Rouge"),
    Colour.BLANC: _l("Blanc"),
    Colour.ROSE: _l("Rosé"),
    Colour.EFFERVESCENT: _l("Effervescent"),
    Colour.MOELLEUX: _l("Moelleux et liquoreux"),
    Colour.AUTRE: _l("Autre"),
}
COLOUR_GROUP_LABELS = {
    Colour.ROUGE: _l("Vins rouges"),
    Colour.BLANC: _l("Vins blancs"),
    Colour.ROSE: _l("Vins rosés"),
    Colour.EFFERVESCENT: _l("Effervescents"),
    Colour.MOELLEUX: _l("Moelleux et liquoreux"),
    Colour.AUTRE: _l("Autres produits"),
}
MONTHS = [
    _l("janvier"), _l("février"), _l("mars"), _l("avril"), _l("mai"), _l("juin"),
    _l("juillet"), _l("août"), _l("septembre"), _l("octobre"), _l("novembre"), _l("décembre"),
]
PARIS = ZoneInfo("Europe/Paris")
HEALTH_WARNING = _l("L'abus d'alcool est dangereux pour la santé, à consommer avec modération.")


def euros(cents: int | None) -> str:
    """1250 → "12,50 €" in French, "€12.50" in English."""
    if cents is None:
        return ""
    return _euros(int(cents), str(get_locale() or "fr"))


@lru_cache(maxsize=8192)
def _euros(cents: int, locale: str) -> str:
    # Babel's formatting is the slow part of an order's emails and pages (28 amounts a
    # checkout): each amount is formatted once per language and worker.
    return babel_numbers.format_currency(Decimal(cents) / 100, "EUR", locale=locale)


def frdate(value: datetime | date | None) -> str:
    """dd/mm/YYYY in Paris time (stored datetimes are UTC): the date on French documents."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS)
    return value.strftime("%d/%m/%Y")


def month_name(month: int | None) -> str:
    return str(MONTHS[month - 1]) if month else ""


def _current_path() -> str:
    """The path and query of the page being shown, for "come back here" links."""
    from flask import request

    return request.full_path.rstrip("?")


def register(app: Flask) -> None:
    app.jinja_env.filters["euros"] = euros
    app.jinja_env.filters["month_name"] = month_name
    app.jinja_env.filters["frdate"] = frdate
    app.jinja_env.filters["decimal"] = format_decimal
    app.jinja_env.filters["localdate"] = lambda value: format_date(value, "short") if value else ""
    app.jinja_env.filters["localdatetime"] = lambda value: format_datetime(value, "short") if value else ""
    app.jinja_env.globals.update(
        COLOUR_LABELS=COLOUR_LABELS,
        COLOUR_GROUP_LABELS=COLOUR_GROUP_LABELS,
        HEALTH_WARNING=HEALTH_WARNING,
        current_locale=lambda: str(get_locale() or "fr"),
        price_on=price_on,
        STATUS_LABELS=STATUS_LABELS,
        ACTION_LABELS=ACTION_LABELS,
        DELIVERY_LABELS=KIND_LABELS,
        PAYMENT_LABELS=PAYMENT_LABELS,
        current_path=_current_path,
    )
    from services import page_cache

    app.jinja_env.globals["csrf_token"] = page_cache.csrf_token  # generate_csrf, signed once per session
    from services import distance_selling

    app.jinja_env.globals["excise"] = distance_selling.excise  # the PDFs' excise mention (templates/pdf/_excise.html)
    app.jinja_env.globals["MINORS_NOTICE"] = distance_selling.MINORS_NOTICE  # L3342-4, templates/_minors_notice.html
    app.jinja_env.install_gettext_callables(  # Flask-Babel's, with the catalogue looked up once
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True)


def current_translations():  # type: ignore[no-untyped-def]
    """flask_babel.get_translations(), kept for the rest of the request (or app context)
    while its language stays the same: each ``_()`` of a template looked the catalogue
    up again through five context lookups (a tenth of an order's emails). Kept beside
    Flask-Babel's own per-context state (``g._flask_babel``, pinned version); a
    ``force_locale`` block changes the language object, so it gets its catalogue."""
    from flask import g, has_app_context

    if not has_app_context():
        return get_translations()
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    kept = getattr(state, "chai_translations", None)
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    state = g.get("_flask_babel")  # created by the lookup if it was not there
    if state is not None:
        state.chai_translations = (getattr(state, "babel_locale", None), translations)
    return translations

""""Sur votre site" (seed 000: "un bouton Boutique bien en vue sur la première page de
votre site … des boutons Commander sur chacune de vos fiches vins"): copy-ready HTML
for the estate's own website. Managers only (admin.access lets no seller in).

Each snippet is one plain ``<a href>`` with its look in ``style`` attributes: it works on
any site, with no JavaScript and no stylesheet of ours. Our own page previews it with
the ``site-button`` class of static/css/chai.css (our CSP allows no inline style).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, render_template, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from markupsafe import escape

from admin import bp
from models import db
from services import catalogue

#: the snippets' look, the same as .site-button in static/css/chai.css
BUTTON_STYLE = ("display:inline-block;padding:12px 24px;background:#7b1e3a;color:#ffffff;"
                "font-family:Georgia,serif;font-size:16px;font-weight:bold;text-decoration:none;border-radius:6px")


def snippet(url: str, label: str) -> str:
    """The HTML to paste: a link opening the shop in a new tab."""
    return (f'<a href="{escape(url)}" target="_blank" rel="noopener" '
            f'style="{BUTTON_STYLE}">{escape(label)}</a>')


@dataclass(frozen=True)
class Button:
    title: str  #: what the vigneron reads above it
    url: str  #: absolute
    label: str  #: the button's text

    @property
    def html(self) -> str:
        return snippet(self.url, self.label)


def _absolute(endpoint: str, **values: object) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, estate_slug=g.estate.slug, **values)


@bp.get("/boutons")
def site_buttons():  # type: ignore[no-untyped-def]
    shop = Button(_("Bouton « Boutique »"), _absolute("shop.page"), _("Boutique"))
    wines = []
    for wine in catalogue.list_wines(db.session):
        if not wine.is_visible:
            continue
        name = " ".join(str(part) for part in (wine.name, wine.vintage or "") if part)
        wines.append((name, Button(_("Vers la fiche du vin"), _absolute("shop.wine", wine_id=wine.id), pgettext("bouton", "Commander")),
                      Button(_("Directement au panier"),
                             _absolute("shop.order_button", wine_id=wine.id, quantite=wine.order_multiple),
                             pgettext("bouton", "Commander"))))
    return render_template("admin/site_buttons.html", shop=shop, wines=wines)

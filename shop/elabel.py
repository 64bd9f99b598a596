"""A wine's public e-label (EU 2021/2117), the page its bottle's QR code opens, and that
QR code.

The rules for e-labels forbid sales and marketing content and collecting the visitor's
data: the page shows the label's information only (no price, no cart, no link to the
shop), skips the age confirmation (no wine is sold there) and sets no cookie
(shop/site.py AGE_EXEMPT_ENDPOINTS, app.py ``_check_session``). It answers for a wine
hidden from the shop too: its bottles are already sold.
"""

from __future__ import annotations

from flask import abort, current_app, g, render_template, url_for
from sqlalchemy import select

from models import Wine, db
from services import elabel
from shop import bp

def _wine_or_404(wine_id: int) -> Wine:
    """:raise 404: no wine of this estate has this id (hidden wines have their label)."""
    wine = db.session.scalars(select(Wine).where(Wine.id == wine_id, Wine.estate_id == g.estate_id)).first()
    if wine is None:
        abort(404)
    return wine


def label_url(estate_slug: str, wine_id: int) -> str:
    """The label page's absolute URL, which the QR code encodes."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("shop.wine_label", estate_slug=estate_slug,
                                                                  wine_id=wine_id)


@bp.get("/vin/<int:wine_id>/etiquette")
def wine_label(wine_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's wine, or no such wine."""
    wine = _wine_or_404(wine_id)
    html = render_template("shop/wine_label.html", estate=g.estate, wine=wine,
                           bottler=elabel.bottler_of(wine, g.estate), nutrients=elabel.nutrients(wine))
    return html, 200, {"Cache-Control": "public, max-age=300"}


def _qr(body: bytes, mimetype: str):  # type: ignore[no-untyped-def]
    return body, 200, {"Content-Type": mimetype, "Cache-Control": "public, max-age=86400"}


@bp.get("/vin/<int:wine_id>/etiquette/qr.svg")
def wine_label_qr_svg(wine_id: int):  # type: ignore[no-untyped-def]
    wine = _wine_or_404(wine_id)
    return _qr(elabel.qr_svg(label_url(g.estate_slug, wine.id)), "image/svg+xml")


@bp.get("/vin/<int:wine_id>/etiquette/qr.png")
def wine_label_qr_png(wine_id: int):  # type: ignore[no-untyped-def]
    wine = _wine_or_404(wine_id)
    return _qr(elabel.qr_png(label_url(g.estate_slug, wine.id)), "image/png")

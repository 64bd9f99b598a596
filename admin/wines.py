"""The wines table, with its inline "Modifier" row (htmx), and the full wine form."""

from __future__ import annotations

import re
from datetime import date

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from admin import bp
from admin.access import get_or_404
from admin.forms import WineForm, WineRowForm, format_decigrams
from admin.images import discard, store_uploaded
from models import Colour, PriceList, VatRate, Wine, WineImage, db, utcnow
from services import audit, catalogue, elabel, mail, reservations
from services.pricing import format_euros_plain

CHANGE_MESSAGES = {
    ("vintage", "range"): ("vintage", _l("Millésime invalide.")),
    ("stock", "negative"): ("stock", _l("Le stock ne peut pas être négatif.")),
    ("available_again", "incomplete"): ("available_again_month", _l("Indiquez le mois et l'année de retour, ou aucun des deux.")),
    ("available_again", "month"): ("available_again_month", _l("Mois invalide.")),
    ("available_again", "past"): ("available_again_month", _l("La date de retour doit être à venir.")),
    ("amount", "not_positive"): ("price", _l("Le prix doit être supérieur à zéro.")),
    ("promo_amount", "not_positive"): ("promo_price", _l("Le prix promotionnel doit être supérieur à zéro.")),
    ("promo_amount", "missing"): ("promo_price", _l("Indiquez le prix promotionnel pour activer la promotion.")),
    ("promo_amount", "not_lower"): ("promo_price", _l("Le prix promotionnel doit être inférieur au prix normal.")),
}
RESERVATION_MESSAGES = {
    "off": _l("Les réservations ne sont pas activées pour ce domaine."),
    "no_price": _l("Indiquez d'abord le prix de ce vin sur ce tarif."),
    "price_not_positive": _l("Le prix de réservation doit être supérieur à zéro."),
    "price_higher": _l("Le prix de réservation doit être égal ou inférieur au prix normal."),
    "cap_negative": _l("Le plafond ne peut pas être négatif."),
    "cap_below": _l("Le plafond ne peut pas être inférieur aux %(n)s bouteilles déjà réservées."),
}

#: what services.elabel.LabelIncomplete names, in its message
MISSING_LABELS = {
    "alcohol": _l("le degré d'alcool"),
    "volume": _l("la contenance"),
    "allergens": _l("les allergènes"),
}


def label_incomplete_message(exc: elabel.LabelIncomplete) -> str:
    """"Pour rendre ce vin visible, indiquez : le degré d'alcool, les allergènes." """
    missing = ", ".join(str(MISSING_LABELS[code]) for code in exc.missing)
    if exc.was_visible:
        return _("Pour que ce vin reste visible, indiquez : %(missing)s.", missing=missing)
    return _("Pour rendre ce vin visible, indiquez : %(missing)s.", missing=missing)


def _selected_price_list() -> PriceList:
    """The list whose prices the table shows (?tarif=<id>), "Particuliers" by default."""
    lists = catalogue.list_price_lists(db.session)
    if not lists:
        abort(404)
    wanted = request.args.get("tarif", type=int)
    for price_list in lists:
        if price_list.id == wanted:
            return price_list
    if wanted is not None:
        abort(404)
    return lists[0]


def _row(wine: Wine, price_list: PriceList, form: WineRowForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    block = "wine_row_edit" if form is not None else "wine_row"
    html = render_block("admin/wines.html", block, wine=wine, price_list=price_list,
                        price=catalogue.price_on(wine, price_list), form=form, label_missing=elabel.missing_of)
    return html, status


@bp.get("/vins")
def wines():  # type: ignore[no-untyped-def]
    price_list = _selected_price_list()
    return render_template("admin/wines.html", wines=catalogue.list_wines(db.session),
                           price_list=price_list, price_lists=catalogue.list_price_lists(db.session),
                           price_on=catalogue.price_on, label_missing=elabel.missing_of)


@bp.get("/vins/<int:wine_id>/ligne")
def wine_row(wine_id: int):  # type: ignore[no-untyped-def]
    return _row(get_or_404(Wine, wine_id), _selected_price_list())


@bp.route("/vins/<int:wine_id>/modifier", methods=["GET", "POST"])
def wine_row_edit(wine_id: int):  # type: ignore[no-untyped-def]
    wine = get_or_404(Wine, wine_id)
    price_list = _selected_price_list()
    price = catalogue.price_on(wine, price_list)
    form = WineRowForm()
    if request.method == "GET":
        _fill_row_form(form, wine, price)
        return _row(wine, price_list, form)
    if not form.validate():
        return _row(wine, price_list, form, 422)
    edit = catalogue.QuickEdit(
        amount_cents=form.price.cents,
        promo_amount_cents=form.promo_price.cents,
        promo_active=form.promo_active.data,
        vintage=form.vintage.data,
        stock=form.stock.data,
        is_available=form.is_available.data,
        available_again_month=form.available_again_month.data or None,
        available_again_year=form.available_again_year.data,
        is_visible=form.is_visible.data,
    )
    before = _audited(wine, price)
    was_available, reservation_fields = wine.is_available, _reservation_fields_shown(wine)
    try:
        catalogue.apply_quick_edit(db.session, wine, price_list, edit, date.today())
        if reservation_fields:
            reservations.update_settings(db.session, g.estate, wine, catalogue.price_on(wine, price_list),
                                         is_open=form.reservation_open.data, cap=form.reservation_cap.data,
                                         reservation_cents=form.reservation_price.cents)
    except catalogue.InvalidWineChange as exc:
        db.session.rollback()
        wine = get_or_404(Wine, wine_id)
        field, message = CHANGE_MESSAGES[(exc.field, exc.code)]
        getattr(form, field).errors = [str(message)]
        return _row(wine, price_list, form, 422)
    except elabel.LabelIncomplete as exc:
        db.session.rollback()
        wine = get_or_404(Wine, wine_id)
        form.is_visible.errors = [label_incomplete_message(exc)]
        return _row(wine, price_list, form, 422)
    except reservations.InvalidReservation as exc:
        db.session.rollback()
        wine = get_or_404(Wine, wine_id)
        getattr(form, exc.field).errors = [str(RESERVATION_MESSAGES[exc.code]) % exc.params]
        return _row(wine, price_list, form, 422)
    audit.record(db.session, g.estate.id, current_user, "price.update", wine, before,
                 _audited(wine, catalogue.price_on(wine, price_list)),
                 f"{wine.name} {wine.vintage or ''} · {price_list.name}")
    _announce_if_released(wine, was_available)
    return _row(wine, price_list)


def _reservation_fields_shown(wine: Wine) -> bool:
    """The "Modifier" row has the reservation fields (and only then are they applied)."""
    return bool(g.estate.reservations_enabled and not wine.is_available)


def _announce_if_released(wine: Wine, was_available: bool) -> None:
    """Commit; a wine just made available tells the customers whose reservations are
    now complete (once each, services.reservations.announce_ready)."""
    announced = []
    if wine.is_available and not was_available:
        announced = reservations.announce_ready(db.session, g.estate, now=utcnow(),
                                                public_url=current_app.config["PUBLIC_URL"], wine_ids=[wine.id])
    db.session.commit()
    if announced:
        mail.deliver_now()


def _audited(wine: Wine, price) -> dict:  # type: ignore[no-untyped-def]
    """What the "Modifier" row changes, for the audit log."""
    money = (audit.snapshot(price, "amount_cents", "promo_amount_cents", "promo_active") if price
             else {"amount_cents": None, "promo_amount_cents": None, "promo_active": False})
    money |= {"reservation_cents": price.reservation_cents if price else None}
    return money | audit.snapshot(wine, "vintage", "stock", "is_available", "is_visible", "reservation_open",
                                  "reservation_cap")


def _fill_row_form(form: WineRowForm, wine: Wine, price) -> None:  # type: ignore[no-untyped-def]
    form.price.data = format_euros_plain(price.amount_cents) if price else ""
    form.promo_price.data = (format_euros_plain(price.promo_amount_cents)
                             if price and price.promo_amount_cents else "")
    form.promo_active.data = bool(price and price.promo_active)
    form.vintage.data = wine.vintage
    form.stock.data = wine.stock
    form.is_available.data = wine.is_available
    form.available_again_month.data = wine.available_again_month or 0
    form.available_again_year.data = wine.available_again_year
    form.is_visible.data = wine.is_visible
    form.reservation_open.data = wine.reservation_open
    form.reservation_price.data = (format_euros_plain(price.reservation_cents)
                                   if price and price.reservation_cents else "")
    form.reservation_cap.data = wine.reservation_cap


def _vat_choices() -> list[SelectChoice]:
    rates = db.session.scalars(select(VatRate).order_by(VatRate.rate_bp.desc())).all()
    return [SelectChoice(r.id, r.name) for r in rates]


@bp.route("/vins/nouveau", methods=["GET", "POST"])
def wine_new():  # type: ignore[no-untyped-def]
    form = WineForm()
    form.vat_rate_id.choices = _vat_choices()
    if form.validate_on_submit():
        wine = Wine(estate_id=g.estate.id, name="", colour=Colour.ROUGE, vat_rate_id=form.vat_rate_id.data)
        return _save_wine(form, wine, created=True)
    if not form.is_submitted() and g.estate.country == "FR":
        form.origin.data = _("Produit de France")
    return _form_page(form, None), 422 if form.is_submitted() else 200


@bp.route("/vins/<int:wine_id>", methods=["GET", "POST"])
def wine_edit(wine_id: int):  # type: ignore[no-untyped-def]
    wine = get_or_404(Wine, wine_id)
    form = WineForm(obj=wine) if request.method == "GET" else WineForm()
    form.vat_rate_id.choices = _vat_choices()
    if request.method == "GET":
        form.colour.data = wine.colour.value
        form.alcohol.data = f"{wine.alcohol_permille / 10:g}".replace(".", ",") if wine.alcohol_permille else ""
        form.available_again_month.data = wine.available_again_month or 0
        for code in elabel.NUTRIENTS:
            getattr(form, code).data = format_decigrams(getattr(wine, f"{code}_dg"))
    elif form.validate_on_submit():
        return _save_wine(form, wine, created=False)
    return _form_page(form, wine), 422 if form.is_submitted() else 200


def _form_page(form: WineForm, wine: Wine | None) -> str:
    """The wine form; for a saved wine, its e-label's address and QR code."""
    form.bottler.render_kw = {"placeholder": elabel.default_bottler(g.estate)}
    return render_template("admin/wine_form.html", form=form, wine=wine,
                           default_bottler=elabel.default_bottler(g.estate),
                           label_url=_label_url(wine.id) if wine is not None else None,
                           label_missing=elabel.missing_of(wine) if wine is not None else ())


def _label_url(wine_id: int) -> str:
    """The wine's public e-label page, which its QR code encodes (shop/elabel.py)."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("shop.wine_label", estate_slug=g.estate.slug,
                                                                  wine_id=wine_id)


def _save_wine(form: WineForm, wine: Wine, created: bool):  # type: ignore[no-untyped-def]
    month = None if form.is_available.data else (form.available_again_month.data or None)
    year = None if form.is_available.data else form.available_again_year.data
    try:
        catalogue.check_next_availability(month, year, date.today())
    except catalogue.InvalidWineChange as exc:
        form.available_again_month.errors = [str(CHANGE_MESSAGES[(exc.field, exc.code)][1])]
        return _form_page(form, None if created else wine), 422
    try:
        elabel.check_visibility(
            shown=form.is_visible.data,
            missing_now=elabel.missing(getattr(form.alcohol, "permille", None), form.volume_ml.data, form.allergens.data),
            was_visible=not created and wine.is_visible, missing_before=() if created else elabel.missing_of(wine))
    except elabel.LabelIncomplete as exc:
        form.is_visible.errors = [label_incomplete_message(exc)]
        return _form_page(form, None if created else wine), 422
    photo = store_uploaded(form.photo, f"estate-{g.estate.id}/wines")
    if form.photo.errors:
        return _form_page(form, None if created else wine), 422
    was_available = True if created else wine.is_available
    for name in ("name", "appellation", "vintage", "volume_ml", "reference", "description", "grapes",
                 "soil", "vinification", "tasting_notes", "food_pairing", "serving_temperature",
                 "cellaring", "order_multiple", "vat_rate_id", "is_available", "is_visible"):
        setattr(wine, name, getattr(form, name).data)
    for name in ("appellation", "reference", "description", "grapes", "soil", "vinification",
                 "tasting_notes", "food_pairing", "serving_temperature", "cellaring"):
        setattr(wine, name, (getattr(wine, name) or "").strip())
    for name in ("allergens", "ingredients", "origin", "bottler"):
        setattr(wine, name, (getattr(form, name).data or "").strip())
    wine.energy_kj, wine.energy_kcal = elabel.energy_pair(form.energy_kj.data, form.energy_kcal.data)
    for code in elabel.NUTRIENTS:
        setattr(wine, f"{code}_dg", getattr(form, code).decigrams)
    wine.colour = Colour(form.colour.data)
    wine.stock = form.stock.data or 0
    wine.position = form.position.data or 0
    wine.alcohol_permille = getattr(form.alcohol, "permille", None)
    wine.available_again_month, wine.available_again_year = month, year
    old_photos = [image.path for image in wine.images] if (photo or form.remove_photo.data) else []
    if photo or form.remove_photo.data:
        wine.images.clear()
    if photo:
        wine.images.append(WineImage(estate_id=g.estate.id, path=photo, position=0))
    if created:
        db.session.add(wine)
    db.session.flush()
    _announce_if_released(wine, was_available)
    for path in old_photos:
        discard(path)
    flash(_("La cuvée « %(name)s » est enregistrée.", name=wine.name), "success")
    return redirect(url_for("admin.wines"))


@bp.get("/vins/allergenes-sulfites")
def wine_allergens_sulfites():  # type: ignore[no-untyped-def]
    """The wine form's allergens field with "Contient des sulfites" put in (the button
    beside it, htmx): what was typed is kept (services.elabel.with_sulfites)."""
    form = WineForm(formdata=None)
    form.allergens.data = elabel.with_sulfites(request.args.get("allergens", "")[:255])
    return render_block("admin/wine_form.html", "allergens_field", form=form)


def _qr_download(wine_id: int, kind: str) -> Response:
    """The QR code of the wine's e-label to print on its label, as a file to save.

    :raise 404: another estate's wine."""
    wine = get_or_404(Wine, wine_id)
    url = _label_url(wine.id)
    body, mimetype = (elabel.qr_svg(url), "image/svg+xml") if kind == "svg" else (elabel.qr_png(url), "image/png")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", wine.reference).strip("-") or str(wine.id)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="etiquette-{stem}.{kind}"'})


@bp.get("/vins/<int:wine_id>/qr-etiquette.svg")
def wine_label_qr_svg(wine_id: int):  # type: ignore[no-untyped-def]
    return _qr_download(wine_id, "svg")


@bp.get("/vins/<int:wine_id>/qr-etiquette.png")
def wine_label_qr_png(wine_id: int):  # type: ignore[no-untyped-def]
    return _qr_download(wine_id, "png")

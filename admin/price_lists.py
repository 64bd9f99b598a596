"""Price lists (tarifs) and the prices of every wine on one list."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin import bp
from admin.access import get_or_404
from admin.forms import PriceListForm
from models import PriceList, db
from services import audit, catalogue
from services.pricing import format_euros_plain, parse_euros


@bp.get("/tarifs")
def price_lists():  # type: ignore[no-untyped-def]
    return render_template("admin/price_lists.html", price_lists=catalogue.list_price_lists(db.session))


@bp.route("/tarifs/nouveau", methods=["GET", "POST"])
def price_list_new():  # type: ignore[no-untyped-def]
    form = PriceListForm()
    if form.validate_on_submit():
        if _name_taken(form.name.data.strip(), None):
            form.name.errors.append(_("Un tarif porte déjà ce nom."))
        else:
            price_list = PriceList(estate_id=g.estate.id, name="", position=len(catalogue.list_price_lists(db.session)))
            _apply(form, price_list)
            db.session.add(price_list)
            db.session.flush()
            audit.record(db.session, g.estate.id, current_user, "price_list.create", price_list, {},
                         _audited(price_list, []), price_list.name)
            db.session.commit()
            flash(_("Le tarif « %(name)s » est créé.", name=price_list.name), "success")
            return redirect(url_for("admin.price_list_edit", price_list_id=price_list.id))
    return render_template("admin/price_list_form.html", form=form, price_list=None), 422 if form.is_submitted() else 200


def _name_taken(name: str, own_id: int | None) -> bool:
    existing = db.session.scalars(select(PriceList.id).where(PriceList.name == name)).first()
    return existing is not None and existing != own_id


def _apply(form: PriceListForm, price_list: PriceList) -> None:
    price_list.name = form.name.data.strip()
    price_list.prices_include_vat = form.prices_include_vat.data == "ttc"
    price_list.sales_conditions = (form.sales_conditions.data or "").strip()
    price_list.cash_discount_bp = getattr(form.cash_discount, "bp", 0)


@bp.route("/tarifs/<int:price_list_id>", methods=["GET", "POST"])
def price_list_edit(price_list_id: int):  # type: ignore[no-untyped-def]
    """The list's settings and, in one form, the price of each wine on it
    (an empty price takes the wine off this list)."""
    price_list = get_or_404(PriceList, price_list_id)
    wines = catalogue.list_wines(db.session)
    form = PriceListForm(obj=price_list)
    errors: dict[int, str] = {}
    if not form.is_submitted():
        form.prices_include_vat.data = "ttc" if price_list.prices_include_vat else "ht"
        form.cash_discount.data = f"{price_list.cash_discount_bp / 100:g}".replace(".", ",")
    elif form.validate():
        amounts = _parse_prices(wines, errors)
        if _name_taken(form.name.data.strip(), price_list.id):
            form.name.errors.append(_("Un tarif porte déjà ce nom."))
        elif not errors:
            before = _audited(price_list, wines)
            _apply(form, price_list)
            for wine in wines:
                current = catalogue.price_on(wine, price_list)
                keep_promo = current is not None and amounts[wine.id] is not None and (
                    current.promo_amount_cents is None or current.promo_amount_cents < amounts[wine.id])
                catalogue.set_price(db.session, wine, price_list, amounts[wine.id],
                                    current.promo_amount_cents if keep_promo else None,
                                    current.promo_active if keep_promo else False)
            audit.record(db.session, g.estate.id, current_user, "price_list.update", price_list, before,
                         _audited(price_list, wines), price_list.name)
            db.session.commit()
            flash(_("Le tarif « %(name)s » est enregistré.", name=price_list.name), "success")
            return redirect(url_for("admin.price_list_edit", price_list_id=price_list.id))
    values = {w.id: request.form.get(f"price-{w.id}", _initial(w, price_list)) for w in wines}
    status = 422 if form.is_submitted() else 200
    return render_template("admin/price_list_form.html", form=form, price_list=price_list,
                           wines=wines, values=values, errors=errors), status


def _audited(price_list: PriceList, wines) -> dict:  # type: ignore[no-untyped-def]
    """The list's money settings and each wine's price on it, for the audit log."""
    prices, promos = {}, {}
    for wine in wines:
        label = f"{wine.name} {wine.vintage or ''}".strip() + f" (n° {wine.id})"
        price = catalogue.price_on(wine, price_list)
        prices[label] = price.amount_cents if price else None
        promos[label] = price.promo_amount_cents if price and price.promo_active else None
    settings = audit.snapshot(price_list, "name", "prices_include_vat", "cash_discount_bp")
    return settings | ({"prices": prices, "promo_prices": promos} if wines else {})


def _initial(wine, price_list: PriceList) -> str:  # type: ignore[no-untyped-def]
    price = catalogue.price_on(wine, price_list)
    return format_euros_plain(price.amount_cents) if price else ""


def _parse_prices(wines, errors: dict[int, str]) -> dict[int, int | None]:  # type: ignore[no-untyped-def]
    amounts: dict[int, int | None] = {}
    for wine in wines:
        text = request.form.get(f"price-{wine.id}", "").strip()
        if not text:
            amounts[wine.id] = None
            continue
        try:
            amounts[wine.id] = parse_euros(text)
        except ValueError:
            errors[wine.id] = _("Montant invalide : écrivez par exemple 12,50.")
            continue
        if amounts[wine.id] == 0:
            errors[wine.id] = _("Le prix doit être supérieur à zéro.")
    return amounts

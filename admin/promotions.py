"""Promotions and promo codes, set up by the vigneron (no need to ask the platform)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from admin import bp
from admin.access import get_or_404
from admin.promotion_forms import BENEFIT_LABELS, PromotionForm
from models import CustomerKind, EstateCustomer, Promotion, db
from services import audit, catalogue, promotion_store
from services.pricing import format_euros_plain
from services.templating import PARIS


def _choices(form: PromotionForm) -> None:
    wines = [SelectChoice(w.id, f"{w.name} {w.vintage or ''}".strip()) for w in catalogue.list_wines(db.session)]
    form.target_wines.choices = wines
    form.gift_wines.choices = wines
    customers = db.session.scalars(select(EstateCustomer).order_by(EstateCustomer.last_name, EstateCustomer.email))
    form.customers.choices = [SelectChoice(c.id, f"{c.first_name} {c.last_name} <{c.email}>".strip()) for c in customers]


def _to_utc(day, end: bool = False):  # type: ignore[no-untyped-def]
    """A date typed in Paris time → the UTC instant it starts (or, for an end date, the next day starts)."""
    if day is None:
        return None
    local = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=PARIS)
    return local.astimezone(timezone.utc)


def _values(form: PromotionForm) -> dict:
    return {
        "name": form.name.data.strip(), "benefit": form.benefit.data, "percent_bp": form.percent.bp,
        "amount_cents": form.amount.cents or 0, "nth": form.nth.data or 0,
        "fixed_price_cents": form.fixed_price.cents or 0, "gift_quantity": form.gift_quantity.data or 1,
        "target_colours": ",".join(form.target_colours.data or []), "min_bottles": form.min_bottles.data or 0,
        "min_amount_cents": form.min_amount.cents or 0, "starts_at": _to_utc(form.starts_on.data),
        "ends_at": _to_utc(form.ends_on.data, end=True), "france_only": form.france_only.data,
        "customer_kind": CustomerKind(form.customer_kind.data) if form.customer_kind.data else None,
        "pickup_only": form.pickup_only.data, "cumulative": form.cumulative.data, "priority": form.priority.data or 0,
        "code": form.code.data, "is_public": form.is_public.data, "max_uses": form.max_uses.data,
        "max_uses_per_customer": form.max_uses_per_customer.data, "is_active": form.is_active.data,
        "won_above_cents": form.won_above.cents or 0,
        "target_wine_ids": form.target_wines.data or [], "gift_wine_ids": form.gift_wines.data or [],
        "customer_ids": form.customers.data or [],
    }


@bp.get("/promotions")
def promotions():  # type: ignore[no-untyped-def]
    return render_template("admin/promotions.html", promotions=promotion_store.list_all(db.session),
                           benefit_labels=BENEFIT_LABELS)


@bp.route("/promotions/nouvelle", methods=["GET", "POST"])
def promotion_new():  # type: ignore[no-untyped-def]
    return _edit(None)


@bp.route("/promotions/<int:promotion_id>", methods=["GET", "POST"])
def promotion_edit(promotion_id: int):  # type: ignore[no-untyped-def]
    return _edit(get_or_404(Promotion, promotion_id))


def _edit(promotion: Promotion | None):  # type: ignore[no-untyped-def]
    form = PromotionForm()
    _choices(form)
    if request.method == "GET" and promotion is not None:
        _fill(form, promotion)
    if form.validate_on_submit():
        try:
            before = _audited(promotion) if promotion is not None else {}
            saved = promotion_store.save(db.session, g.estate.id, promotion, _values(form))
            audit.record(db.session, g.estate.id, current_user,
                         "promotion.update" if promotion is not None else "promotion.create", saved, before,
                         _audited(saved), f"{saved.name} {saved.code or ''}".strip())
            db.session.commit()
            flash(_("La promotion « %(name)s » est enregistrée.", name=saved.name), "success")
            return redirect(url_for("admin.promotions"))
        except promotion_store.CodeTaken:
            db.session.rollback()
            form.code.errors = [_("Une autre promotion utilise déjà ce code.")]
    status = 422 if form.is_submitted() else 200
    return render_template("admin/promotion_form.html", form=form, promotion=promotion), status


def _audited(p: Promotion) -> dict:
    return audit.row(p) | {"target_wine_ids": [w.id for w in p.target_wines], "gift_wine_ids": [w.id for w in p.gift_wines],
                           "customer_ids": [c.id for c in p.customers]}


def _fill(form: PromotionForm, p: Promotion) -> None:
    form.name.data, form.benefit.data = p.name, p.benefit
    form.percent.data = f"{p.percent_bp / 100:g}".replace(".", ",") if p.percent_bp else ""
    form.amount.data = format_euros_plain(p.amount_cents) if p.amount_cents else ""
    form.nth.data, form.gift_quantity.data = p.nth or None, p.gift_quantity
    form.fixed_price.data = format_euros_plain(p.fixed_price_cents) if p.fixed_price_cents else ""
    form.gift_wines.data = [w.id for w in p.gift_wines]
    form.target_wines.data = [w.id for w in p.target_wines]
    form.target_colours.data = [c for c in p.target_colours.split(",") if c]
    form.min_bottles.data = p.min_bottles or None
    form.min_amount.data = format_euros_plain(p.min_amount_cents) if p.min_amount_cents else ""
    form.starts_on.data = p.starts_at.astimezone(PARIS).date() if p.starts_at else None
    form.ends_on.data = (p.ends_at.astimezone(PARIS) - timedelta(days=1)).date() if p.ends_at else None
    form.france_only.data, form.pickup_only.data = p.france_only, p.pickup_only
    form.customer_kind.data = p.customer_kind.value if p.customer_kind else ""
    form.cumulative.data, form.priority.data = p.cumulative, p.priority
    form.code.data, form.is_public.data = p.code or "", p.is_public
    form.customers.data = [c.id for c in p.customers]
    form.max_uses.data, form.max_uses_per_customer.data = p.max_uses, p.max_uses_per_customer
    form.is_active.data = p.is_active
    form.won_above.data = format_euros_plain(p.won_above_cents) if p.won_above_cents else ""


@bp.post("/promotions/<int:promotion_id>/envoyer")
def promotion_send(promotion_id: int):  # type: ignore[no-untyped-def]
    """Email the code to the customers it is reserved to."""
    from flask import current_app

    from services import mail

    promotion = get_or_404(Promotion, promotion_id)
    shop_url = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("shop.cart", estate_slug=g.estate.slug)
    count = promotion_store.send_code(db.session, g.estate, promotion, shop_url)
    db.session.commit()
    mail.deliver_now()
    if count:
        flash(_("Code envoyé par email à %(n)s client(s).", n=count), "success")
    else:
        flash(_("Choisissez d'abord les clients à qui réserver ce code."), "error")
    return redirect(url_for("admin.promotion_edit", promotion_id=promotion_id))

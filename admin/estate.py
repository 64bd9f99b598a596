"""Back-office home and the estate's settings."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin import bp
from admin.forms import EstateForm
from admin.images import discard, store_uploaded
from models import db
from services import audit
from services.pricing import format_euros_plain

SETTINGS_FIELDS = ("name", "legal_name", "street", "postcode", "city", "region", "phone", "email",
                   "siret", "vat_number", "description", "sales_conditions_fr",
                   "sales_conditions_export", "shipping_delay", "mixing_allowed", "case_size")


@bp.get("/")
def dashboard():  # type: ignore[no-untyped-def]
    from services import sales_terms  # issue 15: CGV never published, or without a mediator

    return render_template("admin/dashboard.html", estate=g.estate,
                           sales_terms_todo=sales_terms.needs_completion(db.session, g.estate.id))


@bp.route("/domaine", methods=["GET", "POST"])
def settings():  # type: ignore[no-untyped-def]
    estate = g.estate
    form = EstateForm(obj=estate)
    if not form.is_submitted():
        form.minimum_order.data = format_euros_plain(estate.minimum_order_cents)
    elif form.validate() and not _refused_logo(form):
        old_logo = estate.logo_path
        new_logo = getattr(form, "stored_logo", None)
        if new_logo or form.remove_logo.data:
            estate.logo_path = new_logo
        for name in SETTINGS_FIELDS:
            value = getattr(form, name).data
            setattr(estate, name, value.strip() if isinstance(value, str) else value)
        estate.video_url = (form.video_url.data or "").strip() or None
        estate.minimum_order_cents = form.minimum_order.cents or 0
        if getattr(form.preparation_days, "days", None) is not None:  # issue 14, services.closing
            estate.preparation_days = form.preparation_days.days
        _operator_switches(form, estate)
        db.session.commit()
        if old_logo and old_logo != estate.logo_path:
            discard(old_logo)
        flash(_("Les réglages du domaine sont enregistrés."), "success")
        return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form), 422 if form.is_submitted() else 200


def _operator_switches(form: EstateForm, estate) -> None:  # type: ignore[no-untyped-def]
    """Options the platform operator switches on (seed 000: reservations); the estate's
    own staff neither sees nor changes them, whatever it posts."""
    if not current_user.is_platform_admin:
        return
    before = audit.snapshot(estate, "reservations_enabled")
    estate.reservations_enabled = bool(form.reservations_enabled.data)
    audit.record(db.session, estate.id, current_user, "estate.options", estate, before,
                 audit.snapshot(estate, "reservations_enabled"), estate.name)


def _refused_logo(form: EstateForm) -> bool:
    form.stored_logo = store_uploaded(form.logo, f"estate-{g.estate.id}")
    return bool(form.logo.errors)

"""Delivery and payment settings, and the shipping grid (zone × bottle bands)."""

from __future__ import annotations

import re

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin import bp
from models import ShippingZone, db
from services import audit, delivery, distance_selling
from services.pricing import format_euros_plain, parse_euros

EXTRA_ROWS = 2
GRID_MESSAGES = {
    "min_bottles": lambda: _("Le nombre de bouteilles doit être un entier entre 1 et 10 000."),
    "price": lambda: _("Prix invalide : écrivez par exemple 12,50."),
    "duplicate": lambda: _("Deux tranches commencent au même nombre de bouteilles."),
    "incomplete": lambda: _("Indiquez à la fois le nombre de bouteilles et le prix."),
}
FLAGS = ("allows_pickup", "allows_hand_delivery", "accepts_card", "accepts_transfer", "accepts_cheque", "accepts_cash")


@bp.route("/livraison", methods=["GET", "POST"])
def shipping():  # type: ignore[no-untyped-def]
    estate = g.estate
    errors: dict[str, str] = {}
    if request.method == "POST":
        bands = _parse_bands(errors)
        settings = _parse_settings(errors)
        before = _audited(estate)
        if not errors:
            try:
                delivery.replace_grid(db.session, estate.id, bands)
            except delivery.InvalidGrid as exc:
                errors[f"{exc.zone.value}-{exc.row - 1}"] = GRID_MESSAGES[exc.code]()
        if not errors:
            for name, value in settings.items():
                setattr(estate, name, value)
            audit.record(db.session, estate.id, current_user, "shipping.update", estate, before, _audited(estate), "")
            db.session.commit()
            flash(_("Les réglages de livraison et de paiement sont enregistrés."), "success")
            return redirect(url_for("admin.shipping"))
        db.session.rollback()
    grid = delivery.grid(db.session)
    rows = {zone: [(str(r.min_bottles), format_euros_plain(r.price_cents)) for r in grid[zone]] + [("", "")] * EXTRA_ROWS
            for zone in ShippingZone}
    if request.method == "POST":
        rows = {zone: [(request.form.get(f"{zone.value}-{i}-min", ""), request.form.get(f"{zone.value}-{i}-price", ""))
                       for i in range(_row_count(zone))] for zone in ShippingZone}
    return render_template("admin/shipping.html", rows=rows, errors=errors, estate=estate, form=request.form,
                           zone_labels=delivery.ZONE_LABELS, destinations=distance_selling.DESTINATIONS,
                           chosen=set(request.form.getlist("destination_countries")) | {"FR"}
                           if request.method == "POST" else set(distance_selling.destinations(estate)),
                           eu_countries=distance_selling.EU,
                           free_above=format_euros_plain(estate.free_shipping_above_cents)
                           if estate.free_shipping_above_cents is not None else ""), 422 if errors else 200


def _audited(estate) -> dict:  # type: ignore[no-untyped-def]
    """The grid (zone → first bottle of each band → price) and the settings, for the audit log."""
    grid = {zone.value: {str(r.min_bottles): r.price_cents for r in rates} for zone, rates in delivery.grid(db.session).items()}
    return audit.snapshot(estate, *FLAGS, "free_shipping_above_cents", "order_prefix", "notification_email",
                          "destination_countries") | {"grid": grid}


def _row_count(zone: ShippingZone) -> int:
    count = request.form.get(f"{zone.value}-rows", "")
    return min(int(count), 50) if count.isdigit() and len(count) < 4 else 0


def _parse_bands(errors: dict[str, str]) -> dict[ShippingZone, list[tuple[int, int]]]:
    bands: dict[ShippingZone, list[tuple[int, int]]] = {}
    for zone in ShippingZone:
        bands[zone] = []
        for i in range(_row_count(zone)):
            key = f"{zone.value}-{i}"
            minimum = request.form.get(f"{key}-min", "").strip()
            price = request.form.get(f"{key}-price", "").strip()
            if not minimum and not price:
                continue
            if not minimum or not price:
                errors[key] = GRID_MESSAGES["incomplete"]()
                continue
            if not minimum.isdigit() or len(minimum) > 5:
                errors[key] = GRID_MESSAGES["min_bottles"]()
                continue
            try:
                bands[zone].append((int(minimum), parse_euros(price)))
            except ValueError:
                errors[key] = GRID_MESSAGES["price"]()
    return bands


def _parse_settings(errors: dict[str, str]) -> dict[str, object]:
    settings: dict[str, object] = {name: bool(request.form.get(name)) for name in FLAGS}
    free_above = request.form.get("free_shipping_above", "").strip()
    try:
        settings["free_shipping_above_cents"] = parse_euros(free_above) if free_above else None
    except ValueError:
        errors["free_shipping_above"] = _("Montant invalide : écrivez par exemple 150.")
    prefix = request.form.get("order_prefix", "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2,8}", prefix):
        errors["order_prefix"] = _("Le préfixe compte de 2 à 8 lettres, par exemple VER.")
    settings["order_prefix"] = prefix
    email = request.form.get("notification_email", "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors["notification_email"] = _("Adresse email invalide.")
    settings["notification_email"] = email[:254]
    settings["pickup_instructions"] = request.form.get("pickup_instructions", "").strip()[:2000]
    try:  # issue 15: the countries the estate ships to, France always
        settings["destination_countries"] = distance_selling.parse_destinations(
            request.form.getlist("destination_countries")[:100])
    except distance_selling.UnknownCountry as exc:
        errors["destination_countries"] = _("Pays inconnu : %(code)s. Cochez les pays de la liste.", code=exc.code)
    if not any(settings[name] for name in ("accepts_card", "accepts_transfer", "accepts_cheque", "accepts_cash")):
        errors["payment"] = _("Gardez au moins un mode de paiement.")
    return settings

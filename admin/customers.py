"""The estate's private customer file, with each customer's loyalty account."""

from __future__ import annotations

import json

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from admin import bp
from admin.access import get_or_404
from admin.forms import parse_hundredths
from models import CustomerImport, CustomerKind, EstateCustomer, Order, PriceList, db
from services import audit, catalogue, customer_file, gdpr, loyalty, mail, referrals, uploads, vouchers
from services.database import writes_on_get
from services.tenancy import get_owned
from services.pricing import parse_euros
from services.templating import euros
from services.web import download


@bp.get("/clients")
def customers():  # type: ignore[no-untyped-def]
    return _customers_page({}, (request.args.get("q") or "").strip()[:100])


@bp.post("/clients/fidelite")
def loyalty_settings():  # type: ignore[no-untyped-def]
    """The FIDÉLITÉ button (seed 000): on or off, one % for particuliers, one for pros."""
    errors = {}
    rates = {}
    for name in ("loyalty_particulier", "loyalty_pro"):
        rates[name] = _percent_bp(request.form.get(name))
        if not 0 <= rates[name] <= 5000:
            errors[name] = _("Un pourcentage entre 0 et 50 %, par exemple 5 ou 2,5.")
    if errors:
        return _customers_page(errors, status=422)
    bonuses = {}
    for name in ("referral_sponsor", "referral_referee", "cagnotte_step", "cagnotte_voucher", "points_min_order",
                 "points_value"):
        try:
            bonuses[name] = parse_euros(request.form.get(name) or "0")
        except ValueError:
            errors[name] = _("Montant invalide : écrivez par exemple 12,50.")
    mode = request.form.get("points_mode", "off")
    rate_text = (request.form.get("points_rate") or "0").strip()
    points_rate = int(rate_text) if rate_text.isdigit() and len(rate_text) <= 5 else -1
    if mode not in ("off", "per_euro", "percent"):
        errors["points_mode"] = _("Règle de points inconnue.")
    if points_rate < 0:
        errors["points_rate"] = _("Un nombre entier de points, par exemple 1.")
    if errors:
        return _customers_page(errors, status=422)
    before = audit.snapshot(g.estate, *LOYALTY_SETTINGS)
    g.estate.referral_sponsor_bonus_cents = bonuses["referral_sponsor"]
    g.estate.referral_referee_bonus_cents = bonuses["referral_referee"]
    g.estate.cagnotte_step_cents = bonuses["cagnotte_step"]
    g.estate.cagnotte_voucher_cents = bonuses["cagnotte_voucher"]
    g.estate.points_mode = mode
    g.estate.points_rate = points_rate
    g.estate.points_min_order_cents = bonuses["points_min_order"]
    g.estate.points_value_cents = bonuses["points_value"]
    g.estate.loyalty_enabled = bool(request.form.get("loyalty_enabled"))
    g.estate.loyalty_particulier_bp, g.estate.loyalty_pro_bp = rates["loyalty_particulier"], rates["loyalty_pro"]
    audit.record(db.session, g.estate.id, current_user, "loyalty.settings", g.estate, before,
                 audit.snapshot(g.estate, *LOYALTY_SETTINGS), "")
    db.session.commit()
    flash(_("Le programme de fidélité est enregistré."), "success")
    return redirect(url_for("admin.customers"))


LOYALTY_SETTINGS = ("loyalty_enabled", "loyalty_particulier_bp", "loyalty_pro_bp", "referral_sponsor_bonus_cents",
                    "referral_referee_bonus_cents", "cagnotte_step_cents", "cagnotte_voucher_cents", "points_mode",
                    "points_rate", "points_min_order_cents", "points_value_cents")


@bp.get("/clients/<int:customer_id>")
def customer_card(customer_id: int):  # type: ignore[no-untyped-def]
    customer = get_or_404(EstateCustomer, customer_id)
    return _card(customer)


def _percent_bp(text: str | None) -> int:
    """"5" or "2,5" → basis points; -1 for anything that is not such a number."""
    try:
        return parse_hundredths(text, message="x") or 0
    except Exception:  # noqa: BLE001 — the caller says what is wrong, in French
        return -1


def _customers_page(errors: dict[str, str], query: str = "", status: int = 200):  # type: ignore[no-untyped-def]
    statement = select(EstateCustomer).order_by(EstateCustomer.last_name, EstateCustomer.email)
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(or_(func.lower(EstateCustomer.email).like(like),
                                        func.lower(EstateCustomer.last_name).like(like),
                                        func.lower(EstateCustomer.first_name).like(like)))
    rows = db.session.scalars(statement.limit(200)).all()
    return render_template("admin/customers.html", customers=rows, q=query, errors=errors,
                           referrals=referrals.for_estate(db.session)), status


def _card(customer: EstateCustomer, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    customer_orders = db.session.scalars(select(Order).where(Order.customer_id == customer.id)
                                         .order_by(Order.created_at.desc())).all()
    return render_template("admin/customer.html", customer=customer, ledger=loyalty.ledger(db.session, customer),
                           orders=customer_orders, error=error, vouchers=vouchers.of_customer(db.session, customer),
                           price_lists=catalogue.list_price_lists(db.session)), status


@bp.post("/clients/<int:customer_id>/fidelite")
def customer_loyalty(customer_id: int):  # type: ignore[no-untyped-def]
    """Credit (a breakage in transport) or debit (paid at the estate) by hand, with a reason."""
    customer = get_or_404(EstateCustomer, customer_id)
    reason = (request.form.get("reason") or "").strip()
    try:
        amount = parse_euros(request.form.get("amount", ""))
    except ValueError:
        return _card(customer, _("Montant invalide : écrivez par exemple 12,50."), 422)
    if amount <= 0 or not reason:
        return _card(customer, _("Indiquez un montant positif et un motif."), 422)
    signed = amount if request.form.get("direction") == "credit" else -amount
    before = {"balance_cents": customer.loyalty_balance_cents}
    try:
        loyalty.post(db.session, customer, signed, "manual", reason, actor_user_id=current_user.id)
        audit.record(db.session, g.estate.id, current_user, "loyalty.adjust", customer, before,
                     {"balance_cents": customer.loyalty_balance_cents}, f"{euros(signed)} · {reason}")
        db.session.commit()
    except loyalty.InsufficientBalance:
        db.session.rollback()
        customer = get_or_404(EstateCustomer, customer_id)
        return _card(customer, _("Le débit dépasse le solde d'avoir fidélité (%(balance)s) : rien n'a été débité.",
                                 balance=euros(customer.loyalty_balance_cents)), 422)
    flash(_("Compte fidélité mis à jour."), "success")
    return redirect(url_for("admin.customer_card", customer_id=customer_id))


IMPORT_ERRORS = {
    "encoding": lambda: _("Le fichier n'est ni en UTF-8 ni en Windows-1252 : enregistrez-le en CSV UTF-8."),
    "empty": lambda: _("Le fichier est vide."),
    "no_email_column": lambda: _("La première ligne doit nommer les colonnes, dont une colonne « email »."),
    "too_many_rows": lambda: _("Le fichier dépasse 5 000 lignes : découpez-le."),
    "too_large": lambda: _("Le fichier dépasse 4 Mo : découpez-le."),
    "binary": lambda: _("Ce fichier n'est pas un fichier texte CSV : enregistrez-le au format CSV depuis votre tableur."),
}


@bp.route("/clients/import", methods=["GET", "POST"])
def customers_import():  # type: ignore[no-untyped-def]
    """Upload a CSV: a preview with every problem; nothing is written until confirmed."""
    if request.method == "GET":
        return render_template("admin/customers_import.html", rows=None, pending=None, error=None)
    upload = request.files.get("file")
    data = upload.read(uploads.MAX_CSV_BYTES + 1) if upload else b""
    try:
        uploads.check_csv(data)
    except uploads.InvalidUpload as exc:
        return render_template("admin/customers_import.html", rows=None, pending=None,
                               error=IMPORT_ERRORS[exc.reason]()), 422
    try:
        text = customer_file.decode(data)
        rows = customer_file.parse(db.session, text)
    except customer_file.UnreadableFile as exc:
        return render_template("admin/customers_import.html", rows=None, pending=None,
                               error=IMPORT_ERRORS[exc.reason]()), 422
    pending = CustomerImport(estate_id=g.estate.id, filename=(upload.filename or "")[:200], content=text)
    db.session.add(pending)
    db.session.commit()
    return render_template("admin/customers_import.html", rows=rows, pending=pending, error=None)


@bp.post("/clients/import/<int:import_id>/confirmer")
def customers_import_confirm(import_id: int):  # type: ignore[no-untyped-def]
    pending = get_or_404(CustomerImport, import_id)
    rows = customer_file.parse(db.session, pending.content)
    created, updated = customer_file.apply(db.session, g.estate.id, rows)
    invited = 0
    if request.form.get("invite"):
        invited = customer_file.invite_without_account(
            db.session, g.estate, [r.values["email"] for r in rows if r.ok],
            current_app.config["SECRET_KEY"], current_app.config["PUBLIC_URL"])
    audit.record(db.session, g.estate.id, current_user, "customer.import", ("customer_import", pending.id), {},
                 {"created": created, "updated": updated, "skipped": sum(1 for r in rows if not r.ok),
                  "invited": invited}, pending.filename)
    db.session.delete(pending)
    db.session.commit()
    mail.deliver_now()
    if invited:
        flash(_("%(n)s client(s) invité(s) par email à choisir leur mot de passe.", n=invited), "success")
    flash(_("Import terminé : %(created)s client(s) ajouté(s), %(updated)s mis à jour, %(skipped)s ligne(s) écartée(s).",
            created=created, updated=updated, skipped=sum(1 for r in rows if not r.ok)), "success")
    return redirect(url_for("admin.customers"))


@bp.get("/clients/export.csv")
@writes_on_get  # the export is written to the audit log
def customers_export():  # type: ignore[no-untyped-def]
    body = customer_file.export(db.session)
    audit.record(db.session, g.estate.id, current_user, "customer.export", None, {},
                 {"rows": db.session.scalar(select(func.count(EstateCustomer.id)))}, f"clients-{g.estate.slug}.csv")
    db.session.commit()
    return download(body, "text/csv", f"clients-{g.estate.slug}.csv")


@bp.post("/clients/<int:customer_id>")
def customer_update(customer_id: int):  # type: ignore[no-untyped-def]
    """The card's editable part: type, price list, individual discount, number, notes."""
    customer = get_or_404(EstateCustomer, customer_id)
    form = request.form
    errors = []
    kind = form.get("kind", "")
    if kind not in ("particulier", "professionnel"):
        errors.append(_("Type de client inconnu."))
    price_list_id = form.get("price_list_id", "")
    price_list = None
    if price_list_id:
        price_list = get_or_404(PriceList, int(price_list_id)) if price_list_id.isdigit() and len(price_list_id) < 10 else None
        if price_list is None:
            errors.append(_("Tarif inconnu."))
    discount = _percent_bp(form.get("discount"))
    if not 0 <= discount <= 10000:
        errors.append(_("La remise individuelle est un pourcentage entre 0 et 100."))
    if len(form.get("external_number", "")) > 40 or len(form.get("notes", "")) > 5000:
        errors.append(_("Numéro client (40 caractères) ou notes (5 000 caractères) trop longs."))
    if errors:
        return _card(customer, " ".join(errors), 422)
    before = _audited(customer)
    customer.kind = CustomerKind(kind)
    customer.price_list_id = price_list.id if price_list else None
    customer.discount_bp = discount
    customer.external_number = form.get("external_number", "").strip()
    customer.notes = form.get("notes", "").strip()
    db.session.flush()
    audit.record(db.session, g.estate.id, current_user, "customer.update", customer, before, _audited(customer), "")
    db.session.commit()
    flash(_("La fiche client est enregistrée."), "success")
    return redirect(url_for("admin.customer_card", customer_id=customer_id))


@bp.post("/clients/<int:customer_id>/lettre")
def customer_newsletter(customer_id: int):  # type: ignore[no-untyped-def]
    """The vigneron records a consent to the newsletter given on paper (source
    "vigneron", field ``consent`` = "oui") or withdraws it (``consent`` = "non")."""
    from models import utcnow
    from services import mailings

    customer = get_or_404(EstateCustomer, customer_id)
    choice = request.form.get("consent", "")
    if choice not in ("oui", "non"):
        return _card(customer, _("Choisissez d'enregistrer ou de retirer l'accord du client."), 422)
    before = mailings.consent_fields(customer)
    if choice == "oui":
        mailings.give_consent(customer, "vigneron", utcnow())
    else:
        mailings.withdraw_consent(customer, utcnow())
    db.session.flush()
    audit.record(db.session, g.estate.id, current_user, "customer.newsletter", customer, before,
                 mailings.consent_fields(customer), "fiche client")
    db.session.commit()
    flash(_("L'accord du client pour la lettre d'information est enregistré.") if choice == "oui"
          else _("L'accord du client pour la lettre d'information est retiré."), "success")
    return redirect(url_for("admin.customer_card", customer_id=customer_id))


@bp.get("/clients/<int:customer_id>/donnees.json")
@writes_on_get  # the export is written to the audit log
def customer_data(customer_id: int):  # type: ignore[no-untyped-def]
    """GDPR: everything the estate holds about one customer, as JSON."""
    customer = get_or_404(EstateCustomer, customer_id)
    body = json.dumps(gdpr.export(db.session, customer), ensure_ascii=False, indent=2)
    audit.record(db.session, g.estate.id, current_user, "customer.data_export", customer, {}, {"format": "json"}, "")
    db.session.commit()
    return download(body, "application/json", f"client-{customer.id}.json")


@bp.post("/clients/<int:customer_id>/anonymiser")
def customer_anonymise(customer_id: int):  # type: ignore[no-untyped-def]
    """GDPR erasure: personal data goes, invoices keep what the law requires."""
    customer = get_or_404(EstateCustomer, customer_id)
    if request.form.get("confirm") != "oui":
        return _card(customer, _("Cochez la confirmation pour anonymiser ce client."), 422)
    orders_count = db.session.scalar(select(func.count(Order.id)).where(Order.customer_id == customer.id))
    gdpr.anonymise(db.session, customer)
    audit.record(db.session, g.estate.id, current_user, "customer.erase", customer, {"anonymised": False},
                 {"anonymised": True, "orders": orders_count}, f"n° {customer.id}")
    db.session.commit()
    flash(_("Le client est anonymisé ; ses factures restent conservées comme la loi l'exige."), "success")
    return redirect(url_for("admin.customers"))


def _audited(customer: EstateCustomer) -> dict:
    """What the card's form changes, for the audit log; the notes' text stays out of it."""
    price_list = get_owned(db.session, PriceList, customer.price_list_id) if customer.price_list_id else None
    return audit.snapshot(customer, "kind", "discount_bp", "external_number") | {
        "price_list": price_list.name if price_list else None,
        "notes_length": len(customer.notes or "")}

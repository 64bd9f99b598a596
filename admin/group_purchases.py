"""Achat groupé › Gérer mes achats groupés: the customers' requests, creating a group
purchase (from a request or from scratch), following it, closing it by hand, and its
picking list."""

from __future__ import annotations

import re
from datetime import datetime, time, timezone

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, EmailField, HiddenField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from admin import bp
from admin.access import get_or_404
from admin.forms import parse_hundredths
from models import GroupPurchase, GroupPurchaseRequest, Order, db, utcnow
from services import audit, distance_selling, mail
from services import group_purchases as groups
from services.delivery import COUNTRIES
from services.templating import PARIS
from services.web import download

_REQUIRED = _l("Ce champ est obligatoire.")
TIER_ROWS = 3
MESSAGES = {
    "past": _l("La clôture doit être dans le futur."),
    "duplicate": _l("Deux paliers ont le même nombre de bouteilles."),
    "range": _l("Un palier va de 1 à 100 000 bouteilles, pour une remise de 0,01 à 100 %."),
}
audit.ACTION_LABELS.update({"group_purchase.create": _l("Achat groupé créé"),
                           "group_purchase.close": _l("Achat groupé clôturé")})


def _whole(field: StringField, low: int, high: int, message: object) -> int | None:
    raw = (field.data or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6 or not low <= int(raw) <= high:
        raise ValidationError(message)
    return int(raw)


class GroupPurchaseForm(FlaskForm):
    request_id = HiddenField()
    organiser_name = StringField(_l("Organisateur"), validators=[DataRequired(_REQUIRED), Length(max=160)])
    organiser_email = EmailField(_l("Email de l'organisateur"),
                                 validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide.")), Length(max=254)])
    organiser_phone = StringField(_l("Téléphone de l'organisateur"), validators=[Optional(), Length(max=30)])
    estimated_bottles = StringField(_l("Bouteilles estimées par l'organisateur"),
                                    validators=[DataRequired(_REQUIRED), Length(max=6)])
    delivery_name = StringField(_l("Livrer au nom de (facultatif)"), validators=[Optional(), Length(max=160)])
    street = StringField(_l("Adresse de livraison"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[DataRequired(_REQUIRED), Length(max=10)])
    city = StringField(_l("Commune"), validators=[DataRequired(_REQUIRED), Length(max=100)])
    country = SelectField(_l("Pays"), default="FR")
    closes_on = DateField(_l("Date de clôture"), validators=[InputRequired(_l("Indiquez la date de clôture."))])
    closes_time = TimeField(_l("Heure de clôture (heure de Paris)"), default=time(20, 0),
                            validators=[InputRequired(_l("Indiquez l'heure de clôture."))])
    free_shipping = BooleanField(_l("Livraison offerte"), default=True)
    tier1_min = StringField(_l("Palier 1 : à partir de (bouteilles)"), validators=[Optional(), Length(max=6)])
    tier1_percent = StringField(_l("Palier 1 : remise (%)"), validators=[Optional(), Length(max=8)])
    tier2_min = StringField(_l("Palier 2 : à partir de (bouteilles)"), validators=[Optional(), Length(max=6)])
    tier2_percent = StringField(_l("Palier 2 : remise (%)"), validators=[Optional(), Length(max=8)])
    tier3_min = StringField(_l("Palier 3 : à partir de (bouteilles)"), validators=[Optional(), Length(max=6)])
    tier3_percent = StringField(_l("Palier 3 : remise (%)"), validators=[Optional(), Length(max=8)])
    min_bottles_per_participant = StringField(_l("Minimum de bouteilles par participant (facultatif)"),
                                              validators=[Optional(), Length(max=6)])
    message = TextAreaField(_l("Message affiché aux participants (facultatif)"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, str(name)) for code, name in COUNTRIES]

    def validate_estimated_bottles(self, field: StringField) -> None:
        field.number = _whole(field, 1, 100_000, _l("Indiquez un nombre de bouteilles entre 1 et 100 000."))

    def validate_country(self, field: SelectField) -> None:
        """Delivered to the organiser: a shipment, to a country the estate ships to (issue 15)."""
        try:
            distance_selling.check_destination(g.estate, field.data or "FR")
        except distance_selling.DestinationRefused as exc:
            raise ValidationError(exc.message()) from exc

    def validate_postcode(self, field: StringField) -> None:
        if (self.country.data or "FR") == "FR" and not re.fullmatch(r"\d{5}", (field.data or "").strip()):
            raise ValidationError(_l("Un code postal français compte 5 chiffres."))

    def validate_min_bottles_per_participant(self, field: StringField) -> None:
        field.number = _whole(field, 1, 10_000, _l("Indiquez un minimum entre 1 et 10 000 bouteilles, ou rien."))

    def validate_request_id(self, field: HiddenField) -> None:
        if field.data and (not field.data.isdigit() or len(field.data) > 9):
            raise ValidationError(_l("Demande inconnue."))

    def tiers(self) -> tuple[tuple[int, int], ...] | None:
        """The filled tier rows as (bottles, bp); None after marking the bad fields."""
        found, ok = [], True
        for n in range(1, TIER_ROWS + 1):
            low, pct = getattr(self, f"tier{n}_min"), getattr(self, f"tier{n}_percent")
            if not (low.data or "").strip() and not (pct.data or "").strip():
                continue
            try:
                bottles = _whole(low, 1, 100_000, _l("Indiquez un nombre de bouteilles entre 1 et 100 000."))
                if bottles is None:
                    raise ValidationError(_l("Indiquez à partir de combien de bouteilles."))
            except ValidationError as exc:
                low.errors = [*low.errors, str(exc)]
                ok = False
                continue
            try:
                bp = parse_hundredths(pct.data, message=_l("Pourcentage invalide : écrivez par exemple 5 ou 7,5."))
                if bp is None or not 0 < bp <= 10_000:
                    raise ValidationError(_l("Indiquez une remise entre 0,01 et 100 %."))
            except ValidationError as exc:
                pct.errors = [*pct.errors, str(exc)]
                ok = False
                continue
            found.append((bottles, bp))
        return tuple(found) if ok else None


def _closes_at(form: GroupPurchaseForm) -> datetime:
    """The closing time typed in Paris time, as UTC."""
    return datetime.combine(form.closes_on.data, form.closes_time.data, tzinfo=PARIS).astimezone(timezone.utc)


def _prefill(form: GroupPurchaseForm, req: GroupPurchaseRequest) -> None:
    form.request_id.data = str(req.id)
    form.organiser_name.data, form.organiser_email.data = req.organiser_name, req.email
    form.organiser_phone.data, form.estimated_bottles.data = req.phone, str(req.estimated_bottles)
    form.delivery_name.data = req.organiser_name
    form.street.data, form.postcode.data, form.city.data = req.street, req.postcode, req.city
    form.country.data = req.country
    if req.wished_date:
        form.closes_on.data = req.wished_date
    form.message.data = ""


def _request_or_404(raw: str | None) -> GroupPurchaseRequest | None:
    """:raise 404: another estate's request, or none with this id."""
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        abort(404)
    return get_or_404(GroupPurchaseRequest, int(raw))


@bp.get("/achats-groupes")
def group_purchases_page():  # type: ignore[no-untyped-def]
    requests = db.session.scalars(select(GroupPurchaseRequest).order_by(GroupPurchaseRequest.created_at.desc(),
                                                                        GroupPurchaseRequest.id.desc()).limit(200))
    purchases = list(db.session.scalars(select(GroupPurchase).order_by(GroupPurchase.closes_at.desc()).limit(200)))
    progress = groups.progress_by_group(db.session, [p.id for p in purchases])
    return render_template("admin/group_purchases.html", requests=list(requests), purchases=purchases,
                           progress=progress, now=utcnow(), is_open=groups.is_open, paris=groups.paris_time)


@bp.route("/achats-groupes/nouveau", methods=["GET", "POST"])
def group_purchase_new():  # type: ignore[no-untyped-def]
    form = GroupPurchaseForm()
    if not form.is_submitted():
        req = _request_or_404(request.args.get("demande"))
        if req is not None:
            _prefill(form, req)
        return render_template("admin/group_purchase_form.html", form=form)
    valid = form.validate()
    tiers = form.tiers()
    if not valid or tiers is None:
        return render_template("admin/group_purchase_form.html", form=form), 422
    req = _request_or_404(form.request_id.data)
    data = groups.GroupData(
        organiser_name=form.organiser_name.data.strip(), organiser_email=form.organiser_email.data.strip().lower(),
        organiser_phone=(form.organiser_phone.data or "").strip(), estimated_bottles=form.estimated_bottles.number,
        delivery_name=(form.delivery_name.data or "").strip() or form.organiser_name.data.strip(),
        street=form.street.data.strip(), postcode=form.postcode.data.strip(), city=form.city.data.strip(),
        country=form.country.data, closes_at=_closes_at(form), free_shipping=bool(form.free_shipping.data),
        tiers=tiers, min_bottles_per_participant=getattr(form.min_bottles_per_participant, "number", None),
        message=(form.message.data or "").strip())
    try:
        group = groups.create(db.session, g.estate, data, now=utcnow(), link_base=_link_base(), request=req)
    except groups.InvalidGroupPurchase as exc:
        db.session.rollback()
        field = form.closes_on if exc.field == "closes_on" else form.tier1_min
        field.errors = [*field.errors, str(MESSAGES[exc.code])]
        return render_template("admin/group_purchase_form.html", form=form), 422
    audit.record(db.session, g.estate.id, current_user, "group_purchase.create", group, {},
                 audit.snapshot(group, "organiser_name", "closes_at", "free_shipping", "discount_bp"),
                 group.organiser_name)
    db.session.commit()
    mail.deliver_now()
    flash(_("L'achat groupé de %(name)s est créé : le lien est envoyé à %(email)s.", name=group.organiser_name,
            email=group.organiser_email), "success")
    return redirect(url_for("admin.group_purchase_detail", group_id=group.id))


def _link_base() -> str:
    from shop.group_purchases import link_base

    return link_base()


@bp.get("/achats-groupes/<int:group_id>")
def group_purchase_detail(group_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's group purchase."""
    group = get_or_404(GroupPurchase, group_id)
    orders = list(db.session.scalars(select(Order).where(Order.group_purchase_id == group.id).order_by(Order.id)))
    return render_template("admin/group_purchase.html", group=group, orders=orders, link=_link_base() + group.token,
                           progress=groups.progress(db.session, group.id), is_open=groups.is_open(group, utcnow()),
                           closes_at=groups.paris_time(group.closes_at), discount=groups.percent_label(group.discount_bp),
                           address=groups.address_lines(group), percent=groups.percent_label)


@bp.post("/achats-groupes/<int:group_id>/cloturer")
def group_purchase_close(group_id: int):  # type: ignore[no-untyped-def]
    """Close by hand: the recap and the organiser's summary go out once."""
    group = get_or_404(GroupPurchase, group_id)
    actor = f"{current_user.first_name} {current_user.last_name}".strip() or current_user.email
    if groups.close(db.session, group, utcnow(), actor):
        audit.record(db.session, g.estate.id, current_user, "group_purchase.close", group, {"status": "open"},
                     {"status": "closed"}, group.organiser_name)
        db.session.commit()
        mail.deliver_now()
        flash(_("L'achat groupé est clôturé : le récapitulatif et la liste de préparation vous sont envoyés."), "success")
    else:
        db.session.rollback()
        flash(_("Cet achat groupé était déjà clôturé."), "info")
    return redirect(url_for("admin.group_purchase_detail", group_id=group_id))


@bp.post("/achats-groupes/demandes/<int:request_id>/ignorer")
def group_request_dismiss(request_id: int):  # type: ignore[no-untyped-def]
    req = get_or_404(GroupPurchaseRequest, request_id)
    if req.status == "new":
        req.status = "dismissed"
        db.session.commit()
    return redirect(url_for("admin.group_purchases_page"))


@bp.get("/achats-groupes/<int:group_id>/preparation.pdf")
def group_purchase_picking_list(group_id: int):  # type: ignore[no-untyped-def]
    """The orders so far: participants, bottles per wine, totals, the address."""
    group = get_or_404(GroupPurchase, group_id)
    content = groups.picking_list_pdf(db.session, g.estate, group)
    return download(content, "application/pdf", f"achat-groupe-{group.id}-preparation.pdf")

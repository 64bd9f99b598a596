"""Réunions (issue 12): home tastings, the orders a seller takes in them and in direct
sales, the customers a seller serves, their cards, the report, and the estate's reward
rules for tastings.

A seller (``g.staff_role`` "seller", admin.access) reaches only the views of this module
but the rules': their own tastings, the customers they serve, their own card and row of
the report. A manager (or a platform admin) sees every tasting of the estate.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import date, datetime, time, timezone

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import (BooleanField, DateField, EmailField, HiddenField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField, TimeField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from admin import bp
from admin.access import get_or_404, is_seller
from admin.forms import EurosField, parse_hundredths
from models import (EstateCustomer, Order, OrderStatus, PaymentMode, Price, Promotion, Reward, RewardRule, Tasting,
                    User, Voucher, Wine, db, utcnow)
from services import audit, catalogue, delivery, loyalty, mail, orders, promotion_store, rewards, tastings, vouchers
from services.catalogues import paris_bounds
from services.database import writes_on_get
from services.delivery import COUNTRIES
from services.fairs import paris_date
from services.templating import PARIS

_REQUIRED = _l("Ce champ est obligatoire.")

audit.ACTION_LABELS.update({
    "tasting.create": _l("Réunion créée"), "tasting.reschedule": _l("Réunion redatée"),
    "tasting.book": _l("Prise de réunion"), "tasting.close": _l("Réunion clôturée"),
    "tasting.order": _l("Commande prise par un vendeur"), "tasting.gift": _l("Cadeau choisi"),
    "reward_rule.create": _l("Règle de fidélité réunions ajoutée"),
    "reward_rule.delete": _l("Règle de fidélité réunions supprimée"),
    "reward.settings": _l("Réglages de fidélité réunions modifiés"),
})
audit.FIELD_LABELS.setdefault("tasting_points_in_current", _l("Points d'hôte utilisables dans la réunion en cours"))

#: services.tastings.InvalidTasting (field, code) → message
TASTING_MESSAGES = {
    ("starts_at", "required"): _l("Indiquez la date et l'heure de la réunion."),
    ("starts_at", "past"): _l("Cette date est passée : choisissez une date à venir."),
    ("starts_at", "same"): _l("C'est déjà la date de la réunion : choisissez une autre date."),
    ("email", "invalid"): _l("Adresse email invalide."),
    ("guest", "unknown"): _l("Choisissez un invité de cette réunion."),
    ("customer", "not_participant"): _l("Ce client ne participe pas à cette réunion."),
    ("customer", "no_account"): _l("Ce client n'a pas encore de compte : il doit d'abord rejoindre la réunion "
                                   "par le lien d'invitation."),
    ("points", "not_allowed"): _l("Les points d'hôte ne sont utilisables que par l'hôte, dans une réunion, "
                                  "si le domaine l'autorise."),
    ("points", "too_many"): _l("L'hôte ne peut pas encore utiliser autant de points dans cette réunion."),
}
#: services.orders.CartNotOrderable problems, as a seller taking an order reads them
PROBLEMS = {
    "unavailable": lambda p: _("« %(name)s » n'est pas disponible à la vente.", **p),
    "stock": lambda p: _("Il ne reste que %(n)s bouteilles de « %(name)s ».", **p),
    "sold_out": lambda p: _("« %(name)s » est épuisé.", **p),
    "reservation_full": lambda p: _("Il n'y a plus assez de bouteilles à réserver de « %(name)s » : %(n)s au plus.",
                                    **p),
    "multiple": lambda p: _("« %(name)s » se commande par %(n)s bouteilles.", **p),
    "case": lambda p: _("Les cartons panachés sont de %(n)s bouteilles : ajoutez encore %(missing)s bouteille(s).",
                        **p),
    "minimum": lambda p: _("Le minimum de commande est de %(amount)s : il manque %(missing)s.", **p),
    "empty": lambda p: _("Indiquez au moins une quantité."),
}
#: services.rewards.InvalidRule (field, code) → message
RULE_MESSAGES = {
    ("action", "unknown"): _l("Choisissez une action de la liste."),
    ("reward", "unknown"): _l("Choisissez une récompense de la liste."),
    ("beneficiary", "unknown"): _l("Choisissez un bénéficiaire de la liste."),
    ("amount", "negative"): _l("Les montants, points et minimums ne peuvent pas être négatifs."),
    ("points", "required"): _l("Indiquez un nombre de points supérieur à zéro."),
    ("percent", "range"): _l("Indiquez un pourcentage entre 0,01 et 100, par exemple 10 ou 7,5."),
    ("amount", "required"): _l("Indiquez un montant supérieur à zéro."),
    ("wines", "required"): _l("Choisissez le ou les vins offerts."),
    ("wines", "one"): _l("Choisissez un seul vin pour ce cadeau."),
    ("promotion", "required"): _l("Choisissez une promotion à code."),
}
GIFT_MESSAGES = {
    "already_chosen": _l("Ce cadeau a déjà été choisi."),
    "not_offered": _l("Choisissez un des vins proposés."),
    "not_yours": _l("Ce cadeau n'est pas celui de ce client."),
    "out_of_stock": _l("Ce vin est épuisé : choisissez-en un autre."),
}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


# --------------------------------------------------------------------------- helpers


def _public_url() -> str:
    return current_app.config["PUBLIC_URL"]


def _moment(day: date | None, at: time | None) -> datetime | None:
    """A date and time typed in Paris time, as an aware UTC datetime."""
    if day is None or at is None:
        return None
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(timezone.utc)


def _id(raw: object) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _tasting_or_404(tasting_id: int) -> Tasting:
    """:raise 404: another estate's tasting, or (for a seller) another seller's."""
    tasting = get_or_404(Tasting, tasting_id)
    if is_seller() and tasting.seller_user_id != current_user.id:
        abort(404)
    return tasting


def _customer_or_404(customer_id: int) -> EstateCustomer:
    """:raise 404: another estate's customer, or one the seller does not serve."""
    customer = get_or_404(EstateCustomer, customer_id)
    if is_seller() and not tastings.serves(db.session, current_user.id, customer.id):
        abort(404)
    return customer


def _field_error(form: FlaskForm, name: str, message: object) -> None:
    field = getattr(form, name)
    field.errors = [*field.errors, str(message)]


def _name(customer: EstateCustomer | None) -> str:
    if customer is None:
        return ""
    return f"{customer.first_name} {customer.last_name}".strip() or customer.email


class _When:
    """Date and time typed in Paris time."""

    starts_on = DateField(_l("Date"), validators=[InputRequired(_l("Indiquez la date."))])
    starts_time = TimeField(_l("Heure (heure de Paris)"), validators=[InputRequired(_l("Indiquez l'heure."))])


# --------------------------------------------------------------------------- forms


class TastingForm(FlaskForm):
    host_email = EmailField(_l("Email de l'hôte"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide.")),
                                                               Length(max=254)])
    host_first_name = StringField(_l("Prénom de l'hôte"), validators=[Optional(), Length(max=80)])
    host_last_name = StringField(_l("Nom de l'hôte"), validators=[Optional(), Length(max=80)])
    starts_on = _When.starts_on
    starts_time = _When.starts_time
    place = StringField(_l("Lieu"), validators=[Optional(), Length(max=255)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    seller_id = SelectField(_l("Vendeur"), coerce=str, validate_choice=False)


class RescheduleForm(FlaskForm):
    starts_on = DateField(_l("Nouvelle date"), validators=[InputRequired(_l("Indiquez la date."))])
    starts_time = _When.starts_time
    note = StringField(_l("Motif (facultatif)"), validators=[Optional(), Length(max=255)])


class BookForm(FlaskForm):
    guest_id = SelectField(_l("Invité"), coerce=str, validate_choice=False)
    starts_on = _When.starts_on
    starts_time = _When.starts_time
    place = StringField(_l("Lieu"), validators=[Optional(), Length(max=255)])


def _postcode(form: FlaskForm, field: StringField) -> None:
    if (form.country.data or "FR") == "FR" and (field.data or "").strip() \
            and not re.fullmatch(r"\d{5}", field.data.strip()):
        raise ValidationError(_l("Un code postal français compte 5 chiffres."))


class OrderForm(FlaskForm):
    checkout_token = HiddenField()
    customer_id = HiddenField()
    new_email = EmailField(_l("Email du nouveau client"), validators=[Optional(), Email(_l("Adresse email invalide.")),
                                                                      Length(max=254)])
    delivery = RadioField(_l("Livraison"), validate_choice=False)
    payment_mode = RadioField(_l("Paiement"), validate_choice=False)
    first_name = StringField(_l("Prénom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)])
    company = StringField(_l("Société (facultatif)"), validators=[Optional(), Length(max=140)])
    street = StringField(_l("Adresse"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[Optional(), Length(max=10), _postcode])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=100)])
    country = SelectField(_l("Pays"), default="FR", validate_choice=False)
    advance_points = StringField(_l("Points d'hôte à utiliser"), validators=[Optional(), Length(max=9)])
    note = TextAreaField(_l("Note (facultatif)"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, str(name)) for code, name in COUNTRIES]

    def validate_country(self, field: SelectField) -> None:
        if field.data not in {code for code, _name in COUNTRIES}:
            raise ValidationError(_l("Choisissez un pays de la liste."))

    def validate_delivery(self, field: RadioField) -> None:
        if field.data not in {choice.value for choice in field.choices or []}:
            raise ValidationError(_l("Choisissez un mode de livraison proposé."))

    def validate_payment_mode(self, field: RadioField) -> None:
        if field.data not in {choice.value for choice in field.choices or []}:
            raise ValidationError(_l("Choisissez un mode de paiement proposé par le domaine."))

    def validate_street(self, field: StringField) -> None:
        if self.delivery.data == "home":
            for other in (self.street, self.postcode, self.city):
                if not (other.data or "").strip():
                    raise ValidationError(_l("Indiquez l'adresse complète pour une livraison à domicile."))


class GiftForm(FlaskForm):
    wine_id = RadioField(_l("Cadeau"), validate_choice=False)


class RuleForm(FlaskForm):
    action = SelectField(_l("Action"), validate_choice=False)
    beneficiary = SelectField(_l("Bénéficiaire"), validate_choice=False)
    reward = SelectField(_l("Récompense"), validate_choice=False)
    points = StringField(_l("Points"), validators=[Length(max=9)])
    percent = StringField(_l("Pourcentage du chiffre d'affaires (%)"), validators=[Length(max=8)])
    amount = EurosField(_l("Montant (€) : bon d'achat, ou seuil du cadeau"))
    promotion_id = SelectField(_l("Promotion à code"), validate_choice=False)
    wine_ids = SelectMultipleField(_l("Vins offerts"), validate_choice=False)
    min_revenue = EurosField(_l("Chiffre d'affaires minimum (€)"))
    min_orders = StringField(_l("Nombre de commandes minimum"), validators=[Length(max=6)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [SelectChoice(k, str(v)) for k, v in rewards.ACTIONS.items()]
        self.beneficiary.choices = [SelectChoice(k, str(v)) for k, v in rewards.BENEFICIARIES.items()]
        self.reward.choices = [SelectChoice(k, str(v)) for k, v in rewards.REWARDS.items()]
        promotions = db.session.scalars(select(Promotion).where(Promotion.code.is_not(None))
                                        .order_by(Promotion.name, Promotion.id))
        self.promotion_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(p.id), f"{p.code} — {p.name}")
                                                               for p in promotions]
        wines = db.session.scalars(select(Wine).order_by(Wine.position, Wine.name))
        self.wine_ids.choices = [SelectChoice(str(w.id), _wine_label(w)) for w in wines]

    def validate_points(self, field: StringField) -> None:
        field.number = _whole(field.data, _l("Un nombre entier de points, par exemple 150."))

    def validate_percent(self, field: StringField) -> None:
        field.bp = parse_hundredths(field.data, message=_l("Pourcentage invalide : écrivez par exemple 10 ou 7,5.")) or 0

    def validate_min_orders(self, field: StringField) -> None:
        field.number = _whole(field.data, _l("Un nombre entier de commandes, par exemple 3."))

    def validate_wine_ids(self, field: SelectMultipleField) -> None:
        ids = [_id(v) for v in field.data or []]
        if any(i is None for i in ids):
            raise ValidationError(_l("Choisissez des vins de la liste."))
        field.ids = tuple(ids)


def _whole(text: str | None, message: object) -> int:
    raw = (text or "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationError(message)
    return int(raw)


def _wine_label(wine: Wine) -> str:
    from services.cart import wine_label

    return wine_label(wine)


# ------------------------------------------------------------------------ tastings


def _seller_choices() -> list[SelectChoice]:
    """A manager creates a tasting for themselves or for one of the estate's sellers."""
    me = current_user._get_current_object()
    choices = [SelectChoice(str(me.id), str(_l("Moi-même (%(name)s)", name=me.full_name or me.email)))]
    for member, user in tastings.staff_rows(db.session):
        if member.role == "seller" and user.id != me.id:
            choices.append(SelectChoice(str(user.id), f"{user.full_name or user.email} <{user.email}>"))
    return choices


def _tastings_list():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(tastings.visible(db.session, current_user, is_seller()).limit(300)
                              .options(selectinload(Tasting.host), selectinload(Tasting.seller))).all()
    figures: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    ids = [t.id for t in rows]
    if ids:
        for order in db.session.scalars(select(Order).where(Order.tasting_id.in_(ids),
                                                            Order.status != OrderStatus.CANCELLED)
                                        .options(selectinload(Order.lines))):
            figures[order.tasting_id][0] += loyalty.credit_base_cents(order)
            figures[order.tasting_id][1] += 1
    return rows, figures


@bp.route("/reunions", methods=["GET", "POST"])
def tastings_page():  # type: ignore[no-untyped-def]
    """The tastings the user sees, and the "Nouvelle réunion" form."""
    form = TastingForm()
    form.seller_id.choices = [] if is_seller() else _seller_choices()
    if not form.is_submitted():
        form.seller_id.data = str(current_user.id)
        return _tastings_page(form)
    if not form.validate():
        return _tastings_page(form, 422)
    seller = current_user._get_current_object()
    if not is_seller() and form.seller_id.data and form.seller_id.data != str(current_user.id):
        seller_id = _id(form.seller_id.data)
        if seller_id is None or str(seller_id) not in {c.value for c in form.seller_id.choices}:
            _field_error(form, "seller_id", _l("Choisissez un vendeur de la liste."))
            return _tastings_page(form, 422)
        seller = db.session.get(User, seller_id)
    data = tastings.TastingData(form.host_email.data, form.host_first_name.data or "", form.host_last_name.data or "",
                                _moment(form.starts_on.data, form.starts_time.data), form.place.data or "",
                                form.notes.data or "")
    try:
        tasting = tastings.create(db.session, g.estate, data, seller, now=utcnow(),
                                  secret_key=current_app.config["SECRET_KEY"], public_url=_public_url())
    except tastings.InvalidTasting as exc:
        db.session.rollback()
        _field_error(form, "host_email" if exc.field == "email" else "starts_on",
                     TASTING_MESSAGES.get((exc.field, exc.code), _l("Vérifiez la réunion.")))
        return _tastings_page(form, 422)
    audit.record(db.session, g.estate.id, current_user, "tasting.create", tasting, {},
                 {"starts_at": tasting.starts_at, "seller": seller.email}, tasting.host.email)
    db.session.commit()
    mail.deliver_now()
    flash(_("La réunion est créée : l'hôte a reçu le lien d'invitation par email."), "success")
    return redirect(url_for("admin.tasting_page", tasting_id=tasting.id))


def _tastings_page(form: TastingForm, status: int = 200):  # type: ignore[no-untyped-def]
    rows, figures = _tastings_list()
    return render_template("admin/tastings.html", form=form, rows=rows, figures=figures,
                           statuses=tastings.STATUS_LABELS, seller_view=is_seller()), status


@bp.get("/reunions/<int:tasting_id>")
def tasting_page(tasting_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's tasting, or another seller's."""
    return _tasting_view(_tasting_or_404(tasting_id))


def _tasting_view(tasting: Tasting, *, reschedule: RescheduleForm | None = None, book: BookForm | None = None,
                  status: int = 200):  # type: ignore[no-untyped-def]
    people = tastings.participants(db.session, tasting)
    tasting_orders = tastings.tasting_orders(db.session, tasting.id)
    per_customer: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for order in tasting_orders:
        if order.status is not OrderStatus.CANCELLED and order.bottles > 0:  # a gift's order is no sale
            per_customer[order.customer_id][0] += loyalty.credit_base_cents(order)
            per_customer[order.customer_id][1] += 1
    given = list(db.session.scalars(select(Reward).where(Reward.tasting_id == tasting.id)
                                    .options(selectinload(Reward.customer)).order_by(Reward.id)))
    gifts: dict[int, list[Reward]] = defaultdict(list)
    for reward in given:
        if reward.status == "to_choose":
            gifts[reward.customer_id].append(reward)
    reschedule = reschedule or RescheduleForm(formdata=None)
    book = book or BookForm(formdata=None)
    book.guest_id.choices = [SelectChoice(str(p.id), f"{_name(p)} <{p.email}>") for p in people[1:]]
    return render_template(
        "admin/tasting.html", tasting=tasting, people=people, per_customer=per_customer, orders=tasting_orders,
        revenue=tastings.revenue(db.session, tasting.id), history=tastings.history(db.session, tasting.id),
        event_labels=tastings.EVENT_LABELS, statuses=tastings.STATUS_LABELS, gifts=gifts, given=given,
        reward_statuses=rewards.STATUS_LABELS, reschedule=reschedule, book=book, is_open=tasting.status == tastings.PLANNED,
        invitation=tastings.invitation_url(_public_url(), g.estate, tasting), seller_view=is_seller(),
        name=_name), status


@bp.post("/reunions/<int:tasting_id>/redater")
def tasting_reschedule(tasting_id: int):  # type: ignore[no-untyped-def]
    """"Redater": the new date, the old one kept in the history."""
    tasting = _tasting_or_404(tasting_id)
    form = RescheduleForm()
    if not form.validate():
        return _tasting_view(tasting, reschedule=form, status=422)
    before = {"starts_at": tasting.starts_at}
    try:
        tastings.reschedule(db.session, tasting, _moment(form.starts_on.data, form.starts_time.data),
                            current_user._get_current_object(), now=utcnow(), note=(form.note.data or "").strip())
    except tastings.NotOpen:
        db.session.rollback()
        _field_error(form, "starts_on", _l("La réunion est clôturée : elle ne peut plus être redatée."))
        return _tasting_view(_tasting_or_404(tasting_id), reschedule=form, status=409)
    except tastings.InvalidTasting as exc:
        db.session.rollback()
        _field_error(form, "starts_on", TASTING_MESSAGES.get((exc.field, exc.code), _l("Date invalide.")))
        return _tasting_view(_tasting_or_404(tasting_id), reschedule=form, status=422)
    audit.record(db.session, g.estate.id, current_user, "tasting.reschedule", tasting, before,
                 {"starts_at": tasting.starts_at}, _name(tasting.host))
    db.session.commit()
    flash(_("La réunion est redatée."), "success")
    return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))


@bp.post("/reunions/<int:tasting_id>/prise-de-reunion")
def tasting_book(tasting_id: int):  # type: ignore[no-untyped-def]
    """"Prise de réunion": a guest books their own tasting, with the same seller."""
    tasting = _tasting_or_404(tasting_id)
    form = BookForm()
    form.guest_id.choices = [SelectChoice(str(p.id), _name(p)) for p in tastings.participants(db.session, tasting)[1:]]
    if not form.validate():
        return _tasting_view(tasting, book=form, status=422)
    guest_id = _id(form.guest_id.data)
    seller = db.session.get(User, tasting.seller_user_id) if tasting.seller_user_id else None
    try:
        if guest_id is None:
            raise tastings.InvalidTasting("guest", "unknown")
        booked = tastings.book_for_guest(db.session, g.estate, tasting, guest_id,
                                         _moment(form.starts_on.data, form.starts_time.data), form.place.data or "",
                                         seller or current_user._get_current_object(), now=utcnow(),
                                         secret_key=current_app.config["SECRET_KEY"], public_url=_public_url())
    except tastings.NotOpen:
        db.session.rollback()
        _field_error(form, "guest_id", _l("La réunion est clôturée : plus de prise de réunion."))
        return _tasting_view(_tasting_or_404(tasting_id), book=form, status=409)
    except tastings.InvalidTasting as exc:
        db.session.rollback()
        _field_error(form, "guest_id" if exc.field in ("guest", "email") else "starts_on",
                     TASTING_MESSAGES.get((exc.field, exc.code), _l("Vérifiez la réunion.")))
        return _tasting_view(_tasting_or_404(tasting_id), book=form, status=422)
    audit.record(db.session, g.estate.id, current_user, "tasting.book", booked, {},
                 {"starts_at": booked.starts_at, "booked_during": tasting.id}, booked.host.email)
    db.session.commit()
    mail.deliver_now()
    flash(_("Réunion de %(name)s créée : l'invitation lui est envoyée.", name=_name(booked.host)), "success")
    return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))


@bp.post("/reunions/<int:tasting_id>/cloturer")
def tasting_close(tasting_id: int):  # type: ignore[no-untyped-def]
    """Close the tasting and give its rewards, once (services.rewards.close)."""
    tasting = _tasting_or_404(tasting_id)
    if tasting.status != tastings.PLANNED:
        flash(_("Cette réunion est déjà clôturée : aucune récompense de plus."), "info")
        return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))
    try:
        given = rewards.close(db.session, g.estate, tasting, actor=current_user._get_current_object(), now=utcnow(),
                              public_url=_public_url())
    except orders.OutOfStock as exc:  # a gift given at once went out of stock meanwhile: nothing is closed
        db.session.rollback()
        flash(_("« %(name)s » vient d'être épuisé : la réunion n'est pas clôturée, recommencez.", name=exc.wine_name),
              "error")
        return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))
    if tasting.status != tastings.CLOSED:  # closed by someone else meanwhile: nothing given here
        db.session.rollback()
        flash(_("Cette réunion est déjà clôturée : aucune récompense de plus."), "info")
        return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))
    summary = "; ".join(f"{_name(r.customer)} : {r.label}" for r in given)
    audit.record(db.session, g.estate.id, current_user, "tasting.close", tasting, {"status": tastings.PLANNED},
                 {"status": tastings.CLOSED, "rewards": len(given)}, _name(tasting.host))
    db.session.commit()
    mail.deliver_now()
    if given:
        flash(_("Réunion clôturée. %(n)s récompense(s) attribuée(s) : %(summary)s.", n=len(given), summary=summary),
              "success")
    else:
        flash(_("Réunion clôturée. Aucune récompense attribuée (aucune règle remplie)."), "success")
    return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))


# ---------------------------------------------------------------------------- orders


@bp.route("/reunions/<int:tasting_id>/commande", methods=["GET", "POST"])
def tasting_order(tasting_id: int):  # type: ignore[no-untyped-def]
    """The seller records an order for a participant of the tasting."""
    tasting = _tasting_or_404(tasting_id)
    people = tastings.participants(db.session, tasting)
    return _order(tasting, people)


@bp.route("/ventes-directes/commande", methods=["GET", "POST"])
def direct_sale():  # type: ignore[no-untyped-def]
    """An order a seller takes outside any tasting: a customer they serve, or a new one."""
    if is_seller():
        people = tastings.served_customers(db.session, current_user.id)
    else:
        people = list(db.session.scalars(select(EstateCustomer).order_by(
            EstateCustomer.last_name, EstateCustomer.first_name, EstateCustomer.email).limit(1000)))
    return _order(None, people)


def _order(tasting: Tasting | None, people: list[EstateCustomer]):  # type: ignore[no-untyped-def]
    now = utcnow()
    form = OrderForm()
    raw = (form.customer_id.data if form.is_submitted() else request.args.get("customer_id")) or ""
    new_customer = tasting is None and raw.strip() == "new"
    customer = next((p for p in people if str(p.id) == raw.strip()), None)
    if customer is None and tasting is not None and not form.is_submitted() and not raw:
        customer = people[0]  # the host
    options = tastings.delivery_options(db.session, g.estate, tasting, now)
    _choices(form, options)
    context = dict(tasting=tasting, people=people, customer=customer, new_customer=new_customer, options=options)
    if not form.is_submitted():
        form.checkout_token.data = secrets.token_urlsafe(24)
        if options:
            form.delivery.data = options[0].key
        if customer is not None:
            form.customer_id.data = str(customer.id)
            _prefill(form, customer)
        elif new_customer:
            form.customer_id.data = "new"
        return _order_page(form, context)
    if customer is None and not new_customer:
        return _order_page(form, context, 422, _("Choisissez un client de la liste."))
    ok = form.validate()
    quantities, problem = _quantities()
    points = _advance_points(form, tasting, customer)
    if new_customer and not (form.new_email.data or "").strip():
        _field_error(form, "new_email", _REQUIRED)
        ok = False
    if not ok or problem or points is None:
        return _order_page(form, context, 422, problem)
    return _take(form, context, quantities, points, now)


def _choices(form: OrderForm, options: list[delivery.DeliveryOption]) -> None:
    form.delivery.choices = [SelectChoice(o.key, o.label) for o in options]
    modes: list[PaymentMode] = []
    for option in options:  # the modes of any option; the chosen pair is checked by services.orders
        modes += [m for m in orders.allowed_payment_modes(g.estate, option.kind) if m not in modes]
    form.payment_mode.choices = [SelectChoice(m.value, str(orders.PAYMENT_LABELS[m])) for m in modes]


def _prefill(form: OrderForm, customer: EstateCustomer) -> None:
    form.first_name.data, form.last_name.data = customer.first_name, customer.last_name
    form.phone.data, form.company.data = customer.phone, customer.company
    form.street.data, form.postcode.data = customer.billing_street, customer.billing_postcode
    form.city.data, form.country.data = customer.billing_city, customer.billing_country or "FR"


def _quantities() -> tuple[dict[int, int], str | None]:
    """The ``qty-<wine id>`` fields: ({wine id: bottles}, None) or ({}, the first problem)."""
    wines = {w.id: w for w in tastings.order_wines(db.session)}
    quantities: dict[int, int] = {}
    for key in request.form:
        if not key.startswith("qty-"):
            continue
        wine = wines.get(_id(key[4:]) or 0)
        text = (request.form.get(key) or "").strip()
        if wine is None:
            if text in ("", "0"):
                continue
            return {}, _("Ce vin n'est pas proposé à la vente : rechargez la page.")
        if not text:
            continue
        if not text.isdigit() or len(text) > 5:
            return {}, _("Quantité invalide pour « %(name)s » : indiquez un nombre entier de bouteilles.",
                         name=wine.name)
        if int(text) > 0:
            quantities[wine.id] = int(text)
    if not quantities:
        return {}, _("Indiquez au moins une quantité.")
    return quantities, None


def _advance_points(form: OrderForm, tasting: Tasting | None, customer: EstateCustomer | None) -> int | None:
    """Host points to spend now; None after marking the field."""
    text = (form.advance_points.data or "").strip()
    if not text or text == "0":
        return 0
    if not text.isdigit():
        _field_error(form, "advance_points", _l("Un nombre entier de points."))
        return None
    if tasting is None or customer is None or customer.id != tasting.host_customer_id:
        _field_error(form, "advance_points", TASTING_MESSAGES[("points", "not_allowed")])
        return None
    available = rewards.advance_available(db.session, g.estate, tasting)
    if int(text) > available:
        _field_error(form, "advance_points", _l("Au plus %(n)s points pour l'instant.", n=available))
        return None
    return int(text)


def _order_page(form: OrderForm, context: dict, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    tasting, customer = context["tasting"], context["customer"]
    wines = tastings.order_wines(db.session)
    prices: dict[int, Price] = {}
    price_list = None
    if customer is not None:
        user = db.session.get(User, customer.user_id) if customer.user_id else None
        price_list = catalogue.price_list_for(db.session, g.estate, user, customer)
    else:
        price_list = catalogue.price_list_for(db.session, g.estate, None)
    if price_list is not None:
        prices = {p.wine_id: p for p in db.session.scalars(select(Price).where(Price.price_list_id == price_list.id))}
    advance = 0
    if tasting is not None and customer is not None and customer.id == tasting.host_customer_id:
        advance = rewards.advance_available(db.session, g.estate, tasting)
    typed = {key: request.form.get(key, "") for key in request.form if key.startswith("qty-")}
    return render_template("admin/tasting_order.html", form=form, wines=wines, prices=prices, price_list=price_list,
                           typed=typed, error=error, advance=advance, name=_name, label=_wine_label,
                           **context), status


def _take(form: OrderForm, context: dict, quantities: dict[int, int], points: int, now: datetime):  # type: ignore[no-untyped-def]
    tasting, customer = context["tasting"], context["customer"]
    token = (form.checkout_token.data or "").strip()
    if not _TOKEN.fullmatch(token):
        token = secrets.token_urlsafe(24)
        form.checkout_token.data = token
    data = orders.CheckoutData(
        email="", first_name=form.first_name.data.strip(), last_name=form.last_name.data.strip(),
        phone=(form.phone.data or "").strip(), company=(form.company.data or "").strip(),
        street=(form.street.data or "").strip(), postcode=(form.postcode.data or "").strip(),
        city=(form.city.data or "").strip(), country=form.country.data, payment_mode=PaymentMode(form.payment_mode.data),
        delivery_key=form.delivery.data, note=(form.note.data or "").strip())
    error, status = None, 409
    try:
        if tasting is None and (customer is None or customer.user_id is None):
            # a direct sale's new customer, or one of the file without an account: they get
            # one, and the email to choose its password
            customer = tastings.ensure_customer(db.session, g.estate,
                                                email=customer.email if customer else form.new_email.data,
                                                first_name=data.first_name, last_name=data.last_name,
                                                secret_key=current_app.config["SECRET_KEY"], public_url=_public_url())
        order = tastings.take_order(db.session, g.estate, tasting=tasting, customer=customer, quantities=quantities,
                                    data=data, seller=current_user._get_current_object(), checkout_token=token,
                                    now=now, public_url=_public_url(), advance_points=points)
        audit.record(db.session, g.estate.id, current_user, "tasting.order", order, {},
                     {"total_ttc_cents": order.total_ttc_cents, "tasting_id": tasting.id if tasting else None},
                     order.number)
        number, customer_id = order.number, customer.id
        db.session.commit()
    except IntegrityError:  # the same form posted twice at once: the other one won
        db.session.rollback()
        order = orders.find_by_checkout_token(db.session, token)
        if order is None:
            error = _("La commande n'a pas pu être enregistrée : recommencez.")
        else:
            number, customer_id = order.number, order.customer_id
    except tastings.NotOpen:
        error = _("La réunion est clôturée : elle ne prend plus de commandes.")
    except tastings.InvalidTasting as exc:
        error, status = str(TASTING_MESSAGES.get((exc.field, exc.code), _l("Vérifiez la commande."))), 422
        if exc.field == "email":
            _field_error(form, "new_email", error)
    except orders.CartNotOrderable as exc:
        error = " ".join(PROBLEMS.get(p.code, PROBLEMS["empty"])(_problem_params(p)) for p in exc.problems)
    except orders.OutOfStock as exc:
        error = _("Désolé, « %(name)s » vient d'être épuisé par une autre commande.", name=exc.wine_name)
    except orders.PaymentModeRefused:
        error, status = _("Ce mode de paiement n'est pas proposé avec cette livraison."), 422
        _field_error(form, "payment_mode", error)
    except delivery.DeliveryUnavailable:
        error, status = _("Cette livraison n'est pas possible à cette adresse : choisissez-en une autre."), 422
    except loyalty.InsufficientBalance:
        error = _("Le solde de points ou d'avoir du client a changé entre-temps : vérifiez la commande.")
    except vouchers.VoucherUsed:
        error = _("Un bon d'achat du client vient d'être utilisé par une autre commande : recommencez.")
    except promotion_store.CodeExhausted as exc:
        error = _("Le code %(code)s vient d'atteindre sa limite d'utilisation : recommencez.", code=exc.code)
    if error is not None:
        db.session.rollback()
        return _order_page(form, _reloaded(context), status, error)
    mail.deliver_now()
    flash(_("Commande %(number)s enregistrée.", number=number), "success")
    if tasting is not None:
        return redirect(url_for("admin.tasting_page", tasting_id=tasting.id))
    return redirect(url_for("admin.seller_customer_card", customer_id=customer_id))


def _problem_params(problem) -> dict:  # type: ignore[no-untyped-def]
    from services.templating import euros

    params = dict(problem.params)
    for key in ("amount", "missing") if problem.code == "minimum" else ():
        params[key] = euros(params[key])
    return params


def _reloaded(context: dict) -> dict:
    """The page's objects read again after a rollback."""
    tasting = context["tasting"]
    if tasting is not None:
        tasting = _tasting_or_404(tasting.id)
    customer = context["customer"]
    customer = db.session.get(EstateCustomer, customer.id) if customer is not None else None
    people = [db.session.get(EstateCustomer, p.id) for p in context["people"]]
    options = tastings.delivery_options(db.session, g.estate, tasting, utcnow())
    return dict(context, tasting=tasting, customer=customer, people=[p for p in people if p], options=options)


# ----------------------------------------------------------------------------- gifts


@bp.route("/reunions/<int:tasting_id>/cadeau/<int:reward_id>", methods=["GET", "POST"])
def tasting_gift(tasting_id: int, reward_id: int):  # type: ignore[no-untyped-def]
    """"Choisir mon cadeau" for a winner of the tasting. :raise 404: a reward of another tasting."""
    tasting = _tasting_or_404(tasting_id)
    reward = get_or_404(Reward, reward_id)
    if reward.tasting_id != tasting.id:
        abort(404)
    form = GiftForm()
    options = rewards.gift_options(db.session, reward)
    form.wine_id.choices = [SelectChoice(str(w.id), _wine_label(w)) for w in options]
    if not form.is_submitted():
        return _gift_page(form, tasting, reward, options)
    wine_id = _id(form.wine_id.data)
    if not form.validate() or wine_id is None:
        _field_error(form, "wine_id", GIFT_MESSAGES["not_offered"])
        return _gift_page(form, tasting, reward, options, 422)
    try:
        order = rewards.claim_gift(db.session, g.estate, reward, wine_id, customer=reward.customer, now=utcnow(),
                                   public_url=_public_url())
    except rewards.GiftRefused as exc:
        db.session.rollback()
        reward = get_or_404(Reward, reward_id)
        _field_error(form, "wine_id", GIFT_MESSAGES.get(exc.code, GIFT_MESSAGES["not_offered"]))
        return _gift_page(form, _tasting_or_404(tasting_id), reward, rewards.gift_options(db.session, reward),
                          409 if exc.code == "already_chosen" else 422)
    except orders.OutOfStock:
        db.session.rollback()
        reward = get_or_404(Reward, reward_id)
        _field_error(form, "wine_id", GIFT_MESSAGES["out_of_stock"])
        return _gift_page(form, _tasting_or_404(tasting_id), reward, rewards.gift_options(db.session, reward), 409)
    audit.record(db.session, g.estate.id, current_user, "tasting.gift", reward, {"status": "to_choose"},
                 {"status": "chosen", "order": order.number}, reward.label)
    number = order.number
    db.session.commit()
    mail.deliver_now()
    flash(_("Cadeau choisi : commande %(number)s enregistrée.", number=number), "success")
    return redirect(url_for("admin.tasting_page", tasting_id=tasting_id))


def _gift_page(form: GiftForm, tasting: Tasting, reward: Reward, options: list[Wine], status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/tasting_gift.html", form=form, tasting=tasting, reward=reward, options=options,
                           winner=_name(reward.customer), label=_wine_label), status


# ------------------------------------------------------------------------- customers


@bp.get("/reunions/clients")
def seller_customers():  # type: ignore[no-untyped-def]
    """A seller's customers: hosts, guests and buyers of their orders. A manager has the
    whole customer file."""
    if not is_seller():
        return redirect(url_for("admin.customers"))
    people = tastings.served_customers(db.session, current_user.id)
    ids = [p.id for p in people]
    vouchers_count: dict[int, int] = {}
    gifts_count: dict[int, int] = {}
    if ids:
        vouchers_count = dict(db.session.execute(select(Voucher.customer_id, func.count()).where(
            Voucher.customer_id.in_(ids), Voucher.used_order_id.is_(None)).group_by(Voucher.customer_id)).tuples().all())
        gifts_count = dict(db.session.execute(select(Reward.customer_id, func.count()).where(
            Reward.customer_id.in_(ids), Reward.status == "to_choose").group_by(Reward.customer_id)).tuples().all())
    return render_template("admin/seller_customers.html", people=people, vouchers_count=vouchers_count,
                           gifts_count=gifts_count, name=_name)


@bp.get("/reunions/clients/<int:customer_id>")
def seller_customer_card(customer_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's customer, or one the seller does not serve."""
    return _card(_customer_or_404(customer_id), own=False)


@bp.get("/reunions/ma-fiche")
@writes_on_get  # the seller's card is made on the first visit (services.tastings.own_card)
def seller_own_card():  # type: ignore[no-untyped-def]
    customer = tastings.own_card(db.session, g.estate, current_user._get_current_object())
    db.session.commit()
    return _card(customer, own=True)


def _card(customer: EstateCustomer, *, own: bool):  # type: ignore[no-untyped-def]
    card = rewards.card(db.session, g.estate, customer)
    tasting_ids = {r.tasting_id for r in card.gifts if r.tasting_id}
    reachable: set[int] = set()
    if tasting_ids:
        statement = select(Tasting.id).where(Tasting.id.in_(tasting_ids))
        if is_seller():
            statement = statement.where(Tasting.seller_user_id == current_user.id)
        reachable = set(db.session.scalars(statement))
    return render_template("admin/seller_card.html", card=card, own=own, name=_name, reachable=reachable,
                           actions=rewards.ACTIONS, reward_statuses=rewards.STATUS_LABELS)


# ---------------------------------------------------------------------------- report


@bp.get("/reunions/rapport")
def tastings_report():  # type: ignore[no-untyped-def]
    """Per seller, from "du" to "au" (Paris days; default: this year)."""
    today = paris_date(utcnow())
    start_text, end_text = (request.args.get("du") or "").strip(), (request.args.get("au") or "").strip()
    start, end = _day(start_text, date(today.year, 1, 1)), _day(end_text, date(today.year, 12, 31))
    error = None
    if start is None or end is None:
        error = _("Date invalide : écrivez par exemple 2026-01-31 ou 31/01/2026.")
    elif end < start:
        error = _("La fin de la période doit suivre son début.")
    elif (end - start).days > 3660:
        error = _("La période est de dix ans au plus.")
    if error is not None:
        return render_template("admin/tastings_report.html", rows=[], start=start_text, end=end_text,
                               error=error), 422
    lower, upper = paris_bounds(start, end)
    rows = rewards.report(db.session, lower, upper, current_user.id if is_seller() else None)
    return render_template("admin/tastings_report.html", rows=rows, start=start.isoformat(), end=end.isoformat(),
                           error=None)


def _day(text: str, default: date) -> date | None:
    if not text:
        return default
    if len(text) <= 10:
        for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
            try:
                day = parse(text)
            except ValueError:
                continue
            return day if 2000 <= day.year <= 2100 else None
    return None


# ------------------------------------------------------------------ rules (managers)


@bp.route("/fidelite/reunions", methods=["GET", "POST"])
def reward_rules():  # type: ignore[no-untyped-def]
    """The estate's reward rules for tastings and direct sales, and "Ajouter une règle"."""
    form = RuleForm()
    if not form.is_submitted():
        return _rules_page(form)
    if not form.validate():
        return _rules_page(form, 422)
    data = rewards.RuleData(
        action=form.action.data, reward=form.reward.data, beneficiary=form.beneficiary.data,
        points=form.points.number, percent_bp=form.percent.bp, amount_cents=form.amount.cents or 0,
        promotion_id=_id(form.promotion_id.data), wine_ids=form.wine_ids.ids,
        min_revenue_cents=form.min_revenue.cents or 0, min_orders=form.min_orders.number)
    try:
        rule = rewards.save_rule(db.session, g.estate, data)
    except rewards.InvalidRule as exc:
        db.session.rollback()
        name = {"wines": "wine_ids", "promotion": "promotion_id"}.get(exc.field, exc.field)
        _field_error(form, name if hasattr(form, name) else "action",
                     RULE_MESSAGES.get((exc.field, exc.code), _l("Vérifiez la règle.")))
        return _rules_page(form, 422)
    audit.record(db.session, g.estate.id, current_user, "reward_rule.create", rule, {},
                 {"action": rule.action, "reward": rule.reward, "beneficiary": rule.beneficiary},
                 rewards.describe(rule))
    db.session.commit()
    flash(_("La règle est ajoutée."), "success")
    return redirect(url_for("admin.reward_rules"))


def _rules_page(form: RuleForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/reward_rules.html", form=form, rules=rewards.rules(db.session),
                           describe=rewards.describe, actions=rewards.ACTIONS, beneficiaries=rewards.BENEFICIARIES,
                           estate=g.estate), status


@bp.post("/fidelite/reunions/<int:rule_id>/supprimer")
def reward_rule_delete(rule_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's rule. Rewards already given stay."""
    rule = get_or_404(RewardRule, rule_id)
    described = rewards.describe(rule)
    before = {"action": rule.action, "reward": rule.reward, "beneficiary": rule.beneficiary}
    db.session.delete(rule)
    audit.record(db.session, g.estate.id, current_user, "reward_rule.delete", ("reward_rule", rule_id), before, {},
                 described)
    db.session.commit()
    flash(_("La règle est supprimée ; les récompenses déjà attribuées restent."), "success")
    return redirect(url_for("admin.reward_rules"))


class SettingsForm(FlaskForm):
    tasting_points_in_current = BooleanField(
        _l("Les points d'hôte sont utilisables dans la réunion en cours (montant à venir)"))


@bp.post("/fidelite/reunions/reglages")
def reward_settings():  # type: ignore[no-untyped-def]
    form = SettingsForm()
    before = audit.snapshot(g.estate, "tasting_points_in_current")
    g.estate.tasting_points_in_current = bool(form.tasting_points_in_current.data)
    audit.record(db.session, g.estate.id, current_user, "reward.settings", g.estate, before,
                 audit.snapshot(g.estate, "tasting_points_in_current"), "")
    db.session.commit()
    flash(_("Les réglages sont enregistrés."), "success")
    return redirect(url_for("admin.reward_rules"))

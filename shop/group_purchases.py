"""Achat groupé, the customer's side: the request form of the estate page, the group's
link (group mode: the shop with the group's banner, its delivery only), and leaving
group mode.

Group mode is the group's token in the Flask session, per estate
(``session["group_purchases"][estate id]``); the checkout reads it through
:func:`current_group_id` and :func:`checkout_refusal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from models import GroupPurchase, db, utcnow
from services import accounts, mail
from services import group_purchases as groups
from services.delivery import COUNTRIES
from services.ratelimit import limiter
from shop import bp

GROUP_REQUEST_PER_IP = "5 per hour"  #: a form that emails the estate: no flooding its inbox
GROUP_REQUEST_MESSAGE = _l("Trop de demandes d'achat groupé depuis cette connexion. Réessayez dans une heure.")
_REQUIRED = _l("Ce champ est obligatoire.")
SESSION_KEY = "group_purchases"


def _postcode(form: FlaskForm, field: StringField) -> None:
    if (form.country.data or "FR") == "FR" and not re.fullmatch(r"\d{5}", (field.data or "").strip()):
        raise ValidationError(_l("Un code postal français compte 5 chiffres."))


class GroupRequestForm(FlaskForm):
    organiser_name = StringField(_l("Votre nom"), validators=[DataRequired(_REQUIRED), Length(max=160)])
    email = EmailField(_l("Adresse email"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide.")),
                                                        Length(max=254)])
    phone = StringField(_l("Téléphone"), validators=[DataRequired(_REQUIRED), Length(max=30)])
    estimated_bottles = StringField(_l("Nombre de bouteilles estimé"),
                                    validators=[DataRequired(_l("Indiquez un nombre de bouteilles.")), Length(max=6)])
    street = StringField(_l("Adresse de livraison"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[DataRequired(_REQUIRED), Length(max=10), _postcode])
    city = StringField(_l("Commune"), validators=[DataRequired(_REQUIRED), Length(max=100)])
    country = SelectField(_l("Pays"), default="FR")
    wished_date = DateField(_l("Date de livraison souhaitée (facultatif)"), validators=[Optional()])
    message = TextAreaField(_l("Message (facultatif)"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, str(name)) for code, name in COUNTRIES]

    def validate_estimated_bottles(self, field: StringField) -> None:
        raw = (field.data or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
            raise ValidationError(_l("Indiquez un nombre de bouteilles entre 1 et 10 000."))
        field.number = int(raw)


@bp.route("/achat-groupe", methods=["GET", "POST"])
@limiter.limit(GROUP_REQUEST_PER_IP, message=GROUP_REQUEST_MESSAGE)
def group_request():  # type: ignore[no-untyped-def]
    """The "Achat groupé" form: the estate gets an email with the request."""
    form = GroupRequestForm()
    if not form.validate_on_submit():
        return render_template("shop/group_request.html", form=form, estate=g.estate,
                               sent=False), 422 if form.is_submitted() else 200
    groups.submit_request(db.session, g.estate, groups.RequestData(
        organiser_name=form.organiser_name.data.strip(), email=accounts.normalise_email(form.email.data),
        phone=form.phone.data.strip(), estimated_bottles=form.estimated_bottles.number,
        street=form.street.data.strip(), postcode=form.postcode.data.strip(), city=form.city.data.strip(),
        country=form.country.data, wished_date=form.wished_date.data, message=(form.message.data or "").strip()),
        utcnow())
    db.session.commit()
    mail.deliver_now()
    return render_template("shop/group_request.html", form=None, estate=g.estate, sent=True)


@bp.get("/achat-groupe/<token>")
def group_link(token: str):  # type: ignore[no-untyped-def]
    """The link the organiser forwards: the shop in group mode.

    :raise 404: no group purchase of this estate has this token.
    """
    group = groups.find_by_token(db.session, token)
    if group is None:
        abort(404)
    tokens = dict(session.get(SESSION_KEY, {}))
    tokens[str(g.estate.id)] = group.token
    session[SESSION_KEY] = tokens
    return redirect(url_for("shop.page"))


@bp.post("/achat-groupe/quitter")
def leave_group():  # type: ignore[no-untyped-def]
    tokens = dict(session.get(SESSION_KEY, {}))
    if tokens.pop(str(g.estate.id), None) is not None:
        session[SESSION_KEY] = tokens
        flash(_("Vous avez quitté l'achat groupé : vos commandes sont de nouveau livrées à votre adresse."), "info")
    return redirect(url_for("shop.page"))


def in_group_mode() -> bool:
    """The visitor opened a group link of this estate (no query: for the page cache)."""
    estate_id = getattr(g, "estate_id", None)
    return estate_id is not None and str(estate_id) in session.get(SESSION_KEY, {})


def current_group() -> GroupPurchase | None:
    """The group purchase whose link the visitor opened at this estate, if any."""
    if not in_group_mode():
        return None
    if "group_purchase" not in g.__dict__:
        g.group_purchase = groups.find_by_token(db.session, session[SESSION_KEY][str(g.estate.id)])
    return g.group_purchase


def current_group_id() -> int | None:
    group = current_group()
    return group.id if group is not None else None


def checkout_refusal(bottles: int) -> str | None:
    """The French reason the checkout refuses this cart in group mode; None: it may go on."""
    group = current_group()
    reason = groups.refusal(group, bottles, utcnow())
    if reason == "closed":
        return _("Cet achat groupé est terminé : il ne prend plus de commande.")
    if reason == "minimum":
        return _("Dans cet achat groupé, chaque participant commande au moins %(n)s bouteilles : "
                 "ajoutez encore %(missing)s bouteille(s).", n=group.min_bottles_per_participant,
                 missing=group.min_bottles_per_participant - bottles)
    return None


@dataclass(frozen=True)
class Banner:
    group: GroupPurchase
    is_open: bool
    progress: groups.Progress
    closes_at: str
    discount: str


@bp.context_processor
def _group_banner() -> dict:
    """``group_banner`` for templates/base.html: None outside group mode."""
    group = current_group() if request.endpoint != "static" else None
    if group is None:
        return {"group_banner": None}
    return {"group_banner": Banner(group, groups.is_open(group, utcnow()), groups.progress(db.session, group.id),
                                   groups.paris_time(group.closes_at), groups.percent_label(group.discount_bp))}


def link_base() -> str:
    """The public URL a group's token is appended to."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + f"/{g.estate.slug}/achat-groupe/"

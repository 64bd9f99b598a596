"""The checkout form: who, where, how it is delivered and paid, and the conditions."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional, StopValidation, ValidationError

from admin.forms import EurosField
from shop.forms import StrongPassword
from models import utcnow
from services import distance_selling
from services.delivery import COUNTRIES

_REQUIRED = _l("Ce champ est obligatoire.")


def _countries() -> list[SelectChoice]:
    return list(_countries_in(str(get_locale() or "fr")))


@lru_cache(maxsize=8)
def _countries_in(locale: str) -> tuple[SelectChoice, ...]:
    """Translated once per language and worker: 250 names, twice a checkout form, were a
    tenth of the time of placing an order."""
    known = {code for code, _name in COUNTRIES}
    # then the other countries an estate may ship to (services.distance_selling), for the billing address
    return tuple(SelectChoice(code, str(name)) for code, name in COUNTRIES) + tuple(
        SelectChoice(code, str(name)) for code, name, _to in distance_selling.DESTINATIONS if code not in known)


def _postcode(form: FlaskForm, field: StringField) -> None:
    country_field = form.shipping_country if field.name == "shipping_postcode" else form.country
    if (country_field.data or "FR") == "FR" and field.data and not re.fullmatch(r"\d{5}", field.data.strip()):
        raise ValidationError(_l("Un code postal français compte 5 chiffres."))


class BirthDateField(DateField):
    """A date input (type="date"): browsers send 1980-12-25; typed by hand, 25/12/1980
    is read too. A date that cannot be read says so in French."""

    def __init__(self, label=None, validators=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(label, validators, format=["%Y-%m-%d", "%d/%m/%Y"], **kwargs)

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        if not valuelist:
            return
        text = " ".join(valuelist).strip()[:40]
        self.data = None
        if not text:
            return  # the validator says it is missing
        for fmt in self.format:
            try:
                self.data = datetime.strptime(text, fmt).date()
                return
            except ValueError:
                continue
        raise ValueError(str(distance_selling.BIRTH_DATE_MESSAGES["invalid"]))


def _adult(form: FlaskForm, field: BirthDateField) -> None:
    """18 on today's Paris date (L3342-1); services.orders.place_order checks it again
    on the order's own date."""
    if field.process_errors:
        raise StopValidation()  # unreadable: its message is already there
    today = distance_selling.today_in_paris(utcnow())
    problem = distance_selling.birth_date_problem(field.data, today)
    if problem is not None:
        raise StopValidation(str(distance_selling.BIRTH_DATE_MESSAGES[problem]))
    if not distance_selling.is_adult(field.data, today):
        raise StopValidation(str(distance_selling.MINORS_REFUSAL))


class CheckoutForm(FlaskForm):
    checkout_token = HiddenField()
    # a guest creates an account on the way (seed 004); ignored when logged in
    email = EmailField(_l("Adresse email"), validators=[Optional(), Email(_l("Adresse email invalide.")), Length(max=254)])
    password = PasswordField(_l("Choisissez un mot de passe"), validators=[Optional(), StrongPassword()])
    confirm = PasswordField(_l("Confirmez le mot de passe"), validators=[Optional(), EqualTo("password", _l("Les deux mots de passe diffèrent."))])
    first_name = StringField(_l("Prénom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    phone = StringField(_l("Téléphone"), validators=[DataRequired(_REQUIRED), Length(max=30)])
    company = StringField(_l("Société (facultatif)"), validators=[Optional(), Length(max=140)])
    street = StringField(_l("Adresse"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[DataRequired(_REQUIRED), Length(max=10), _postcode])
    city = StringField(_l("Commune"), validators=[DataRequired(_REQUIRED), Length(max=100)])
    country = SelectField(_l("Pays"), choices=_countries, default="FR")
    delivery = RadioField(_l("Livraison"), validators=[DataRequired(_l("Choisissez un mode de livraison."))])
    ship_elsewhere = BooleanField(_l("Livrer à une autre adresse"))
    shipping_name = StringField(_l("Destinataire"), validators=[Optional(), Length(max=160)])
    shipping_street = StringField(_l("Adresse de livraison"), validators=[Optional(), Length(max=200)])
    shipping_postcode = StringField(_l("Code postal"), validators=[Optional(), Length(max=10), _postcode])
    shipping_city = StringField(_l("Commune"), validators=[Optional(), Length(max=100)])
    shipping_country = SelectField(_l("Pays de livraison"), choices=_countries, default="FR")
    payment_mode = RadioField(_l("Paiement"), validators=[DataRequired(_l("Choisissez un mode de paiement."))])
    loyalty = EurosField(_l("Utiliser mon avoir fidélité (€)"))
    points = IntegerField(_l("Utiliser mes points"), validators=[Optional(), NumberRange(0, 10_000_000, _l("Nombre de points invalide."))])
    note = TextAreaField(_l("Un message pour le domaine (facultatif)"), validators=[Optional(), Length(max=2000)])
    accept_conditions = BooleanField(_l("J'ai lu et j'accepte les conditions générales de vente"),
                                     validators=[DataRequired(_l("Vous devez accepter les conditions de vente."))])
    adult = BooleanField(_l("Je certifie avoir 18 ans ou plus"),
                         validators=[DataRequired(_l("La vente d'alcool est interdite aux mineurs."))])
    #: prefilled from User.birth_date; stored on the order and the user (issue 15)
    birth_date = BirthDateField(_l("Date de naissance"), validators=[_adult])
    #: unticked by default; the template's label names the estate (issue 14)
    newsletter = BooleanField(_l("Je souhaite recevoir la lettre d'information du domaine"), default=False)

    def validate_shipping_street(self, field: StringField) -> None:
        if self.ship_elsewhere.data and self.delivery.data == "home":
            for other in (self.shipping_name, self.shipping_street, self.shipping_postcode, self.shipping_city):
                if not (other.data or "").strip():
                    raise ValidationError(_l("Indiquez l'adresse de livraison complète."))



class GroupCheckoutForm(FlaskForm):
    """A group basket's checkout (issue 11): who pays, the billing address, the
    conditions of every estate; delivery (the distribution) and payment (one card
    payment) are fixed. The fields are the checkout's own."""

    checkout_token = CheckoutForm.checkout_token
    first_name, last_name, phone = CheckoutForm.first_name, CheckoutForm.last_name, CheckoutForm.phone
    company, street, postcode = CheckoutForm.company, CheckoutForm.street, CheckoutForm.postcode
    city, country = CheckoutForm.city, CheckoutForm.country
    accept_conditions, adult = CheckoutForm.accept_conditions, CheckoutForm.adult
    birth_date = CheckoutForm.birth_date

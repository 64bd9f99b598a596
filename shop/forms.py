"""Customer-side forms. Every message is French through Flask-Babel."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from services import passwords
from services.accounts import InvalidSiret, normalise_siret

_REQUIRED = _l("Ce champ est obligatoire.")


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse email"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide."))])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(_REQUIRED)])
    remember = BooleanField(_l("Rester connecté"))


class StrongPassword:
    """The password policy of services.passwords, with French messages. The person's
    email and names are taken from the form's ``email``, ``first_name`` and ``last_name``
    fields when it has them, and from ``form.personal`` (set by the view) otherwise."""

    MESSAGES = {
        "too_short": _l("Le mot de passe doit compter au moins %(n)s caractères.", n=passwords.MIN_LENGTH),
        "too_long": _l("Le mot de passe doit compter au plus %(n)s caractères.", n=passwords.MAX_LENGTH),
        "common": _l("Ce mot de passe est trop courant : choisissez-en un autre, par exemple une phrase de quelques mots."),
        "personal": _l("Le mot de passe ne doit reprendre ni votre nom ni votre adresse email."),
    }

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        personal = list(getattr(form, "personal", ()))
        for name in ("email", "first_name", "last_name"):
            if name in form and isinstance(form[name].data, str):
                personal.append(form[name].data)
        try:
            passwords.check(field.data or "", personal)
        except passwords.WeakPassword as exc:
            raise ValidationError(self.MESSAGES[exc.reason]) from exc


def _password_fields(label=_l("Mot de passe")):  # type: ignore[no-untyped-def]
    password = PasswordField(label, validators=[DataRequired(_REQUIRED), StrongPassword()])
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[DataRequired(_REQUIRED), EqualTo("password", _l("Les deux mots de passe diffèrent."))],
    )
    return password, confirm


class RegisterForm(FlaskForm):
    first_name = StringField(_l("Prénom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    email = EmailField(_l("Adresse email"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide.")), Length(max=254)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)])
    password, confirm = _password_fields()
    adult = BooleanField(_l("Je certifie avoir 18 ans ou plus"), validators=[DataRequired(_l("La vente d'alcool est interdite aux mineurs."))])


def _activity_choices() -> list[tuple[str, str]]:
    from services.platform import PRO_ACTIVITIES

    return [("", str(_l("— Choisissez —")))] + [(key, str(label)) for key, label in PRO_ACTIVITIES.items()]


class ProRegisterForm(RegisterForm):
    company_name = StringField(_l("Raison sociale"), validators=[DataRequired(_REQUIRED), Length(max=140)])
    siret = StringField(_l("Numéro SIRET"), validators=[DataRequired(_REQUIRED), Length(max=30)])
    #: the wine activity declared (User.pro_activity), shown to the operator who verifies the account
    activity = SelectField(_l("Activité"), choices=_activity_choices, validate_choice=False)

    def validate_activity(self, field: SelectField) -> None:
        from services.platform import PRO_ACTIVITIES

        if field.data not in PRO_ACTIVITIES:
            raise ValidationError(_l("Choisissez votre activité dans la liste."))

    def validate_siret(self, field: StringField) -> None:
        try:
            normalise_siret(field.data)
        except InvalidSiret as exc:
            if str(exc) == "length":
                raise ValidationError(_l("Le numéro SIRET doit comporter 14 chiffres.")) from exc
            raise ValidationError(_l("Ce numéro SIRET n'est pas valide (clé de contrôle incorrecte).")) from exc


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Adresse email"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide."))])


class ResetPasswordForm(FlaskForm):
    password, confirm = _password_fields()


class PasswordChangeForm(FlaskForm):
    password, confirm = _password_fields(_l("Nouveau mot de passe"))


class EmailChangeForm(FlaskForm):
    email = EmailField(_l("Nouvelle adresse email"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide.")), Length(max=254)])


class ReauthenticateForm(FlaskForm):
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(_REQUIRED), Length(max=passwords.MAX_LENGTH)])
    code = StringField(_l("Code de l'application d'authentification"), validators=[Optional(), Length(max=40)])


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Code à 6 chiffres ou code de secours"), validators=[DataRequired(_REQUIRED), Length(max=40)])


class TotpConfirmForm(FlaskForm):
    code = StringField(_l("Code affiché par l'application"), validators=[DataRequired(_REQUIRED), Length(max=40)])


class ProfileForm(FlaskForm):
    first_name = StringField(_l("Prénom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)])


class AddressForm(FlaskForm):
    billing_street = StringField(_l("Adresse de facturation"), validators=[Optional(), Length(max=200)])
    billing_postcode = StringField(_l("Code postal"), validators=[Optional(), Length(max=10)])
    billing_city = StringField(_l("Commune"), validators=[Optional(), Length(max=100)])
    shipping_street = StringField(_l("Adresse de livraison"), validators=[Optional(), Length(max=200)])
    shipping_postcode = StringField(_l("Code postal de livraison"), validators=[Optional(), Length(max=10)])
    shipping_city = StringField(_l("Commune de livraison"), validators=[Optional(), Length(max=100)])

    def validate_billing_postcode(self, field: StringField) -> None:
        if field.data and not re.fullmatch(r"\d{5}", field.data.strip()):
            raise ValidationError(_l("Un code postal français compte 5 chiffres."))

    validate_shipping_postcode = validate_billing_postcode


# ------------------------------------------------------------------ producer groups (shop/groups.py)

from wtforms import DateField, TextAreaField, TimeField  # noqa: E402
from wtforms.validators import InputRequired  # noqa: E402


class GroupForm(FlaskForm):
    name = StringField(_l("Nom du groupe"), validators=[DataRequired(_l("Indiquez le nom du groupe.")), Length(max=140)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    place = StringField(_l("Lieu habituel des distributions"), validators=[Optional(), Length(max=255)])
    is_public = BooleanField(_l("Groupe public : toute personne ayant le lien peut rejoindre le groupe"))


def _plausible_date(form: FlaskForm, field: DateField) -> None:
    if field.data is not None and not 2000 <= field.data.year <= 2200:
        raise ValidationError(_l("Indiquez une date valide."))


class DistributionForm(FlaskForm):
    day = DateField(_l("Date de la distribution"), validators=[InputRequired(_l("Indiquez la date.")), _plausible_date])
    starts_time = TimeField(_l("Heure de début (heure de Paris)"),
                            validators=[InputRequired(_l("Indiquez l'heure de début."))])
    ends_time = TimeField(_l("Heure de fin (heure de Paris)"), validators=[InputRequired(_l("Indiquez l'heure de fin."))])
    place = StringField(_l("Lieu"), validators=[Optional(), Length(max=255)])
    closes_on = DateField(_l("Fin des commandes : date"),
                          validators=[InputRequired(_l("Indiquez la date de fin des commandes.")), _plausible_date])
    closes_time = TimeField(_l("Fin des commandes : heure (heure de Paris)"),
                            validators=[InputRequired(_l("Indiquez l'heure de fin des commandes."))])


class LinkCatalogueForm(FlaskForm):
    address = StringField(_l("Adresse du catalogue"),
                          validators=[DataRequired(_l("Collez l'adresse du catalogue envoyée par le domaine.")),
                                      Length(max=500)])


class InviteForm(FlaskForm):
    emails = TextAreaField(_l("Adresses email (une par ligne, ou séparées par des virgules)"),
                           validators=[DataRequired(_l("Indiquez au moins une adresse email.")),
                                       Length(max=60_000, message=_l("Au plus 200 adresses à la fois."))])


class InvitationRegisterForm(FlaskForm):
    """The invited person's account: the address is the invited one (``form.personal``)."""

    first_name = StringField(_l("Prénom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    password, confirm = _password_fields()
    adult = BooleanField(_l("Je certifie avoir 18 ans ou plus"),
                         validators=[DataRequired(_l("La vente d'alcool est interdite aux mineurs."))])

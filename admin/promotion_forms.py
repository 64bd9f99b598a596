"""The promotion form: a benefit, its conditions, how it stacks, and its code."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from admin.forms import EurosField, parse_hundredths
from models import Colour
from services.templating import COLOUR_LABELS

_REQUIRED = _l("Ce champ est obligatoire.")

BENEFIT_LABELS = {
    "percent_off": _l("% de remise sur un ou plusieurs vins"),
    "amount_off_order": _l("Remise en € sur la commande"),
    "amount_off_each": _l("Remise en € sur chaque bouteille"),
    "free_shipping": _l("Frais de port offerts"),
    "nth_free": _l("Nᵉ bouteille offerte (même vin)"),
    "gift": _l("Article offert à partir d'un montant"),
    "fixed_price": _l("Prix promotionnel fixe"),
}


class PromotionForm(FlaskForm):
    name = StringField(_l("Nom de la promotion"), validators=[DataRequired(_REQUIRED), Length(max=120)])
    benefit = SelectField(_l("Avantage"), choices=lambda: [SelectChoice(k, str(v)) for k, v in BENEFIT_LABELS.items()])
    percent = StringField(_l("Remise (%)"), validators=[Length(max=6)])
    amount = EurosField(_l("Montant de la remise (€)"))
    nth = IntegerField(_l("Bouteille offerte : la Nᵉ"), validators=[Optional(), NumberRange(2, 120, _l("Entre 2 et 120."))])
    fixed_price = EurosField(_l("Prix promotionnel (€)"))
    gift_wines = SelectMultipleField(_l("Article(s) offert(s) — le client choisit s'il y en a plusieurs"), coerce=int)
    gift_quantity = IntegerField(_l("Quantité offerte"), default=1, validators=[Optional(), NumberRange(1, 24, _l("Entre 1 et 24."))])
    target_wines = SelectMultipleField(_l("Vins concernés (aucun : tous)"), coerce=int)
    target_colours = SelectMultipleField(_l("Couleurs concernées (aucune : toutes)"),
                                         choices=lambda: [SelectChoice(c.value, str(COLOUR_LABELS[c])) for c in Colour])
    min_bottles = IntegerField(_l("À partir de (bouteilles)"), validators=[Optional(), NumberRange(0, 10_000, _l("Nombre invalide."))])
    min_amount = EurosField(_l("À partir d'un panier de (€)"))
    starts_on = DateField(_l("Début"), validators=[Optional()])
    ends_on = DateField(_l("Fin (incluse)"), validators=[Optional()])
    france_only = BooleanField(_l("France uniquement"))
    customer_kind = SelectField(_l("Clients"), choices=lambda: [SelectChoice("", str(_l("Particuliers et professionnels"))),
                                                              SelectChoice("particulier", str(_l("Particuliers uniquement"))),
                                                              SelectChoice("professionnel", str(_l("Professionnels uniquement")))])
    pickup_only = BooleanField(_l("Uniquement pour l'enlèvement à la propriété"))
    cumulative = BooleanField(_l("Cumulable avec les autres promotions"), default=True)
    priority = IntegerField(_l("Priorité (la plus haute l'emporte)"), default=0, validators=[Optional(), NumberRange(-1000, 1000)])
    code = StringField(_l("Code promo (vide : promotion automatique)"), validators=[Optional(), Length(max=40)])
    is_public = BooleanField(_l("Code visible par tous les visiteurs"))
    customers = SelectMultipleField(_l("Réservé à ces clients (aucun : tous)"), coerce=int)
    won_above = EurosField(_l("Code gagné par les clients dont une commande payée atteint (€)"))
    max_uses = IntegerField(_l("Utilisations au total (vide : illimité)"), validators=[Optional(), NumberRange(1, 1_000_000, _l("Nombre invalide."))])
    max_uses_per_customer = IntegerField(_l("Utilisations par client (vide : illimité)"), validators=[Optional(), NumberRange(1, 1000, _l("Nombre invalide."))])
    is_active = BooleanField(_l("Active"), default=True)

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """Field checks, then what the chosen benefit needs (Optional() stops a field's
        own chain when it is empty, so these run here)."""
        ok = super().validate(extra_validators)
        self.percent.bp = 0
        try:
            self.percent.bp = parse_hundredths(self.percent.data, message=_l("Pourcentage invalide.")) or 0
        except ValidationError as exc:
            self.percent.errors = [*self.percent.errors, str(exc)]
            return False
        missing = {
            "percent_off": (self.percent, not 0 < self.percent.bp <= 10000,
                            _l("Indiquez une remise entre 0,01 et 100 %.")),
            "amount_off_order": (self.amount, not self.amount.cents, _l("Indiquez le montant de la remise.")),
            "amount_off_each": (self.amount, not self.amount.cents, _l("Indiquez le montant de la remise.")),
            "nth_free": (self.nth, not self.nth.data, _l("Indiquez quelle bouteille est offerte (6 pour la 6ᵉ).")),
            "fixed_price": (self.fixed_price, not self.fixed_price.cents, _l("Indiquez le prix promotionnel.")),
            "gift": (self.gift_wines, not self.gift_wines.data, _l("Choisissez au moins un article offert.")),
        }.get(self.benefit.data)
        if missing is not None and missing[1] and not missing[0].errors:
            missing[0].errors = [*missing[0].errors, str(missing[2])]
            return False
        return ok

    def validate_code(self, field: StringField) -> None:
        field.data = (field.data or "").strip().upper() or None
        if field.data and not re.fullmatch(r"[A-Z0-9#_\-]{3,40}", field.data):
            raise ValidationError(_l("Le code compte de 3 à 40 lettres, chiffres, #, - ou _ (sans espace)."))

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("La fin doit suivre le début."))

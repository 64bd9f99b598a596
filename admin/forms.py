"""Back-office forms. Prices are typed in euros ("12,50") and stored in cents."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from flask_wtf.file import FileField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import Colour
from services.pricing import parse_euros
from services.templating import COLOUR_LABELS, MONTHS

_REQUIRED = _l("Ce champ est obligatoire.")
_DECIMAL = {"inputmode": "decimal"}  #: a phone's numeric keyboard with its decimal comma


class EurosField(StringField):
    """A price in euros, typed "12,50" or "12.50"; ``cents`` holds the parsed value."""

    cents: int | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.cents = None
        text = (self.data or "").strip()
        if text:
            try:
                self.cents = parse_euros(text)
            except ValueError:
                self.cents = None
                raise ValueError(_l("Montant invalide : écrivez par exemple 12,50.")) from None


def parse_hundredths(text: str | None, message: object = None) -> int | None:
    """"13,5" → 1350, "2" → 200, "" → None. :raise ValidationError: not such a number."""
    cleaned = (text or "").replace("%", "").strip().replace(",", ".")
    if not cleaned:
        return None
    match = re.fullmatch(r"(\d{1,4})(?:\.(\d{1,2}))?", cleaned)
    if match is None:
        raise ValidationError(message or _l("Degré invalide : écrivez par exemple 13,5."))
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


class DecigramsField(StringField):
    """Grams per 100 ml typed "0,2" (one decimal at most); ``decigrams`` holds the value
    in tenths of a gram (Wine.<nutrient>_dg), None when left empty."""

    decigrams: int | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.decigrams = None
        text = (self.data or "").strip().removesuffix("g").strip().replace(",", ".")
        if not text:
            return
        match = re.fullmatch(r"(\d{1,4})(?:\.(\d)0*)?", text)  # "0,20" is "0,2"
        if match is None:
            raise ValueError(_l("Valeur invalide : écrivez des grammes pour 100 ml, par exemple 0,2 "
                                "(une décimale au plus)."))
        decigrams = int(match.group(1)) * 10 + int(match.group(2) or 0)
        if decigrams > 1000:
            raise ValueError(_l("Valeur invalide : au plus 100 g pour 100 ml."))
        self.decigrams = decigrams


def format_decigrams(decigrams: int | None) -> str:
    """2 → "0,2", 0 → "0", None → ""."""
    if decigrams is None:
        return ""
    return f"{decigrams // 10},{decigrams % 10}" if decigrams % 10 else str(decigrams // 10)


def _positive_price(form: FlaskForm, field: EurosField) -> None:
    if field.cents is not None and field.cents <= 0:
        raise ValidationError(_l("Le prix doit être supérieur à zéro."))


def month_choices() -> list[SelectChoice]:
    return [SelectChoice(0, "—")] + [SelectChoice(i + 1, str(m)) for i, m in enumerate(MONTHS)]


class WineRowForm(FlaskForm):
    """The inline "Modifier" row of the wines table."""

    price = EurosField(_l("Prix"), validators=[_positive_price])
    promo_price = EurosField(_l("Prix promotionnel"), validators=[_positive_price])
    promo_active = BooleanField(_l("Promotion active"))
    vintage = IntegerField(_l("Millésime"), validators=[Optional(), NumberRange(1900, 2100, _l("Millésime invalide."))])
    stock = IntegerField(_l("Stock"), validators=[InputRequired(_REQUIRED), NumberRange(0, 1_000_000, _l("Le stock ne peut pas être négatif."))])
    is_available = BooleanField(_l("Disponible"))
    available_again_month = SelectField(_l("De retour en"), coerce=int, choices=month_choices, validate_choice=True)
    available_again_year = IntegerField(_l("Année"), validators=[Optional(), NumberRange(2000, 2100, _l("Année invalide."))])
    is_visible = BooleanField(_l("Affiché"))
    #: shown when the estate's reservations are on and the wine is unavailable (services.reservations)
    reservation_open = BooleanField(_l("Réservations ouvertes"))
    reservation_price = EurosField(_l("Prix de réservation"), validators=[_positive_price])
    reservation_cap = IntegerField(_l("Plafond de réservation (bouteilles)"), validators=[Optional(), NumberRange(0, 1_000_000, _l("Le plafond ne peut pas être négatif."))])


class WineForm(FlaskForm):
    name = StringField(_l("Nom de la cuvée"), validators=[DataRequired(_REQUIRED), Length(max=140)])
    colour = SelectField(_l("Couleur"), choices=lambda: [SelectChoice(c.value, str(COLOUR_LABELS[c])) for c in Colour])
    appellation = StringField(_l("Appellation"), validators=[Optional(), Length(max=140)])
    vintage = IntegerField(_l("Millésime"), validators=[Optional(), NumberRange(1900, 2100, _l("Millésime invalide."))])
    volume_ml = IntegerField(_l("Contenance (ml)"), default=750, validators=[InputRequired(_REQUIRED), NumberRange(50, 30000, _l("Contenance invalide."))])
    reference = StringField(_l("Référence interne"), validators=[Optional(), Length(max=40)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    grapes = StringField(_l("Cépages"), validators=[Optional(), Length(max=200)])
    alcohol = StringField(_l("Degré d'alcool (% vol.)"), validators=[Optional(), Length(max=6)])
    soil = StringField(_l("Terroir"), validators=[Optional(), Length(max=200)])
    vinification = TextAreaField(_l("Vinification et élevage"), validators=[Optional(), Length(max=5000)])
    tasting_notes = TextAreaField(_l("Dégustation"), validators=[Optional(), Length(max=5000)])
    food_pairing = StringField(_l("Accords mets et vins"), validators=[Optional(), Length(max=255)])
    serving_temperature = StringField(_l("Température de service"), validators=[Optional(), Length(max=40)])
    cellaring = StringField(_l("Garde"), validators=[Optional(), Length(max=80)])
    stock = IntegerField(_l("Stock (bouteilles)"), default=0, validators=[Optional(), NumberRange(0, 1_000_000, _l("Le stock ne peut pas être négatif."))])
    order_multiple = IntegerField(_l("Multiple de commande"), default=1, validators=[InputRequired(_REQUIRED), NumberRange(1, 120, _l("Le multiple doit être entre 1 et 120."))])
    position = IntegerField(_l("Ordre d'affichage"), default=0, validators=[Optional(), NumberRange(0, 10_000)])
    vat_rate_id = SelectField(_l("TVA"), coerce=int)
    is_available = BooleanField(_l("Disponible"), default=True)
    available_again_month = SelectField(_l("De retour en"), coerce=int, choices=month_choices)
    available_again_year = IntegerField(_l("Année"), validators=[Optional(), NumberRange(2000, 2100, _l("Année invalide."))])
    is_visible = BooleanField(_l("Affiché sur la boutique"), default=True)
    # issue 15, the e-label (services.elabel): alcohol and volume are above; allergens,
    # with them, are required before the wine is made visible (checked in the view)
    allergens = StringField(_l("Allergènes"), validators=[Optional(), Length(max=255)])
    ingredients = TextAreaField(_l("Ingrédients"), validators=[Optional(), Length(max=2000)])
    energy_kj = IntegerField(_l("Énergie (kJ pour 100 ml)"), validators=[Optional(), NumberRange(0, 2100, _l("Énergie invalide : entre 0 et 2 100 kJ pour 100 ml."))])
    energy_kcal = IntegerField(_l("Énergie (kcal pour 100 ml)"), validators=[Optional(), NumberRange(0, 500, _l("Énergie invalide : entre 0 et 500 kcal pour 100 ml."))])
    fat = DecigramsField(_l("Matières grasses (g)"), render_kw=_DECIMAL)
    saturates = DecigramsField(_l("dont acides gras saturés (g)"), render_kw=_DECIMAL)
    carbohydrate = DecigramsField(_l("Glucides (g)"), render_kw=_DECIMAL)
    sugars = DecigramsField(_l("dont sucres (g)"), render_kw=_DECIMAL)
    protein = DecigramsField(_l("Protéines (g)"), render_kw=_DECIMAL)
    salt = DecigramsField(_l("Sel (g)"), render_kw=_DECIMAL)
    origin = StringField(_l("Origine"), validators=[Optional(), Length(max=140)])
    bottler = StringField(_l("Embouteilleur (nom et adresse)"), validators=[Optional(), Length(max=200)])
    photo = FileField(_l("Photo de la bouteille (JPEG, PNG ou WebP, 8 Mo au plus)"))
    remove_photo = BooleanField(_l("Retirer la photo"))

    def validate_alcohol(self, field: StringField) -> None:
        hundredths = parse_hundredths(field.data)
        field.permille = None if hundredths is None else hundredths // 10
        if hundredths is not None and (hundredths > 8000 or hundredths % 10):
            raise ValidationError(_l("Degré invalide : écrivez par exemple 13,5."))
        if hundredths is not None and not 50 <= hundredths <= 2500:
            field.permille = None
            raise ValidationError(_l("Le degré d'alcool d'un vin est compris entre 0,5 et 25 % vol."))

    def validate_saturates(self, field: DecigramsField) -> None:
        if field.decigrams is not None and self.fat.decigrams is not None and field.decigrams > self.fat.decigrams:
            raise ValidationError(_l("Les acides gras saturés ne peuvent pas dépasser les matières grasses."))

    def validate_sugars(self, field: DecigramsField) -> None:
        if (field.decigrams is not None and self.carbohydrate.decigrams is not None
                and field.decigrams > self.carbohydrate.decigrams):
            raise ValidationError(_l("Les sucres ne peuvent pas dépasser les glucides."))

    def validate_energy_kcal(self, field: IntegerField) -> None:
        from services.elabel import energies_agree

        kj = self.energy_kj.data
        if field.data is not None and kj is not None and not field.errors and not energies_agree(kj, field.data):
            raise ValidationError(_l("%(kj)s kJ ne font pas %(kcal)s kcal : 1 kcal = 4,184 kJ. "
                                     "Indiquez l'une des deux, l'autre sera calculée.", kj=kj, kcal=field.data))


class EstateForm(FlaskForm):
    name = StringField(_l("Nom du domaine"), validators=[DataRequired(_REQUIRED), Length(max=140)])
    legal_name = StringField(_l("Raison sociale"), validators=[Optional(), Length(max=140)])
    street = StringField(_l("Adresse"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=100)])
    region = StringField(_l("Région viticole"), validators=[Optional(), Length(max=80)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)])
    email = StringField(_l("Email de contact"), validators=[Optional(), Length(max=254)])
    siret = StringField(_l("SIRET"), validators=[Optional(), Length(max=20)])
    vat_number = StringField(_l("N° de TVA intracommunautaire"), validators=[Optional(), Length(max=20)])
    description = TextAreaField(_l("Présentation"), validators=[Optional(), Length(max=10000)])
    video_url = StringField(_l("Vidéo de présentation (lien YouTube, Vimeo ou .mp4)"), validators=[Optional(), URL(message=_l("Lien invalide.")), Length(max=255)])
    sales_conditions_fr = TextAreaField(_l("Conditions de vente — France"), validators=[Optional(), Length(max=20000)])
    sales_conditions_export = TextAreaField(_l("Conditions de vente — autres pays"), validators=[Optional(), Length(max=20000)])
    minimum_order = EurosField(_l("Minimum de commande (€)"))
    shipping_delay = StringField(_l("Délai d'expédition"), validators=[Optional(), Length(max=140)])
    #: issue 14: counted in working days by services.closing (the expected shipping date)
    preparation_days = StringField(_l("Délai de préparation (jours ouvrés)"), validators=[Optional(), Length(max=3)])
    mixing_allowed = BooleanField(_l("Autoriser le panachage (bouton +1)"))
    logo = FileField(_l("Logo (JPEG, PNG ou WebP, 8 Mo au plus)"))
    remove_logo = BooleanField(_l("Retirer le logo"))
    case_size = IntegerField(_l("Taille du carton panaché (bouteilles)"), validators=[InputRequired(_REQUIRED), NumberRange(1, 48, _l("Entre 1 et 48 bouteilles."))])
    #: the operator's switch (seed 000): shown to and honoured for platform admins only
    reservations_enabled = BooleanField(_l("Réservations de vins non disponibles"))

    def validate_preparation_days(self, field: StringField) -> None:
        """``field.days``: the number of working days, None when left empty (unchanged)."""
        raw = (field.data or "").strip()
        field.days = int(raw) if raw.isdigit() else None
        if raw and (field.days is None or field.days > 60):
            raise ValidationError(_l("Indiquez un nombre de jours ouvrés entre 0 et 60."))

    def validate_siret(self, field: StringField) -> None:
        from services.accounts import InvalidSiret, normalise_siret

        if field.data:
            try:
                field.data = normalise_siret(field.data)
            except InvalidSiret:
                raise ValidationError(_l("Ce numéro SIRET n'est pas valide.")) from None


class PriceListForm(FlaskForm):
    name = StringField(_l("Nom du tarif"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    prices_include_vat = SelectField(_l("Prix saisis et affichés"), choices=lambda: [SelectChoice("ttc", str(_l("TTC"))), SelectChoice("ht", str(_l("HT")))])
    sales_conditions = TextAreaField(_l("Conditions de vente de ce tarif"), validators=[Optional(), Length(max=20000)])
    cash_discount = StringField(_l("Escompte pour paiement comptant (%)"), validators=[Optional(), Length(max=6)])

    def validate_cash_discount(self, field: StringField) -> None:
        bp = parse_hundredths(field.data, message=_l("Pourcentage invalide."))
        field.bp = bp or 0
        if not 0 <= field.bp <= 5000:
            raise ValidationError(_l("L'escompte doit être entre 0 et 50 %."))

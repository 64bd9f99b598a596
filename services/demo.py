"""Demo platform: two fictional estates, their catalogues, tariffs and accounts.

:func:`seed_demo` only adds rows and flushes; the caller commits. Every account it
creates shares :data:`DEMO_PASSWORD`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Colour,
    CustomerKind,
    Estate,
    EstateCustomer,
    EstateStaff,
    Price,
    PriceList,
    ProStatus,
    Role,
    User,
    VatRate,
    Wine,
    Promotion,
    ShippingRate,
    ShippingZone,
)
from services.accounts import register_user
from services.tenancy import all_estates, in_estate

DEMO_PASSWORD = "chai-demo-2026"

VERNETTE_SLUG = "domaine-de-la-vernette"
ROZEL_SLUG = "domaine-rozel"

# ----------------------------------------------------------------------- VAT rates

VAT_RATES: tuple[dict[str, Any], ...] = (
    {"name": "TVA 20 %", "rate_bp": 2000},
    {"name": "TVA 10 %", "rate_bp": 1000},
    {"name": "TVA 5,5 %", "rate_bp": 550},
)
WINE_VAT_BP = 2000  #: French wine is at the normal rate

# ------------------------------------------------------------------------- estates

ESTATES: tuple[dict[str, Any], ...] = (
    {
        "slug": VERNETTE_SLUG,
        "order_prefix": "VER",
        "free_shipping_above_cents": 25000,
        "pickup_instructions": "Au caveau, 214 route des Thorins, du lundi au samedi, 9 h – 12 h et 14 h – 18 h.",
        "name": "Domaine de la Vernette",
        "legal_name": "EARL Domaine de la Vernette",
        "street": "214 route des Thorins",
        "postcode": "71570",
        "city": "Romanèche-Thorins",
        "phone": "03 53 48 12 40",
        "email": "contact@vernette.example",
        "siret": "81472563600017",
        "vat_number": "FR20814725636",
        "region": "Beaujolais / Mâconnais",
        "description": (
            "Installé au pied du moulin de Romanèche-Thorins, le Domaine de la Vernette "
            "cultive quatorze hectares de vignes entre les crus du Beaujolais et les coteaux "
            "calcaires du Mâconnais. La famille Vernay y fait du vin depuis quatre générations.\n\n"
            "Nos gamays poussent sur les granites roses et les schistes bleus de Moulin-à-Vent, "
            "de Morgon et de Fleurie ; nos chardonnays sur les marnes et les calcaires de "
            "Saint-Véran et de Pouilly-Fuissé. Le domaine est conduit en agriculture biologique "
            "depuis 2015 : sols travaillés, enherbement naturel, vendanges entièrement manuelles.\n\n"
            "Au chai, nous vinifions chaque parcelle séparément, en grappes entières pour les "
            "rouges, avec des levures indigènes et un élevage patient en foudres et en demi-muids. "
            "Vous êtes les bienvenus au caveau du lundi au samedi, sur rendez-vous."
        ),
        "video_url": "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "sales_conditions_fr": (
            "Prix en euros TTC, départ domaine, valables dans la limite des stocks disponibles.\n"
            "Minimum de commande : 60 € TTC. Panachage autorisé par cartons de 6 bouteilles.\n"
            "Livraison en France métropolitaine par transporteur ; frais de port calculés à la "
            "commande, offerts à partir de 36 bouteilles.\n"
            "Paiement à la commande par carte bancaire ou virement. Les vins restent la propriété "
            "du domaine jusqu'au paiement intégral.\n"
            "Toute casse doit être signalée au transporteur sous 48 heures, avec réserves écrites "
            "sur le bon de livraison."
        ),
        "sales_conditions_export": (
            "Livraison hors de France sur devis uniquement : contactez-nous avant de commander.\n"
            "Prix hors droits d'accises et taxes du pays de destination, qui restent à la charge "
            "de l'acheteur.\n"
            "Expédition sous document d'accompagnement électronique (DAE) pour les professionnels "
            "de l'Union européenne disposant d'un numéro d'entrepositaire agréé.\n"
            "Paiement par virement avant expédition."
        ),
        "minimum_order_cents": 6000,
        "shipping_delay": "Expédition sous 5 jours ouvrés",
        "mixing_allowed": True,
        "case_size": 6,
    },
    {
        "slug": ROZEL_SLUG,
        "order_prefix": "ROZ",
        "allows_hand_delivery": True,
        "name": "Domaine Rozel",
        "legal_name": "SCEA Domaine Rozel",
        "street": "12 rue des Caves",
        "postcode": "49400",
        "city": "Varrains",
        "phone": "02 61 91 27 15",
        "email": "contact@rozel.example",
        "siret": "79235418500011",
        "vat_number": "FR64792354185",
        "region": "Loire — Anjou-Saumur",
        "description": (
            "Le Domaine Rozel est né en 1962 dans les caves troglodytiques de Varrains, creusées "
            "dans le tuffeau blanc du Saumurois. Anne Rozel a repris en 2012 les dix-huit hectares "
            "plantés par son grand-père, entre Saumur-Champigny et les coteaux du Layon.\n\n"
            "Le cabernet franc règne sur nos argilo-calcaires de Champigny ; le chenin s'exprime "
            "sur la craie tuffeau de Saumur comme sur les schistes et les grès de l'Anjou noir. "
            "Nous travaillons sans désherbant ni insecticide, avec des couverts végétaux semés "
            "entre les rangs.\n\n"
            "Les raisins sont triés à la main, vinifiés par gravité dans la roche et élevés à "
            "température constante, à douze degrés, au cœur du coteau. Nos liquoreux ne naissent "
            "que les années où le botrytis le permet, par tries successives."
        ),
        "video_url": None,
        "sales_conditions_fr": (
            "Prix en euros TTC, départ domaine, dans la limite des stocks disponibles.\n"
            "Le domaine vend ses vins par cartons complets de la même cuvée : pas de panachage.\n"
            "Livraison en France métropolitaine sous 7 à 10 jours ; retrait possible au caveau "
            "de Varrains, sur rendez-vous.\n"
            "Paiement à la commande par carte bancaire. Réserve de propriété jusqu'au paiement "
            "intégral du prix."
        ),
        "sales_conditions_export": (
            "Nous n'expédions pas directement hors de France : nos importateurs sont indiqués "
            "sur simple demande.\n"
            "Pour les professionnels de l'Union européenne, enlèvement possible au domaine sous "
            "DAE, paiement par virement avant enlèvement."
        ),
        "minimum_order_cents": 0,
        "shipping_delay": "Expédition sous 7 à 10 jours",
        "mixing_allowed": False,
        "case_size": 6,
    },
)

# ---------------------------------------------------------------------- price lists

PARTICULIERS = "Particuliers"
PROFESSIONNELS = "Professionnels"
GROUP = "Clients historiques"

PRO_CONDITIONS = (
    "Tarif HT départ domaine, réservé aux professionnels (cavistes, restaurateurs, "
    "épiceries fines) sur présentation d'un Kbis.\n"
    "Paiement à 30 jours fin de mois ; escompte de 2 % pour paiement comptant.\n"
    "Franco de port à partir de 60 bouteilles, sinon participation aux frais de transport."
)

PRICE_LISTS: tuple[dict[str, Any], ...] = (
    {"name": PARTICULIERS, "default_for": CustomerKind.PARTICULIER,
     "prices_include_vat": True, "position": 0},
    {"name": PROFESSIONNELS, "default_for": CustomerKind.PROFESSIONNEL,
     "prices_include_vat": False, "cash_discount_bp": 200, "position": 1,
     "sales_conditions": PRO_CONDITIONS},
)
GROUP_PRICE_LIST: dict[str, Any] = {
    "name": GROUP, "default_for": None, "prices_include_vat": True, "position": 2,
    "sales_conditions": "Tarif réservé aux clients fidèles du domaine, prix TTC.",
}

# -------------------------------------------------------------------------- wines
# Price keys (cents) are taken out of each dict before the Wine is built:
# "ttc" → Particuliers, "promo" → its promotional price, "pro" → Professionnels (HT),
# "group" → Clients historiques. A missing key means no price on that list.

PRICE_KEYS = ("ttc", "promo", "pro", "group")

VERNETTE_WINES: tuple[dict[str, Any], ...] = (
    {
        "name": "Morgon « Côte du Py »", "colour": Colour.ROUGE, "appellation": "Morgon",
        "vintage": 2022, "reference": "VER-MOR-22", "grapes": "Gamay noir à jus blanc",
        "alcohol_permille": 135, "soil": "Schistes bleus décomposés (« roche pourrie »)",
        "vinification": "Grappes entières, macération semi-carbonique de 15 jours, "
                        "élevage de 10 mois en foudres de chêne.",
        "tasting_notes": "Robe grenat profond. Nez de griotte, de pivoine et de poivre ; "
                         "bouche charnue, tanins serrés, finale minérale et kirschée.",
        "food_pairing": "Coq au vin, andouillette, fromages affinés",
        "serving_temperature": "15–16 °C", "cellaring": "5 à 10 ans",
        "description": "Notre cuvée phare, issue du plus célèbre climat de Morgon. Un gamay "
                       "de garde, dense et profond, qui « morgonne » avec les années.",
        "stock": 180, "order_multiple": 1, "ttc": 1850, "pro": 1230, "group": 1650,
    },
    {
        "name": "Fleurie « Les Moriers »", "colour": Colour.ROUGE, "appellation": "Fleurie",
        "vintage": 2023, "reference": "VER-FLE-23", "grapes": "Gamay noir à jus blanc",
        "alcohol_permille": 130, "soil": "Arènes granitiques roses",
        "vinification": "Macération semi-carbonique de 10 jours, élevage en cuve béton.",
        "tasting_notes": "Nez floral d'iris et de violette, fruits rouges croquants ; "
                         "bouche soyeuse et aérienne.",
        "food_pairing": "Volaille rôtie, terrine de campagne, saumon grillé",
        "serving_temperature": "14 °C", "cellaring": "3 à 6 ans",
        "description": "Le plus féminin des crus du Beaujolais, tout en finesse et en parfum.",
        "stock": 240, "order_multiple": 1, "ttc": 1650, "pro": 1100, "group": 1490,
    },
    {
        "name": "Moulin-à-Vent « Vieilles Vignes »", "colour": Colour.ROUGE,
        "appellation": "Moulin-à-Vent", "vintage": 2020, "reference": "VER-MAV-20",
        "grapes": "Gamay noir à jus blanc (vignes de 70 ans)", "alcohol_permille": 135,
        "soil": "Granite rose riche en manganèse",
        "vinification": "Égrappage partiel, cuvaison de 3 semaines, élevage de 12 mois "
                        "en demi-muids.",
        "tasting_notes": "Fruits noirs, épices douces et sous-bois ; bouche ample, "
                         "structurée, d'une grande longueur.",
        "food_pairing": "Bœuf bourguignon, gibier à plume, époisses",
        "serving_temperature": "16 °C", "cellaring": "8 à 12 ans",
        "description": "Le « seigneur du Beaujolais » : une cuvée de vieilles vignes plantées "
                       "en gobelet au pied du moulin.",
        "stock": 96, "order_multiple": 1, "ttc": 2400, "pro": 1600, "group": 2160,
    },
    {
        "name": "Moulin-à-Vent « Vieilles Vignes » — magnum", "colour": Colour.ROUGE,
        "appellation": "Moulin-à-Vent", "vintage": 2019, "volume_ml": 1500,
        "reference": "VER-MAV-19-MG", "grapes": "Gamay noir à jus blanc (vignes de 70 ans)",
        "alcohol_permille": 140, "soil": "Granite rose riche en manganèse",
        "vinification": "Égrappage partiel, cuvaison de 3 semaines, élevage de 14 mois "
                        "en demi-muids.",
        "tasting_notes": "Millésime solaire : cerise noire confite, réglisse, cacao ; "
                         "tanins fondus, belle fraîcheur finale.",
        "food_pairing": "Pièce de bœuf en croûte, lièvre à la royale",
        "serving_temperature": "16–17 °C", "cellaring": "10 à 15 ans",
        "description": "Le grand format idéal pour les tablées de fête, qui vieillit "
                       "encore mieux que la bouteille.",
        "stock": 24, "order_multiple": 1, "ttc": 4500, "pro": 3000,
    },
    {
        "name": "Beaujolais-Villages « Terres Dorées »", "colour": Colour.ROUGE,
        "appellation": "Beaujolais-Villages", "vintage": 2023, "reference": "VER-BJV-23",
        "grapes": "Gamay noir à jus blanc", "alcohol_permille": 125,
        "soil": "Granites et sables granitiques",
        "vinification": "Macération semi-carbonique courte, élevage de 6 mois en cuve.",
        "tasting_notes": "Framboise, fraise des bois, pointe de poivre ; un vin de soif, "
                         "gourmand et désaltérant.",
        "food_pairing": "Charcuterie, pizzas, cuisine du quotidien",
        "serving_temperature": "13–14 °C", "cellaring": "2 à 4 ans",
        "description": "La bouteille de tous les jours, vendue par cartons de six.",
        "stock": 300, "order_multiple": 6, "ttc": 1050, "pro": 700, "group": 950,
    },
    {
        "name": "Chiroubles « La Côte »", "colour": Colour.ROUGE, "appellation": "Chiroubles",
        "vintage": 2022, "reference": "VER-CHI-22", "grapes": "Gamay noir à jus blanc",
        "alcohol_permille": 130, "soil": "Granite d'altitude, sols maigres",
        "vinification": "Grappes entières, élevage de 8 mois en cuve béton.",
        "tasting_notes": "Cerise fraîche, fleurs blanches, bouche vive et tendue.",
        "food_pairing": "Quiche lorraine, poulet basquaise",
        "serving_temperature": "14 °C", "cellaring": "3 à 5 ans",
        "description": "Le cru le plus haut du Beaujolais ; le millésime 2022 est épuisé, "
                       "le 2024 arrive au printemps 2027.",
        "stock": 0, "is_available": False, "available_again_month": 3,
        "available_again_year": 2027, "order_multiple": 1, "ttc": 1500, "pro": 1000,
    },
    {
        "name": "Juliénas « Les Capitans »", "colour": Colour.ROUGE, "appellation": "Juliénas",
        "vintage": 2021, "reference": "VER-JUL-21", "grapes": "Gamay noir à jus blanc",
        "alcohol_permille": 130, "soil": "Schistes et roches volcaniques",
        "vinification": "Cuvaison de 12 jours, élevage de 10 mois en foudres.",
        "tasting_notes": "Mûre, pivoine et épices ; bouche charpentée et fraîche.",
        "food_pairing": "Jambon persillé, cuisses de grenouilles",
        "serving_temperature": "15 °C", "cellaring": "4 à 8 ans",
        "description": "Un millésime frais et précis, victime de son succès : prochain "
                       "tirage en septembre 2027.",
        "stock": 0, "is_available": False, "available_again_month": 9,
        "available_again_year": 2027, "order_multiple": 1, "ttc": 1700, "pro": 1130,
    },
    {
        "name": "Beaujolais rosé « Pétale »", "colour": Colour.ROSE, "appellation": "Beaujolais",
        "vintage": 2024, "reference": "VER-BJR-24", "grapes": "Gamay noir à jus blanc",
        "alcohol_permille": 125, "soil": "Granites et argiles",
        "vinification": "Pressurage direct, fermentation à basse température en cuve inox.",
        "tasting_notes": "Robe pâle saumonée ; groseille, pamplemousse rose, bouche "
                         "croquante et saline.",
        "food_pairing": "Apéritif, salades composées, grillades d'été",
        "serving_temperature": "8–10 °C", "cellaring": "À boire dans l'année",
        "description": "Le rosé des beaux jours, en promotion tout l'été.",
        "stock": 150, "order_multiple": 1, "ttc": 950, "promo": 850, "pro": 630,
    },
    {
        "name": "Mâcon-Villages « Les Perrières »", "colour": Colour.BLANC,
        "appellation": "Mâcon-Villages", "vintage": 2023, "reference": "VER-MCV-23",
        "grapes": "Chardonnay", "alcohol_permille": 130, "soil": "Argilo-calcaire",
        "vinification": "Pressurage pneumatique, fermentation et élevage de 8 mois en cuve, "
                        "sur lies fines.",
        "tasting_notes": "Agrumes, fleur d'acacia, beurre frais ; bouche ronde et "
                         "gourmande, finale citronnée.",
        "food_pairing": "Gougères, poissons de rivière, fromages de chèvre",
        "serving_temperature": "10–12 °C", "cellaring": "2 à 4 ans",
        "description": "Un chardonnay du Mâconnais, généreux et accessible.",
        "stock": 200, "order_multiple": 1, "ttc": 1300, "pro": 870,
    },
    {
        "name": "Pouilly-Fuissé « Terres de Fuissé »", "colour": Colour.BLANC,
        "appellation": "Pouilly-Fuissé", "vintage": 2021, "reference": "VER-PFU-21",
        "grapes": "Chardonnay", "alcohol_permille": 135,
        "soil": "Calcaires à entroques et marnes",
        "vinification": "Fermentation en fûts de chêne (20 % neufs), élevage de 12 mois "
                        "avec bâtonnages.",
        "tasting_notes": "Noisette grillée, poire, brioche ; bouche minérale, ample et "
                         "saline.",
        "food_pairing": "Volaille de Bresse à la crème, homard, comté 24 mois",
        "serving_temperature": "12–13 °C", "cellaring": "6 à 10 ans",
        "description": "Notre grand blanc, vendu exclusivement aux particuliers, en "
                       "quantité limitée.",
        "stock": 60, "order_multiple": 1, "ttc": 3200,
    },
    {
        "name": "Saint-Véran « Les Grandes Bruyères » — demi-bouteille", "colour": Colour.BLANC,
        "appellation": "Saint-Véran", "vintage": 2022, "volume_ml": 375,
        "reference": "VER-SVE-22-DB", "grapes": "Chardonnay", "alcohol_permille": 130,
        "soil": "Calcaires et argiles à silex",
        "vinification": "Fermentation en cuve, élevage de 10 mois dont 30 % en fûts.",
        "tasting_notes": "Fruits blancs, amande fraîche, pierre à fusil ; bouche "
                         "vive et droite.",
        "food_pairing": "Huîtres, sushis, tarte aux poireaux",
        "serving_temperature": "10–12 °C", "cellaring": "3 à 5 ans",
        "description": "La demi-bouteille parfaite pour un dîner à deux, vendue par trois.",
        "stock": 90, "order_multiple": 3, "ttc": 1000, "pro": 670, "group": 900,
    },
    {
        "name": "Crémant de Bourgogne Brut « Bulles de Vernette »",
        "colour": Colour.EFFERVESCENT, "appellation": "Crémant de Bourgogne", "vintage": None,
        "reference": "VER-CRB-NV", "grapes": "Chardonnay, gamay", "alcohol_permille": 120,
        "soil": "Argilo-calcaire",
        "vinification": "Méthode traditionnelle, prise de mousse en bouteille, 18 mois "
                        "sur lattes, dosage brut (8 g/l).",
        "tasting_notes": "Bulle fine ; pomme verte, citron, brioche ; bouche fraîche "
                         "et crémeuse.",
        "food_pairing": "Apéritif, gougères, desserts aux fruits",
        "serving_temperature": "6–8 °C", "cellaring": "2 à 3 ans",
        "description": "Nos bulles de fête, assemblage de plusieurs récoltes.",
        "stock": 120, "order_multiple": 6, "ttc": 1450, "promo": 1290, "pro": 960,
    },
    {
        "name": "Beaujolais « Cuvée Comptoir »", "colour": Colour.ROUGE,
        "appellation": "Beaujolais", "vintage": 2024, "reference": "VER-BJC-24",
        "grapes": "Gamay noir à jus blanc", "alcohol_permille": 125,
        "soil": "Argiles et grès", "vinification": "Macération carbonique courte, mise précoce.",
        "tasting_notes": "Fruits rouges éclatants, bouche légère et gouleyante.",
        "food_pairing": "Mâchons, saucisson chaud, bistrot",
        "serving_temperature": "12–13 °C", "cellaring": "À boire dans l'année",
        "description": "Cuvée réservée aux cafés et restaurants, servie au verre ou en pot.",
        "stock": 240, "is_visible": False, "order_multiple": 6, "pro": 650,
    },
)

ROZEL_WINES: tuple[dict[str, Any], ...] = (
    {
        "name": "Saumur-Champigny « Tuffeau »", "colour": Colour.ROUGE,
        "appellation": "Saumur-Champigny", "vintage": 2023, "reference": "ROZ-SCH-23",
        "grapes": "Cabernet franc", "alcohol_permille": 130,
        "soil": "Argilo-calcaire sur tuffeau",
        "vinification": "Égrappage total, cuvaison de 15 jours, élevage de 8 mois en cuve.",
        "tasting_notes": "Framboise, cassis, note de poivron grillé ; bouche souple et "
                         "fraîche.",
        "food_pairing": "Rillauds, andouillette, côte de porc",
        "serving_temperature": "14–15 °C", "cellaring": "3 à 6 ans",
        "description": "Notre Champigny de plaisir, tout en fruit, élevé dans nos caves "
                       "troglodytiques.",
        "stock": 260, "order_multiple": 1, "ttc": 1450, "pro": 960,
    },
    {
        "name": "Saumur-Champigny « Tuffeau » — magnum", "colour": Colour.ROUGE,
        "appellation": "Saumur-Champigny", "vintage": 2022, "volume_ml": 1500,
        "reference": "ROZ-SCH-22-MG", "grapes": "Cabernet franc", "alcohol_permille": 135,
        "soil": "Argilo-calcaire sur tuffeau",
        "vinification": "Égrappage total, cuvaison de 18 jours, élevage de 10 mois en cuve.",
        "tasting_notes": "Fruits noirs mûrs, violette, graphite ; tanins fins et juteux.",
        "food_pairing": "Gigot d'agneau, pâté aux prunes",
        "serving_temperature": "15–16 °C", "cellaring": "5 à 10 ans",
        "description": "Le magnum des grandes tablées, dans un millésime solaire.",
        "stock": 30, "order_multiple": 1, "ttc": 3200, "pro": 2120,
    },
    {
        "name": "Saumur-Champigny « Le Clos Rozel »", "colour": Colour.ROUGE,
        "appellation": "Saumur-Champigny", "vintage": 2020, "reference": "ROZ-SCC-20",
        "grapes": "Cabernet franc (vignes de 60 ans)", "alcohol_permille": 135,
        "soil": "Argiles à silex sur tuffeau",
        "vinification": "Vendanges manuelles, cuvaison de 4 semaines, élevage de 18 mois "
                        "en fûts de 400 litres.",
        "tasting_notes": "Cerise noire, réglisse, cèdre ; bouche profonde, tanins "
                         "veloutés, finale crayeuse.",
        "food_pairing": "Filet de bœuf aux morilles, pigeon rôti",
        "serving_temperature": "16 °C", "cellaring": "10 à 15 ans",
        "description": "Le vin du clos muré derrière la maison familiale, notre cuvée de garde.",
        "stock": 72, "order_multiple": 1, "ttc": 2600, "pro": 1740,
    },
    {
        "name": "Anjou rouge « Les Fouchardes »", "colour": Colour.ROUGE,
        "appellation": "Anjou", "vintage": 2022, "reference": "ROZ-ANR-22",
        "grapes": "Cabernet franc, cabernet sauvignon", "alcohol_permille": 130,
        "soil": "Schistes de l'Anjou noir",
        "vinification": "Cuvaison de 12 jours, élevage de 6 mois en cuve.",
        "tasting_notes": "Fruits rouges, pointe épicée ; bouche ronde et facile.",
        "food_pairing": "Grillades, tartines, fromages doux",
        "serving_temperature": "14 °C", "cellaring": "2 à 4 ans",
        "description": "Un rouge de copains, vendu par cartons de six.",
        "stock": 300, "order_multiple": 6, "ttc": 1100, "pro": 730,
    },
    {
        "name": "Anjou-Villages Brissac « Haut-Coteau »", "colour": Colour.ROUGE,
        "appellation": "Anjou-Villages Brissac", "vintage": 2019, "reference": "ROZ-AVB-19",
        "grapes": "Cabernet sauvignon, cabernet franc", "alcohol_permille": 135,
        "soil": "Schistes et rhyolites",
        "vinification": "Cuvaison de 3 semaines, élevage de 16 mois en fûts.",
        "tasting_notes": "Cassis, mine de crayon, tabac blond ; bouche structurée, "
                         "désormais fondue.",
        "food_pairing": "Canard aux cerises, fromages à pâte pressée",
        "serving_temperature": "16 °C", "cellaring": "À boire jusqu'en 2030",
        "description": "Un rouge angevin de caractère, arrivé à sa belle maturité.",
        "stock": 48, "order_multiple": 1, "ttc": 1900, "pro": 1260,
    },
    {
        "name": "Saumur blanc « Craie »", "colour": Colour.BLANC, "appellation": "Saumur",
        "vintage": 2023, "reference": "ROZ-SAB-23", "grapes": "Chenin blanc",
        "alcohol_permille": 125, "soil": "Craie tuffeau",
        "vinification": "Pressurage direct, fermentation en cuve et en fûts anciens, "
                        "élevage de 9 mois sur lies.",
        "tasting_notes": "Coing, poire, fleur de tilleul ; bouche tendue, saline, "
                         "très digeste.",
        "food_pairing": "Sandre au beurre blanc, crottin de Chavignol",
        "serving_temperature": "10–11 °C", "cellaring": "3 à 6 ans",
        "description": "Le chenin du tuffeau, droit et lumineux.",
        "stock": 180, "order_multiple": 1, "ttc": 1550, "pro": 1030,
    },
    {
        "name": "Anjou blanc « Schistes »", "colour": Colour.BLANC, "appellation": "Anjou",
        "vintage": 2022, "reference": "ROZ-ANB-22", "grapes": "Chenin blanc",
        "alcohol_permille": 130, "soil": "Schistes bleus",
        "vinification": "Fermentation lente en barriques de 500 litres, élevage de "
                        "12 mois sans bâtonnage.",
        "tasting_notes": "Agrumes confits, cire d'abeille, fumé ; bouche ample et "
                         "minérale.",
        "food_pairing": "Volaille aux morilles, saint-jacques",
        "serving_temperature": "12 °C", "cellaring": "5 à 10 ans",
        "description": "Une petite cuvée parcellaire, réservée à nos clients particuliers.",
        "stock": 54, "order_multiple": 1, "ttc": 2200,
    },
    {
        "name": "Savennières « Clos du Fresne »", "colour": Colour.BLANC,
        "appellation": "Savennières", "vintage": 2021, "reference": "ROZ-SAV-21",
        "grapes": "Chenin blanc", "alcohol_permille": 135,
        "soil": "Schistes et grès pourprés",
        "vinification": "Vendanges par tries, fermentation en fûts, élevage de 14 mois.",
        "tasting_notes": "Camomille, miel, écorce d'orange ; bouche sèche, puissante "
                         "et saline.",
        "food_pairing": "Brochet au beurre blanc, ris de veau",
        "serving_temperature": "12–13 °C", "cellaring": "10 à 15 ans",
        "description": "Un Savennières sec et profond ; le prochain millésime sera mis "
                       "en vente en avril 2027.",
        "stock": 0, "is_available": False, "available_again_month": 4,
        "available_again_year": 2027, "order_multiple": 1, "ttc": 2900, "pro": 1940,
    },
    {
        "name": "Rosé de Loire « Ligérien »", "colour": Colour.ROSE,
        "appellation": "Rosé de Loire", "vintage": 2024, "reference": "ROZ-RDL-24",
        "grapes": "Cabernet franc, grolleau, gamay", "alcohol_permille": 120,
        "soil": "Argilo-calcaire",
        "vinification": "Pressurage direct, fermentation à 16 °C en cuve inox.",
        "tasting_notes": "Fraise, agrumes, bouche sèche et vive.",
        "food_pairing": "Apéritif, grillades de poisson, cuisine asiatique",
        "serving_temperature": "8–10 °C", "cellaring": "À boire dans l'année",
        "description": "Un rosé sec et frais, en promotion pour l'été.",
        "stock": 210, "order_multiple": 1, "ttc": 950, "promo": 850, "pro": 630,
    },
    {
        "name": "Cabernet d'Anjou « Douceur »", "colour": Colour.ROSE,
        "appellation": "Cabernet d'Anjou", "vintage": 2024, "reference": "ROZ-CDA-24",
        "grapes": "Cabernet franc, cabernet sauvignon", "alcohol_permille": 110,
        "soil": "Schistes",
        "vinification": "Saignée, fermentation arrêtée par le froid pour garder "
                        "une douceur naturelle.",
        "tasting_notes": "Bonbon anglais, fraise écrasée ; bouche tendre et fruitée, "
                         "demi-sec.",
        "food_pairing": "Apéritif, melon, cuisine épicée",
        "serving_temperature": "8 °C", "cellaring": "1 à 2 ans",
        "description": "Le rosé tendre emblématique de l'Anjou, par cartons de six.",
        "stock": 240, "order_multiple": 6, "ttc": 1000, "pro": 660,
    },
    {
        "name": "Crémant de Loire Brut « Tuffeau Bulles »", "colour": Colour.EFFERVESCENT,
        "appellation": "Crémant de Loire", "vintage": None, "reference": "ROZ-CRL-NV",
        "grapes": "Chenin blanc, chardonnay, cabernet franc", "alcohol_permille": 120,
        "soil": "Craie tuffeau",
        "vinification": "Méthode traditionnelle, 24 mois sur lattes dans nos caves, "
                        "dosage brut (6 g/l).",
        "tasting_notes": "Pomme, coing, amande ; bulle fine, bouche crayeuse et "
                         "élégante.",
        "food_pairing": "Apéritif, huîtres, fritures de Loire",
        "serving_temperature": "6–8 °C", "cellaring": "2 à 3 ans",
        "description": "Nos bulles élaborées et vieillies dans le tuffeau.",
        "stock": 160, "order_multiple": 1, "ttc": 1450, "promo": 1290, "pro": 960,
    },
    {
        "name": "Coteaux du Layon Saint-Aubin — demi-bouteille", "colour": Colour.MOELLEUX,
        "appellation": "Coteaux du Layon Saint-Aubin", "vintage": 2022, "volume_ml": 375,
        "reference": "ROZ-CDL-22-DB", "grapes": "Chenin blanc", "alcohol_permille": 125,
        "soil": "Schistes et grès",
        "vinification": "Raisins passerillés et botrytisés récoltés par tries, "
                        "fermentation lente en fûts.",
        "tasting_notes": "Abricot sec, miel d'acacia, zeste d'orange ; douceur "
                         "équilibrée par une belle acidité.",
        "food_pairing": "Foie gras, tarte Tatin, roquefort",
        "serving_temperature": "8–10 °C", "cellaring": "10 à 20 ans",
        "description": "Un moelleux gourmand, en demi-bouteille pour le dessert.",
        "stock": 110, "order_multiple": 1, "ttc": 1300, "pro": 860,
    },
    {
        "name": "Coteaux du Layon Premier Cru Chaume", "colour": Colour.MOELLEUX,
        "appellation": "Coteaux du Layon Premier Cru Chaume", "vintage": 2019,
        "reference": "ROZ-CHA-19", "grapes": "Chenin blanc", "alcohol_permille": 130,
        "soil": "Schistes et spilites",
        "vinification": "Cinq tries successives de raisins botrytisés, élevage de "
                        "18 mois en fûts.",
        "tasting_notes": "Mangue, safran, miel de châtaignier ; liqueur dense, finale "
                         "interminable.",
        "food_pairing": "Foie gras poêlé, desserts aux agrumes, fromages bleus",
        "serving_temperature": "10 °C", "cellaring": "20 ans et plus",
        "description": "Notre liqueur de grand millésime ; nouvelle cuvée attendue en "
                       "octobre 2027.",
        "stock": 0, "is_available": False, "available_again_month": 10,
        "available_again_year": 2027, "order_multiple": 1, "ttc": 3400, "pro": 2260,
    },
    {
        "name": "Saumur rouge « Cuvée Bistrot »", "colour": Colour.ROUGE,
        "appellation": "Saumur", "vintage": 2024, "reference": "ROZ-SAR-24",
        "grapes": "Cabernet franc", "alcohol_permille": 125, "soil": "Sables et tuffeau",
        "vinification": "Cuvaison courte, mise en bouteille précoce.",
        "tasting_notes": "Fruits rouges croquants, bouche légère et désaltérante.",
        "food_pairing": "Planches, rillettes, bistrot",
        "serving_temperature": "13–14 °C", "cellaring": "À boire dans l'année",
        "description": "Cuvée réservée aux restaurateurs, non proposée en boutique.",
        "stock": 180, "is_visible": False, "order_multiple": 6, "pro": 620,
    },
)

WINES_BY_ESTATE: dict[str, tuple[dict[str, Any], ...]] = {
    VERNETTE_SLUG: VERNETTE_WINES,
    ROZEL_SLUG: ROZEL_WINES,
}

# -------------------------------------------------------------------------- users
# "label" is what the demo command prints; "staff_of" links a vigneron to an estate;
# "verified" marks a professional account as checked by the platform.

USERS: tuple[dict[str, Any], ...] = (
    {"key": "admin", "label": "Opérateur de la plateforme", "email": "operateur@chai.example",
     "first_name": "Sophie", "last_name": "Garnier", "role": Role.PLATFORM_ADMIN},
    {"key": "vernette", "label": "Vigneron — Domaine de la Vernette",
     "email": "vigneron@vernette.example", "first_name": "Étienne", "last_name": "Vernay",
     "role": Role.STAFF, "staff_of": VERNETTE_SLUG},
    {"key": "rozel", "label": "Vigneron — Domaine Rozel", "email": "vigneron@rozel.example",
     "first_name": "Anne", "last_name": "Rozel", "role": Role.STAFF, "staff_of": ROZEL_SLUG},
    {"key": "particulier", "label": "Client particulier", "email": "client@chai.example",
     "first_name": "Claire", "last_name": "Dumont", "role": Role.CUSTOMER},
    {"key": "pro", "label": "Client professionnel vérifié", "email": "caviste@chai.example",
     "first_name": "Julien", "last_name": "Marchand", "role": Role.CUSTOMER,
     "siret": "84310967900012", "company_name": "Cave du Marché", "verified": True},
)

# ----------------------------------------------------------------- customer files
# "user" is a USERS key (the email and names are copied from the account) or None for a
# customer imported from the estate's existing file; "price_list" names a list.

from datetime import datetime, timezone  # noqa: E402 — issue 14: the demo's newsletter consent

DEMO_CONSENT_AT = datetime(2025, 6, 14, 9, 30, tzinfo=timezone.utc)

CUSTOMERS: tuple[dict[str, Any], ...] = (
    {"estate": VERNETTE_SLUG, "user": "particulier", "kind": CustomerKind.PARTICULIER,
     "external_number": "C-00042", "notes": "Commande chaque année pour les fêtes."},
    {"estate": ROZEL_SLUG, "user": "particulier", "kind": CustomerKind.PARTICULIER,
     "external_number": "R-01187", "notes": "Venue au caveau lors des portes ouvertes 2025."},
    {"estate": VERNETTE_SLUG, "user": "pro", "kind": CustomerKind.PROFESSIONNEL,
     "external_number": "P-00318",
     "notes": "Caviste à Lyon (Croix-Rousse). Livraison le mardi matin, "
              "prévenir la veille par téléphone."},
    {"estate": VERNETTE_SLUG, "user": None, "kind": CustomerKind.PARTICULIER,
     "email": "bernard.lacroix@exemple.fr", "first_name": "Bernard", "last_name": "Lacroix",
     "external_number": "C-00007", "price_list": GROUP,
     "notes": "Client depuis 1998, repris du fichier de l'ancien logiciel de caisse.",
     # issue 14: agreed on paper to the newsletter (noted by the vigneron)
     "newsletter_consent_at": DEMO_CONSENT_AT, "newsletter_consent_source": "vigneron"},
    {"estate": VERNETTE_SLUG, "user": None, "kind": CustomerKind.PROFESSIONNEL,
     "email": "contact@bouchon-des-canuts.example", "first_name": "Martine",
     "last_name": "Perrin", "external_number": "P-00121", "discount_bp": 300,
     "notes": "Restaurant « Le Bouchon des Canuts », Lyon 4e. Remise de 3 % accordée "
              "sur l'ensemble du tarif."},
)


# ------------------------------------------------------------------------ helpers


def is_empty(session: Session) -> bool:
    """True when no estate exists yet (the demo can be seeded)."""
    return session.scalar(select(Estate.id).limit(1)) is None


def _add_price_lists(session: Session, estate: Estate) -> dict[str, PriceList]:
    specs = list(PRICE_LISTS)
    if estate.slug == VERNETTE_SLUG:
        specs.append(GROUP_PRICE_LIST)
    lists = {spec["name"]: PriceList(estate_id=estate.id, **spec) for spec in specs}
    session.add_all(lists.values())
    session.flush()
    return lists


#: issue 15, the e-label: (carbohydrate, of which sugars) in tenths of a gram per 100 ml,
#: and the ingredients, by colour (a dry red has about 0.2 g of sugar, a brut crémant its
#: 8 g/l of dosage, a Coteaux du Layon 60 g/l)
_DEMO_LABEL_BY_COLOUR: dict[Colour, tuple[int, int, str]] = {
    Colour.ROUGE: (6, 2, "Raisins ; conservateur : anhydride sulfureux (sulfites)"),
    Colour.BLANC: (8, 2, "Raisins ; conservateur : anhydride sulfureux (sulfites)"),
    Colour.ROSE: (8, 3, "Raisins ; conservateur : anhydride sulfureux (sulfites)"),
    Colour.EFFERVESCENT: (12, 8, "Raisins, liqueur de tirage, liqueur d'expédition ; conservateur : "
                                 "anhydride sulfureux (sulfites)"),
    Colour.MOELLEUX: (66, 60, "Raisins ; conservateur : anhydride sulfureux (sulfites)"),
    Colour.AUTRE: (8, 2, "Raisins ; conservateur : anhydride sulfureux (sulfites)"),
}


def _demo_label(spec: dict[str, Any]) -> dict[str, Any]:
    """A complete e-label for a demo wine (services.elabel): energy from its alcohol
    (0.789 g a ml at 7 kcal a gram), its carbohydrate (4 kcal a gram) and its glycerol
    and acids (about 10 kcal): a red at 13 % vol. has 84 kcal per 100 ml."""
    carbohydrate, sugars, ingredients = _DEMO_LABEL_BY_COLOUR[spec["colour"]]
    kcal = round(spec["alcohol_permille"] / 10 * 0.789 * 7 + carbohydrate / 10 * 4 + 10)
    return {"allergens": "Contient des sulfites", "ingredients": ingredients, "energy_kcal": kcal,
            "energy_kj": round(kcal * 4.184), "fat_dg": 0, "saturates_dg": 0, "carbohydrate_dg": carbohydrate,
            "sugars_dg": sugars, "protein_dg": 1, "salt_dg": 0, "origin": "Produit de France"}


def _add_wines(
    session: Session, estate: Estate, vat_rate: VatRate, lists: dict[str, PriceList]
) -> None:
    for position, spec in enumerate(WINES_BY_ESTATE[estate.slug]):
        fields = _demo_label(spec) | {k: v for k, v in spec.items() if k not in PRICE_KEYS}
        wine = Wine(estate_id=estate.id, vat_rate_id=vat_rate.id, position=position, **fields)
        session.add(wine)
        session.flush()
        amounts = {  # list name → (amount, promo)
            PARTICULIERS: (spec.get("ttc"), spec.get("promo")),
            PROFESSIONNELS: (spec.get("pro"), None),
            GROUP: (spec.get("group"), None),
        }
        for list_name, (amount, promo) in amounts.items():
            if amount is None or list_name not in lists:
                continue
            session.add(
                Price(
                    estate_id=estate.id,
                    wine_id=wine.id,
                    price_list_id=lists[list_name].id,
                    amount_cents=amount,
                    promo_amount_cents=promo,
                    promo_active=promo is not None,
                )
            )


def _add_user(session: Session, spec: dict[str, Any]) -> User:
    kwargs = {k: v for k, v in spec.items() if k not in ("key", "label", "staff_of", "verified")}
    user = register_user(session, password=DEMO_PASSWORD, **kwargs)
    if spec.get("verified"):
        user.pro_status = ProStatus.VERIFIED
    return user


#: (zone, from N bottles, TTC price) — a typical carrier grid for cases of 6 and 12
SHIPPING_GRID = (
    (ShippingZone.FR_METRO, 1, 1290), (ShippingZone.FR_METRO, 7, 1690), (ShippingZone.FR_METRO, 13, 2290),
    (ShippingZone.FR_METRO, 25, 3490),
    (ShippingZone.CORSE, 1, 2490), (ShippingZone.CORSE, 13, 3990),
    (ShippingZone.EU, 1, 2990), (ShippingZone.EU, 7, 3990), (ShippingZone.EU, 13, 5490),
)


#: code promotions only, so that demo prices stay as listed until a code is typed
DEMO_PROMOTIONS: dict[str, tuple[dict[str, Any], ...]] = {
    VERNETTE_SLUG: (
        {"name": "Code fidélité permanent", "benefit": "percent_off", "percent_bp": 1000, "code": "#LAVERNETTE",
         "is_public": True},
    ),
    ROZEL_SLUG: (
        {"name": "Enlèvement au caveau", "benefit": "amount_off_each", "amount_cents": 100, "code": "CAVEAU",
         "pickup_only": True, "is_public": True},
    ),
}


# --------------------------------------------------------------------------- seed


def seed_demo(session: Session, *, producer_group: bool = True, tastings: bool = True,
              platform: bool = True) -> list[tuple[str, str, str]]:
    """Create the demo platform; returns (role label in French, email, password) rows to print.
    ``producer_group``: also the demo's producer group and its distribution; ``tastings``:
    Vernette's seller, reward rules and a coming home tasting; ``platform``: the
    operator's plans, the estates' subscriptions and a professional awaiting
    verification (the tests' template database leaves these out: each test builds what
    it needs)."""
    with all_estates(session):
        vat_rates = [VatRate(**spec) for spec in VAT_RATES]
        estates = {spec["slug"]: Estate(**spec) for spec in ESTATES}
        session.add_all([*vat_rates, *estates.values()])
        session.flush()
        wine_vat = next(rate for rate in vat_rates if rate.rate_bp == WINE_VAT_BP)

        lists: dict[str, dict[str, PriceList]] = {}
        for slug, estate in estates.items():
            lists[slug] = _add_price_lists(session, estate)
            _add_wines(session, estate, wine_vat, lists[slug])
            session.add_all(ShippingRate(estate_id=estate.id, zone=zone, min_bottles=n, price_cents=cents)
                            for zone, n, cents in SHIPPING_GRID)
            session.add_all(Promotion(estate_id=estate.id, **spec) for spec in DEMO_PROMOTIONS[slug])

        users = {spec["key"]: _add_user(session, spec) for spec in USERS}
        for spec in USERS:
            if "staff_of" in spec:
                session.add(EstateStaff(estate_id=estates[spec["staff_of"]].id,
                                        user_id=users[spec["key"]].id))

        for spec in CUSTOMERS:
            fields = {k: v for k, v in spec.items() if k not in ("estate", "user", "price_list")}
            user = users[spec["user"]] if spec["user"] else None
            if user is not None:
                fields.update(email=user.email, first_name=user.first_name,
                              last_name=user.last_name)
            price_list = lists[spec["estate"]].get(spec.get("price_list") or "")
            session.add(EstateCustomer(
                estate_id=estates[spec["estate"]].id,
                user_id=user.id if user else None,
                price_list_id=price_list.id if price_list else None,
                **fields,
            ))
        session.flush()
        _add_sales_terms(session, estates, users)  # issue 15: each estate's CGV, version 1
        if producer_group:
            _add_producer_group(session, estates, lists, users["vernette"], users["particulier"])
        rows = [(spec["label"], users[spec["key"]].email, DEMO_PASSWORD) for spec in USERS]
        if platform:
            rows.append(_add_platform(session, estates))
            _add_news(session, estates[VERNETTE_SLUG], users["particulier"])  # issue 14 (not in the tests' template)
        if tastings:
            seller = _add_tastings(session, estates[VERNETTE_SLUG], users["particulier"])
            rows.append(("Conseillère — Domaine de la Vernette", seller.email, DEMO_PASSWORD))
        return rows


#: issue 15: the demo estates' answers to the CGV template (fictitious mediators)
SALES_TERMS: dict[str, dict[str, Any]] = {
    VERNETTE_SLUG: {
        "mediator_name": "Médiation Vins et Terroirs (association fictive de démonstration)",
        "mediator_address": "18 rue des Vendangeurs, 69002 Lyon",
        "mediator_url": "https://www.mediation-vins-terroirs.example",
        "return_costs": "buyer",
        "delivery_details": "Les colis partent par transporteur en cartons renforcés de 6 ou 12 bouteilles, "
                            "avec un numéro de suivi envoyé par courriel.",
        "primeur_clause": True,
        "excise_note": "Les livraisons vers un autre pays de l'Union européenne se font sur devis ; les droits "
                       "d'accise du pays de destination y sont à la charge du domaine et compris dans le prix "
                       "du devis.",
    },
    ROZEL_SLUG: {
        "mediator_name": "Centre de médiation des vignerons de Loire (fictif)",
        "mediator_address": "4 quai de la Loire, 49400 Saumur",
        "mediator_url": "https://www.mediateur-vignerons-loire.example",
        "return_address": "service des retours, 12 rue des Caves, 49400 Varrains",
        "return_costs": "estate",
        "delivery_details": "Livraison en mains propres possible dans un rayon de 30 km autour de Varrains.",
        "primeur_clause": False,
    },
}


def _add_sales_terms(session: Session, estates: dict[str, Estate], users: dict[str, User]) -> None:
    """Issue 15: version 1 of each estate's CGV, published by its vigneron (renders two PDFs)."""
    from models import utcnow
    from services import sales_terms

    now = utcnow()
    for slug, estate in estates.items():
        answers = sales_terms.validate(SALES_TERMS[slug])
        sales_terms.publish(session, estate, answers, user=users["vernette" if slug == VERNETTE_SLUG else "rozel"],
                            now=now)


def _add_news(session: Session, estate: Estate, follower: User) -> None:
    """Issue 14: two actualités of La Vernette (one for its customers only), followed by
    the demo customer."""
    from datetime import timedelta

    from models import Follow, News, utcnow

    now = utcnow()
    session.add(Follow(estate_id=estate.id, user_id=follower.id, created_at=now - timedelta(days=60)))
    session.add_all([
        News(estate_id=estate.id, title="Les vendanges sont terminées",
             body_html="<p>Une belle récolte cette année : des <strong>syrahs</strong> bien mûres et "
                       "des blancs frais. Rendez-vous au caveau pour goûter les premiers jus.</p>",
             published_at=now - timedelta(days=12)),
        News(estate_id=estate.id, title="Vente privée de fin d'année", customers_only=True,
             body_html="<p>Pour nos clients : 10 % sur les cartons panachés jusqu'au 20 décembre.</p>",
             published_at=now - timedelta(days=3)),
    ])


def _add_platform(session: Session, estates: dict[str, Estate]) -> tuple[str, str, str]:
    """Issue 13: two plans; Vernette subscribed since January (its invoices come with the
    quarters), Rozel still "en essai"; a restaurant awaiting verification of its SIRET."""
    from datetime import date

    from models import Plan
    from services import subscriptions

    essentiel = Plan(name="Essentiel", monthly_price_cents=2900)
    session.add_all([essentiel, Plan(name="Domaine +", monthly_price_cents=4900)])
    session.flush()
    vernette = estates[VERNETTE_SLUG]
    subscriptions.subscribe(session, vernette, plan_id=essentiel.id, starts_on=date(2026, 1, 1),
                            billing_email="compta@vernette.example", payment_mode="transfer")
    pending = register_user(session, password=DEMO_PASSWORD, email="restaurant@chai.example", first_name="Paul",
                            last_name="Morel", siret="52041935600016", company_name="Bistrot des Canuts")
    pending.pro_activity = "restaurant"
    return ("Pro en attente de vérification", pending.email, DEMO_PASSWORD)


def _add_tastings(session: Session, estate: Estate, host: User) -> User:
    """Issue 12: Vernette's seller Léa, its reward rules for tastings, and a tasting in ten
    days at the demo customer's, whose invitation link the seller's page shows."""
    from datetime import datetime, time, timedelta

    from models import utcnow
    from services import rewards
    from services import tastings as home_tastings
    from services.templating import PARIS

    seller = _add_user(session, {"email": "conseillere@vernette.example", "first_name": "Léa",
                                 "last_name": "Fontaine", "role": Role.STAFF})
    session.add(EstateStaff(estate_id=estate.id, user_id=seller.id, role="seller"))
    # points worth 1 € per 100, spendable at checkout; a host may spend hers in the tasting itself
    estate.points_mode, estate.points_rate, estate.points_value_cents = "percent", 0, 100
    estate.tasting_points_in_current = True
    wines = session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.is_available.is_(True))
                            .order_by(Wine.position, Wine.id).limit(2)).all()
    with in_estate(session, estate.id):
        for data in (
            rewards.RuleData("host", "points_percent", percent_bp=1000),
            rewards.RuleData("host", "gift_choice", wine_ids=tuple(w.id for w in wines), min_revenue_cents=30000),
            rewards.RuleData("rescheduled_host", "points_percent", percent_bp=500),
            rewards.RuleData("during", "voucher", amount_cents=1000, min_revenue_cents=15000),
            rewards.RuleData("booking", "points_fixed", points=500),
            rewards.RuleData("direct_sale", "points_percent", percent_bp=300),
            rewards.RuleData("host", "points_fixed", beneficiary="seller", points=1000, min_revenue_cents=50000),
        ):
            rewards.save_rule(session, estate, data)
        now = utcnow()
        day = (now.astimezone(PARIS) + timedelta(days=10)).date()
        home_tastings.create(session, estate, home_tastings.TastingData(
            host.email, host.first_name, host.last_name, datetime.combine(day, time(19, 30), tzinfo=PARIS),
            "Chez Claire, 8 place Sathonay, 69001 Lyon", "Dégustation des crus 2023, prévoir 12 personnes."),
            seller, now=now, secret_key="demo", public_url="http://127.0.0.1:5000")
    return seller


def _add_producer_group(session: Session, estates: dict[str, Estate], lists: dict[str, dict[str, PriceList]],
                        admin: User, member: User) -> None:
    """Issue 11: the "Amicale des Canuts" buys from both estates at a distribution in two
    weeks; Vernette's vigneron runs it, the demo customer is a member."""
    import secrets
    from datetime import datetime, time, timedelta

    from models import Catalogue, utcnow
    from services import producer_groups
    from services.templating import PARIS

    now = utcnow()
    group = producer_groups.create_group(session, producer_groups.GroupData(
        "Amicale des Canuts", "Les voisins de la Croix-Rousse commandent ensemble et retirent leurs vins "
        "un vendredi soir par mois.", "Maison des Canuts, 10 rue d'Ivry, 69004 Lyon", True), admin, now)
    producer_groups.join(session, group, member, now)
    day = (now.astimezone(PARIS) + timedelta(days=14)).date()
    start = datetime.combine(day, time(18, 0), tzinfo=PARIS)
    distribution = producer_groups.create_distribution(session, group, producer_groups.DistributionData(
        start, start + timedelta(hours=2), "", start - timedelta(days=2)), admin, now)
    for slug, estate in estates.items():
        particuliers = lists[slug]["Particuliers"]
        wines = session.scalars(select(Wine).join(Price, Price.wine_id == Wine.id).where(
            Wine.estate_id == estate.id, Price.price_list_id == particuliers.id, Wine.is_visible.is_(True),
            Wine.is_available.is_(True)).order_by(Wine.position, Wine.id).limit(4)).all()
        catalogue = Catalogue(estate_id=estate.id, name="Sélection des groupes", price_list_id=particuliers.id,
                              token=secrets.token_urlsafe(24), wines=list(wines))
        session.add(catalogue)
        session.flush()
        producer_groups.link_catalogue(session, group, catalogue, admin, now)
        producer_groups.participate(session, distribution, estate.id, now)

"""The vigneron's back office, every URL under ``/gestion/<estate_slug>/``.

Only the estate's staff (and platform admins) get in; anyone else gets 404, so the
back office does not even confirm that an estate exists.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/gestion/<estate_slug>")

from admin import access, audit, customers, estate, orders, price_lists, promotions, shipping, statistics, wines  # noqa: E402,F401
from admin import fairs, pickup_points  # noqa: E402,F401 — issue 10: salons, points de retrait
from admin import group_purchases  # noqa: E402,F401 — issue 10: achats groupés
from admin import catalogues  # noqa: E402,F401 — issue 11: catalogues pour les groupes, onglet « Ventes »
from admin import tastings, team  # noqa: E402,F401 — issue 12: réunions, vendeurs, équipe
from admin import friends  # noqa: E402,F401 — issue 13: « Nos amis vignerons »
from admin import news  # noqa: E402,F401 — issue 14: « Mes actualités »
from admin import closing, site_buttons  # noqa: E402,F401 — issue 14: fermetures, boutons pour le site du domaine
from admin import mailings  # noqa: E402,F401 — issue 14: lettres d'information
from admin import facebook  # noqa: E402,F401 — issue 14: « Lier une page Facebook »
from admin import accounting  # noqa: E402,F401 — issue 15: « Comptabilité » (FEC, CSV)
from admin import sales_terms  # noqa: E402,F401 — issue 15: conditions générales de vente
from admin import journal  # noqa: E402,F401 — issue 15: « Journal des ventes »

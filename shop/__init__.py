"""The customer side: the platform's pages, accounts, and each estate's shop.

* ``site_bp``: platform home, age confirmation, language choice.
* ``account_bp``: sign-up, login, password reset (``/compte/…``).
* ``bp``: an estate's shop, every URL under ``/<estate_slug>/``.
"""

from flask import Blueprint

site_bp = Blueprint("site", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/compte")
bp = Blueprint("shop", __name__, url_prefix="/<estate_slug>")

#: slugs an estate may not take, because platform URLs use them
RESERVED_SLUGS = frozenset(
    {"compte", "gestion", "plateforme", "static", "age", "langue", "api", "admin", "uploads",
     "favicon.ico", "robots.txt", "groupes", "desabonnement"}
)

from shop import account, cart, checkout, estate, payments, referral, site  # noqa: E402,F401
from shop import fairs  # noqa: E402,F401 — issue 10: a fair's invitation page
from shop import group_purchases  # noqa: E402,F401 — issue 10: achat groupé (request, link, group mode)
from shop.groups import groups_bp  # noqa: E402,F401 — issue 11: producer groups, /groupes/…
from shop import tastings  # noqa: E402,F401 — issue 12: a tasting's invitation link, tasting mode, "Mes cadeaux"
from shop import news  # noqa: E402,F401 — issue 14: actualités, « Suivre », désabonnement
from shop import unsubscribe  # noqa: E402,F401 — issue 14: one-click unsubscribe from a newsletter
from shop import order_button  # noqa: E402,F401 — issue 14: « Commander » buttons for the estate's own site
from shop import elabel  # noqa: E402,F401 — issue 15: a wine's public e-label and its QR code
from shop import sales_terms  # noqa: E402,F401 — issue 15: /<slug>/cgv, the CGV in force and its versions

"""One-click unsubscribe from an estate's newsletter (RFC 8058), the link in every
newsletter and its List-Unsubscribe header: ``GET`` shows a confirmation page with a
button, ``POST`` withdraws the consent. The signed token authenticates (mail clients
post without a CSRF token or a session), so the view is CSRF-exempt; a bad token is a
404 page that changes nothing.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from sqlalchemy import select

from models import Estate, EstateCustomer, db, utcnow
from services import audit, mailings, unsubscribe
from shop import site_bp


def _customer(token: str) -> tuple[EstateCustomer, Estate]:
    """:raise 404: forged or mangled token, or a customer no longer in the file."""
    customer_id = unsubscribe.read_token(current_app.config["SECRET_KEY"], token, "newsletter")
    if customer_id is None:
        abort(404)
    found = db.session.execute(select(EstateCustomer, Estate).join(Estate, Estate.id == EstateCustomer.estate_id)
                               .where(EstateCustomer.id == customer_id)
                               .execution_options(all_estates=True)).first()  # the token names the estate
    if found is None:
        abort(404)
    return found[0], found[1]


@site_bp.route("/desabonnement/lettre/<token>", methods=["GET", "POST"])
def unsubscribe_newsletter(token: str):  # type: ignore[no-untyped-def]
    customer, estate = _customer(token)
    if request.method == "GET":
        return render_template("site/unsubscribe_newsletter.html", estate=estate, token=token, done=False,
                               subscribed=customer.newsletter_consent_at is not None)
    before = {"newsletter_consent_at": customer.newsletter_consent_at,
              "newsletter_consent_source": customer.newsletter_consent_source}
    if mailings.withdraw_consent(customer, utcnow()):
        audit.record(db.session, estate.id, None, "customer.newsletter", customer, before,
                     {"newsletter_consent_at": None, "newsletter_consent_source": customer.newsletter_consent_source},
                     "désabonnement (lien de la lettre)")
        db.session.commit()
    return render_template("site/unsubscribe_newsletter.html", estate=estate, token=token, done=True,
                           subscribed=False)


def _exempt_from_csrf() -> None:
    from app import csrf

    csrf.exempt(unsubscribe_newsletter)


_exempt_from_csrf()

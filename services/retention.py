"""How long Chai keeps what (issue 15), and the daily job that purges the rest.

Kept:
- issued invoices, credit notes, their PDFs and the sales journal: at least 10 years
  (Code de commerce L123-22, Livre des procédures fiscales L102 B). The database itself
  refuses to update or delete them (triggers of migration 0018); nothing here touches them.
- orders: as long as their invoices; a customer's erasure (services.gdpr) anonymises
  what the invoices do not need.

Purged by the ``purge-expired`` job (:func:`purge`), every night:
- abandoned carts: not changed for ``CART_RETENTION_DAYS`` (an addition dates the cart,
  at most once a day: services.cart.cart_id_for_update);
- expired tokens: producer-group invitations never accepted after
  ``INVITATION_RETENTION_DAYS`` (the link stops working; other links of Chai are signed
  and dated, or belong to an occasion, and store no secret to purge);
- old sessions: sessions are signed cookies that the server refuses after
  ``SESSION_MAX_HOURS`` (services.security): none is stored, so none to purge; what a
  session leaves in the database is its cart, purged above;
- sent emails: the bodies of outbox messages sent more than ``OUTBOX_RETENTION_DAYS``
  ago are blanked (they repeat addresses and orders); the envelope (recipient, date,
  status) stays, so the newsletter figures still count them.
Rate-limit windows and job runs have their own jobs (prune-rate-limits, prune-job-runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models import Cart, CartLine, GroupInvitation, OutboxAttachment, OutboxMessage

CART_RETENTION_DAYS = 60
INVITATION_RETENTION_DAYS = 90
OUTBOX_RETENTION_DAYS = 90

_ALL = {"all_estates": True}  # a platform job: every estate's rows (services.tenancy)


@dataclass(frozen=True)
class Purged:
    carts: int
    invitations: int
    emails: int


def purge(session: Session, now: datetime, *, cart_days: int = CART_RETENTION_DAYS,
          invitation_days: int = INVITATION_RETENTION_DAYS, outbox_days: int = OUTBOX_RETENTION_DAYS) -> Purged:
    """Delete abandoned carts and expired invitations, blank old sent emails."""
    stale_carts = select(Cart.id).where(Cart.updated_at < now - timedelta(days=cart_days))
    session.execute(delete(CartLine).where(CartLine.cart_id.in_(stale_carts)).execution_options(**_ALL))
    carts = session.execute(delete(Cart).where(Cart.updated_at < now - timedelta(days=cart_days))
                            .execution_options(**_ALL)).rowcount
    invitations = session.execute(
        delete(GroupInvitation).where(GroupInvitation.accepted_at.is_(None),
                                      GroupInvitation.created_at < now - timedelta(days=invitation_days))).rowcount
    old_sent = select(OutboxMessage.id).where(OutboxMessage.status == "sent",
                                              OutboxMessage.sent_at < now - timedelta(days=outbox_days),
                                              OutboxMessage.body_text != "")
    ids = list(session.scalars(old_sent))
    emails = 0
    for start in range(0, len(ids), 500):  # bounded IN lists, for a first run on a large outbox
        chunk = ids[start:start + 500]
        session.execute(delete(OutboxAttachment).where(OutboxAttachment.message_id.in_(chunk)))
        emails += session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(chunk))
                                  .values(body_text="", body_html="", headers="")
                                  .execution_options(synchronize_session=False)).rowcount
    return Purged(carts=carts, invitations=invitations, emails=emails)


def run_job(session: Session, now: datetime) -> None:
    """The ``purge-expired`` job (services.jobs); the periods may be set in the config."""
    from flask import current_app

    config = current_app.config
    purge(session, now, cart_days=int(config.get("CART_RETENTION_DAYS") or CART_RETENTION_DAYS),
          invitation_days=int(config.get("INVITATION_RETENTION_DAYS") or INVITATION_RETENTION_DAYS),
          outbox_days=int(config.get("OUTBOX_RETENTION_DAYS") or OUTBOX_RETENTION_DAYS))

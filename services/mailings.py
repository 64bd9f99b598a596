"""Newsletters (lettres d'information, issue 14): an estate writes a mailing, previews
it, sends it to a staff address as a test, then sends it to the customers of its file
who consented (``EstateCustomer.newsletter_consent_at``).

"Envoyer" freezes the recipients (one :class:`models.MailingRecipient` per consenting
customer with a usable address, this estate only) and sets the mailing "sending"; the
``mailings`` job (:func:`queue_due`) then writes at most ``MAILING_BATCH_PER_MINUTE``
of them a minute into the outbox, each claimed by a guarded UPDATE (``queued_at IS
NULL``) so two workers never queue the same recipient twice. A mailing is "sent" when
its last recipient is queued; the outbox job does the actual sending.

A promotion code joined to a mailing becomes valid for the recipients only: they are
added to the code's customers and the code is restricted to its customers. A public
code (shown to every visitor) is refused: restricting it would take it away from
everyone else.

Consent (:func:`give_consent`, :func:`withdraw_consent`) is recorded with its date and
source: "commande" (the checkout's box), "compte" (the customer area), "vigneron" (the
customer card), "import" (the customer file's CSV), "inscription". Withdrawing empties
the date and records when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from models import (Estate, EstateCustomer, Mailing, MailingRecipient, OutboxMessage, Promotion, promotion_customer)
from services import customer_file, unsubscribe
from services.richtext import clean, to_text

SUBJECT_MAX = 200
BODY_MAX = 100_000  #: characters of sanitised HTML
TEST_PREFIX = "[TEST] "
DEFAULT_BATCH = 200
SOURCES = ("inscription", "commande", "compte", "import", "vigneron")


class MailingRefused(Exception):
    """A mailing change or send the rules refuse; ``code`` names the rule:
    subject_required, subject_too_long, body_required, body_too_long, unknown_promotion,
    public_promotion, not_draft, test_required, no_recipients."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# ------------------------------------------------------------------ consent


def give_consent(customer: EstateCustomer, source: str, now: datetime) -> bool:
    """Record the customer's consent unless it is already given (its first date and
    source are kept); returns whether it changed."""
    if customer.newsletter_consent_at is not None:
        return False
    customer.newsletter_consent_at = now
    customer.newsletter_consent_source = source[:40]
    return True


def withdraw_consent(customer: EstateCustomer, now: datetime) -> bool:
    """Withdraw the consent (unsubscribe); returns whether there was one."""
    if customer.newsletter_consent_at is None:
        return False
    customer.newsletter_consent_at = None
    customer.newsletter_unsubscribed_at = now
    return True


def set_own_consent(session: Session, user, customer_id: int, wanted: bool, now: datetime):  # type: ignore[no-untyped-def]
    """The customer area's box (source "compte"): the user's own line of an estate's
    file gives or withdraws consent. Returns (customer, before) — before: the consent
    fields as they were — or None when the line is not the user's (nothing changes)."""
    from services.tenancy import all_estates

    with all_estates(session):
        customer = session.scalars(select(EstateCustomer).where(
            EstateCustomer.id == customer_id,
            (EstateCustomer.user_id == user.id) | (EstateCustomer.email == user.email))).first()
    if customer is None:
        return None
    before = consent_fields(customer)
    if wanted:
        give_consent(customer, "compte", now)
    else:
        withdraw_consent(customer, now)
    session.flush()
    return customer, before


def consent_fields(customer: EstateCustomer) -> dict:
    """What the audit log keeps of a consent change."""
    return {"newsletter_consent_at": customer.newsletter_consent_at,
            "newsletter_consent_source": customer.newsletter_consent_source}


def usable_address(email: str) -> bool:
    """An address a newsletter may go to (an anonymised customer's is not)."""
    return bool(customer_file.EMAIL.match(email or "")) and not email.lower().endswith(".invalid")


def _consenting(session: Session) -> list[tuple[int, str]]:
    """(id, email) of the current estate's consenting customers with a usable address."""
    rows = session.execute(select(EstateCustomer.id, EstateCustomer.email)
                           .where(EstateCustomer.newsletter_consent_at.is_not(None))
                           .order_by(EstateCustomer.id)).all()
    return [(row.id, row.email) for row in rows if usable_address(row.email)]


def consenting_count(session: Session) -> int:
    return len(_consenting(session))


# ------------------------------------------------------------------ writing


def eligible_promotions(session: Session, now: datetime) -> list[Promotion]:
    """The current estate's codes a mailing may carry: active, not public, not over."""
    return list(session.scalars(select(Promotion).where(
        Promotion.code.is_not(None), Promotion.is_active.is_(True), Promotion.is_public.is_(False),
        or_(Promotion.ends_at.is_(None), Promotion.ends_at > now)).order_by(Promotion.name, Promotion.id)))


def _check_promotion(session: Session, promotion_id: int | None, now: datetime) -> int | None:
    if promotion_id is None:
        return None
    promotion = session.scalars(select(Promotion).where(Promotion.id == promotion_id)).first()
    if promotion is None or promotion.code is None or not promotion.is_active or (
            promotion.ends_at is not None and promotion.ends_at <= now):
        raise MailingRefused("unknown_promotion")
    if promotion.is_public:
        raise MailingRefused("public_promotion")
    return promotion.id


def save(session: Session, estate_id: int, mailing: Mailing | None, *, subject: str, body_html: str,
         promotion_id: int | None, user_id: int | None, now: datetime) -> Mailing:
    """Create or edit a draft; the body is sanitised. A change forgets the test send
    (the new version must be tested again).

    :raise MailingRefused: subject_required, subject_too_long, body_required,
        body_too_long, unknown_promotion, public_promotion, not_draft.
    """
    if mailing is not None and mailing.status != "draft":
        raise MailingRefused("not_draft")
    subject = " ".join((subject or "").split())
    if not subject:
        raise MailingRefused("subject_required")
    if len(subject) > SUBJECT_MAX:
        raise MailingRefused("subject_too_long")
    if len(body_html or "") > BODY_MAX * 2:
        raise MailingRefused("body_too_long")
    body = clean(body_html or "").strip()
    if not to_text(body).strip():
        raise MailingRefused("body_required")
    if len(body) > BODY_MAX:
        raise MailingRefused("body_too_long")
    promotion_id = _check_promotion(session, promotion_id, now)
    if mailing is None:
        mailing = Mailing(estate_id=estate_id, subject=subject, body_html=body, promotion_id=promotion_id,
                          created_by_user_id=user_id, status="draft", created_at=now)
        session.add(mailing)
    elif (mailing.subject, mailing.body_html, mailing.promotion_id) != (subject, body, promotion_id):
        mailing.subject, mailing.body_html, mailing.promotion_id = subject, body, promotion_id
        mailing.test_sent_at = None
    session.flush()
    return mailing


# ------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class Links:
    """Absolute URLs of one email (the caller builds them: no Flask request here)."""

    shop: str
    unsubscribe: str


def links(public_url: str, estate: Estate, secret_key: str, customer_id: int) -> Links:
    token = unsubscribe.make_token(secret_key, "newsletter", customer_id)
    base = public_url.rstrip("/")
    return Links(shop=f"{base}/{estate.slug}/", unsubscribe=f"{base}/desabonnement/lettre/{token}")


def render(mailing: Mailing, estate: Estate, promotion: Promotion | None, customer_name: str,
           link: Links) -> tuple[str, str]:
    """(text, html) of the email as the customer gets it."""
    from flask import render_template
    from markupsafe import Markup

    context = dict(mailing=mailing, estate=estate, promotion=promotion, customer_name=customer_name,
                   body=Markup(mailing.body_html), body_text=to_text(mailing.body_html), links=link)
    return render_template("email/newsletter.txt", **context), render_template("email/newsletter.html", **context)


def _promotion(session: Session, mailing: Mailing) -> Promotion | None:
    if mailing.promotion_id is None:
        return None
    return session.scalars(select(Promotion).where(Promotion.id == mailing.promotion_id)).first()


def send_test(session: Session, estate: Estate, mailing: Mailing, *, recipient: str, public_url: str,
              secret_key: str, now: datetime) -> int:
    """Queue the current version to ``recipient`` (a staff user), subject prefixed
    "[TEST]"; "Envoyer" is possible from now on. Its unsubscribe link names no
    customer (it leads to the "invalid link" page). Returns the outbox id.

    :raise MailingRefused: not_draft.
    """
    if mailing.status != "draft":
        raise MailingRefused("not_draft")
    text, html = render(mailing, estate, _promotion(session, mailing), "", links(public_url, estate, secret_key, 0))
    message_id = _queue(session, estate, mailing, recipient, TEST_PREFIX + mailing.subject, text, html,
                        links(public_url, estate, secret_key, 0).unsubscribe)
    mailing.test_sent_at = now
    session.flush()
    return message_id


def _queue(session: Session, estate: Estate, mailing: Mailing, recipient: str, subject: str, text: str, html: str,
           unsubscribe_url: str) -> int:
    from services import mail

    return mail.queue_email(session, recipient=recipient, subject=subject, body_text=text, body_html=html,
                            estate_id=estate.id, headers=unsubscribe.headers(unsubscribe_url))


# ------------------------------------------------------------------ sending


def start_sending(session: Session, mailing: Mailing, now: datetime) -> int:
    """"Envoyer": freeze the recipients (the current estate's consenting customers with
    a usable address), give them the code, and hand the mailing to the job. Returns the
    number of recipients.

    :raise MailingRefused: not_draft, test_required (no test of this version),
        no_recipients, unknown_promotion / public_promotion (the code changed since).
    """
    if mailing.status != "draft":
        raise MailingRefused("not_draft")
    if mailing.test_sent_at is None:
        raise MailingRefused("test_required")
    recipients = _consenting(session)
    if not recipients:
        raise MailingRefused("no_recipients")
    # "sending" by a guarded UPDATE: a double click freezes the recipients once
    started = session.execute(update(Mailing).where(Mailing.id == mailing.id, Mailing.status == "draft")
                              .values(status="sending", send_requested_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if started != 1:
        raise MailingRefused("not_draft")
    session.refresh(mailing)
    promotion_id = _check_promotion(session, mailing.promotion_id, now)
    session.execute(insert(MailingRecipient.__table__), [
        {"estate_id": mailing.estate_id, "mailing_id": mailing.id, "customer_id": customer_id, "email": email}
        for customer_id, email in recipients])
    if promotion_id is not None:
        _give_code(session, promotion_id, [customer_id for customer_id, _email in recipients])
    session.flush()
    return len(recipients)


def _give_code(session: Session, promotion_id: int, customer_ids: list[int]) -> None:
    """The code becomes valid for these customers (and those who had it already) only."""
    have = set(session.scalars(select(promotion_customer.c.customer_id)
                               .where(promotion_customer.c.promotion_id == promotion_id)))
    missing = [cid for cid in customer_ids if cid not in have]
    if missing:
        session.execute(insert(promotion_customer), [{"promotion_id": promotion_id, "customer_id": cid}
                                                     for cid in missing])
    session.execute(update(Promotion).where(Promotion.id == promotion_id).values(restricted_to_customers=True)
                    .execution_options(synchronize_session=False))
    session.expire_all()  # Promotion.customers and restricted_to_customers were written by Core


def queue_due(session: Session, now: datetime, *, limit: int, public_url: str, secret_key: str) -> int:
    """The job: queue at most ``limit`` recipients of the mailings being sent (every
    estate, oldest first) into the outbox; mark "sent" the mailings with nobody left.
    Returns how many emails were queued. Safe to run twice at once: each recipient is
    claimed by a guarded UPDATE."""
    limit = max(int(limit), 0)
    due = session.execute(select(MailingRecipient.id, MailingRecipient.mailing_id, MailingRecipient.customer_id,
                                 MailingRecipient.email)
                          .join(Mailing, Mailing.id == MailingRecipient.mailing_id)
                          .where(Mailing.status == "sending", MailingRecipient.queued_at.is_(None))
                          .order_by(MailingRecipient.id).limit(limit)).all()
    mailings: dict[int, tuple[Mailing, Estate, Promotion | None]] = {}
    queued = 0
    for row in due:
        claimed = session.execute(update(MailingRecipient)
                                  .where(MailingRecipient.id == row.id, MailingRecipient.queued_at.is_(None))
                                  .values(queued_at=now)
                                  .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            continue  # another worker queued this one
        if row.mailing_id not in mailings:
            mailing = session.get(Mailing, row.mailing_id)
            mailings[row.mailing_id] = (mailing, session.get(Estate, mailing.estate_id), _promotion(session, mailing))
        mailing, estate, promotion = mailings[row.mailing_id]
        customer = session.get(EstateCustomer, row.customer_id)
        if customer is None or customer.newsletter_consent_at is None or not usable_address(customer.email):
            continue  # unsubscribed (or erased) since "Envoyer": claimed, never mailed
        link = links(public_url, estate, secret_key, customer.id)
        text, html = render(mailing, estate, promotion, customer.first_name, link)
        message_id = _queue(session, estate, mailing, customer.email, mailing.subject, text, html, link.unsubscribe)
        session.execute(update(MailingRecipient).where(MailingRecipient.id == row.id)
                        .values(outbox_message_id=message_id).execution_options(synchronize_session=False))
        queued += 1
    _finish(session, now)
    session.flush()
    return queued


def _finish(session: Session, now: datetime) -> None:
    left = (select(MailingRecipient.id).where(MailingRecipient.mailing_id == Mailing.id,
                                              MailingRecipient.queued_at.is_(None)).exists())
    session.execute(update(Mailing).where(Mailing.status == "sending", ~left).values(status="sent", sent_at=now)
                    .execution_options(synchronize_session=False))


def run_job(session: Session, now: datetime) -> None:
    """The ``mailings`` job (services.jobs), every minute."""
    from flask import current_app

    config = current_app.config
    queue_due(session, now, limit=int(config.get("MAILING_BATCH_PER_MINUTE") or DEFAULT_BATCH),
              public_url=config["PUBLIC_URL"], secret_key=config["SECRET_KEY"])


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Counts:
    recipients: int = 0
    queued: int = 0
    sent: int = 0


def list_all(session: Session) -> list[tuple[Mailing, Counts]]:
    """The current estate's mailings, newest first, with their counts (one query)."""
    mailings = list(session.scalars(select(Mailing).order_by(Mailing.created_at.desc(), Mailing.id.desc())))
    if not mailings:
        return []
    rows = session.execute(
        select(MailingRecipient.mailing_id, func.count(MailingRecipient.id),
               func.count(MailingRecipient.queued_at),
               func.count(OutboxMessage.id))
        .outerjoin(OutboxMessage, (OutboxMessage.id == MailingRecipient.outbox_message_id)
                   & (OutboxMessage.status == "sent"))
        .where(MailingRecipient.mailing_id.in_([m.id for m in mailings]))
        .group_by(MailingRecipient.mailing_id)).all()
    counts = {row[0]: Counts(row[1], row[2], row[3]) for row in rows}
    return [(m, counts.get(m.id, Counts())) for m in mailings]

"""The platform operator's back office (issue 13): estates and their options, the first
staff member's invitation, professional accounts to verify, the leads estates send
("Nos amis vignerons") and the operator's own journal.

Subscriptions, plans and quarterly invoices are services.subscriptions'; this module
reads them for the operator's pages. Platform code spans estates: the callers run with
``services.tenancy.allow_all_estates`` (admin/platform.py does it for every request), and
the rows of a new estate are created inside ``in_estate`` so the tenancy check applies.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from models import (
    AuditEntry,
    CustomerKind,
    Estate,
    EstateStaff,
    FreeMonth,
    FriendLead,
    OperatorInvoice,
    OperatorPayment,
    Plan,
    PriceList,
    ProStatus,
    Role,
    Subscription,
    User,
)
from services import accounts
from services.errors import FieldError

#: a professional's declared wine activity (User.pro_activity, 20 characters at most)
PRO_ACTIVITIES = {
    "caviste": _l("Caviste"),
    "restaurant": _l("Restaurant"),
    "bar_a_vins": _l("Bar à vins"),
    "epicerie_fine": _l("Épicerie fine"),
    "agent": _l("Agent commercial / courtier"),
    "autre": _l("Autre"),
}
STATUS_LABELS = {"trial": _l("En essai"), "active": _l("Actif"), "cancelled": _l("Résilié")}
#: the options the operator switches per estate
OPTIONS = {
    "reservations_enabled": _l("Réservations de vins non disponibles"),
    "groups_enabled": _l("Groupes de producteurs"),
    "tastings_enabled": _l("Réunions (ventes à domicile)"),
    "newsletter_enabled": _l("Lettre d'information"),
}
PAYMENT_MODE_LABELS = {"transfer": _l("Virement"), "cheque": _l("Chèque")}
INVOICE_STATUS_LABELS = {"paid": _l("Payée"), "unpaid": _l("Impayée"), "reminded": _l("Relancée")}
LEAD_STATUS_LABELS = {"new": _l("Nouveau"), "onboarded": _l("Domaine créé"), "dismissed": _l("Écarté")}

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 60
MAX_AMOUNT_CENTS = 100_000_000  #: 1 million euros: anything above is a typing error
LOG_PAGE_SIZE = 50


class InvalidPlatformInput(FieldError):
    """An estate, staff or review input breaks a rule (``field``, ``code``)."""


class AlreadyReviewed(Exception):
    """The professional account is no longer waiting for verification (a second click)."""


# ------------------------------------------------------------------------ estates


@dataclass(frozen=True)
class EstateData:
    name: str
    slug: str
    legal_name: str
    email: str
    city: str
    staff_email: str
    staff_first_name: str = ""
    staff_last_name: str = ""
    lead_id: int | None = None


@dataclass(frozen=True)
class EstateRow:
    estate: Estate
    subscription: Subscription | None
    plan: Plan | None
    status: str  #: a key of STATUS_LABELS


def check_slug(session: Session, slug: str) -> str:
    """The slug, if it can name a new estate.

    :raise InvalidPlatformInput: ``("slug", "format" | "reserved" | "taken")``.
    """
    from shop import RESERVED_SLUGS

    slug = (slug or "").strip()
    if not SLUG_PATTERN.fullmatch(slug) or len(slug) > SLUG_MAX:
        raise InvalidPlatformInput("slug", "format")
    if slug in RESERVED_SLUGS:
        raise InvalidPlatformInput("slug", "reserved")
    if session.scalar(select(Estate.id).where(Estate.slug == slug)) is not None:
        raise InvalidPlatformInput("slug", "taken")
    return slug


def new_leads(session: Session) -> list[FriendLead]:
    return list(session.scalars(select(FriendLead).where(FriendLead.status == "new")
                                .order_by(FriendLead.created_at, FriendLead.id).execution_options(all_estates=True)))


def _order_prefix(slug: str) -> str:
    """"domaine-des-aubes" → "AUB": the first word that is not "domaine", "chateau" …"""
    words = [w for w in slug.split("-") if w.isalpha()]
    meaningful = [w for w in words if w not in ("domaine", "chateau", "clos", "mas", "de", "la", "le", "les", "du",
                                                "des", "l", "d")]
    word = (meaningful or words or ["CDE"])[0]
    return (word[:3] if len(word) >= 2 else "CDE").upper()


def create_estate(session: Session, data: EstateData, *, secret_key: str, public_url: str) -> tuple[Estate, User]:
    """A new estate, unpublished (its staff fills the wines and settings, then the
    operator publishes it), with its "Particuliers" (TTC) and "Professionnels" (HT) price
    lists and its first manager, invited by email. A lead it comes from is marked
    onboarded: when the estate subscribes, the sponsor gets its free month
    (services.subscriptions.subscribe).

    :raise InvalidPlatformInput: a field breaks a rule.
    """
    from services.tenancy import in_estate

    name = (data.name or "").strip()
    if not name:
        raise InvalidPlatformInput("name", "required")
    slug = check_slug(session, data.slug)
    email = (data.email or "").strip().lower()
    if not accounts.is_email(email):
        raise InvalidPlatformInput("email", "invalid")
    staff_email = (data.staff_email or "").strip().lower()
    if not accounts.is_email(staff_email):
        raise InvalidPlatformInput("staff_email", "invalid")
    lead = None
    if data.lead_id:
        lead = session.scalars(select(FriendLead).where(FriendLead.id == data.lead_id, FriendLead.status == "new")
                               .execution_options(all_estates=True)).first()
        if lead is None:
            raise InvalidPlatformInput("lead", "unknown")
    estate = Estate(slug=slug, name=name[:140], legal_name=(data.legal_name or "").strip()[:140], email=email,
                    city=(data.city or "").strip()[:100], is_published=False, order_prefix=_order_prefix(slug))
    session.add(estate)
    session.flush()
    with in_estate(session, estate.id):
        session.add_all([
            PriceList(estate_id=estate.id, name="Particuliers", default_for=CustomerKind.PARTICULIER,
                      prices_include_vat=True, position=0),
            PriceList(estate_id=estate.id, name="Professionnels", default_for=CustomerKind.PROFESSIONNEL,
                      prices_include_vat=False, position=1),
        ])
        try:
            _, user = invite_staff(session, estate, email=staff_email, first_name=data.staff_first_name,
                                   last_name=data.staff_last_name, secret_key=secret_key, public_url=public_url)
        except InvalidPlatformInput as exc:
            raise InvalidPlatformInput("staff_email", exc.code) from exc
    if lead is not None:
        claimed = session.execute(update(FriendLead).where(FriendLead.id == lead.id, FriendLead.status == "new")
                                  .values(status="onboarded", onboarded_estate_id=estate.id)
                                  .execution_options(synchronize_session=False, all_estates=True)).rowcount
        if claimed != 1:  # onboarded or dismissed meanwhile
            raise InvalidPlatformInput("lead", "unknown")
    session.flush()
    return estate, user


def invite_staff(session: Session, estate: Estate, *, email: str, first_name: str = "", last_name: str = "",
                 secret_key: str, public_url: str) -> tuple[EstateStaff, User]:
    """Make the person a manager of the estate and email them: someone without an account
    gets one (an unusable password) and a link to choose their password; someone with one
    gets a link to the estate's back office.

    :raise InvalidPlatformInput: ``("email", "invalid" | "already_staff")``.
    """
    from flask_babel import force_locale

    from services import mail
    from services.tenancy import in_estate

    email = accounts.normalise_email(email or "")
    if not accounts.is_email(email):
        raise InvalidPlatformInput("email", "invalid")
    user = accounts.find_user_by_email(session, email)
    base = public_url.rstrip("/")
    if user is None:
        user = accounts.register_user(session, email=email, password=secrets.token_urlsafe(32),
                                      first_name=(first_name or "").strip()[:80],
                                      last_name=(last_name or "").strip()[:80], role=Role.STAFF)
        link, new_account = f"{base}/compte/reinitialiser/{accounts.make_reset_token(secret_key, user)}", True
    else:
        link, new_account = f"{base}/gestion/{estate.slug}/", False
    with in_estate(session, estate.id):
        if session.scalar(select(EstateStaff.id).where(EstateStaff.user_id == user.id)) is not None:
            raise InvalidPlatformInput("email", "already_staff")
        member = EstateStaff(estate_id=estate.id, user_id=user.id, role="manager")
        session.add(member)
    with force_locale("fr"):  # the operator's language is not the invited person's
        mail.queue_template(session, "staff_invitation", recipient=email, estate_id=estate.id,
                            subject=f"Chai - Votre espace de gestion de {estate.name}", user=user, estate=estate,
                            link=link, new_account=new_account, admin_url=f"{base}/gestion/{estate.slug}/")
    return member, user


def staff_of(session: Session, estate_id: int) -> list[tuple[EstateStaff, User]]:
    return list(session.execute(
        select(EstateStaff, User).join(User, User.id == EstateStaff.user_id)
        .where(EstateStaff.estate_id == estate_id).order_by(EstateStaff.role, User.last_name, User.email)
        .execution_options(all_estates=True)).tuples())


def subscription_of(session: Session, estate_id: int) -> Subscription | None:
    return session.scalars(select(Subscription).where(Subscription.estate_id == estate_id)).first()


def estate_rows(session: Session, today: date) -> list[EstateRow]:
    """Every estate with its subscription, plan and status (en essai, actif, résilié)."""
    from services.subscriptions import status

    rows = session.execute(select(Estate, Subscription, Plan)
                           .outerjoin(Subscription, Subscription.estate_id == Estate.id)
                           .outerjoin(Plan, Plan.id == Subscription.plan_id)
                           .order_by(Estate.name, Estate.id)).tuples().all()
    return [EstateRow(estate, subscription, plan, status(subscription, today)) for estate, subscription, plan in rows]


def set_options(session: Session, estate: Estate, values: dict[str, bool], *, published: bool) -> None:
    for name in OPTIONS:
        setattr(estate, name, bool(values.get(name)))
    estate.is_published = bool(published)
    session.flush()


def free_months(session: Session, estate_id: int) -> list[FreeMonth]:
    return list(session.scalars(select(FreeMonth).where(FreeMonth.estate_id == estate_id).order_by(FreeMonth.id)))


# ---------------------------------------------------------------------- invoices


@dataclass(frozen=True)
class InvoiceRow:
    invoice: OperatorInvoice
    estate: Estate
    received_cents: int
    status: str  #: a key of INVOICE_STATUS_LABELS

    @property
    def due_cents(self) -> int:
        return 0 if self.status == "paid" else max(self.invoice.total_ttc_cents - self.received_cents, 0)


def invoice_status(invoice: OperatorInvoice) -> str:
    if invoice.paid_at is not None or invoice.total_ttc_cents <= 0:
        return "paid"
    return "reminded" if invoice.reminder_sent_at is not None else "unpaid"


def invoice_rows(session: Session, *, unpaid_only: bool = False, estate_id: int | None = None) -> list[InvoiceRow]:
    """Invoices, newest first, with their estate and what was received (one query)."""
    received = (select(OperatorPayment.invoice_id, func.sum(OperatorPayment.amount_cents).label("received"))
                .group_by(OperatorPayment.invoice_id).subquery())
    statement = (select(OperatorInvoice, Estate, func.coalesce(received.c.received, 0))
                 .join(Estate, Estate.id == OperatorInvoice.estate_id)
                 .outerjoin(received, received.c.invoice_id == OperatorInvoice.id)
                 .order_by(OperatorInvoice.issued_at.desc(), OperatorInvoice.id.desc()))
    if unpaid_only:
        statement = statement.where(OperatorInvoice.paid_at.is_(None), OperatorInvoice.total_ttc_cents > 0)
    if estate_id is not None:
        statement = statement.where(OperatorInvoice.estate_id == estate_id)
    return [InvoiceRow(invoice, estate, int(got or 0), invoice_status(invoice))
            for invoice, estate, got in session.execute(statement).tuples()]


# ------------------------------------------------------------- professionals


def pending_pros(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.pro_status == ProStatus.PENDING)
                                .order_by(User.created_at, User.id)))


def reviewed_pros(session: Session, limit: int = 20) -> list[User]:
    return list(session.scalars(select(User).where(User.pro_reviewed_at.is_not(None),
                                                   User.pro_status.in_((ProStatus.VERIFIED, ProStatus.REJECTED)))
                                .order_by(User.pro_reviewed_at.desc(), User.id.desc()).limit(limit)))


def pending_pro(session: Session, user_id: int) -> User | None:
    """A professional account (pending or reviewed) by id; None for anyone else."""
    return session.scalars(select(User).where(User.id == user_id, User.siret.is_not(None),
                                              User.pro_status != ProStatus.NONE)).first()


def siret_key_ok(siret: str | None) -> bool:
    from services.accounts import siret_checksum_ok

    return bool(siret) and bool(re.fullmatch(r"\d{14}", siret or "")) and siret_checksum_ok(siret or "")


def verify_pro(session: Session, user: User, now: datetime, *, public_url: str) -> None:
    """"Vérifier": the account gets pro prices (services.catalogue.price_list_for) and an email.

    :raise AlreadyReviewed: not pending any more (a second click, another operator).
    """
    _review(session, user, ProStatus.VERIFIED, "", now)
    _email(session, "pro_verified", user, "Chai - Votre compte professionnel est vérifié", public_url=public_url)


def reject_pro(session: Session, user: User, reason: str, now: datetime, *, public_url: str) -> None:
    """"Refuser" with a reason, which the email gives the customer.

    :raise InvalidPlatformInput: ``("reason", "required" | "too_long")``.
    :raise AlreadyReviewed:
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidPlatformInput("reason", "required")
    if len(reason) > 255:
        raise InvalidPlatformInput("reason", "too_long")
    _review(session, user, ProStatus.REJECTED, reason, now)
    _email(session, "pro_rejected", user, "Chai - Votre demande de compte professionnel", public_url=public_url)


def _review(session: Session, user: User, status: ProStatus, reason: str, now: datetime) -> None:
    moved = session.execute(update(User).where(User.id == user.id, User.pro_status == ProStatus.PENDING)
                            .values(pro_status=status, pro_reviewed_at=now, pro_rejection_reason=reason)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise AlreadyReviewed(user.id)
    session.refresh(user)


def _email(session: Session, template: str, user: User, subject: str, *, public_url: str) -> None:
    from flask_babel import force_locale

    from services import mail

    with force_locale("fr"):
        mail.queue_template(session, template, recipient=user.email, subject=subject, user=user,
                            activity=PRO_ACTIVITIES.get(user.pro_activity, ""), site_url=public_url.rstrip("/") + "/")


# ------------------------------------------------------------------------- leads


@dataclass(frozen=True)
class LeadRow:
    lead: FriendLead
    sponsor: Estate | None
    onboarded: Estate | None


def lead_rows(session: Session) -> list[LeadRow]:
    """Every estate's leads, the new ones first."""
    leads = list(session.scalars(select(FriendLead).order_by(
        (FriendLead.status != "new"), FriendLead.created_at.desc(), FriendLead.id.desc())
        .execution_options(all_estates=True)))
    ids = {lead.estate_id for lead in leads} | {lead.onboarded_estate_id for lead in leads if lead.onboarded_estate_id}
    estates = {e.id: e for e in session.scalars(select(Estate).where(Estate.id.in_(ids)))} if ids else {}
    return [LeadRow(lead, estates.get(lead.estate_id), estates.get(lead.onboarded_estate_id or 0)) for lead in leads]


def lead(session: Session, lead_id: int) -> FriendLead | None:
    return session.scalars(select(FriendLead).where(FriendLead.id == lead_id)
                           .execution_options(all_estates=True)).first()


def dismiss_lead(session: Session, lead: FriendLead) -> bool:
    """Set a new lead aside; False when it was not new any more."""
    moved = session.execute(update(FriendLead).where(FriendLead.id == lead.id, FriendLead.status == "new")
                            .values(status="dismissed")
                            .execution_options(synchronize_session=False, all_estates=True)).rowcount
    return moved == 1


# ------------------------------------------------------------------ home, journal


def counts(session: Session, today: date) -> dict[str, object]:
    by_status = {key: 0 for key in STATUS_LABELS}
    for row in estate_rows(session, today):
        by_status[row.status] += 1
    unpaid = invoice_rows(session, unpaid_only=True)
    return {
        "estates": by_status,
        "pending_pros": session.scalar(select(func.count()).select_from(User)
                                       .where(User.pro_status == ProStatus.PENDING)) or 0,
        "unpaid_invoices": len(unpaid),
        "unpaid_cents": sum(row.due_cents for row in unpaid),
        "new_leads": session.scalar(select(func.count()).select_from(FriendLead).where(FriendLead.status == "new")
                                    .execution_options(all_estates=True)) or 0,
    }


def operator_log(session: Session, page: int = 1) -> tuple[list[tuple[AuditEntry, Estate | None]], int]:
    """The operator's actions, newest first: platform entries, the "operator.*" ones about
    an estate, and whatever a platform admin changed in an estate's back office (its
    prices, its settings …): (one page of (entry, its estate), total count)."""
    admins = select(User.id).where(User.role == Role.PLATFORM_ADMIN)
    condition = or_(AuditEntry.estate_id.is_(None), AuditEntry.action.startswith("operator.", autoescape=True),
                    AuditEntry.actor_user_id.in_(admins))
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(condition)) or 0
    rows = session.execute(select(AuditEntry, Estate).outerjoin(Estate, Estate.id == AuditEntry.estate_id)
                           .where(condition).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                           .limit(LOG_PAGE_SIZE).offset((page - 1) * LOG_PAGE_SIZE)).tuples().all()
    return list(rows), total

"""Chai's data model: SQLAlchemy 2.0 typed models.

Money is integer cents in ``*_cents`` columns; percentages are basis points in
``*_bp`` columns (10 % = 1000). Every row that belongs to one estate uses the
:class:`EstateOwned` mixin; :mod:`services.tenancy` filters those rows to the
current estate on every ORM query.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    LargeBinary,
    Table,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    # Named constraints so Alembic's batch mode can drop and recreate them on SQLite.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored as UTC; SQLite forgets the zone, so it is put back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Store the enum's value (French-neutral codes), as a portable VARCHAR + CHECK.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


# --------------------------------------------------------------------------- enums


class Role(enum.Enum):
    CUSTOMER = "customer"
    STAFF = "staff"  #: works for one or more estates (see EstateStaff)
    PLATFORM_ADMIN = "platform_admin"


class ProStatus(enum.Enum):
    NONE = "none"  #: a particulier
    PENDING = "pending"  #: signed up with a SIRET, "en attente de vérification"
    VERIFIED = "verified"
    REJECTED = "rejected"


class CustomerKind(enum.Enum):
    PARTICULIER = "particulier"
    PROFESSIONNEL = "professionnel"


class OrderStatus(enum.Enum):
    """See services.orders.TRANSITIONS for the allowed moves."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    #: paid, holding wines reserved before their release: shipped once they are all
    #: available (seed 000, services.reservations)
    RESERVED = "reserved"
    PREPARING = "preparing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class PaymentMode(enum.Enum):
    CARD = "card"
    TRANSFER = "transfer"
    CHEQUE = "cheque"
    CASH = "cash"  #: paid at pickup


class PaymentStatus(enum.Enum):
    CREATED = "created"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryKind(enum.Enum):
    """How the wine reaches the customer; later issues add fairs, group purchases and
    distribution points as more kinds (see services.delivery)."""

    HOME = "home"  #: livraison à domicile, shipping grid applies
    PICKUP = "pickup"  #: enlèvement à la propriété
    HAND = "hand"  #: livraison en mains propres
    GROUP = "group"  #: achat groupé: to the organiser's address (services.group_purchases)
    FAIR = "fair"  #: retrait sur un salon (services.fairs)
    POINT = "point"  #: a temporary pickup point (services.pickup_points)
    DISTRIBUTION = "distribution"  #: a producer group's distribution (services.producer_groups)
    TASTING = "tasting"  #: a home tasting's orders, all delivered to its host (services.tastings)


class ShippingZone(enum.Enum):
    FR_METRO = "fr_metro"
    CORSE = "corse"
    EU = "eu"
    WORLD = "world"


class InvoiceKind(enum.Enum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Colour(enum.Enum):
    ROUGE = "rouge"
    BLANC = "blanc"
    ROSE = "rose"
    EFFERVESCENT = "effervescent"
    MOELLEUX = "moelleux"
    AUTRE = "autre"


# ------------------------------------------------------------------ platform tables


class User(UserMixin, db.Model):
    """One login per person across the platform."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  #: stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(256))
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.CUSTOMER)
    pro_status: Mapped[ProStatus] = mapped_column(
        _enum(ProStatus, "pro_status"), default=ProStatus.NONE
    )
    siret: Mapped[str | None] = mapped_column(String(14))
    company_name: Mapped[str] = mapped_column(String(140), default="")
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    mangopay_user_id: Mapped[str | None] = mapped_column(String(40))
    #: the wallet a group basket's one pay-in credits before it is split per estate (issue 11)
    mangopay_wallet_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Bumped by log-out everywhere and password changes: sessions carrying an older
    #: version are no longer accepted (checked on every request).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_secret: Mapped[str | None] = mapped_column(String(64))  #: base32; set while enrolling
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: two-factor sign-in on
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: no code reused
    #: a professional's declared wine activity (caviste, restaurant …: services.platform.PRO_ACTIVITIES)
    pro_activity: Mapped[str] = mapped_column(String(20), default="", server_default="")
    pro_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: "Vérifier" or "Refuser"
    pro_rejection_reason: Mapped[str] = mapped_column(String(255), default="", server_default="")
    #: how often the news of the estates they follow reach them by email (issue 14):
    #: "each" (à chaque actualité), "weekly", "monthly" or "never"
    news_frequency: Mapped[str] = mapped_column(String(10), default="weekly", server_default="weekly")
    #: given at checkout (issue 15, Code de la santé publique L3342-1), offered again next time
    birth_date: Mapped[date | None] = mapped_column(Date)

    memberships: Mapped[list[EstateStaff]] = relationship(back_populates="user")

    __table_args__ = (CheckConstraint("news_frequency IN ('each', 'weekly', 'monthly', 'never')",
                                      name="news_frequency_known"),)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.is_active_account

    @property
    def is_verified_pro(self) -> bool:
        return self.pro_status is ProStatus.VERIFIED

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class Estate(db.Model):
    """A domaine: the tenant. Its slug is the first segment of its shop URLs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(140))
    legal_name: Mapped[str] = mapped_column(String(140), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="FR")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    siret: Mapped[str] = mapped_column(String(14), default="")
    vat_number: Mapped[str] = mapped_column(String(20), default="")
    region: Mapped[str] = mapped_column(String(80), default="")
    logo_path: Mapped[str | None] = mapped_column(String(255))  #: relative to instance/uploads
    description: Mapped[str] = mapped_column(Text, default="")
    video_url: Mapped[str | None] = mapped_column(String(255))  #: YouTube/Vimeo/mp4 URL
    sales_conditions_fr: Mapped[str] = mapped_column(Text, default="")
    sales_conditions_export: Mapped[str] = mapped_column(Text, default="")
    minimum_order_cents: Mapped[int] = mapped_column(Integer, default=0)
    shipping_delay: Mapped[str] = mapped_column(String(140), default="")  #: free text
    mixing_allowed: Mapped[bool] = mapped_column(Boolean, default=False)  #: panachage
    case_size: Mapped[int] = mapped_column(Integer, default=6)  #: bottles per mixed case
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    order_prefix: Mapped[str] = mapped_column(String(8), default="CDE", server_default="CDE")  #: "VER-00042"
    free_shipping_above_cents: Mapped[int | None] = mapped_column(Integer)  #: TTC, home delivery
    accepts_card: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    accepts_transfer: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    accepts_cheque: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    accepts_cash: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")  #: at pickup
    allows_pickup: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    allows_hand_delivery: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    pickup_instructions: Mapped[str] = mapped_column(Text, default="", server_default="")
    notification_email: Mapped[str] = mapped_column(String(254), default="", server_default="")  #: order copies
    loyalty_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    loyalty_particulier_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: avoir %
    loyalty_pro_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    referral_sponsor_bonus_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: parrain
    referral_referee_bonus_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: filleul
    cagnotte_step_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: 0: no cagnotte
    #: points (seed 003): "off", "per_euro" (points_rate points per euro) or "percent" (points_rate bp of revenue,
    #: one point per cent)
    points_mode: Mapped[str] = mapped_column(String(10), default="off", server_default="off")
    points_rate: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_min_order_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_value_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: worth of 100 points
    cagnotte_voucher_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: switched on by the platform operator (seed 000): customers may reserve wines
    #: not yet available (services.reservations)
    reservations_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: options the platform operator switches (issue 13); reservations_enabled above too
    groups_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")  #: producer groups
    tastings_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    newsletter_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    #: seed 003: a tasting's host may spend, in that tasting, the points it will earn
    tasting_points_in_current: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: working days (Monday to Friday) between an order and its shipping, for the expected
    #: shipping date of the confirmation; a closing period pushes it past its end (issue 14)
    preparation_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    #: "Lier une page Facebook" (issue 14): the page whose posts come in as news
    facebook_page_id: Mapped[str | None] = mapped_column(String(40))
    facebook_page_token: Mapped[str | None] = mapped_column(Text)  #: never shown back
    facebook_imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: last successful import
    facebook_error: Mapped[str] = mapped_column(String(255), default="", server_default="")  #: last failure
    #: issue 15: ISO 3166 codes of the countries the estate ships to, space-separated ("FR BE DE");
    #: an order to another country is refused (pickup excepted)
    destination_countries: Mapped[str] = mapped_column(String(200), default="FR", server_default="FR")
    #: issue 15: the accounting export's accounts (FEC) and journal codes, as the estate's accountant wants them
    account_customers: Mapped[str] = mapped_column(String(20), default="411", server_default="411")
    account_sales: Mapped[str] = mapped_column(String(20), default="706", server_default="706")
    account_shipping: Mapped[str] = mapped_column(String(20), default="708", server_default="708")
    account_vat: Mapped[str] = mapped_column(String(20), default="44571", server_default="44571")
    account_bank: Mapped[str] = mapped_column(String(20), default="512", server_default="512")
    account_fees: Mapped[str] = mapped_column(String(20), default="627", server_default="627")
    journal_sales: Mapped[str] = mapped_column(String(10), default="VE", server_default="VE")
    journal_bank: Mapped[str] = mapped_column(String(10), default="BQ", server_default="BQ")
    mangopay_user_id: Mapped[str | None] = mapped_column(String(40))
    mangopay_wallet_id: Mapped[str | None] = mapped_column(String(40))
    mangopay_bank_account_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("minimum_order_cents >= 0", name="minimum_order_non_negative"),
        CheckConstraint("case_size >= 1", name="case_size_positive"),
        CheckConstraint("preparation_days >= 0 AND preparation_days <= 60", name="preparation_days_range"),
    )


class VatRate(db.Model):
    """A VAT rate; French wine is at the normal rate (20 %)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    rate_bp: Mapped[int] = mapped_column(Integer)  #: 2000 = 20 %
    country: Mapped[str] = mapped_column(String(2), default="FR")

    __table_args__ = (CheckConstraint("rate_bp >= 0 AND rate_bp < 10000", name="rate_range"),)


class OutboxMessage(db.Model):
    """An email waiting to be sent by the outbox job (see services.mail)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: extra headers as a JSON object ({"List-Unsubscribe": "<https://…>", …}), or ""
    headers: Mapped[str] = mapped_column(Text, default="", server_default="")

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="OutboxAttachment.id"
    )


class JobRun(db.Model):
    """One firing of a scheduled job, claimed by the first process to insert it: with
    several gunicorn workers (or machines) each running the scheduler, the unique
    (name, slot) makes every trigger run once (services.jobs)."""

    __table_args__ = (UniqueConstraint("name", "slot", name="uq_job_run_name_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    slot: Mapped[datetime] = mapped_column(UTCDateTime())  #: the trigger's scheduled time
    worker: Mapped[str] = mapped_column(String(120), default="")  #: host:pid that ran it
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str] = mapped_column(Text, default="")


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (hashed like a password)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(256))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RateLimitCounter(db.Model):
    """A fixed-window hit counter of Flask-Limiter when its storage is the database
    (several workers without Redis); changed only by guarded UPDATE / INSERT."""

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEntry(db.Model):
    """A back-office action that changed money or customers: who, when, what, before
    and after. ``estate_id`` is empty for platform actions; the estate sees its own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(160), default="")
    action: Mapped[str] = mapped_column(String(60))  #: "price.update", "order.status", …
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(255), default="")  #: French, for the log page
    before: Mapped[str] = mapped_column(Text, default="")  #: JSON
    after: Mapped[str] = mapped_column(Text, default="")  #: JSON
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class OutboxAttachment(db.Model):
    """A document to attach, named by its source ("order_form:42", "invoice:7") and
    fetched or rendered when the message is sent (services.documents.resolve)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(60))


class PaymentHook(db.Model):
    """A provider notification already handled: the unique key makes a replay a no-op."""

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(60))
    resource_id: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("provider", "event_type", "resource_id"),)


# ------------------------------------------------------------------ estate-owned rows


class EstateOwned:
    """Mixin for rows that belong to one estate; services.tenancy filters on it."""

    @declared_attr
    def estate_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)


class EstateStaff(EstateOwned, db.Model):
    """A user who may run an estate's back office."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: "manager" runs the whole back office; "seller" (conseiller, ambassadeur: issue 12)
    #: sees only their tastings and the cards of the customers they serve
    role: Mapped[str] = mapped_column(String(10), default="manager", server_default="manager")
    user: Mapped[User] = relationship(back_populates="memberships")
    estate: Mapped[Estate] = relationship()

    __table_args__ = (UniqueConstraint("estate_id", "user_id"),
                      CheckConstraint("role IN ('manager', 'seller')", name="role_known"))

    @property
    def is_seller(self) -> bool:
        return self.role == "seller"


class PriceList(EstateOwned, db.Model):
    """A tarif: "Particuliers" (TTC), "Professionnels" (HT), or a group list."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    #: which customers get this list by default; None for a group list given by hand
    default_for: Mapped[CustomerKind | None] = mapped_column(_enum(CustomerKind, "customer_kind"))
    prices_include_vat: Mapped[bool] = mapped_column(Boolean, default=True)  #: TTC or HT
    sales_conditions: Mapped[str] = mapped_column(Text, default="")
    cash_discount_bp: Mapped[int] = mapped_column(Integer, default=0)  #: escompte for cash
    position: Mapped[int] = mapped_column(Integer, default=0)

    prices: Mapped[list[Price]] = relationship(back_populates="price_list")

    __table_args__ = (
        UniqueConstraint("estate_id", "name"),
        CheckConstraint("cash_discount_bp >= 0 AND cash_discount_bp <= 10000", name="escompte"),
    )


class Wine(EstateOwned, db.Model):
    """A cuvée as sold: one vintage, one bottle size."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    colour: Mapped[Colour] = mapped_column(_enum(Colour, "colour"))
    appellation: Mapped[str] = mapped_column(String(140), default="")
    vintage: Mapped[int | None] = mapped_column(Integer)  #: None for a non-vintage wine
    volume_ml: Mapped[int] = mapped_column(Integer, default=750)
    reference: Mapped[str] = mapped_column(String(40), default="")  #: internal reference
    description: Mapped[str] = mapped_column(Text, default="")
    grapes: Mapped[str] = mapped_column(String(200), default="")
    alcohol_permille: Mapped[int | None] = mapped_column(Integer)  #: 135 = 13.5 % vol.
    soil: Mapped[str] = mapped_column(String(200), default="")
    vinification: Mapped[str] = mapped_column(Text, default="")
    tasting_notes: Mapped[str] = mapped_column(Text, default="")
    food_pairing: Mapped[str] = mapped_column(String(255), default="")
    serving_temperature: Mapped[str] = mapped_column(String(40), default="")
    cellaring: Mapped[str] = mapped_column(String(80), default="")  #: "5 à 8 ans"
    stock: Mapped[int] = mapped_column(Integer, default=0)  #: bottles
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)
    available_again_month: Mapped[int | None] = mapped_column(Integer)
    available_again_year: Mapped[int | None] = mapped_column(Integer)
    is_visible: Mapped[bool] = mapped_column(Boolean, default=True)
    order_multiple: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: an unavailable wine customers may reserve (when the estate's reservations are on)
    reservation_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    reservation_cap: Mapped[int | None] = mapped_column(Integer)  #: bottles; None: no cap
    #: bottles reserved by orders not cancelled; moved only by a guarded UPDATE
    reserved_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    vat_rate_id: Mapped[int] = mapped_column(ForeignKey("vat_rate.id"))
    #: issue 15, the e-label (EU 2021/2117): required before the wine can be made visible are
    #: alcohol_permille, volume_ml and allergens ("Contient des sulfites")
    allergens: Mapped[str] = mapped_column(String(255), default="", server_default="")
    ingredients: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: nutrition declaration per 100 ml: energy in kJ and kcal, nutrients in tenths of a gram
    energy_kj: Mapped[int | None] = mapped_column(Integer)
    energy_kcal: Mapped[int | None] = mapped_column(Integer)
    fat_dg: Mapped[int | None] = mapped_column(Integer)
    saturates_dg: Mapped[int | None] = mapped_column(Integer)
    carbohydrate_dg: Mapped[int | None] = mapped_column(Integer)
    sugars_dg: Mapped[int | None] = mapped_column(Integer)
    protein_dg: Mapped[int | None] = mapped_column(Integer)
    salt_dg: Mapped[int | None] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(140), default="", server_default="")  #: "Produit de France"
    bottler: Mapped[str] = mapped_column(String(200), default="", server_default="")  #: "Mis en bouteille par …"

    vat_rate: Mapped[VatRate] = relationship()
    prices: Mapped[list[Price]] = relationship(back_populates="wine", cascade="all, delete-orphan")
    images: Mapped[list[WineImage]] = relationship(
        order_by="WineImage.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("order_multiple >= 1", name="order_multiple_positive"),
        CheckConstraint("volume_ml > 0", name="volume_positive"),
        CheckConstraint("reserved_count >= 0", name="reserved_non_negative"),
        CheckConstraint("reservation_cap IS NULL OR reserved_count <= reservation_cap", name="reserved_within_cap"),
        CheckConstraint(
            "available_again_month IS NULL OR available_again_month BETWEEN 1 AND 12",
            name="month_range",
        ),
    )


class WineImage(EstateOwned, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    wine_id: Mapped[int] = mapped_column(ForeignKey("wine.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(255))  #: relative to instance/uploads
    position: Mapped[int] = mapped_column(Integer, default=0)


class Price(EstateOwned, db.Model):
    """A wine's price on one list, in the list's own basis (TTC or HT)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    wine_id: Mapped[int] = mapped_column(ForeignKey("wine.id", ondelete="CASCADE"), index=True)
    price_list_id: Mapped[int] = mapped_column(
        ForeignKey("price_list.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(Integer)
    promo_amount_cents: Mapped[int | None] = mapped_column(Integer)  #: promotional price
    promo_active: Mapped[bool] = mapped_column(Boolean, default=False)
    #: price of a reserved bottle (same basis), None: the usual price
    reservation_cents: Mapped[int | None] = mapped_column(Integer)

    wine: Mapped[Wine] = relationship(back_populates="prices")
    price_list: Mapped[PriceList] = relationship(back_populates="prices")

    __table_args__ = (
        UniqueConstraint("wine_id", "price_list_id"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "promo_amount_cents IS NULL OR promo_amount_cents > 0", name="promo_positive"
        ),
        CheckConstraint("reservation_cents IS NULL OR reservation_cents > 0", name="reservation_positive"),
    )

    @property
    def effective_cents(self) -> int:
        if self.promo_active and self.promo_amount_cents:
            return self.promo_amount_cents
        return self.amount_cents


class EstateCustomer(EstateOwned, db.Model):
    """A line of the estate's private customer file (fichier client)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[CustomerKind] = mapped_column(
        _enum(CustomerKind, "customer_kind"), default=CustomerKind.PARTICULIER
    )
    external_number: Mapped[str] = mapped_column(String(40), default="")  #: from the estate's own software
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id", ondelete="SET NULL"))
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)  #: individual, confidential
    notes: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    company: Mapped[str] = mapped_column(String(140), default="", server_default="")
    billing_street: Mapped[str] = mapped_column(String(200), default="", server_default="")
    billing_postcode: Mapped[str] = mapped_column(String(10), default="", server_default="")
    billing_city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    billing_country: Mapped[str] = mapped_column(String(2), default="FR", server_default="FR")
    shipping_street: Mapped[str] = mapped_column(String(200), default="", server_default="")
    shipping_postcode: Mapped[str] = mapped_column(String(10), default="", server_default="")
    shipping_city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    shipping_country: Mapped[str] = mapped_column(String(2), default="FR", server_default="FR")
    #: the sum of the loyalty ledger, kept by guarded UPDATEs (services.loyalty)
    loyalty_balance_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    referral_code: Mapped[str | None] = mapped_column(String(16))  #: personal parrainage code
    points_balance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  #: sum of the points ledger
    #: cagnotte steps already rewarded with a voucher; moved by a guarded UPDATE
    cagnotte_steps_rewarded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: consent to the estate's newsletters (issue 14): when and where it was given
    #: ("inscription", "commande", "compte", "import", "vigneron" …); None: no consent.
    #: Unsubscribing empties it and records when.
    newsletter_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    newsletter_consent_source: Mapped[str] = mapped_column(String(40), default="", server_default="")
    newsletter_unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User | None] = relationship()
    price_list: Mapped[PriceList | None] = relationship()

    __table_args__ = (
        UniqueConstraint("estate_id", "email"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="discount_range"),
        CheckConstraint("loyalty_balance_cents >= 0", name="loyalty_non_negative"),
        CheckConstraint("points_balance >= 0", name="points_non_negative"),
        UniqueConstraint("estate_id", "referral_code", name="uq_estate_customer_referral_code"),
    )




class ShippingRate(EstateOwned, db.Model):
    """One cell of the shipping grid: from ``min_bottles`` bottles up to the next band."""

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[ShippingZone] = mapped_column(_enum(ShippingZone, "shipping_zone"))
    min_bottles: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)  #: TTC

    __table_args__ = (
        UniqueConstraint("estate_id", "zone", "min_bottles"),
        CheckConstraint("min_bottles >= 1", name="min_bottles_positive"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
    )


class Cart(EstateOwned, db.Model):
    """A visitor's basket at one estate: found by the browser's token, or by the user."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    lines: Mapped[list[CartLine]] = relationship(
        cascade="all, delete-orphan", order_by="CartLine.id", back_populates="cart"
    )

    __table_args__ = (UniqueConstraint("estate_id", "token"),)


class CartLine(EstateOwned, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"), index=True)
    wine_id: Mapped[int] = mapped_column(ForeignKey("wine.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    wine: Mapped[Wine] = relationship()

    __table_args__ = (
        UniqueConstraint("cart_id", "wine_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class Sequence(EstateOwned, db.Model):
    """A per-estate counter (order and invoice numbers), advanced only by a guarded
    UPDATE inside the transaction that uses the number: a rollback gives it back, so
    invoice numbers have no gaps."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    next_value: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("estate_id", "name"),)


class Order(EstateOwned, db.Model):
    __tablename__ = "shop_order"  # "order" is an SQL keyword

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30))  #: "VER-00042", per estate, never reused
    #: hidden field of the checkout form: the same checkout posted twice makes one order
    checkout_token: Mapped[str] = mapped_column(String(64))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id", ondelete="SET NULL"))
    prices_include_vat: Mapped[bool] = mapped_column(Boolean)  #: lines priced TTC (or HT for pros)
    payment_mode: Mapped[PaymentMode] = mapped_column(_enum(PaymentMode, "payment_mode"))
    delivery_kind: Mapped[DeliveryKind] = mapped_column(_enum(DeliveryKind, "delivery_kind"))
    delivery_label: Mapped[str] = mapped_column(String(200))  #: as shown to the customer
    shipping_zone: Mapped[ShippingZone | None] = mapped_column(_enum(ShippingZone, "shipping_zone"))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(30), default="")
    billing_name: Mapped[str] = mapped_column(String(160))
    billing_company: Mapped[str] = mapped_column(String(140), default="")
    billing_street: Mapped[str] = mapped_column(String(200))
    billing_postcode: Mapped[str] = mapped_column(String(10))
    billing_city: Mapped[str] = mapped_column(String(100))
    billing_country: Mapped[str] = mapped_column(String(2))
    shipping_name: Mapped[str] = mapped_column(String(160), default="")
    shipping_street: Mapped[str] = mapped_column(String(200), default="")
    shipping_postcode: Mapped[str] = mapped_column(String(10), default="")
    shipping_city: Mapped[str] = mapped_column(String(100), default="")
    shipping_country: Mapped[str] = mapped_column(String(2), default="")
    customer_note: Mapped[str] = mapped_column(Text, default="")
    bottles: Mapped[int] = mapped_column(Integer)
    goods_ht_cents: Mapped[int] = mapped_column(Integer)
    shipping_ttc_cents: Mapped[int] = mapped_column(Integer)
    total_ht_cents: Mapped[int] = mapped_column(Integer)
    total_vat_cents: Mapped[int] = mapped_column(Integer)
    total_ttc_cents: Mapped[int] = mapped_column(Integer)
    sales_conditions: Mapped[str] = mapped_column(Text, default="")  #: as accepted
    conditions_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tracking_number: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: "facturée"
    #: the occasion the order belongs to, if any (issue 10): one checkout, one table
    group_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("group_purchase.id"), index=True)
    estate_fair_id: Mapped[int | None] = mapped_column(ForeignKey("estate_fair.id"), index=True)
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_point.id"), index=True)
    #: a producer group's distribution the order is collected at (issue 11), and the one
    #: basket across estates it was checked out with (one payment for its orders)
    distribution_id: Mapped[int | None] = mapped_column(ForeignKey("distribution.id"), index=True)
    group_checkout_id: Mapped[int | None] = mapped_column(ForeignKey("group_checkout.id"), index=True)
    #: the home tasting the order was taken in (issue 12), and the seller who took it
    #: (a seller's order outside a tasting is a "vente directe")
    tasting_id: Mapped[int | None] = mapped_column(ForeignKey("tasting.id"), index=True)
    seller_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    #: a reservation whose wines are all available: the customer was told, once
    reservation_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: issue 15: the buyer's date of birth (L3342-1), and the CGV version accepted at checkout
    buyer_birth_date: Mapped[date | None] = mapped_column(Date)
    sales_terms_id: Mapped[int | None] = mapped_column(ForeignKey("sales_terms.id"), index=True)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", cascade="all, delete-orphan")
    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id", cascade="all, delete-orphan")
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id")
    customer: Mapped[EstateCustomer] = relationship()

    __table_args__ = (
        UniqueConstraint("estate_id", "number", name="uq_shop_order_number"),
        UniqueConstraint("estate_id", "checkout_token", name="uq_shop_order_checkout_token"),
        CheckConstraint("total_ttc_cents >= 0", name="total_non_negative"),
        CheckConstraint("shipping_ttc_cents >= 0", name="shipping_non_negative"),
        # The statistics page (services.statistics) reads a year of orders from this index
        # alone (id last: PostgreSQL joins the order lines without reading the table).
        Index("ix_shop_order_statistics", "estate_id", "created_at", "status", "customer_id", "delivery_kind",
              "payment_mode", "bottles", "total_ht_cents", "total_ttc_cents", "id"),
        #: new and returning customers: each customer's orders in date order
        Index("ix_shop_order_customer_history", "estate_id", "customer_id", "created_at", "status"),
    )


class OrderLine(EstateOwned, db.Model):
    """A priced line, frozen at order time (the wine may change later)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    wine_id: Mapped[int | None] = mapped_column(ForeignKey("wine.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(255))  #: "Morgon Côte du Py 2022 — 75 cl"
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)  #: in the order's basis (TTC or HT)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    ht_cents: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[int] = mapped_column(Integer)
    ttc_cents: Mapped[int] = mapped_column(Integer)
    is_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    #: goods, shipping, gift (an article a promotion gives), or discount (negative amounts)
    kind: Mapped[str] = mapped_column(String(10), default="goods", server_default="goods")
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotion.id", ondelete="SET NULL"))
    reserved: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  #: a reserved wine

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        #: the statistics' top wines: an order's goods lines without reading the table
        Index("ix_order_line_statistics", "order_id", "kind", "wine_id", "quantity", "ttc_cents"),
    )


class OrderEvent(EstateOwned, db.Model):
    """Every status change: who, when, from what to what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[OrderStatus | None] = mapped_column(_enum(OrderStatus, "from_status"))
    to_status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "to_status"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(160))  #: "Marie Vernay", "Client", "Mangopay"
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Payment(EstateOwned, db.Model):
    """One attempt to collect an order's money (a pay-in, a cheque, cash)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  #: "mangopay" or "manual"
    mode: Mapped[PaymentMode] = mapped_column(_enum(PaymentMode, "payment_mode"))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    provider_payin_id: Mapped[str | None] = mapped_column(String(60))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_url: Mapped[str] = mapped_column(String(500), default="")
    wire_reference: Mapped[str] = mapped_column(String(60), default="")
    bank_iban: Mapped[str] = mapped_column(String(40), default="")
    bank_bic: Mapped[str] = mapped_column(String(20), default="")
    bank_owner: Mapped[str] = mapped_column(String(140), default="")
    result_message: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: what the provider kept of the amount (bank fees, account 627 of the accounting export)
    fee_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("provider", "provider_payin_id"),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
    )


class Document(EstateOwned, db.Model):
    """A stored PDF: order form archive, invoice, credit note, or an invoice the estate
    made in its own software and uploaded."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  #: order_form, invoice, credit_note, external_invoice
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(80), default="application/pdf")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invoice(EstateOwned, db.Model):
    """An issued invoice or credit note. Never updated once written (see
    services.invoicing): corrections are credit notes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    kind: Mapped[InvoiceKind] = mapped_column(_enum(InvoiceKind, "invoice_kind"))
    number: Mapped[str] = mapped_column(String(40))
    external: Mapped[bool] = mapped_column(Boolean, default=False)  #: uploaded from the estate's software
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    total_ht_cents: Mapped[int] = mapped_column(Integer)
    total_vat_cents: Mapped[int] = mapped_column(Integer)
    total_ttc_cents: Mapped[int] = mapped_column(Integer)
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))

    document: Mapped[Document] = relationship()

    __table_args__ = (UniqueConstraint("estate_id", "kind", "number"),)


promotion_target_wine = Table(
    "promotion_target_wine",
    Base.metadata,
    Column("promotion_id", ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True),
    Column("wine_id", ForeignKey("wine.id", ondelete="CASCADE"), primary_key=True),
)
promotion_gift_wine = Table(
    "promotion_gift_wine",
    Base.metadata,
    Column("promotion_id", ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True),
    Column("wine_id", ForeignKey("wine.id", ondelete="CASCADE"), primary_key=True),
)
promotion_customer = Table(
    "promotion_customer",
    Base.metadata,
    Column("promotion_id", ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", ForeignKey("estate_customer.id", ondelete="CASCADE"), primary_key=True),
)


class Promotion(EstateOwned, db.Model):
    """A promotion the vigneron sets up; the rules live in services.promotions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    benefit: Mapped[str] = mapped_column(String(20))  #: services.promotions.Benefit value
    percent_bp: Mapped[int] = mapped_column(Integer, default=0)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    nth: Mapped[int] = mapped_column(Integer, default=0)
    fixed_price_cents: Mapped[int] = mapped_column(Integer, default=0)
    gift_quantity: Mapped[int] = mapped_column(Integer, default=1)
    target_colours: Mapped[str] = mapped_column(String(80), default="")  #: "rouge,blanc"
    min_bottles: Mapped[int] = mapped_column(Integer, default=0)
    min_amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: exclusive
    france_only: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_kind: Mapped[CustomerKind | None] = mapped_column(_enum(CustomerKind, "customer_kind"))
    pickup_only: Mapped[bool] = mapped_column(Boolean, default=False)
    cumulative: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str | None] = mapped_column(String(40))  #: upper-case; None = automatic
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)  #: code shown to every visitor
    restricted_to_customers: Mapped[bool] = mapped_column(Boolean, default=False)
    max_uses: Mapped[int | None] = mapped_column(Integer)  #: in total
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    uses_count: Mapped[int] = mapped_column(Integer, default=0)  #: moved only by a guarded UPDATE
    #: seed 003 "codes promo gagnés": a paid order of at least this much wins the code
    won_above_cents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    target_wines: Mapped[list[Wine]] = relationship(secondary=promotion_target_wine)
    gift_wines: Mapped[list[Wine]] = relationship(secondary=promotion_gift_wine)
    customers: Mapped[list[EstateCustomer]] = relationship(secondary=promotion_customer)

    __table_args__ = (
        UniqueConstraint("estate_id", "code"),
        CheckConstraint("uses_count >= 0", name="uses_non_negative"),
        CheckConstraint("max_uses IS NULL OR uses_count <= max_uses", name="uses_within_limit"),
        CheckConstraint("percent_bp >= 0 AND percent_bp <= 10000", name="percent_range"),
        CheckConstraint("amount_cents >= 0 AND fixed_price_cents >= 0", name="amounts_non_negative"),
    )


class PromotionUse(EstateOwned, db.Model):
    """A code redeemed by an order (for per-customer limits and the vigneron's follow-up)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotion.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoyaltyEntry(EstateOwned, db.Model):
    """One movement of a customer's avoir fidélité; the balance is their sum."""

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)  #: + credit, - debit
    kind: Mapped[str] = mapped_column(String(10))  #: earned, spent, manual, reversal
    #: "eur" (avoir fidélité, amount in cents) or "points" (amount in points)
    unit: Mapped[str] = mapped_column(String(6), default="eur", server_default="eur")
    reason: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="SET NULL"), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)


class CustomerImport(EstateOwned, db.Model):
    """An uploaded CSV waiting for the vigneron's confirmation (nothing is written before)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Referral(EstateOwned, db.Model):
    """A referee's first order through a sponsor's link: one per referee and estate."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    referee_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id", ondelete="CASCADE"))
    referee_bonus_cents: Mapped[int] = mapped_column(Integer)
    sponsor_bonus_cents: Mapped[int] = mapped_column(Integer)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: sponsor credited (order paid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sponsor: Mapped[EstateCustomer] = relationship(foreign_keys=[sponsor_id])
    referee: Mapped[EstateCustomer] = relationship(foreign_keys=[referee_id])

    __table_args__ = (UniqueConstraint("estate_id", "referee_id"),)


class Voucher(EstateOwned, db.Model):
    """A bon d'achat: a fixed amount off one order, for one customer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("estate_id", "code", name="uq_voucher_estate_code"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )


# ------------------------------------------------------------------ occasions (issue 10)


class GroupPurchaseRequest(EstateOwned, db.Model):
    """A customer's "Achat groupé" request, sent from the estate page (seed 000)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(30), default="")
    estimated_bottles: Mapped[int] = mapped_column(Integer)
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="FR")
    wished_date: Mapped[date | None] = mapped_column(Date)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="new")  #: new, created, dismissed
    group_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("group_purchase.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("estimated_bottles > 0", name="estimated_positive"),)


class GroupPurchase(EstateOwned, db.Model):
    """An achat groupé: participants order through ``token``'s link until ``closes_at``,
    delivered together to the organiser's address."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  #: the unguessable link
    organiser_name: Mapped[str] = mapped_column(String(160))
    organiser_email: Mapped[str] = mapped_column(String(254))
    organiser_phone: Mapped[str] = mapped_column(String(30), default="")
    estimated_bottles: Mapped[int] = mapped_column(Integer)
    delivery_name: Mapped[str] = mapped_column(String(160))
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="FR")
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    free_shipping: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the tier the organiser's estimate reaches, frozen at creation (see GroupPurchaseTier)
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    min_bottles_per_participant: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")  #: shown on the banner
    status: Mapped[str] = mapped_column(String(10), default="open")  #: open, closed (guarded UPDATE)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tiers: Mapped[list[GroupPurchaseTier]] = relationship(
        order_by="GroupPurchaseTier.min_bottles", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("estimated_bottles > 0", name="estimated_positive"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="discount_range"),
    )


class GroupPurchaseTier(EstateOwned, db.Model):
    """"60 bouteilles : 5 %": the discount when the organiser's estimate reaches it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_purchase_id: Mapped[int] = mapped_column(ForeignKey("group_purchase.id", ondelete="CASCADE"), index=True)
    min_bottles: Mapped[int] = mapped_column(Integer)
    discount_bp: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("group_purchase_id", "min_bottles"),
        CheckConstraint("min_bottles > 0", name="min_bottles_positive"),
        CheckConstraint("discount_bp > 0 AND discount_bp <= 10000", name="discount_range"),
    )


class Fair(db.Model):
    """A salon des vins, shared by every estate of the platform (the dropdown)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    city: Mapped[str] = mapped_column(String(100))
    venue: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by_estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("name", "city", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
    )


class EstateFair(EstateOwned, db.Model):
    """An estate at a fair: its stand, its invitation link, its pre-fair price."""

    id: Mapped[int] = mapped_column(primary_key=True)
    fair_id: Mapped[int] = mapped_column(ForeignKey("fair.id"), index=True)
    stand: Mapped[str] = mapped_column(String(60), default="")
    token: Mapped[str] = mapped_column(String(64), unique=True)  #: the invitation page's link
    pickup_enabled: Mapped[bool] = mapped_column(Boolean, default=True)  #: "Retrait sur le salon" offered
    #: "tarif pré-salon" for orders placed before the fair opens: a price list, or a %
    prefair_price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_list.id", ondelete="SET NULL"))
    prefair_discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    fair: Mapped[Fair] = relationship()

    __table_args__ = (
        UniqueConstraint("estate_id", "fair_id"),
        CheckConstraint("prefair_discount_bp >= 0 AND prefair_discount_bp <= 10000", name="prefair_range"),
    )


class PickupPoint(EstateOwned, db.Model):
    """A temporary delivery point (seed 001): offered at checkout from ``starts_on`` to
    ``ends_on`` (Paris dates, inclusive)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    street: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    instructions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_in_order"),)


# ------------------------------------------------------------------ producer groups (issue 11)


class ProducerGroup(db.Model):
    """A group of buyers (a works council, an association, neighbours, a shop) that
    orders from several estates at dated distributions (seed 002). Platform-wide: its
    administrators are users (a customer or an estate's staff)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(140))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(255), default="")  #: where distributions usually happen
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)  #: anyone with the link may join
    join_token: Mapped[str] = mapped_column(String(64), unique=True)  #: the group's link ("PARAMETRES")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GroupMembership(db.Model):
    """A user in a group: a member, or an administrator of it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("group_id", "user_id"),)


class GroupInvitation(db.Model):
    """An email invited from the "Membres" page; the link (its token, kept hashed) lets a
    new person set a password and join, once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: sha256 of the link's token
    invited_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("group_id", "email"),)


catalogue_wine = Table(
    "catalogue_wine",
    Base.metadata,
    Column("catalogue_id", ForeignKey("catalogue.id", ondelete="CASCADE"), primary_key=True),
    Column("wine_id", ForeignKey("wine.id", ondelete="CASCADE"), primary_key=True),
)


class Catalogue(EstateOwned, db.Model):
    """A selection of the estate's wines at one of its price lists, offered to groups;
    its URL (``token``) is what the estate sends to a group's administrator."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    price_list: Mapped[PriceList] = relationship()
    wines: Mapped[list[Wine]] = relationship(secondary=catalogue_wine, order_by="Wine.position, Wine.name")

    __table_args__ = (UniqueConstraint("estate_id", "name"),)


class GroupCatalogue(db.Model):
    """A catalogue linked to a group by one of its administrators: one per estate and group."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id", ondelete="CASCADE"), index=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("catalogue.id", ondelete="CASCADE"), index=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    linked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    catalogue: Mapped[Catalogue] = relationship()

    __table_args__ = (UniqueConstraint("group_id", "estate_id"),)


class Distribution(db.Model):
    """A dated distribution of a group: members collect there what they ordered from
    every participating estate; orders close at ``orders_close_at``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(255))
    orders_close_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")  #: open, closed (guarded UPDATE)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="times_in_order"),
        CheckConstraint("orders_close_at <= starts_at", name="closes_before_start"),
    )


class DistributionParticipation(db.Model):
    """"Participe": an estate sells at a distribution with its linked catalogue."""

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distribution.id", ondelete="CASCADE"), index=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("catalogue.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("distribution_id", "estate_id"),)


class GroupBasketLine(db.Model):
    """A line of a member's one basket for a distribution, across estates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distribution.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"))
    wine_id: Mapped[int] = mapped_column(ForeignKey("wine.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("distribution_id", "user_id", "wine_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class GroupCheckout(db.Model):
    """One basket checked out: an order per estate, paid in one card pay-in to the
    member's wallet that transfers then split per estate (services.group_payments)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_token: Mapped[str] = mapped_column(String(64), unique=True)  #: the same form posted twice
    reference: Mapped[str] = mapped_column(String(30), unique=True)  #: "GRP-<id>", the pay-in's tag
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distribution.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    total_cents: Mapped[int] = mapped_column(Integer)
    #: created, succeeded, failed: the pay-in's outcome, moved by guarded UPDATEs
    status: Mapped[str] = mapped_column(String(10), default="created")
    provider: Mapped[str] = mapped_column(String(20), default="mangopay")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    provider_payin_id: Mapped[str | None] = mapped_column(String(60), unique=True)
    payer_wallet_id: Mapped[str | None] = mapped_column(String(40))
    redirect_url: Mapped[str] = mapped_column(String(500), default="")
    result_message: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("total_cents > 0", name="total_positive"),)


class GroupTransfer(db.Model):
    """The share of a group checkout's pay-in that goes to one estate's wallet: a
    wallet-to-wallet transfer, made once under its stored idempotency key."""

    id: Mapped[int] = mapped_column(primary_key=True)
    group_checkout_id: Mapped[int] = mapped_column(ForeignKey("group_checkout.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), unique=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    provider_transfer_id: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="pending")  #: pending, succeeded, failed
    result_message: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)


# ------------------------------------------------------------------ home tastings (issue 12)


class Tasting(EstateOwned, db.Model):
    """A réunion: a seller's tasting at a host's home; guests join through ``token``'s
    link and order during it. Closed once (guarded UPDATE), which computes its rewards."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  #: the host's invitation link
    seller_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    host_customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    place: Mapped[str] = mapped_column(String(255), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="planned")  #: planned, closed, cancelled
    #: "réunion redatée": moved to another date at least once (its host earns under that rule)
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    #: "prise de réunion": booked by a guest of that tasting, during it
    booked_during_id: Mapped[int | None] = mapped_column(ForeignKey("tasting.id", ondelete="SET NULL"), index=True)
    #: host points spent in this tasting before they were earned (moved by guarded UPDATE)
    host_points_advanced: Mapped[int] = mapped_column(Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(Integer, default=0)  #: frozen at closing
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    host: Mapped[EstateCustomer] = relationship(foreign_keys=[host_customer_id])
    seller: Mapped[User | None] = relationship(foreign_keys=[seller_user_id])

    __table_args__ = (
        CheckConstraint("status IN ('planned', 'closed', 'cancelled')", name="status_known"),
        CheckConstraint("host_points_advanced >= 0", name="advance_non_negative"),
        CheckConstraint("reschedule_count >= 0", name="reschedules_non_negative"),
    )


class TastingEvent(EstateOwned, db.Model):
    """The tasting's history: created, redatée (from → to), closed, cancelled."""

    id: Mapped[int] = mapped_column(primary_key=True)
    tasting_id: Mapped[int] = mapped_column(ForeignKey("tasting.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    from_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    to_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(160), default="")
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TastingGuest(EstateOwned, db.Model):
    """A guest who joined the tasting through the host's link (or was added by the seller)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    tasting_id: Mapped[int] = mapped_column(ForeignKey("tasting.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer: Mapped[EstateCustomer] = relationship()

    __table_args__ = (UniqueConstraint("tasting_id", "customer_id"),)


reward_rule_wine = Table(
    "reward_rule_wine",
    Base.metadata,
    Column("rule_id", ForeignKey("reward_rule.id", ondelete="CASCADE"), primary_key=True),
    Column("wine_id", ForeignKey("wine.id", ondelete="CASCADE"), primary_key=True),
)


class RewardRule(EstateOwned, db.Model):
    """One line of the estate's loyalty rules for tastings (seed 003): for an action, what
    is won and on which conditions. See services.tastings for the actions and rewards."""

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))  #: host, rescheduled_host, during, booking, direct_sale
    beneficiary: Mapped[str] = mapped_column(String(10), default="customer")  #: customer, seller
    reward: Mapped[str] = mapped_column(String(20))  #: points_fixed, points_percent, gift_set, gift_choice, …
    points: Mapped[int] = mapped_column(Integer, default=0)
    percent_bp: Mapped[int] = mapped_column(Integer, default=0)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)  #: voucher's amount, or gift threshold
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotion.id", ondelete="SET NULL"))
    min_revenue_cents: Mapped[int] = mapped_column(Integer, default=0)
    min_orders: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    wines: Mapped[list[Wine]] = relationship(secondary=reward_rule_wine, order_by="Wine.position")
    promotion: Mapped[Promotion | None] = relationship()

    __table_args__ = (
        CheckConstraint("points >= 0 AND amount_cents >= 0 AND min_revenue_cents >= 0 AND min_orders >= 0",
                        name="amounts_non_negative"),
        CheckConstraint("percent_bp >= 0 AND percent_bp <= 10000", name="percent_range"),
    )


class Reward(EstateOwned, db.Model):
    """What one customer won under one rule, once: ``dedupe_key`` names the occasion
    (tasting or order), the rule and the winner, so computing rewards twice adds nothing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(80))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("reward_rule.id", ondelete="SET NULL"), index=True)
    tasting_id: Mapped[int | None] = mapped_column(ForeignKey("tasting.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="SET NULL"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    reward: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(255))  #: "150 points", "Un vin au choix" …
    points: Mapped[int] = mapped_column(Integer, default=0)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("voucher.id", ondelete="SET NULL"))
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotion.id", ondelete="SET NULL"))
    gift_wine_ids: Mapped[str] = mapped_column(String(255), default="")  #: "12,14": the gifts to choose from
    #: given (nothing left to do), to_choose ("Choisir mon cadeau"), chosen (gift order made)
    status: Mapped[str] = mapped_column(String(10), default="given")
    gift_order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    chosen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[EstateCustomer] = relationship()

    __table_args__ = (
        UniqueConstraint("estate_id", "dedupe_key"),
        CheckConstraint("status IN ('given', 'to_choose', 'chosen')", name="status_known"),
    )


# ------------------------------------------------------------------ the platform operator (issue 13)


class Plan(db.Model):
    """A subscription plan: a name and a monthly price HT."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    monthly_price_cents: Mapped[int] = mapped_column(Integer)  #: HT
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("monthly_price_cents >= 0", name="price_non_negative"),)


class Subscription(db.Model):
    """An estate's subscription: billed every calendar quarter for every month begun
    while subscribed (services.subscriptions). A cancellation asked on a day takes
    effect at the end of that month (``ends_on``, the last day billed)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    billing_email: Mapped[str] = mapped_column(String(254))
    payment_mode: Mapped[str] = mapped_column(String(10), default="transfer")  #: transfer, cheque
    cancel_requested_on: Mapped[date | None] = mapped_column(Date)  #: the written request's date
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    plan: Mapped[Plan] = relationship()
    estate: Mapped[Estate] = relationship()

    __table_args__ = (
        CheckConstraint("payment_mode IN ('transfer', 'cheque')", name="payment_mode_known"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )


class PlatformSequence(db.Model):
    """The operator's own counters (its invoice numbers), moved by a guarded UPDATE in
    the transaction that uses the number, as services.sequences does for estates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


class OperatorInvoice(db.Model):
    """The operator's invoice to an estate for a quarter; never updated once issued, but
    for its payment and reminder columns."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  #: "ABO-2026-00001", gapless
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)  #: first day of the quarter
    period_end: Mapped[date] = mapped_column(Date)  #: last day of the quarter
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_on: Mapped[date] = mapped_column(Date)
    billing_email: Mapped[str] = mapped_column(String(254))
    buyer_name: Mapped[str] = mapped_column(String(160))
    buyer_address: Mapped[str] = mapped_column(String(400), default="")
    payment_mode: Mapped[str] = mapped_column(String(10))
    total_ht_cents: Mapped[int] = mapped_column(Integer)
    total_vat_cents: Mapped[int] = mapped_column(Integer)
    total_ttc_cents: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list[OperatorInvoiceLine]] = relationship(order_by="OperatorInvoiceLine.id",
                                                            cascade="all, delete-orphan")
    payments: Mapped[list[OperatorPayment]] = relationship(order_by="OperatorPayment.id")
    estate: Mapped[Estate] = relationship()

    __table_args__ = (UniqueConstraint("estate_id", "period_start"),
                      CheckConstraint("total_ttc_cents >= 0", name="total_non_negative"))


class OperatorInvoiceLine(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("operator_invoice.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_ht_cents: Mapped[int] = mapped_column(Integer)
    total_ht_cents: Mapped[int] = mapped_column(Integer)


class OperatorPayment(db.Model):
    """A payment the operator received for an invoice (transfer or cheque)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("operator_invoice.id", ondelete="CASCADE"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))  #: transfer, cheque
    reference: Mapped[str] = mapped_column(String(80), default="")
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),
                      CheckConstraint("method IN ('transfer', 'cheque')", name="method_known"))


class EstateFriend(EstateOwned, db.Model):
    """"Nos amis vignerons": an estate of the platform the estate shows to its visitors."""

    id: Mapped[int] = mapped_column(primary_key=True)
    friend_estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    friend: Mapped[Estate] = relationship(foreign_keys=[friend_estate_id])

    __table_args__ = (UniqueConstraint("estate_id", "friend_estate_id"),
                      CheckConstraint("estate_id <> friend_estate_id", name="not_itself"))


class FriendLead(EstateOwned, db.Model):
    """A winegrower not on the platform that the estate invited: the operator's lead.
    When the estate made from it subscribes, the sponsor gets one free month, once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str] = mapped_column(String(254))
    estate_name: Mapped[str] = mapped_column(String(140))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="new")  #: new, onboarded, dismissed
    onboarded_estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FreeMonth(db.Model):
    """A free month owed to an estate (sponsoring: one per lead), deducted once from its
    next quarterly invoice (``invoice_id`` set by the invoice that used it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("friend_lead.id", ondelete="SET NULL"), unique=True)
    reason: Mapped[str] = mapped_column(String(255))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("operator_invoice.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ------------------------------------------------------------------ issue 14: news, mailings, closing


class News(EstateOwned, db.Model):
    """An actualité: written in the back office or imported from the estate's Facebook page."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")  #: sanitised on save (nh3)
    image_path: Mapped[str | None] = mapped_column(String(255))  #: relative to instance/uploads
    image_url: Mapped[str | None] = mapped_column(String(500))  #: a Facebook post's picture
    customers_only: Mapped[bool] = mapped_column(Boolean, default=False)  #: "clients uniquement"
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(10), default="chai", server_default="chai")  #: chai, facebook
    facebook_post_id: Mapped[str | None] = mapped_column(String(80))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("estate_id", "facebook_post_id", name="uq_news_facebook_post"),
        Index("ix_news_estate_published", "estate_id", "published_at"),
        CheckConstraint("source IN ('chai', 'facebook')", name="source_known"),
    )


class Follow(EstateOwned, db.Model):
    """A user following an estate ("Suivre"): its news by email at ``User.news_frequency``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
    estate: Mapped[Estate] = relationship()

    __table_args__ = (UniqueConstraint("estate_id", "user_id"),)


class NewsDelivery(EstateOwned, db.Model):
    """One news item emailed to one follower: the unique pair makes it once, whatever
    the frequency changes and however many times the digest jobs run."""

    id: Mapped[int] = mapped_column(primary_key=True)
    news_id: Mapped[int] = mapped_column(ForeignKey("news.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("news_id", "user_id"),)


class Mailing(EstateOwned, db.Model):
    """A newsletter to the consenting customers of the estate's file, sent by a job at a
    bounded rate (services.mailings)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")  #: sanitised on save (nh3)
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotion.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="draft")  #: draft, sending, sent
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    test_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  #: the last recipient queued

    promotion: Mapped[Promotion | None] = relationship()

    __table_args__ = (CheckConstraint("status IN ('draft', 'sending', 'sent')", name="status_known"),)


class MailingRecipient(EstateOwned, db.Model):
    """A customer a mailing goes to, frozen when "Envoyer" is pressed; queued to the
    outbox by the mailing job, a bounded number per run."""

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("estate_customer.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id", ondelete="SET NULL"))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("mailing_id", "customer_id"),)


class ClosingPeriod(EstateOwned, db.Model):
    """A période de fermeture (seed 001): shown on the estate page and in order emails,
    and pushing the expected shipping date past its end."""

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)  #: first closed day (Paris)
    ends_on: Mapped[date] = mapped_column(Date)  #: last closed day, inclusive
    message: Mapped[str] = mapped_column(String(500), default="")
    orders_taken: Mapped[bool] = mapped_column(Boolean, default=True)  #: orders still taken, shipped after
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
                      Index("ix_closing_period_estate_dates", "estate_id", "ends_on", "starts_on"))


# ------------------------------------------------------------------ issue 15: compliance


class SalesTerms(EstateOwned, db.Model):
    """A published version of the estate's CGV (conditions générales de vente): the
    template's answers the vigneron completed, the text and its PDF as published. Never
    changed: publishing again makes the next version; an order keeps the one accepted."""

    __tablename__ = "sales_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)  #: 1, 2, 3 … per estate
    fields: Mapped[str] = mapped_column(Text, default="")  #: JSON: the template's answers
    body: Mapped[str] = mapped_column(Text)  #: the full text, as published
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("estate_id", "version"),)


class JournalEntry(EstateOwned, db.Model):
    """The estate's append-only sales journal (CGI art. 286 I 3° bis): invoices, credit
    notes, payments, closings and archives, each carrying the hash of the one before
    (services.journal). The database refuses UPDATE and DELETE (triggers)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  #: 1, 2, 3 … per estate, no gap
    kind: Mapped[str] = mapped_column(String(20))  #: invoice, credit_note, payment, closing, archive
    reference: Mapped[str] = mapped_column(String(60), default="")  #: invoice number, payment id …
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)  #: TTC, signed
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[str] = mapped_column(Text)  #: canonical JSON, hashed as stored
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("estate_id", "seq"),)


class JournalClosing(EstateOwned, db.Model):
    """A daily, monthly or yearly closing: the period's totals and the perpetual grand
    total, sealed by the hash of its journal entry. Append-only, like the journal."""

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(5))  #: day, month, year
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  #: inclusive
    entries: Mapped[int] = mapped_column(Integer, default=0)
    sales_ttc_cents: Mapped[int] = mapped_column(Integer, default=0)  #: invoices
    sales_ht_cents: Mapped[int] = mapped_column(Integer, default=0)
    vat_cents: Mapped[int] = mapped_column(Integer, default=0)
    credits_ttc_cents: Mapped[int] = mapped_column(Integer, default=0)  #: credit notes, positive
    payments_cents: Mapped[int] = mapped_column(Integer, default=0)
    #: grand total perpétuel: invoices minus credit notes TTC since the first entry
    perpetual_total_cents: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  #: the last entry the closing covers
    entry_seq: Mapped[int] = mapped_column(Integer)  #: the closing's own journal entry
    hash: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("estate_id", "period", "starts_on"),
                      CheckConstraint("period IN ('day', 'month', 'year')", name="period_known"),
                      CheckConstraint("ends_on >= starts_on", name="dates_in_order"))


class JournalArchive(EstateOwned, db.Model):
    """An archive export of a period (the entries, closings and invoices), with the
    SHA-256 of the file as handed out: the estate keeps the file, we keep its hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    filename: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    entry_seq: Mapped[int] = mapped_column(Integer)  #: the archive's own journal entry
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

"""The audit log: back-office actions that change money or customers (prices,
promotions, order status, loyalty, customer file, imports, exports, erasures, shipping
and payment settings): who, when, what, before and after.

:func:`record` adds an :class:`models.AuditEntry` to the session of the change, so it
is committed or rolled back with it. ``before`` and ``after`` keep only what changed
(an edit that changes nothing writes no entry). Entries hold no more personal data
than the action needs: a customer is named by its id (the log page shows its current
name, so an erased customer shows anonymised), an import or an export by its counts.

``AuditEntry.estate_id`` is empty for platform actions, so the model is not
``EstateOwned``: every read filters on the estate explicitly (:func:`search`).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEntry, EstateCustomer, User, utcnow
from services.tenancy import EstateMismatch, current_estate_id

PAGE_SIZE = 50

ACTION_LABELS = {
    "price.update": _l("Prix modifié"),
    "price_list.create": _l("Tarif créé"),
    "price_list.update": _l("Tarif modifié"),
    "promotion.create": _l("Promotion créée"),
    "promotion.update": _l("Promotion modifiée"),
    "order.status": _l("Statut de commande changé"),
    "loyalty.adjust": _l("Avoir fidélité crédité ou débité"),
    "loyalty.settings": _l("Programme de fidélité modifié"),
    "customer.update": _l("Fiche client modifiée"),
    "customer.import": _l("Clients importés"),
    "customer.export": _l("Fichier clients exporté"),
    "customer.data_export": _l("Données d'un client exportées (RGPD)"),
    "customer.erase": _l("Client anonymisé (RGPD)"),
    "shipping.update": _l("Livraison et paiement modifiés"),
    "estate.options": _l("Options du domaine modifiées (plateforme)"),
}
#: The log page's "Action" filter: a family groups the codes that start with its name.
FAMILIES = {
    "prix": (_l("Prix et tarifs"), ("price.", "price_list.")),
    "promotions": (_l("Promotions"), ("promotion.",)),
    "commandes": (_l("Commandes"), ("order.",)),
    "fidelite": (_l("Fidélité"), ("loyalty.",)),
    "clients": (_l("Clients, imports et exports"), ("customer.",)),
    "livraison": (_l("Livraison et paiement"), ("shipping.",)),
}
FIELD_LABELS = {
    "amount_cents": _l("Montant"),
    "promo_amount_cents": _l("Prix promotionnel"),
    "promo_active": _l("Promotion active"),
    "reservation_cents": _l("Prix de réservation"),
    "reservation_open": _l("Réservations ouvertes"),
    "reservation_cap": _l("Plafond de réservation"),
    "reservations_enabled": _l("Réservations (option de la plateforme)"),
    "stock": _l("Stock"),
    "vintage": _l("Millésime"),
    "is_available": _l("Disponible"),
    "is_visible": _l("Visible"),
    "name": _l("Nom"),
    "prices": _l("Prix"),
    "promo_prices": _l("Prix promotionnels"),
    "prices_include_vat": _l("Prix TTC"),
    "cash_discount_bp": _l("Escompte"),
    "status": _l("Statut"),
    "tracking_number": _l("Numéro de suivi"),
    "balance_cents": _l("Solde d'avoir fidélité"),
    "reason": _l("Motif"),
    "kind": _l("Type de client"),
    "price_list": _l("Tarif"),
    "discount_bp": _l("Remise individuelle"),
    "external_number": _l("Numéro client"),
    "notes_length": _l("Notes (nombre de caractères)"),
    "percent_bp": _l("Pourcentage"),
    "code": _l("Code"),
    "is_active": _l("Active"),
    "starts_at": _l("Début"),
    "ends_at": _l("Fin"),
    "max_uses": _l("Utilisations au plus"),
    "created": _l("Ajoutés"),
    "updated": _l("Mis à jour"),
    "skipped": _l("Lignes écartées"),
    "invited": _l("Invités par email"),
    "rows": _l("Lignes"),
    "anonymised": _l("Anonymisé"),
    "orders": _l("Commandes"),
    "grid": _l("Grille de frais de port"),
    "free_shipping_above_cents": _l("Port offert à partir de"),
    "loyalty_enabled": _l("Fidélité active"),
    "loyalty_particulier_bp": _l("Fidélité particuliers"),
    "loyalty_pro_bp": _l("Fidélité professionnels"),
    "referral_sponsor_bonus_cents": _l("Bonus du parrain"),
    "referral_referee_bonus_cents": _l("Bonus du filleul"),
    "cagnotte_step_cents": _l("Palier de la cagnotte"),
    "cagnotte_voucher_cents": _l("Bon d'achat de la cagnotte"),
    "points_mode": _l("Règle des points"),
    "points_rate": _l("Points"),
    "points_min_order_cents": _l("Commande minimum pour les points"),
    "points_value_cents": _l("Valeur des points"),
    "allows_pickup": _l("Enlèvement à la propriété"),
    "allows_hand_delivery": _l("Livraison en mains propres"),
    "accepts_card": _l("Carte bancaire"),
    "accepts_transfer": _l("Virement"),
    "accepts_cheque": _l("Chèque"),
    "accepts_cash": _l("Espèces au retrait"),
    "order_prefix": _l("Préfixe des numéros de commande"),
    "notification_email": _l("Email de notification"),
    "benefit": _l("Avantage"),
    "min_bottles": _l("Bouteilles au moins"),
    "min_amount_cents": _l("Montant minimum"),
    "fixed_price_cents": _l("Prix fixe"),
    "max_uses_per_customer": _l("Utilisations par client"),
    "is_public": _l("Code public"),
    "cumulative": _l("Cumulable"),
}

#: Nested dictionaries whose values are amounts in cents.
CENTS_DICTS = {"prices", "promo_prices", "grid"}


def jsonable(value: Any) -> Any:
    """Plain JSON values: enums by value, datetimes in ISO 8601, sets as sorted lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: object, *names: str) -> dict[str, Any]:
    """``{name: value}`` of some attributes of a row, as JSON values."""
    return {name: jsonable(getattr(obj, name)) for name in names}


def row(obj: object, exclude: tuple[str, ...] = ("id", "estate_id")) -> dict[str, Any]:
    """Every column of a row, as JSON values."""
    from sqlalchemy import inspect

    return snapshot(obj, *(c.key for c in inspect(type(obj)).column_attrs if c.key not in exclude))


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs (nested dictionaries are compared key by key)."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in list(before) + [k for k in after if k not in before]:
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            a, b = diff(a, b)
            if not a and not b:
                continue
        elif a == b and (key in before) == (key in after):
            continue
        if key in before:
            old[key] = a
        if key in after:
            new[key] = b
    return old, new


def _subject(subject: object) -> tuple[str, int | None]:
    if subject is None:
        return "", None
    if isinstance(subject, tuple):
        return str(subject[0]), subject[1]
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(subject).__name__).lower()
    return name, getattr(subject, "id", None)


def _request_ip() -> str:
    from flask import has_request_context

    if not has_request_context():
        return ""
    from services.ratelimit import client_ip

    return client_ip()[:45]


def record(session: Session, estate_id: int | None, actor: User | None, action: str, subject: object,
           before: dict[str, Any], after: dict[str, Any], summary: str, *, ip: str | None = None,
           only_changes: bool = True) -> AuditEntry | None:
    """Add the entry to ``session`` (flushed with the change, committed with it).

    ``subject``: the changed row, or ``(type, id)``. With ``only_changes``, keys whose
    value is the same before and after are dropped, and nothing is written when no
    key is left. Returns the entry, or None.

    :raise EstateMismatch: the session is scoped to another estate.
    """
    scoped = current_estate_id(session)
    if scoped is not None and estate_id != scoped:
        raise EstateMismatch(f"AuditEntry of estate {estate_id}")
    before, after = jsonable(before), jsonable(after)
    if only_changes:
        before, after = diff(before, after)
        if not before and not after:
            return None
    subject_type, subject_id = _subject(subject)
    entry = AuditEntry(
        estate_id=estate_id,
        actor_user_id=actor.id if actor is not None else None,
        actor_label=(f"{actor.full_name} <{actor.email}>" if actor is not None else "")[:160],
        action=action[:60], subject_type=subject_type[:40], subject_id=subject_id, summary=summary[:255],
        before=json.dumps(before, ensure_ascii=False, sort_keys=True, default=str),
        after=json.dumps(after, ensure_ascii=False, sort_keys=True, default=str),
        ip=(ip if ip is not None else _request_ip())[:45], created_at=utcnow())
    session.add(entry)
    return entry


# ------------------------------------------------------------------ reading the log


@dataclass(frozen=True)
class Filters:
    family: str | None = None  #: a key of FAMILIES
    date_from: datetime | None = None  #: inclusive
    date_to: datetime | None = None  #: exclusive


def search(session: Session, estate_id: int, filters: Filters, page: int = 1) -> tuple[list[AuditEntry], int]:
    """One estate's entries, newest first: (one page, total count)."""
    statement = select(AuditEntry).where(AuditEntry.estate_id == estate_id)
    if filters.family in FAMILIES:
        from sqlalchemy import or_

        prefixes = FAMILIES[filters.family][1]
        statement = statement.where(or_(*(AuditEntry.action.startswith(p, autoescape=True) for p in prefixes)))
    if filters.date_from is not None:
        statement = statement.where(AuditEntry.created_at >= filters.date_from)
    if filters.date_to is not None:
        statement = statement.where(AuditEntry.created_at < filters.date_to)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return list(rows), total


def customer_names(session: Session, entries: list[AuditEntry]) -> dict[int, str]:
    """Current names of the customers the entries are about (an erased one reads anonymised)."""
    ids = {e.subject_id for e in entries if e.subject_type == "estate_customer" and e.subject_id}
    if not ids:
        return {}
    rows = session.scalars(select(EstateCustomer).where(EstateCustomer.id.in_(ids))).all()
    return {c.id: (f"{c.first_name} {c.last_name}".strip() or c.email) for c in rows}


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def changes(entry: AuditEntry) -> list[Change]:
    """The entry's before/after as rows of readable French values."""
    before, after = _load(entry.before), _load(entry.after)
    rows: list[Change] = []
    _flatten(rows, "", before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {})
    return rows


def _load(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _flatten(rows: list[Change], prefix: str, before: dict, after: dict, unit: str = "") -> None:
    """``unit``: the key that says what the leaves of a nested dictionary are ("prices": cents)."""
    for key in list(before) + [k for k in after if k not in before]:
        label = str(FIELD_LABELS.get(key, key))
        name = f"{prefix} › {label}" if prefix else label
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            _flatten(rows, name, a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}, unit or key)
            continue
        rows.append(Change(name, _show(unit or key, a, key in before), _show(unit or key, b, key in after)))


def _show(key: str, value: Any, present: bool) -> str:
    from services.templating import euros

    if not present or value is None:
        return "—"
    if isinstance(value, bool):
        return str(_l("oui") if value else _l("non"))
    if isinstance(value, int) and (key.endswith("_cents") or key in CENTS_DICTS):
        return euros(value)
    if isinstance(value, int) and key.endswith("_bp"):
        return f"{value / 100:g} %".replace(".", ",")
    if key == "status":
        from models import OrderStatus
        from services.orders import STATUS_LABELS

        try:
            return str(STATUS_LABELS[OrderStatus(value)])
        except (ValueError, KeyError):
            return str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


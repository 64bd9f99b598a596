"""Accounts: sign-up (particulier or professionnel), login, password reset."""

from __future__ import annotations

import re

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Estate, EstateStaff, ProStatus, Role, User, utcnow
from services import passwords, security
from services.tenancy import all_estates

RESET_TOKEN_MAX_AGE = 3600  #: seconds a password-reset link stays valid
MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH


class EmailTaken(Exception):
    """An account already exists for this email address."""


class InvalidSiret(ValueError):
    """Not 14 digits, or the Luhn checksum fails."""


class InvalidResetToken(Exception):
    """The reset link is forged, already used, or expired (see ``expired``)."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def normalise_email(email: str) -> str:
    return email.strip().lower()


def is_email(email: str) -> bool:
    """Looks like an address someone can receive mail at: one "@", a dotted domain, no
    blank, 254 characters at most (the checks of the back-office forms that take one)."""
    local, _, domain = email.partition("@")
    return (bool(local) and "." in domain.strip(".") and "@" not in domain and not re.search(r"\s", email)
            and len(email) <= 254)


def normalise_siret(raw: str) -> str:
    """Digits only; raise :class:`InvalidSiret` unless it is a valid SIRET."""
    siret = re.sub(r"[\s.\-]", "", raw or "")
    if not re.fullmatch(r"\d{14}", siret):
        raise InvalidSiret("length")
    if not siret_checksum_ok(siret):
        raise InvalidSiret("checksum")
    return siret


def siret_checksum_ok(siret: str) -> bool:
    """Luhn over the 14 digits; La Poste's establishments (SIREN 356000000) may
    instead have a digit sum that is a multiple of 5 (INSEE rule)."""
    if siret.startswith("356000000") and sum(int(d) for d in siret) % 5 == 0:
        return True
    total = 0
    for index, char in enumerate(reversed(siret)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == normalise_email(email))).first()


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    siret: str | None = None,
    company_name: str = "",
    role: Role = Role.CUSTOMER,
) -> User:
    """Create an account. With a SIRET it is a professional one awaiting verification.

    :raise EmailTaken: an account exists for this address.
    :raise InvalidSiret: the SIRET is malformed.
    """
    email = normalise_email(email)
    if find_user_by_email(session, email) is not None:
        raise EmailTaken(email)
    user = User(
        email=email,
        password_hash=passwords.hash_password(password),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        phone=phone.strip(),
        role=role,
    )
    if siret is not None:
        user.siret = normalise_siret(siret)
        user.company_name = company_name.strip()
        user.pro_status = ProStatus.PENDING
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Only reads: the caller
    runs it in a read transaction (the hash takes 0.2 s, and on SQLite a write
    transaction held meanwhile would stop every other writer), then calls
    :func:`upgrade_hash` in its write transaction."""
    user = find_user_by_email(session, email)
    if user is None:
        # Same work either way, so timing does not tell which emails have accounts.
        passwords.verify_password(_DUMMY_HASH, password)
        return None
    if not passwords.verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


def upgrade_hash(session: Session, user: User, password: str) -> None:
    """Re-hash a password whose hash was made under an older policy (at log-in, the
    only time the password is known)."""
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        session.flush()


_DUMMY_HASH = passwords.hash_password("chai-dummy-password")


def set_pro_status(session: Session, email: str, status: ProStatus) -> User:
    user = find_user_by_email(session, email)
    if user is None:
        raise LookupError(email)
    if user.siret is None:
        raise ValueError("not a professional account")
    user.pro_status = status
    session.flush()
    return user


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="chai-password-reset")


def make_reset_token(secret_key: str, user: User) -> str:
    # The tail of the current hash makes the token single-use: once the password
    # changes, the token no longer matches.
    return _serializer(secret_key).dumps({"uid": user.id, "h": user.password_hash[-12:]})


def user_for_reset_token(
    session: Session, secret_key: str, token: str, max_age: int = RESET_TOKEN_MAX_AGE
) -> User:
    """:raise InvalidResetToken: forged, used or expired token."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidResetToken(expired=True) from exc
    except BadSignature as exc:
        raise InvalidResetToken() from exc
    user = session.get(User, data.get("uid"))
    if user is None or user.password_hash[-12:] != data.get("h"):
        raise InvalidResetToken()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Change the password and end every session of the user (security.bump_session_version;
    the caller re-issues its own session if it keeps it)."""
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    session.flush()
    security.bump_session_version(session, user)


def manageable_estates(session: Session, user: User) -> list[Estate]:
    """Estates whose back office the user may open (all of them for a platform admin)."""
    query = select(Estate).order_by(Estate.name)
    if not user.is_platform_admin:
        with all_estates(session):
            ids = list(session.scalars(select(EstateStaff.estate_id).where(EstateStaff.user_id == user.id)))
        query = query.where(Estate.id.in_(ids))
    return list(session.scalars(query))

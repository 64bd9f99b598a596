"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238) and recovery codes.

* A code is 6 digits for a 30-second step; the step before and after are accepted too
  (clock drift). A step, once used, is spent: ``user.totp_last_step`` only moves forward,
  by a guarded UPDATE, so a code seen over a shoulder (or posted twice at once) never
  signs in a second time.
* Recovery codes are 10 random codes of 80 bits shown once. They are stored as SHA-256
  digests: a slow password hash protects *guessable* secrets, these are not, and one
  SHA-256 lets the code be looked up directly. Each is spent by a guarded UPDATE.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models import RecoveryCode, User

STEP_SECONDS = 30
VALID_WINDOW = 1  #: steps accepted on either side of the current one
ISSUER = "Chai"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class NotEnrolling(Exception):
    """No secret is waiting for confirmation (enrolment not started, or already on)."""


def is_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, interval=STEP_SECONDS)


def begin_enrolment(session: Session, user: User) -> str:
    """A fresh secret, kept on the user until a first code confirms it. A secret that
    was shown but never confirmed is replaced (it may have been seen by someone else)."""
    if is_enabled(user):
        raise NotEnrolling()
    user.totp_secret = pyotp.random_base32()
    session.flush()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """``otpauth://totp/Chai:<email>?secret=…&issuer=Chai`` for the authenticator app."""
    if not user.totp_secret:
        raise NotEnrolling()
    return _totp(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(text: str) -> str:
    """The QR code of ``text`` as an SVG ``data:`` URI, for an ``<img>`` (the CSP allows
    ``img-src data:``; no inline SVG markup, no script, no request to another site).

    qrcode (with Pillow) is imported here, on the first enrolment: about 8 MB of resident
    memory in every worker otherwise (bench/README.md, worker memory)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


def normalise_code(raw: str | None) -> str:
    """Spaces and dashes removed, lower case: "123 456" → "123456"."""
    return "".join(ch for ch in (raw or "").lower() if ch.isalnum())[:64]


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code is ``code`` within the valid window, or None."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = _totp(secret)
    current = int(now // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _spend_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was."""
    result = session.execute(
        update(User).where(User.id == user.id, User.totp_last_step < step).values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def verify_totp(session: Session, user: User, raw_code: str | None, now: float) -> bool:
    """A valid, never used code of an enrolled user; the step is spent."""
    if not is_enabled(user) or not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, normalise_code(raw_code), now)
    return step is not None and _spend_step(session, user, step)


def confirm_enrolment(session: Session, user: User, raw_code: str | None, now: float, at: datetime) -> list[str] | None:
    """Turn two-factor sign-in on if ``raw_code`` is a current code of the pending secret;
    returns the recovery codes to show once, or None (wrong code).

    :raise NotEnrolling: no pending secret."""
    if is_enabled(user) or not user.totp_secret:
        raise NotEnrolling()
    step = matching_step(user.totp_secret, normalise_code(raw_code), now)
    if step is None or not _spend_step(session, user, step):
        return None
    user.totp_enabled_at = at
    session.flush()
    return new_recovery_codes(session, user)


def disable(session: Session, user: User) -> None:
    """Back to password-only sign-in; the secret and recovery codes are forgotten.
    ``totp_last_step`` stays: it only ever moves forward."""
    user.totp_secret = None
    user.totp_enabled_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


# ------------------------------------------------------------------ recovery codes


def _digest(code: str) -> str:
    return "sha256$" + hashlib.sha256(normalise_code(code).encode()).hexdigest()


def _random_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))  # 31^16 ≈ 2^79
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with 10 new ones; the plain codes are returned
    once, only their digests are stored."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_random_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, raw_code: str | None, at: datetime) -> bool:
    """Spend one unused recovery code of an enrolled user."""
    code = normalise_code(raw_code)
    if not is_enabled(user) or len(code) != 16:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _digest(code), RecoveryCode.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0


def verify_second_factor(session: Session, user: User, raw_code: str | None, now: float, at: datetime) -> str | None:
    """"totp" or "recovery" when the code signs the user in, else None."""
    if verify_totp(session, user, raw_code, now):
        return "totp"
    if use_recovery_code(session, user, raw_code, at):
        return "recovery"
    return None

"""Response headers, cookie policy and the life of a signed-in session (OWASP ASVS 5.0 L2).

Pure functions first (the policy as data: headers, cookie settings, session ids,
timeouts), then the few helpers that touch Flask's session, then the one database
write (the per-user session version).

Flask keeps its session in a signed cookie, so a session cannot be deleted on the
server. Every user has a ``session_version`` instead: the login id kept in the session
(and in the remember-me cookie) is ``"<user id>:<version>:<login time>"``, and the
user loader refuses an id whose version is no longer the user's. Bumping the version
(log out everywhere, password change or reset) ends every session at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.orm import Session

from models import User

# ----------------------------------------------------------------- headers (pure)

#: where an estate's presentation video may be embedded from (templates/shop/estate.html)
VIDEO_FRAME_ORIGINS = ("https://www.youtube.com", "https://www.youtube-nocookie.com", "https://player.vimeo.com")

#: Chromium checks ``form-action`` on the redirects that follow a form's POST too: the
#: checkout's redirect to the payment page must be allowed. Mangopay's hosted card page
#: (Payline); the sandbox's origin is added from MANGOPAY_BASE_URL.
DEFAULT_PAYMENT_PAGE_ORIGINS = ("https://webpayment.payline.com", "https://homologation-webpayment.payline.com")

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=63072000; includeSubDomains"


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def form_action_origins(config: Mapping[str, Any]) -> list[str]:
    """Origins besides 'self' that a form's submission may end on: the payment pages."""
    origins = [origin_of(url) for url in config.get("PAYMENT_PAGE_ORIGINS", DEFAULT_PAYMENT_PAGE_ORIGINS)]
    origins.append(origin_of(config.get("MANGOPAY_BASE_URL")))
    return list(dict.fromkeys(o for o in origins if o))


def content_security_policy(form_origins: Iterable[str] = ()) -> str:
    """One policy for every page: no inline script or style, nothing from elsewhere but
    the estate's video and the payment page a checkout ends on."""
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'"]),
        ("style-src", ["'self'"]),
        ("img-src", ["'self'", "data:"]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'none'"]),
        ("frame-ancestors", ["'none'"]),
        ("form-action", ["'self'", *form_origins]),
        ("frame-src", list(VIDEO_FRAME_ORIGINS)),
        ("media-src", ["'self'", "https:"]),
    ]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives)


def security_headers(*, secure: bool, csp: str) -> dict[str, str]:
    """Headers every response carries; HSTS only over HTTPS (a browser ignores it on
    plain HTTP, and a local demo must stay reachable over HTTP)."""
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
    }
    if secure:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def cookie_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """Session and remember-me cookies: HttpOnly, SameSite=Lax; with SESSION_COOKIE_SECURE
    (HTTPS deployments) also Secure and named ``__Host-…``, which a browser accepts only
    from a secure origin, with Path=/ and no Domain: no sibling subdomain can set them."""
    secure = bool(config.get("SESSION_COOKIE_SECURE"))
    settings: dict[str, Any] = {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
    }
    if secure:
        settings.update(
            SESSION_COOKIE_NAME=_host_prefixed(config.get("SESSION_COOKIE_NAME") or "session"),
            REMEMBER_COOKIE_NAME=_host_prefixed(config.get("REMEMBER_COOKIE_NAME") or "remember_token"),
            SESSION_COOKIE_PATH="/", REMEMBER_COOKIE_PATH="/",
            SESSION_COOKIE_DOMAIN=None, REMEMBER_COOKIE_DOMAIN=None,
        )
    return settings


def _host_prefixed(name: str) -> str:
    return name if name.startswith("__Host-") else "__Host-" + name.removeprefix("__Secure-")


# ------------------------------------------------------------ session ids (pure)


@dataclass(frozen=True)
class LoginId:
    user_id: int
    version: int
    auth_at: int  #: epoch seconds of the log-in (password, and code when asked)

    def __str__(self) -> str:
        return f"{self.user_id}:{self.version}:{self.auth_at}"


def parse_login_id(raw: object) -> LoginId | None:
    """The session's (or remember cookie's) login id; None when malformed, including the
    bare ``"42"`` of sessions made before session versions existed."""
    if not isinstance(raw, str):
        return None
    parts = raw.split(":")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 12 for p in parts):
        return None
    return LoginId(int(parts[0]), int(parts[1]), int(parts[2]))


def expiry_reason(*, auth_at: int, seen_at: int | None, now: float, idle_seconds: int,
                  max_seconds: int) -> str | None:
    """"absolute" past the maximum lifetime since log-in, "idle" past the idle timeout
    since the last request, else None. ``seen_at`` is None when the session came back
    from the remember-me cookie: only the absolute limit applies then."""
    if now - auth_at > max_seconds or auth_at > now + 300:
        return "absolute"
    if seen_at is not None and now - seen_at > idle_seconds:
        return "idle"
    return None


def is_recent(timestamp: object, now: float, window_seconds: int) -> bool:
    return isinstance(timestamp, (int, float)) and 0 <= now - timestamp <= window_seconds


# ------------------------------------------------------ Flask session helpers

#: what survives a log-in or a log-out: the visitor's language and age answer, and at
#: log-in the cart (with its codes, gift choices and referral), claimed by the account.
KEPT_AT_LOGOUT = ("lang", "age_ok")
KEPT_AT_LOGIN = (*KEPT_AT_LOGOUT, "cart_token", "promo_codes", "gift_choices", "referral",
                 "group_purchases")  # an achat groupé's link opened before logging in
#: flask-login's own keys, set by login_user just before its signal
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds")

SEEN_AT = "seen_at"  #: epoch seconds of the last request (idle timeout)
REAUTH_AT = "reauth_at"  #: epoch seconds of the last password (+ code) entry
PENDING_LOGIN = "pending_login"  #: {"uid", "exp", "remember", "next"} between the two steps
TOUCH_EVERY = 60  #: seconds; seen_at is rewritten at most this often (one Set-Cookie a minute)


def now() -> float:
    return time.time()


def on_login(sender: Any, user: User, **_: Any) -> None:
    """flask-login's ``user_logged_in`` signal, whoever called ``login_user`` (log-in,
    sign-up, checkout): a new session that keeps only the visitor's cart and choices,
    and a login id carrying the user's session version and the time of log-in."""
    from flask import session

    kept = {key: session[key] for key in (*KEPT_AT_LOGIN, *_LOGIN_KEYS) if key in session}
    _forget_csrf_token()
    session.clear()
    session.update(kept)
    stamp = int(now())
    session["_user_id"] = str(LoginId(user.id, user.session_version, stamp))
    session[SEEN_AT] = stamp
    session[REAUTH_AT] = stamp


def on_remember_restore(sender: Any, user: User, **_: Any) -> None:
    """flask-login's ``user_loaded_from_cookie`` signal (a new browser session signed in by
    the remember cookie): a new session too, so that nothing planted in the old one (a
    known CSRF token) carries over. The login time stays the cookie's; no re-auth time."""
    from flask import session

    kept = {key: session[key] for key in (*KEPT_AT_LOGIN, *_LOGIN_KEYS) if key in session}
    _forget_csrf_token()
    session.clear()
    session.update(kept)
    session[SEEN_AT] = int(now())


def end_session() -> None:
    """Log out on this device: the remember cookie is deleted, the session emptied but
    for the language and the age answer (a new one, with a new CSRF token)."""
    from flask import session
    from flask_login import logout_user

    logout_user()
    remember = session.get("_remember")
    kept = {key: session[key] for key in KEPT_AT_LOGOUT if key in session}
    _forget_csrf_token()
    session.clear()
    session.update(kept)
    if remember:
        session["_remember"] = remember  # flask-login deletes the cookie after the request


def _forget_csrf_token() -> None:
    """Flask-WTF caches the request's signed token in ``g``: drop it with the session's,
    so a page rendered after this point carries a token of the new session."""
    from flask import current_app, g

    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def current_login_id() -> LoginId | None:
    from flask import session

    return parse_login_id(session.get("_user_id"))


def reissue_login(user: User) -> None:
    """After this user's version changed, keep *this* session (and its remember cookie)
    valid: same log-in time, new version."""
    from flask import current_app, request, session

    login_id = current_login_id()
    auth_at = login_id.auth_at if login_id else int(now())
    session["_user_id"] = str(LoginId(user.id, user.session_version, auth_at))
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        session["_remember"] = "set"


def mark_reauthenticated() -> None:
    from flask import session

    session[REAUTH_AT] = int(now())


def recently_authenticated(window_seconds: int) -> bool:
    from flask import session

    return is_recent(session.get(REAUTH_AT), now(), window_seconds)


# ---------------------------------------------------------------- database


def bump_session_version(session: Session, user: User) -> int:
    """End every session of this user (a guarded increment: two concurrent bumps both
    count). Returns the new version; the caller re-issues its own session if it keeps it."""
    session.execute(
        update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version"])
    return user.session_version


def load_user(session: Session, raw_id: str) -> User | None:
    """flask-login's user loader: the user of a login id whose version is current."""
    login_id = parse_login_id(raw_id)
    if login_id is None:
        return None
    user = session.get(User, login_id.user_id)
    if user is None or user.session_version != login_id.version or not user.is_active:
        return None
    return user

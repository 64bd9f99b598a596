"""One-click unsubscribe links (RFC 8058) for the news digests and the newsletters.

A token is signed with the app's secret and names what it stops: ``("news", user_id)``
stops the news emails of a user (their frequency becomes "jamais"), ``("newsletter",
estate_customer_id)`` withdraws a customer's consent to one estate's newsletters. It
does not expire: a link in a mail from years ago must still work. Services build the
headers from a URL the caller made (no Flask request here).
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

KINDS = ("news", "newsletter")
_SALT = "chai-unsubscribe"


def make_token(secret_key: str, kind: str, subject_id: int) -> str:
    if kind not in KINDS:
        raise ValueError(kind)
    return URLSafeSerializer(secret_key, salt=_SALT).dumps([kind, subject_id])


def read_token(secret_key: str, token: str, kind: str) -> int | None:
    """The subject id the token names for ``kind``, or None (forged, mangled, other kind)."""
    try:
        found_kind, subject_id = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if found_kind != kind or not isinstance(subject_id, int) or isinstance(subject_id, bool):
        return None
    return subject_id


def headers(url: str) -> dict[str, str]:
    """The List-Unsubscribe headers of a bulk email whose one-click URL is ``url`` (the
    same URL answers a GET with a confirmation page and a POST by unsubscribing)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}

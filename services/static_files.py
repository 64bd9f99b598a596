"""Versioned names for static files, so browsers and proxies may keep them a year.

``url_for("static", filename="css/chai.css")`` gives ``/static/css/chai.1a2b3c4d.css``:
the short hash of the file's content goes before the extension. A new release that
changes the file changes its name, so a page never pairs with a stale stylesheet.
The static view serves a name with the current hash as immutable for a year, and any
other name (no hash, or an old page's old hash) for a short while only.
"""

from __future__ import annotations

import hashlib
import os
import re
from threading import Lock

#: A year: the longest lifetime caches honour (RFC 9111 allows more, browsers cap).
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
#: For names without the current hash.
SHORT_MAX_AGE = 300

_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{8})(?P<ext>\.[A-Za-z0-9]+)$")
_cache: dict[str, tuple[float, str]] = {}
_lock = Lock()


def digest(folder: str, filename: str) -> str | None:
    """The first 8 hex digits of the file's SHA-256, cached until its mtime changes."""
    path = os.path.join(folder, filename)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    with open(path, "rb") as handle:
        value = hashlib.sha256(handle.read()).hexdigest()[:8]
    with _lock:
        _cache[path] = (mtime, value)
    return value


def versioned(folder: str, filename: str) -> str:
    """``css/chai.css`` → ``css/chai.1a2b3c4d.css`` (unchanged if the file is missing)."""
    value = digest(folder, filename)
    if value is None:
        return filename
    stem, ext = os.path.splitext(filename)
    return f"{stem}.{value}{ext}"


def resolve(folder: str, requested: str) -> tuple[str, int]:
    """The real file name behind a requested name, and how long it may be cached."""
    match = _HASHED.match(requested)
    if match:
        real = match["stem"] + match["ext"]
        current = digest(folder, real)
        if current is not None:
            return real, IMMUTABLE_MAX_AGE if current == match["digest"] else SHORT_MAX_AGE
    return requested, SHORT_MAX_AGE

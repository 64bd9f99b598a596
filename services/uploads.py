"""Files sent by vignerons: images (estate logo, bottle photos), the customer file's
CSV, and the invoices made in their own software (PDF).

Every file is judged by its content, never by the name or type the browser gave:

* images must decode (Pillow, JPEG/PNG/WebP/GIF decoders only) and are re-encoded as
  WebP, which drops scripts, metadata and anything appended; bounded in bytes and in
  pixels; saved under ``UPLOAD_DIR`` (in the instance folder) with a random name;
* a CSV must be text: no NUL or other binary control bytes, bounded in size
  (:func:`check_csv`); it is kept in the database, never served;
* a PDF must start with ``%PDF-`` (services.invoicing); it is kept in the database and
  downloaded as an attachment.

:func:`send_upload` serves ``/uploads/…``: images inline with their own type, anything
else as an ``application/octet-stream`` attachment, always with ``nosniff`` and a
sandboxing CSP, so nothing under ``/uploads`` is ever rendered as HTML or SVG.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  #: refuse decompression bombs before decoding
MAX_SIDE = 1600  #: stored images are scaled down to this many pixels at most


class InvalidUpload(ValueError):
    """A file refused by its content; ``reason``: "empty", "too_large", "binary"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


MAX_CSV_BYTES = 4 * 1024 * 1024
#: Bytes no text file holds: NUL and the C0 controls other than tab, LF, FF, CR and
#: SUB (the end-of-file mark some old Windows programs still write).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26))


def check_csv(data: bytes) -> None:
    """A CSV is text: refuse binary files (images, spreadsheets, executables) whatever
    their name, before any decoding. :raise InvalidUpload:"""
    if not data:
        raise InvalidUpload("empty")
    if len(data) > MAX_CSV_BYTES:
        raise InvalidUpload("too_large")
    if any(byte in data for byte in _BINARY_BYTES):
        raise InvalidUpload("binary")


class InvalidImage(ValueError):
    """Not an image we accept; ``reason`` is "empty", "too_large" or "format"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def store_image(data: bytes, upload_dir: str | Path, prefix: str) -> str:
    """Decode, re-encode and save; returns the path relative to ``upload_dir``.

    :raise InvalidImage: empty, too large, or not a JPEG/PNG/WebP/GIF image.
    """
    if not data:
        raise InvalidImage("empty")
    if len(data) > MAX_BYTES:
        raise InvalidImage("too_large")
    try:
        # Only our four decoders may look at the bytes (no EPS, PSD, SVG… plugin).
        with Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise InvalidImage("format")
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise InvalidImage("too_large")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            image = image.convert("RGBA" if has_alpha else "RGB")
            out = io.BytesIO()
            image.save(out, format="WEBP", quality=85)
    except InvalidImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage("format") from exc
    folder = Path(upload_dir) / prefix
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.webp"
    (folder / name).write_bytes(out.getvalue())
    return f"{prefix}/{name}"


def delete_image(upload_dir: str | Path, relative_path: str | None) -> None:
    if not relative_path:
        return
    root = Path(upload_dir).resolve()
    target = (root / relative_path).resolve()
    if root in target.parents and target.is_file():
        target.unlink()


#: What /uploads serves inline; anything else is an attachment of no declared type.
INLINE_TYPES = {".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif"}


def send_upload(upload_dir: str | Path, filename: str, max_age: int):  # type: ignore[no-untyped-def]
    """The response for ``/uploads/<filename>``.

    :raise NotFound: outside ``upload_dir`` (``..``, absolute paths), or no such file.
    """
    from flask import send_from_directory

    suffix = Path(filename).suffix.lower()
    mimetype = INLINE_TYPES.get(suffix, "application/octet-stream")
    response = send_from_directory(upload_dir, filename, max_age=max_age, mimetype=mimetype,
                                   as_attachment=suffix not in INLINE_TYPES)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

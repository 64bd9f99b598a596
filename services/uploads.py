"""Images sent by vignerons (estate logo, bottle photos).

Nothing a browser sends is stored as sent: the bytes must decode as an image in an
allowed format, then they are re-encoded (which drops scripts, metadata and anything
appended), bounded in size, and saved under a random name. The name the browser gave
is never used.
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
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise InvalidImage("format")
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise InvalidImage("too_large")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
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

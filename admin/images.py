"""Turn an uploaded file of a back-office form into a stored image, or a French error."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField

from services.uploads import InvalidImage, delete_image, store_image

MESSAGES = {
    "too_large": _l("L'image dépasse 8 Mo ou 40 millions de pixels."),
    "format": _l("Ce fichier n'est pas une image JPEG, PNG, WebP ou GIF."),
}


def store_uploaded(field: FileField, prefix: str) -> str | None:
    """The stored image's relative path, None when no file was sent, or None with
    ``field.errors`` set when the file is refused."""
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    data = upload.read()
    if not data:
        return None
    try:
        return store_image(data, current_app.config["UPLOAD_DIR"], prefix)
    except InvalidImage as exc:
        field.errors = [str(MESSAGES[exc.reason])]
        return None


def discard(relative_path: str | None) -> None:
    delete_image(current_app.config["UPLOAD_DIR"], relative_path)

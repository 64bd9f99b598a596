"""Small response helpers shared by the shop and the back office."""

from __future__ import annotations

from flask import Response

from models import Document


def download(body: str | bytes, mimetype: str, filename: str) -> Response:
    """A private file download: never cached by a shared cache, never sniffed."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def pdf_response(document: Document) -> Response:
    return download(document.content, document.content_type, document.filename)

"""Small response helpers shared by the shop and the back office."""

from __future__ import annotations

from flask import Response

from models import Document


def pdf_response(document: Document) -> Response:
    response = Response(document.content, mimetype=document.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

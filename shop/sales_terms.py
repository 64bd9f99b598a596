"""The estate's CGV in its shop (issue 15): the version in force at ``/<slug>/cgv``, and
any published version's PDF, so a customer can fetch the one they accepted."""

from __future__ import annotations

from flask import abort, g, render_template

from models import db
from services import sales_terms
from services.web import download
from shop import bp


@bp.get("/cgv")
def cgv():  # type: ignore[no-untyped-def]
    """The version in force; an estate that never published shows the template with its
    data (version 1 is published from it at its first order)."""
    estate = g.estate
    terms = sales_terms.latest(db.session, estate.id)
    body = terms.body if terms is not None else sales_terms.render_body(estate, sales_terms.default_completions(estate))
    return render_template("shop/sales_terms.html", estate=estate, terms=terms, blocks=sales_terms.blocks(body))


@bp.get("/cgv/<int:version>.pdf")
def cgv_pdf(version: int):  # type: ignore[no-untyped-def]
    """:raise 404: the estate has no such version."""
    terms = sales_terms.by_version(db.session, g.estate.id, version) if version < 2**31 else None
    if terms is None:
        abort(404)
    return download(terms.pdf, "application/pdf", sales_terms.filename(terms))

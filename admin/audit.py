"""The estate's audit log ("Journal des modifications"): who changed prices,
promotions, orders, loyalty and the customer file, and what it was before."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import g, render_template, request
from jinja2_fragments.flask import render_block

from admin import bp
from models import db
from services import audit
from services.templating import PARIS


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat((request.args.get(name) or "")[:10])
    except ValueError:
        return None


def _filters() -> audit.Filters:
    """Dates are Paris days; "au" includes its whole day."""
    start, end = _day("du"), _day("au")
    at = lambda d: datetime.combine(d, time.min, tzinfo=PARIS)  # noqa: E731
    family = request.args.get("action") or None
    return audit.Filters(family=family if family in audit.FAMILIES else None,
                         date_from=at(start) if start else None, date_to=at(end + timedelta(days=1)) if end else None)


@bp.get("/journal")
def audit_log():  # type: ignore[no-untyped-def]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    rows, total = audit.search(db.session, g.estate.id, _filters(), page)
    context = dict(rows=rows, total=total, page=page, pages=max((total - 1) // audit.PAGE_SIZE + 1, 1),
                   args={k: v for k, v in request.args.items() if k != "page"}, families=audit.FAMILIES,
                   action_labels=audit.ACTION_LABELS, changes=audit.changes,
                   customers=audit.customer_names(db.session, rows))
    if request.htmx and request.htmx.target == "audit-table":
        return render_block("admin/audit.html", "audit_table", **context)
    return render_template("admin/audit.html", **context)

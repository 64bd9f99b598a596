"""Journal des ventes (issue 15, CGI art. 286 I 3° bis): the state of the estate's
tamper-evident sales journal, its daily, monthly and yearly closings, and archives of a
period to download (their SHA-256 kept and listed). Managers only (admin.access lets
no seller in); an estate sees only its own journal (services.tenancy)."""

from __future__ import annotations

import tempfile
from datetime import date

from flask import Response, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField

from admin import bp
from models import db, utcnow
from services import journal
from services.templating import PARIS

#: archives are built in memory up to this size, then on disk
SPOOL_BYTES = 8 * 1024 * 1024


class ArchiveForm(FlaskForm):
    """services.journal.check_archive_period checks the rules; the fields only parse."""

    starts_on = DateField(_l("Du"), render_kw={"required": True})
    ends_on = DateField(_l("Au (inclus)"), render_kw={"required": True})


def _today() -> date:
    return utcnow().astimezone(PARIS).date()


def _page(form: ArchiveForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/journal.html", form=form, overview=journal.overview(db.session, g.estate.id)), status


@bp.get("/journal-des-ventes")
def journal_page():  # type: ignore[no-untyped-def]
    today = _today()
    form = ArchiveForm(data={"starts_on": today.replace(day=1) if today.day > 1 else today, "ends_on": today})
    return _page(form)


@bp.post("/journal-des-ventes/archive")
def journal_archive():  # type: ignore[no-untyped-def]
    """The period's ZIP as a download; its SHA-256 is then listed on the page."""
    form = ArchiveForm()
    if not form.validate():
        for f in (form.starts_on, form.ends_on):
            if f.errors and f.raw_data is not None:
                f.errors = [_("Date invalide : choisissez-la dans le calendrier (jj/mm/aaaa).")]
        return _page(form, 422)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        record = journal.export_archive(db.session, g.estate, form.starts_on.data, form.ends_on.data, utcnow(),
                                        spool, user_id=current_user.id)
    except journal.InvalidArchivePeriod as exc:
        db.session.rollback()
        spool.close()
        form.ends_on.errors = [str(journal.ARCHIVE_ERRORS[exc.args[0]])]
        return _page(form, 422)
    db.session.commit()

    def chunks():  # type: ignore[no-untyped-def]
        try:
            while chunk := spool.read(64 * 1024):
                yield chunk
        finally:  # sent, or the download was dropped (the server closes the iterator)
            spool.close()

    return Response(chunks(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{record.filename}"', "Content-Length": str(record.size),
        "Cache-Control": "no-store", "X-Archive-SHA256": record.sha256})

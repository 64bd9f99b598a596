"""``flask chai …`` commands (demo data, serving, professional verification, outbox), and
``flask backup`` / ``flask restore``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server

from models import ProStatus, db, utcnow
from services import accounts, backup, demo, jobs, mail
from services.tenancy import allow_all_estates


@click.group()
def chai() -> None:
    """Chai administration commands."""


@chai.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no estate yet.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Create two demo estates, their wines, staff and customers."""
    allow_all_estates(db.session)
    if if_empty and not demo.is_empty(db.session):
        click.echo("Base déjà remplie : données de démonstration non ajoutées.")
        return
    rows = demo.seed_demo(db.session)
    db.session.commit()
    click.echo("Comptes de démonstration (mot de passe identique pour tous) :")
    for label, email, password in rows:
        click.echo(f"  {label:<38} {email:<30} {password}")


@chai.command("verify-pro")
@click.argument("email")
@click.option("--reject", is_flag=True, help="Refuse the professional account instead.")
@with_appcontext
def verify_pro_command(email: str, reject: bool) -> None:
    """Confirm (or refuse) a professional account after checking its SIRET."""
    status = ProStatus.REJECTED if reject else ProStatus.VERIFIED
    try:
        user = accounts.set_pro_status(db.session, email, status)
    except LookupError:
        raise click.ClickException(f"Aucun compte pour {email}.") from None
    except ValueError:
        raise click.ClickException(f"{email} n'est pas un compte professionnel.") from None
    user.pro_reviewed_at = utcnow()  # listed under "Examinés récemment" on /plateforme/professionnels
    db.session.commit()
    click.echo(f"{user.email} ({user.company_name}, SIRET {user.siret}) : {status.value}")


@chai.command("send-mail")
@with_appcontext
def send_mail_command() -> None:
    """Send the emails waiting in the outbox."""
    sent = mail.send_pending(db.session, mail.flask_mail_sender, utcnow())
    click.echo(f"{sent} email(s) envoyé(s).")


@chai.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Apply migrations, seed the demo when the database is empty, and serve."""
    from flask_migrate import upgrade

    upgrade()
    allow_all_estates(db.session)
    if demo.is_empty(db.session):
        rows = demo.seed_demo(db.session)
        db.session.commit()
        click.echo("Données de démonstration créées. Comptes (mot de passe identique pour tous) :")
        for label, email, password in rows:
            click.echo(f"  {label:<38} {email:<30} {password}")
    db.session.remove()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Flask refuses app.run() inside a CLI command; this is the same werkzeug server.
    # The socket is bound before the line below is printed: once it shows, we answer.
    server = make_server(host, port, app, threaded=True)
    sandbox = None
    if app.config["PAYMENT_SANDBOX"]:
        from services.payments.sandbox import MangopaySandbox

        sandbox = MangopaySandbox(host=host).start()
        app.config["MANGOPAY_BASE_URL"] = sandbox.base_url
        click.echo(f"Paiements : simulateur Mangopay local (mode test) sur {sandbox.base_url}")
    if app.config["PUBLIC_URL"] == "http://127.0.0.1:5000":  # the default: follow --host/--port
        app.config["PUBLIC_URL"] = f"http://{host}:{port}"
    scheduler = jobs.start_scheduler(app)
    click.echo(f"Chai : http://{host}:{port}/", )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        server.server_close()
        if sandbox is not None:
            sandbox.stop()


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path: str | None) -> None:
    """Write a consistent copy of the live database (default: instance/backups/)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    target = Path(path) if path else backup.default_path(app.instance_path, db.engine.url, datetime.now())
    try:
        written = backup.backup(db.engine, target)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Sauvegarde écrite : {written} ({written.stat().st_size} octets).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: str, yes: bool) -> None:
    """Replace the live database by a backup made with `flask backup`."""
    where = backup.describe(db.engine.url)
    if not yes and not click.confirm(
            f"Remplacer toute la base {where} par {path} ? Ce qui a été écrit depuis cette "
            "sauvegarde sera perdu.", default=False):
        raise click.ClickException("Restauration annulée : la base n'a pas changé.")
    db.session.remove()
    db.engine.dispose()  # our own connections must not hold locks the restore waits for
    try:
        backup.restore(db.engine, Path(path))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Base restaurée depuis {path}.")
    click.echo("Si la sauvegarde est antérieure à la version de Chai installée, lancez `flask db upgrade`.")
    if db.engine.url.get_backend_name() == "postgresql":
        click.echo("Redémarrez le serveur web (gunicorn) pour qu'il reparte de la base restaurée.")


@chai.group("jobs")
def jobs_group() -> None:
    """The scheduled jobs (services.jobs): list them, or run one by hand."""


@jobs_group.command("list")
def jobs_list_command() -> None:
    """Every job of the product with its trigger."""
    for job in jobs.JOBS:
        click.echo(f"  {job.name:<24} {job.trigger}")


@jobs_group.command("run")
@click.argument("name")
@click.option("--at", "at", default=None, help="Paris date and time the job believes it is: 2026-04-01 or "
                                               "'2026-04-01 06:00' (default: now).")
@with_appcontext
def jobs_run_command(name: str, at: str | None) -> None:
    """Run the job NAME once, now or as of --at (how the tests drive the quarterly invoicing)."""
    from services.templating import PARIS

    try:
        now = datetime.fromisoformat(at).replace(tzinfo=PARIS) if at else utcnow()
    except ValueError as exc:
        raise click.BadParameter("une date comme 2026-04-01 ou '2026-04-01 06:00'", param_hint="--at") from exc
    try:
        jobs.run_by_hand(current_app._get_current_object(), name, now)  # type: ignore[attr-defined]
    except KeyError as exc:
        raise click.BadParameter(f"aucune tâche « {name} » (voir `flask chai jobs list`)", param_hint="NAME") from exc
    click.echo(f"Tâche {name} exécutée à la date du {now.astimezone(PARIS):%d/%m/%Y %H:%M}.")


# ------------------------------------------------------------------ issue 15: the sales journal


@click.group("journal")
def journal_group() -> None:
    """The tamper-evident sales journal (services.journal): verify, close, archive."""


def _journal_estate(slug: str | None):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from models import Estate

    if slug is None:
        return None
    estate = db.session.scalars(select(Estate).where(Estate.slug == slug)).first()
    if estate is None:
        raise click.BadParameter(f"aucun domaine « {slug} »", param_hint="--estate")
    return estate


@journal_group.command("verify")
@click.option("--estate", "slug", default=None, help="The estate's slug (default: every estate).")
@with_appcontext
def journal_verify_command(slug: str | None) -> None:
    """Check every entry's chain and hash, and the closings': exits 1 on the first break."""
    from services import journal

    allow_all_estates(db.session)
    estate = _journal_estate(slug)
    reports = journal.verify(db.session, estate.id if estate else None)
    broken = False
    for report in reports:
        if report.ok:
            click.echo(f"{report.slug}: OK: {report.entries} entries, {report.closings} closings")
            continue
        broken = True
        where = report.broken
        click.echo(f"{report.slug}: BROKEN at seq {where.seq} ({where.kind} {where.reference}): {where.reason}",
                   err=True)
    if not reports:
        click.echo("Aucun journal.")
    if broken:
        raise SystemExit(1)


@journal_group.command("close")
@click.option("--period", type=click.Choice(["day", "month", "year"]), required=True)
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="A day of the period to close (Paris calendar), YYYY-MM-DD.")
@click.option("--estate", "slug", default=None, help="The estate's slug (default: every estate with a journal).")
@with_appcontext
def journal_close_command(period: str, day: datetime, slug: str | None) -> None:
    """Close a day, month or year by hand (earlier open ones of the same kind first)."""
    from services import journal

    allow_all_estates(db.session)
    estate = _journal_estate(slug)
    estates = [(estate.id, estate.slug)] if estate else journal._journal_estates(db.session)
    now = utcnow()
    for ident, name in estates:
        try:
            closing = journal.close_up_to(db.session, ident, period, day.date(), now)
        except journal.PeriodNotOver:
            raise click.ClickException("Cette période n'est pas terminée : "
                                       "elle ne peut pas encore être clôturée.") from None
        except journal.LaterClosingExists:
            db.session.rollback()
            raise click.ClickException(f"{name} : une clôture postérieure existe déjà ; les clôtures se font dans "
                                       "l'ordre.") from None
        if closing is None:
            click.echo(f"{name} : période déjà clôturée, rien de nouveau.")
        else:
            click.echo(f"{name} : clôture {period} du {closing.starts_on:%d/%m/%Y} au {closing.ends_on:%d/%m/%Y}, "
                       f"grand total perpétuel {closing.perpetual_total_cents / 100:.2f} €, "
                       f"empreinte {closing.hash[:16]}…")
    db.session.commit()


@journal_group.command("archive")
@click.option("--estate", "slug", required=True, help="The estate's slug.")
@click.option("--from", "starts_on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--to", "ends_on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@with_appcontext
def journal_archive_command(slug: str, starts_on: datetime, ends_on: datetime, out: str) -> None:
    """Write the period's archive (ZIP) to OUT and record its SHA-256 in the journal."""
    from services import journal

    allow_all_estates(db.session)
    estate = _journal_estate(slug)
    target = Path(out)
    try:
        with target.open("w+b") as handle:
            record = journal.export_archive(db.session, estate, starts_on.date(), ends_on.date(), utcnow(), handle)
    except journal.InvalidArchivePeriod as exc:
        db.session.rollback()
        target.unlink(missing_ok=True)
        raise click.ClickException(str(journal.ARCHIVE_ERRORS[exc.args[0]])) from None
    db.session.commit()
    click.echo(f"Archive écrite : {target} ({record.size} octets), SHA-256 {record.sha256}")

"""``flask chai …`` commands: demo data, serving, professional verification, outbox."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server

from models import ProStatus, db, utcnow
from services import accounts, demo, mail
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
    scheduler = start_scheduler(app)
    click.echo(f"Chai : http://{host}:{port}/", )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
        server.server_close()
        if sandbox is not None:
            sandbox.stop()


def start_scheduler(app):  # type: ignore[no-untyped-def]
    """Background jobs of a single-process deployment: the outbox every minute."""
    from apscheduler.schedulers.background import BackgroundScheduler

    def _send_outbox() -> None:
        with app.app_context():
            try:
                mail.send_pending(db.session, mail.flask_mail_sender, utcnow())
            finally:
                db.session.remove()

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(_send_outbox, "interval", minutes=1, id="outbox", max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler

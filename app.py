"""Chai: the application factory. Read it as a table of contents."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, has_request_context, render_template, request, session
from flask.ctx import _AppCtxGlobals
from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFError, CSRFProtect
from htmx_flask import Htmx
from werkzeug.routing import IntegerConverter

from models import User, db
from services.ratelimit import limiter

ROOT = Path(__file__).resolve().parent
LANGUAGES = ("fr", "en")

babel = Babel()
csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
mail = Mail()
migrate = Migrate(render_as_batch=True, directory=str(ROOT / "migrations"))


class Globals(_AppCtxGlobals):
    """``flask.g``, where ``g.estate`` may be loaded on first use: the shop's anonymous
    pages read the estate by Core for services.page_cache and need the ORM object
    only when they render (shop/estate.py)."""

    def load_estate_later(self, loader: Any) -> None:
        self.__dict__.pop("estate", None)
        self.__dict__["_estate_loader"] = loader

    def __getattr__(self, name: str) -> Any:
        if name == "estate" and "_estate_loader" in self.__dict__:
            self.__dict__["estate"] = self.__dict__.pop("_estate_loader")()
            return self.__dict__["estate"]
        return super().__getattr__(name)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = (
        (test_config or {}).get("INSTANCE_PATH")
        or os.environ.get("CHAI_INSTANCE_PATH")
        or str(ROOT / "instance")
    )
    # static_folder=None: _register_static serves /static itself, with versioned names.
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True, static_folder=None)
    app.app_ctx_globals_class = Globals
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _load_config(app, test_config)

    db.init_app(app)
    migrate.init_app(app, db)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    htmx.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)  # abuse limits: services/ratelimit.py

    _configure_db(app)
    _configure_login(app)
    _register_blueprints(app)
    _configure_security(app)
    _register_static(app)
    _register_templating(app)
    _register_error_handlers(app)
    _register_cli(app)
    return app


def _load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "chai.sqlite3"),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        # A CSRF token lives as long as the session: a customer who leaves a tab open
        # for an hour can still submit the form.
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # set CHAI_SESSION_COOKIE_SECURE=true behind HTTPS
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Signed-in sessions (services/security.py): logged out after SESSION_IDLE_MINUTES
        # without a request and SESSION_MAX_HOURS after log-in, whatever happens; the
        # password (and code) asked again before sensitive changes after REAUTH_MINUTES.
        SESSION_IDLE_MINUTES=120,
        SESSION_MAX_HOURS=12,
        REAUTH_MINUTES=15,
        REQUIRE_STAFF_TOTP=False,  #: staff and operator must use two-factor sign-in for /gestion/
        #: where the card payment pages live (CSP form-action); the sandbox's is added
        PAYMENT_PAGE_ORIGINS=["https://webpayment.payline.com", "https://homologation-webpayment.payline.com"],
        MAIL_SERVER="localhost",
        MAIL_PORT=25,
        MAIL_DEFAULT_SENDER="Chai <boutique@localhost>",
        MAIL_SEND_ON_REQUEST=True,  # try the outbox right after a request queues mail
        PUBLIC_URL="http://127.0.0.1:5000",  #: used in emailed links and payment return URLs
        # Payments go through Mangopay. With PAYMENT_SANDBOX, `chai serve` starts a local
        # simulator of Mangopay's API (services.payments.sandbox) and points the adapter
        # at it: the demo takes "test card" payments offline, clearly marked as test.
        PAYMENT_SANDBOX=True,
        MANGOPAY_BASE_URL="",
        MANGOPAY_CLIENT_ID="chai-demo",
        MANGOPAY_API_KEY="sandbox-api-key",
        MANGOPAY_TIMEOUT=20,  #: seconds per API call; a lost answer is settled by the reconciliation job
        # Estates' Facebook pages (services/facebook.py): posts imported as news by a job.
        FACEBOOK_GRAPH_URL="https://graph.facebook.com/v21.0",  #: the tests point it at tests/fake_graph.py
        FACEBOOK_TIMEOUT=5,  #: seconds per Graph API call; a failed import is retried on the job's next run
        UPLOAD_DIR=os.path.join(app.instance_path, "uploads"),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        # Abuse limits' counters: "memory://" for one process; with several workers
        # "chai-db://" (this database) or "redis://host:6379" (services/ratelimit.py).
        RATELIMIT_STORAGE_URI="memory://",
        MAILING_BATCH_PER_MINUTE=200,  #: newsletter emails queued per minute (services.mailings)
        # What the purge-expired job removes (services/retention.py), in days
        CART_RETENTION_DAYS=60,  #: carts without a change for this long
        INVITATION_RETENTION_DAYS=90,  #: producer-group invitations never accepted
        OUTBOX_RETENTION_DAYS=90,  #: bodies of sent emails are blanked after this long
    )
    app.config.from_pyfile("config.py", silent=True)
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("CHAI")
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)
    app.config["MAIL_SUPPRESS_SEND"] = app.config.get("MAIL_SUPPRESS_SEND", False)


def normalise_database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` (as hosting platforms write them) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _instance_secret_key(app: Flask) -> str:
    """A random key written once into instance/secret_key, never a hard-coded one."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # Written aside, then linked into place: several gunicorn workers starting on a
        # fresh instance all end up reading the one key that won, never a half-written file.
        draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(draft, path)
        except FileExistsError:
            pass  # another process's key won
        finally:
            draft.unlink()
    return path.read_text().strip()


def _configure_db(app: Flask) -> None:
    from services.database import install_engine_listeners, reset_write_intent, set_write_intent

    install_engine_listeners()
    import services.tenancy  # noqa: F401 — registers the estate filter on every Session
    import services.journal  # noqa: F401 — journals every invoice and succeeded payment (issue 15)

    @app.url_value_preprocessor
    def _declare_write_intent(endpoint: str | None, values: dict[str, Any] | None) -> None:
        # GET and HEAD never write: their SQLite transactions start deferred and run
        # alongside writers; every other method takes the write lock up front. This runs
        # before the blueprints' URL preprocessors, whose estate lookup is the request's
        # first query.
        view = app.view_functions.get(endpoint or "")
        writes = request.method not in ("GET", "HEAD", "OPTIONS") or getattr(view, "chai_writes_on_get", False)
        g._write_token = set_write_intent(writes)

    @app.url_value_preprocessor
    def _refuse_nul_characters(endpoint: str | None, values: dict[str, Any] | None) -> None:
        # PostgreSQL text cannot hold U+0000 (psycopg raises DataError: a 500) where SQLite
        # stores it; no one types it. A bad request on both databases, before any query.
        sources = [(values or {}).items(), request.args.items(multi=True)]
        if request.method not in ("GET", "HEAD"):  # only they never have a body worth parsing
            sources.append(request.form.items(multi=True))
        for pairs in sources:
            if any("\x00" in str(key) or "\x00" in str(value) for key, value in pairs):
                abort(400)

    @app.teardown_request
    def _forget_write_intent(exc: BaseException | None) -> None:
        token = g.pop("_write_token", None)
        if token is not None:
            reset_write_intent(token)


def _configure_login(app: Flask) -> None:
    """The login id in the session and the remember cookie is "user:version:time"
    (services.security): a bumped session version ends every session of the user."""
    from datetime import timedelta

    from flask_login import user_loaded_from_cookie, user_logged_in

    from services import security

    login_manager.login_view = "account.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(hours=app.config["SESSION_MAX_HOURS"]))

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return security.load_user(db.session, user_id)

    user_logged_in.connect(security.on_login, app)
    user_loaded_from_cookie.connect(security.on_remember_restore, app)


def _configure_security(app: Flask) -> None:
    """Headers on every response, cookie policy, session timeouts, and two-factor sign-in
    required for the back office when REQUIRE_STAFF_TOTP (services.security)."""
    from flask import flash, redirect, url_for
    from flask_babel import gettext as _
    from flask_login import current_user

    from services import security

    app.config.update(security.cookie_settings(app.config))

    csp = security.content_security_policy(security.form_action_origins(app.config))
    headers = {secure: tuple((name.lower(), name, value) for name, value in
                             security.security_headers(secure=secure, csp=csp).items()) for secure in (False, True)}

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        present = {name.lower() for name in response.headers.keys()}
        for lower, name, value in headers[request.is_secure]:
            if lower not in present:  # a view may send a stricter one
                response.headers.add(name, value)
        if "Cache-Control" not in response.headers and "_user_id" in session:
            response.headers["Cache-Control"] = "private, no-store"  # a signed-in page
        return response

    @app.before_request
    def _check_session():  # type: ignore[no-untyped-def]
        """Log out a session whose version is stale or whose time is up; note activity."""
        # issue 15: the e-label pages (shop/elabel.py) write no session, so set no cookie
        if request.endpoint in ("static", "site.upload", "shop.wine_label", "shop.wine_label_qr_svg",
                                "shop.wine_label_qr_png"):
            return None
        remember_cookie = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        if "_user_id" not in session and remember_cookie not in request.cookies:
            return None
        if not current_user.is_authenticated:  # ended elsewhere, or a stale remember cookie
            if "_user_id" in session or remember_cookie in request.cookies:
                security.end_session()
                flash(_("Votre session a pris fin. Reconnectez-vous pour continuer."), "info")
            return None
        login_id = security.current_login_id()
        now = security.now()
        reason = security.expiry_reason(
            auth_at=login_id.auth_at if login_id else 0, seen_at=session.get(security.SEEN_AT), now=now,
            idle_seconds=int(app.config["SESSION_IDLE_MINUTES"]) * 60,
            max_seconds=int(app.config["SESSION_MAX_HOURS"]) * 3600)
        if reason is not None:
            security.end_session()
            flash(_("Votre session a expiré après une période d'inactivité. Reconnectez-vous.") if reason == "idle"
                  else _("Votre session a atteint sa durée maximale. Reconnectez-vous."), "info")
            if request.headers.get("HX-Request"):
                return "", 204, {"HX-Refresh": "true"}  # reload the page: the login form shows
            return None
        seen_at = session.get(security.SEEN_AT)
        if not isinstance(seen_at, int) or now - seen_at >= security.TOUCH_EVERY:
            session[security.SEEN_AT] = int(now)
        return None

    def _require_staff_totp():  # type: ignore[no-untyped-def]
        # Appended after admin.access._require_staff, which only lets the estate's staff
        # and the operator through (and sets g.estate).
        if not app.config.get("REQUIRE_STAFF_TOTP") or getattr(g, "estate", None) is None:
            return None
        if current_user.totp_enabled_at is not None:
            return None
        flash(_("La double authentification est obligatoire pour accéder à la gestion : "
                "activez-la pour continuer."), "info")
        return redirect(url_for("account.two_factor", next=request.full_path.rstrip("?")))

    app.before_request_funcs.setdefault("admin", []).append(_require_staff_totp)


def _select_locale() -> str:
    if not has_request_context():  # jobs and emails rendered outside a request: French
        return "fr"
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "fr"


class _DatabaseId(IntegerConverter):
    """``<int:…>`` stops at PostgreSQL's INTEGER (2³¹ − 1): a larger id in a URL is a
    404 like any unknown id, not an out-of-range error from the database (a 500)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = 2**31 - 1,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _register_blueprints(app: Flask) -> None:
    import admin
    import shop
    from admin.platform import bp as operator_bp

    app.url_map.converters["int"] = _DatabaseId
    app.register_blueprint(shop.site_bp)
    app.register_blueprint(shop.account_bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(operator_bp)  # /plateforme/…: the platform operator (issue 13)
    app.register_blueprint(shop.groups_bp)  # /groupes/…: producer groups (issue 11)
    # Last: its URLs start with a variable segment, /<estate_slug>/.
    app.register_blueprint(shop.bp)


def _register_static(app: Flask) -> None:
    """``/static/<name>``: hashed names cached for a year (services.static_files)."""
    from flask import send_from_directory

    from services import static_files

    folder = str(ROOT / "static")

    def static(filename: str):  # type: ignore[no-untyped-def]
        real, max_age = static_files.resolve(folder, filename)
        response = send_from_directory(folder, real, max_age=max_age)
        if max_age == static_files.IMMUTABLE_MAX_AGE:
            response.cache_control.immutable = True
        return response

    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=static)

    @app.url_defaults
    def _versioned_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = static_files.versioned(folder, values["filename"])


def _register_templating(app: Flask) -> None:
    from services import templating

    templating.register(app)

    @app.after_request
    def _vary_on_htmx(response):  # type: ignore[no-untyped-def]
        # Pages and their fragments share URLs: caches must key on HX-Request.
        if "Vary" in response.headers:
            response.vary.add("HX-Request")
        else:
            response.headers["Vary"] = "HX-Request"
        return response


def _register_error_handlers(app: Flask) -> None:
    """Every error is a French page with the site's layout; never a bare traceback."""
    from flask_babel import lazy_gettext as _l

    messages = {
        400: _l("La demande est incorrecte."),
        403: _l("Vous n'avez pas accès à cette page."),
        404: _l("Cette page n'existe pas."),
        405: _l("Cette action n'est pas possible ici."),
        413: _l("Le fichier envoyé est trop volumineux."),
        500: _l("Une erreur est survenue. Réessayez dans un instant."),
    }

    def _render(code: int, message: object):  # type: ignore[no-untyped-def]
        if code == 500:
            db.session.rollback()
        return render_template("error.html", code=code, message=message), code

    for code, message in messages.items():
        app.register_error_handler(code, lambda exc, code=code, message=message: _render(code, message))
    app.register_error_handler(CSRFError, lambda exc: _render(400, _l(
        "Le formulaire a expiré ou n'a pas été envoyé depuis ce site. "
        "Rechargez la page et recommencez.")))


def _register_cli(app: Flask) -> None:
    from services import cli

    app.cli.add_command(cli.chai)
    app.cli.add_command(cli.backup_command)
    app.cli.add_command(cli.restore_command)
    app.cli.add_command(cli.journal_group)  # issue 15: flask journal verify|close|archive

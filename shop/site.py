"""Platform pages: home listing the estates, age confirmation, language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from models import Estate, db
from services import uploads
from shop import site_bp

AGE_EXEMPT_ENDPOINTS = {"site.age", "site.language", "site.upload", "site.mangopay_hook", "static",
                        # issue 14: links from an email, no wine sold
                        "site.unsubscribe_newsletter", "site.news_unsubscribe",
                        # issue 15: a wine's e-label, opened by the QR code of a bottle, no wine sold
                        "shop.wine_label", "shop.wine_label_qr_svg", "shop.wine_label_qr_png"}


def url_is_local(target: str | None) -> bool:
    """Only same-site paths may be redirected to (no open redirect)."""
    if not target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


def require_age_confirmation():  # type: ignore[no-untyped-def]
    """Before the shop: "J'ai 18 ans ou plus", remembered for the session."""
    if session.get("age_ok") or request.endpoint in AGE_EXEMPT_ENDPOINTS:
        return None
    return redirect(url_for("site.age", next=request.full_path.rstrip("?")))


site_bp.before_request(require_age_confirmation)


@site_bp.get("/")
def home():  # type: ignore[no-untyped-def]
    estates = db.session.scalars(
        select(Estate).where(Estate.is_published.is_(True)).order_by(Estate.name)
    ).all()
    return render_template("site/home.html", estates=estates)


@site_bp.route("/age", methods=["GET", "POST"])
def age():  # type: ignore[no-untyped-def]
    form = FlaskForm()
    target = request.values.get("next")
    if not url_is_local(target):
        target = url_for("site.home")
    if form.validate_on_submit():
        if request.form.get("answer") == "yes":
            session["age_ok"] = True
            return redirect(target)
        return render_template("site/age.html", form=form, next=target, refused=True)
    return render_template("site/age.html", form=form, next=target, refused=False)


@site_bp.get("/langue/<code>")
def language(code: str):  # type: ignore[no-untyped-def]
    if code in ("fr", "en"):
        session["lang"] = code
    target = request.args.get("next")
    return redirect(target if url_is_local(target) else url_for("site.home"))


@site_bp.get("/uploads/<path:filename>")
def upload(filename: str):  # type: ignore[no-untyped-def]
    """Images stored by services.uploads (re-encoded, random names: safe to cache)."""
    return uploads.send_upload(current_app.config["UPLOAD_DIR"], filename, max_age=30 * 24 * 3600)

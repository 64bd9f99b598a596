"""Logo and bottle photos: real images are re-encoded and shown; anything else is refused."""

from __future__ import annotations

import io
import os
import re

from PIL import Image
from sqlalchemy import select

from models import Estate, Wine
from tests.conftest import login, session_for, text_of

SLUG = "domaine-rozel"


def png_bytes(width: int = 40, height: int = 80) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 20, 40)).save(out, format="PNG")
    return out.getvalue()


def _settings(**extra):  # type: ignore[no-untyped-def]
    data = {"name": "Domaine Rozel", "case_size": "6", "minimum_order": "0"}
    data.update(extra)
    return data


def test_a_logo_is_stored_re_encoded_under_a_random_name_and_shown(app, client):
    login(client, "vigneron@rozel.example")
    response = client.post(f"/gestion/{SLUG}/domaine", data=_settings(logo=(io.BytesIO(png_bytes()), "../../evil.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        path = estate.logo_path
    assert path.startswith(f"estate-{estate.id}/") and path.endswith(".webp") and "evil" not in path
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    assert f'/uploads/{path}' in page
    with client.get(f"/uploads/{path}") as image:
        assert image.status_code == 200 and image.mimetype == "image/webp"
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        assert Image.open(io.BytesIO(image.data)).format == "WEBP"


def test_a_file_that_is_not_an_image_is_refused_in_french_and_nothing_changes(app, client):
    login(client, "vigneron@rozel.example")
    fake = io.BytesIO(b"<?php system($_GET['c']); ?>")
    response = client.post(f"/gestion/{SLUG}/domaine", data=_settings(name="Autre nom", logo=(fake, "logo.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Ce fichier n'est pas une image JPEG, PNG, WebP ou GIF." in text_of(response)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        assert (estate.name, estate.logo_path) == ("Domaine Rozel", None)
    upload_dir = app.config["UPLOAD_DIR"]
    assert not os.path.exists(upload_dir) or not any(files for _, _, files in os.walk(upload_dir))


def test_a_bottle_photo_is_shown_on_the_shop_and_can_be_removed(app, client):
    login(client, "vigneron@rozel.example")
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        wine = session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.is_visible.is_(True))).first()
        wine_id = wine.id
    form = client.get(f"/gestion/{SLUG}/vins/{wine_id}").get_data(as_text=True)
    data = {name: value for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form)}
    data.update({"colour": "rouge", "vat_rate_id": re.search(r'<option selected value="(\d+)"', form).group(1),
                 "available_again_month": "0", "is_available": "y", "is_visible": "y"})
    data.pop("csrf_token", None)
    response = client.post(f"/gestion/{SLUG}/vins/{wine_id}", data=dict(data, photo=(io.BytesIO(png_bytes()), "b.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)[:3000]
    with session_for(app) as session:
        path = session.get(Wine, wine_id).images[0].path
    assert f"/uploads/{path}" in client.get(f"/{SLUG}/vin/{wine_id}").get_data(as_text=True)
    response = client.post(f"/gestion/{SLUG}/vins/{wine_id}", data=dict(data, remove_photo="y"))
    assert response.status_code == 302
    with session_for(app) as session:
        assert session.get(Wine, wine_id).images == []
    assert client.get(f"/uploads/{path}").status_code == 404


def test_uploads_cannot_escape_their_folder(client):
    assert client.get("/uploads/../secret_key").status_code == 404
    assert client.get("/uploads/%2e%2e/secret_key").status_code == 404


def test_a_request_over_the_size_limit_gets_a_french_413(app, client):
    login(client, "vigneron@rozel.example")
    # A raw body: the test client would spool a 17 MB multipart form to a temp file
    # it never closes; the server side is the same either way (Content-Length > limit).
    response = client.post(f"/gestion/{SLUG}/domaine", data=b"0" * (17 * 1024 * 1024),
                           content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 413
    assert "Le fichier envoyé est trop volumineux." in text_of(response)

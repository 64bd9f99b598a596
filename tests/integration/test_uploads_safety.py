"""Uploads are judged by their content: SVG, HTML and polyglots dressed as images are
refused and nothing is stored; real images come back re-encoded; a CSV must be text;
an invoice must be a PDF; /uploads never serves anything a browser would run."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from models import CustomerImport, Document, Estate, Invoice, Order
from services import uploads
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

SLUG = "domaine-rozel"
REFUSED_IMAGE = "Ce fichier n'est pas une image JPEG, PNG, WebP ou GIF."
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
       b'<script>alert(document.domain)</script><rect width="10" height="10"/></svg>')
PAYLOAD = b"<script>alert('chai')</script>"


def _settings(**extra):  # type: ignore[no-untyped-def]
    data = {"name": "Domaine Rozel", "case_size": "6", "minimum_order": "0"}
    data.update(extra)
    return data


def _files_under(folder: str) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files] if os.path.exists(folder) else []


def _jpeg_with_exif_and_payload() -> bytes:
    image = Image.new("RGB", (64, 48), (150, 30, 60))
    exif = Image.Exif()
    exif[0x013B] = "Jean Vigneron, 12 chemin des Vignes"  # Artist
    exif[0x010E] = "<script>alert(1)</script>"  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue() + PAYLOAD  # bytes after the end-of-image marker


def _png_with_html_text_chunk() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", HTML.decode())
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (10, 200, 30, 128)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


# ------------------------------------------------------------------ images


@pytest.mark.parametrize("content, filename", [
    (SVG, "logo.svg"),
    (SVG, "logo.png"),
    (HTML, "logo.jpg"),
    (HTML, "logo.html"),
    (b"\x89PNG\r\n\x1a\n" + HTML, "logo.png"),  # PNG signature, then a page
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + HTML, "logo.jpg"),  # JPEG/JFIF header, then a page
    (b"GIF89a=1;" + PAYLOAD, "logo.gif"),  # the classic GIF/JavaScript polyglot
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "logo.eps"),  # a format we have no decoder for
], ids=["svg", "svg-named-png", "html-named-jpg", "html", "png-polyglot", "jpeg-polyglot", "gif-polyglot", "eps"])
def test_svg_html_and_polyglots_dressed_as_images_are_refused_and_nothing_is_stored(app, content, filename):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    response = staff.post(f"/gestion/{SLUG}/domaine",
                          data=_settings(name="Autre nom", logo=(io.BytesIO(content), filename)),
                          content_type="multipart/form-data")
    assert response.status_code == 422
    assert REFUSED_IMAGE in text_of(response)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        assert (estate.name, estate.logo_path) == ("Domaine Rozel", None)
    assert _files_under(app.config["UPLOAD_DIR"]) == []


@pytest.mark.parametrize("make", [_jpeg_with_exif_and_payload, _png_with_html_text_chunk], ids=["jpeg-exif", "png-text"])
def test_an_uploaded_image_comes_back_re_encoded_without_its_metadata_or_payload(app, make):
    original = make()
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    response = staff.post(f"/gestion/{SLUG}/domaine", data=_settings(logo=(io.BytesIO(original), "photo.jpg")),
                          content_type="multipart/form-data")
    assert response.status_code == 302
    with session_for(app) as session:
        path = session.scalars(select(Estate.logo_path).where(Estate.slug == SLUG)).one()
    stored = _files_under(app.config["UPLOAD_DIR"])
    assert len(stored) == 1 and Path(stored[0]).name == Path(path).name
    assert Path(stored[0]).resolve().is_relative_to(Path(app.instance_path).resolve())
    with visitor(app).get(f"/uploads/{path}") as served:
        assert served.status_code == 200 and served.mimetype == "image/webp"
        data = served.data
    assert data != original
    for marker in (b"<script", b"Jean Vigneron", b"<!doctype", b"Exif"):
        assert marker not in data
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "WEBP" and not image.getexif()
        assert image.size == Image.open(io.BytesIO(original)).size


def test_an_image_too_large_in_bytes_is_refused_before_decoding():
    with pytest.raises(uploads.InvalidImage) as refused:
        uploads.store_image(b"\x89PNG\r\n\x1a\n" + b"0" * uploads.MAX_BYTES, "/nonexistent", "x")
    assert refused.value.reason == "too_large"


def test_a_decompression_bomb_is_refused(tmp_path):
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # 64 Mpx, a few kB
    with pytest.raises(uploads.InvalidImage) as refused:
        uploads.store_image(out.getvalue(), tmp_path, "x")
    assert refused.value.reason == "too_large" and list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ serving /uploads


@pytest.mark.parametrize("name, content", [
    ("page.html", HTML), ("dessin.svg", SVG), ("sans-extension", HTML), ("page.HTM", HTML), ("x.xhtml", HTML),
])
def test_nothing_under_uploads_is_ever_served_as_html_or_svg(app, client, name, content):
    folder = Path(app.config["UPLOAD_DIR"]) / "estate-1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    with client.get(f"/uploads/estate-1/{name}") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]


def test_an_image_name_holding_html_is_still_served_as_an_image_never_sniffed(app, client):
    folder = Path(app.config["UPLOAD_DIR"]) / "estate-1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.webp").write_bytes(HTML)
    with client.get("/uploads/estate-1/x.webp") as response:
        assert response.mimetype == "image/webp" and response.headers["X-Content-Type-Options"] == "nosniff"
        assert not response.headers.get("Content-Disposition", "inline").startswith("attachment")


@pytest.mark.parametrize("path", [
    "/uploads/../secret.txt", "/uploads/%2e%2e/secret.txt", "/uploads/..%2fsecret.txt", "/uploads/%2e%2e%2fsecret.txt",
    "/uploads/estate-1/../../secret.txt", "/uploads/estate-1/..%2f..%2fsecret.txt", "/uploads//etc/passwd",
    "/uploads/%2fetc%2fpasswd", "/uploads/..\\secret.txt", "/uploads/estate-1/%00.webp",
])
def test_path_traversal_in_the_uploads_route_is_a_404(app, client, path):
    Path(app.instance_path, "secret.txt").write_text("top secret")
    (Path(app.config["UPLOAD_DIR"]) / "estate-1").mkdir(parents=True, exist_ok=True)
    with client.get(path, follow_redirects=True) as response:  # "//" is merged by a redirect first
        # a NUL character is refused before routing (app._refuse_nul_characters): 400
        assert response.status_code == (400 if "%00" in path else 404)
        assert b"top secret" not in response.data


# ------------------------------------------------------------------ CSV and PDF


def _imports(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalar(select(func.count()).select_from(CustomerImport))


@pytest.mark.parametrize("content, name", [
    (b"email;nom\nanne@example.com;Martin\x00\n", "clients.csv"),
    (_png_with_html_text_chunk(), "clients.csv"),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "clients.csv"),  # a spreadsheet (zip), not a CSV
    (b"email;nom\x1b[31m\nanne@example.com;Martin\n", "clients.csv"),
], ids=["nul-byte", "png", "xlsx", "escape"])
def test_a_csv_import_that_is_not_text_is_refused_in_french_and_nothing_is_stored(app, content, name):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    before = _imports(app)
    response = staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(content), name)},
                          content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Ce fichier n'est pas un fichier texte CSV" in text_of(response)
    assert _imports(app) == before


def test_a_real_csv_in_windows_1252_is_still_accepted(app):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    csv = "email;prénom;nom\r\nanne@example.com;Anne;Hébert\r\n\x1a".encode("cp1252")
    response = staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(csv), "clients.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 200 and "Hébert" in text_of(response)


def test_a_csv_over_four_megabytes_is_refused():
    with pytest.raises(uploads.InvalidUpload) as refused:
        uploads.check_csv(b"email\n" + b"a@example.com\n" * (uploads.MAX_CSV_BYTES // 14 + 1))
    assert refused.value.reason == "too_large"
    uploads.check_csv(b"email\n" + b"a@example.com\n" * 1000)


def test_an_html_file_sent_as_an_invoice_pdf_is_refused_and_nothing_is_stored(app):
    vernette = "domaine-de-la-vernette"
    wine_id, _, _ = first_orderable_wine(app, vernette, stock=100)
    buyer = visitor(app)
    buyer.post(f"/{vernette}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{vernette}/commande", data=checkout_form(token="pdf")).status_code == 302
    with session_for(app) as session:
        order_id = session.scalars(select(Order.id)).one()
        documents = session.scalar(select(func.count()).select_from(Document))
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    refused = staff.post(f"/gestion/{vernette}/commandes/{order_id}/facture-externe",
                         data={"number": "2026-7", "invoice": (io.BytesIO(HTML), "facture.pdf")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "Le fichier doit être une facture au format PDF (10 Mo au plus)." in text_of(refused)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Document)) == documents
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
    pdf = b"%PDF-1.4\n%chai\n"
    staff.post(f"/gestion/{vernette}/commandes/{order_id}/facture-externe",
               data={"number": "2026-7", "invoice": (io.BytesIO(pdf), "facture.html")}, content_type="multipart/form-data")
    download = staff.get(f"/gestion/{vernette}/commandes/{order_id}/facture.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == pdf
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"

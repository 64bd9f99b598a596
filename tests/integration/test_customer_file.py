"""The customer file's CSV import (preview, then confirm) and its safe export."""

from __future__ import annotations

import io

from sqlalchemy import select

from models import CustomerImport, Estate, EstateCustomer
from tests.conftest import login, session_for, text_of, visitor

SLUG = "domaine-rozel"
CSV = (
    "email;prénom;nom;code postal;ville;type;numéro client;notes\n"
    "anne.martin@example.com;Anne;Martin;49400;Saumur;particulier;C-001;Fidèle depuis 2010\n"
    "pas-un-email;Paul;Durand;49400;Saumur;particulier;C-002;\n"
    "luc@example.com;Luc;Petit;4940;Saumur;particulier;C-003;\n"
    "Anne.Martin@example.com;;;;;;;Doublon\n"
    "cave@example.com;Cave;Dupont;75011;Paris;professionnel;C-004;=HYPERLINK(\"http://evil.example\";\"clic\")\n"
    "client@chai.example;Claire;Client;69007;Lyon;;C-099;\n"
).encode("utf-8")


def _customers(app) -> dict[str, EstateCustomer]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        return {c.email: c for c in session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id))}


def test_a_csv_import_previews_every_problem_and_writes_only_on_confirmation(app):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    before = _customers(app)
    response = staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(CSV), "clients.csv")},
                          content_type="multipart/form-data")
    preview = text_of(response)
    assert response.status_code == 200
    assert "Ligne 3 : adresse email invalide « pas-un-email »." in preview
    assert "Ligne 4 : code postal français invalide « 4940 » (5 chiffres)." in preview
    assert "fusionnée avec la ligne 2 (même email)" in preview
    assert "met à jour un client existant" in preview
    assert "4 ligne(s) prête(s) à importer, 2 ligne(s) écartée(s)" in preview
    assert _customers(app).keys() == before.keys()  # nothing written yet

    with session_for(app) as session:
        import_id = session.scalars(select(CustomerImport.id)).one()
    done = staff.post(f"/gestion/{SLUG}/clients/import/{import_id}/confirmer", follow_redirects=True)
    assert "2 client(s) ajouté(s), 1 mis à jour, 2 ligne(s) écartée(s)" in text_of(done)
    after = _customers(app)
    assert set(after) - set(before) == {"anne.martin@example.com", "cave@example.com"}
    assert "pas-un-email" not in after and "luc@example.com" not in after
    assert after["anne.martin@example.com"].notes == "Fidèle depuis 2010"
    assert after["cave@example.com"].kind.value == "professionnel"
    assert after["client@chai.example"].external_number == "C-099"
    with session_for(app) as session:
        assert session.scalars(select(CustomerImport)).all() == []


def test_the_export_neutralises_formula_cells(app):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(CSV), "clients.csv")},
               content_type="multipart/form-data")
    with session_for(app) as session:
        import_id = session.scalars(select(CustomerImport.id)).one()
    staff.post(f"/gestion/{SLUG}/clients/import/{import_id}/confirmer")
    export = staff.get(f"/gestion/{SLUG}/clients/export.csv")
    text = export.get_data(as_text=True)
    assert export.mimetype == "text/csv"
    assert "'=HYPERLINK" in text
    assert ";=HYPERLINK" not in text and "\n=" not in text


def test_unreadable_files_get_a_french_message(app):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    for content, message in [(b"", "Le fichier est vide."),
                             (b"nom;ville\nMartin;Saumur\n", "dont une colonne « email »"),
                             (b"email\n\x81\x8d\x90\n", "enregistrez-le en CSV UTF-8")]:
        response = staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(content), "f.csv")},
                              content_type="multipart/form-data")
        assert response.status_code == 422, message
        assert message in text_of(response), message


def test_another_estate_cannot_confirm_or_read_an_import(app):
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(CSV), "clients.csv")},
               content_type="multipart/form-data")
    with session_for(app) as session:
        import_id = session.scalars(select(CustomerImport.id)).one()
    other = visitor(app)
    login(other, "vigneron@vernette.example")
    assert other.post(f"/gestion/domaine-de-la-vernette/clients/import/{import_id}/confirmer").status_code == 404
    assert "anne.martin@example.com" not in other.get("/gestion/domaine-de-la-vernette/clients/export.csv").get_data(as_text=True)


def test_imported_customers_can_be_invited_to_choose_a_password(database, smtp):
    import re

    from tests.conftest import body_of, make_app

    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    staff = visitor(app)
    login(staff, "vigneron@rozel.example")
    staff.post(f"/gestion/{SLUG}/clients/import", data={"file": (io.BytesIO(CSV), "clients.csv")},
               content_type="multipart/form-data")
    with session_for(app) as session:
        import_id = session.scalars(select(CustomerImport.id)).one()
    done = staff.post(f"/gestion/{SLUG}/clients/import/{import_id}/confirmer", data={"invite": "y"}, follow_redirects=True)
    assert "2 client(s) invité(s) par email" in text_of(done)
    messages = smtp.mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["anne.martin@example.com", "cave@example.com"]
    link = re.search(r"http://shop\.test(/compte/reinitialiser/\S+)", body_of(messages[0])).group(1)
    newcomer = visitor(app)
    assert newcomer.post(link, data={"password": "mon-nouveau-secret", "confirm": "mon-nouveau-secret"}).status_code == 302
    login(newcomer, messages[0]["To"], "mon-nouveau-secret")

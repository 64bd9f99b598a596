"""Newsletters (issue 14): written, previewed and tested in the back office, sent by the
``mailings`` job at a bounded rate to the consenting customers of that estate only,
each with a one-click unsubscribe; a promo code valid for the recipients only; consent
recorded with its date and source at checkout, in the customer area, on the customer
card and by the CSV import."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from models import (AuditEntry, Estate, EstateCustomer, Mailing, MailingRecipient, OutboxMessage, Promotion,
                    promotion_customer, utcnow)
from services import customer_file, gdpr, jobs, unsubscribe
from services.tenancy import in_estate
from tests.conftest import (TEST_SECRET, body_of, checkout_form, first_orderable_wine, login, make_app, session_for,
                            text_of, visitor)

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
ADMIN = f"/gestion/{VERNETTE}/lettres"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  #: the job's frozen clock


def _estate_id(app, slug: str = VERNETTE) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _customer(app, slug: str, email: str, *, consent: bool = True, source: str = "vigneron") -> int:  # type: ignore[no-untyped-def]
    """The estate's customer with this email (created if needed), consenting or not."""
    estate_id = _estate_id(app, slug)
    with session_for(app) as session:
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id,
                                                                EstateCustomer.email == email)).first()
        if customer is None:
            customer = EstateCustomer(estate_id=estate_id, email=email, first_name=email.split("@")[0].title())
            session.add(customer)
        customer.newsletter_consent_at = utcnow() - timedelta(days=3) if consent else None
        customer.newsletter_consent_source = source if consent else ""
        session.commit()
        return customer.id


def _no_consent_anywhere(app) -> None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        for customer in session.scalars(select(EstateCustomer)):
            customer.newsletter_consent_at = None
        session.commit()


def _vigneron(app):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, "vigneron@vernette.example")
    return client


def _write(client, subject: str = "Les vendanges 2026", body: str = "Bonjour,\n\nLa **récolte** est rentrée.",  # type: ignore[no-untyped-def]
           promotion_id: str = "", mailing_id: int | None = None):
    url = f"{ADMIN}/{mailing_id}" if mailing_id else f"{ADMIN}/nouvelle"
    return client.post(url, data={"subject": subject, "body": body, "promotion_id": promotion_id})


def _new_mailing(client, **kwargs) -> int:  # type: ignore[no-untyped-def]
    response = _write(client, **kwargs)
    assert response.status_code == 302, text_of(response)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _test_and_send(client, mailing_id: int) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"{ADMIN}/{mailing_id}/test").status_code == 302
    response = client.post(f"{ADMIN}/{mailing_id}/envoyer", follow_redirects=True)
    assert "Envoi lancé" in text_of(response), text_of(response)[:3000]


def _outbox(app, mailing_subject: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like(f"%{mailing_subject}"))
                               .order_by(OutboxMessage.id)).all()
        session.expunge_all()
        return list(rows)


def _mailing(app, mailing_id: int) -> Mailing:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        mailing = session.get(Mailing, mailing_id)
        session.expunge(mailing)
        return mailing


def test_a_newsletter_goes_only_to_consenting_customers_of_that_estate(database, smtp):  # type: ignore[no-untyped-def]
    app = make_app(database, MAIL_PORT=smtp.port)
    _no_consent_anywhere(app)
    client_id = _customer(app, VERNETTE, "client@chai.example")  # a demo customer of both estates
    _customer(app, VERNETTE, "bernard.lacroix@exemple.fr", source="import")
    _customer(app, VERNETTE, "caviste@chai.example", consent=False)  # no consent
    _customer(app, VERNETTE, "anonyme-77@anonyme.invalid")  # an erased customer keeps no address
    _customer(app, ROZEL, "client@chai.example")  # consents at the other estate only…
    _customer(app, ROZEL, "fidele.rozel@exemple.fr")  # …as does this one
    vigneron = _vigneron(app)
    page = text_of(vigneron.get(ADMIN))
    assert "2 clients ont accepté de recevoir votre lettre d'information." in page
    mailing_id = _new_mailing(vigneron, subject="Les vendanges 2026")
    _test_and_send(vigneron, mailing_id)
    with session_for(app) as session:
        frozen = set(session.scalars(select(MailingRecipient.email).where(MailingRecipient.mailing_id == mailing_id)))
    assert frozen == {"client@chai.example", "bernard.lacroix@exemple.fr"}
    assert _mailing(app, mailing_id).status == "sending"

    jobs.run_by_hand(app, "mailings", NOW)
    assert _mailing(app, mailing_id).status == "sent"
    jobs.run_by_hand(app, "mailings", NOW + timedelta(minutes=1))  # a second run queues nobody again
    assert len(_outbox(app, "Les vendanges 2026")) == 3  # the test and the two customers
    jobs.run_by_hand(app, "outbox", utcnow() + timedelta(minutes=1))
    received = smtp.mailbox.wait_for(3)
    by_recipient = {message["To"]: message for message in received}
    assert set(by_recipient) == {"vigneron@vernette.example", "client@chai.example", "bernard.lacroix@exemple.fr"}
    assert by_recipient["vigneron@vernette.example"]["Subject"] == "[TEST] Les vendanges 2026"
    letter = by_recipient["client@chai.example"]
    assert letter["Subject"] == "Les vendanges 2026"
    expected = "http://shop.test/desabonnement/lettre/" + unsubscribe.make_token(TEST_SECRET, "newsletter", client_id)
    assert letter["List-Unsubscribe"] == f"<{expected}>"
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = body_of(letter, "html")
    assert f'href="{expected}"' in html and "Se désabonner" in html and "<strong>récolte</strong>" not in html
    assert "La **récolte** est rentrée." in body_of(letter, "plain") and expected in body_of(letter, "plain")
    listed = text_of(vigneron.get(ADMIN))
    assert "Envoyée" in listed and ">2</td>" in vigneron.get(ADMIN).get_data(as_text=True)


def test_the_job_queues_at_most_the_configured_batch_per_run(database):  # type: ignore[no-untyped-def]
    app = make_app(database, MAILING_BATCH_PER_MINUTE=2)
    _no_consent_anywhere(app)
    for email in ("un@exemple.fr", "deux@exemple.fr", "trois@exemple.fr"):
        _customer(app, VERNETTE, email)
    vigneron = _vigneron(app)
    mailing_id = _new_mailing(vigneron, subject="Par petits paquets")
    _test_and_send(vigneron, mailing_id)
    jobs.run_by_hand(app, "mailings", NOW)
    assert len(_outbox(app, "Par petits paquets")) == 1 + 2  # the test, then two customers
    assert _mailing(app, mailing_id).status == "sending"
    jobs.run_by_hand(app, "mailings", NOW + timedelta(minutes=1))
    assert len(_outbox(app, "Par petits paquets")) == 1 + 3
    mailing = _mailing(app, mailing_id)
    assert mailing.status == "sent" and mailing.sent_at == NOW + timedelta(minutes=1)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(MailingRecipient)
                              .where(MailingRecipient.outbox_message_id.is_(None))) == 0


def test_sending_is_refused_until_the_current_version_was_tested(app):  # type: ignore[no-untyped-def]
    _customer(app, VERNETTE, "client@chai.example")
    vigneron = _vigneron(app)
    mailing_id = _new_mailing(vigneron, subject="Première version")
    refused = vigneron.post(f"{ADMIN}/{mailing_id}/envoyer", follow_redirects=True)
    assert "Envoyez-vous d'abord un test de cette version de la lettre" in text_of(refused)
    assert vigneron.post(f"{ADMIN}/{mailing_id}/test").status_code == 302
    assert _write(vigneron, subject="Deuxième version", mailing_id=mailing_id).status_code == 302  # edited after the test
    refused = vigneron.post(f"{ADMIN}/{mailing_id}/envoyer", follow_redirects=True)
    assert "Envoyez-vous d'abord un test" in text_of(refused)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(MailingRecipient)) == 0
    assert _mailing(app, mailing_id).status == "draft"
    _test_and_send(vigneron, mailing_id)
    assert _mailing(app, mailing_id).status == "sending"
    again = vigneron.post(f"{ADMIN}/{mailing_id}/envoyer", follow_redirects=True)  # a second click
    assert "déjà envoyée" in text_of(again)
    edit = _write(vigneron, subject="Trop tard", mailing_id=mailing_id)
    assert edit.status_code == 409 and _mailing(app, mailing_id).subject == "Deuxième version"


def test_the_test_send_goes_only_to_the_signed_in_staff_user(app):  # type: ignore[no-untyped-def]
    _customer(app, VERNETTE, "client@chai.example")
    vigneron = _vigneron(app)
    mailing_id = _new_mailing(vigneron, subject="Juste pour voir")
    response = vigneron.post(f"{ADMIN}/{mailing_id}/test", follow_redirects=True)
    assert "Test envoyé à vigneron@vernette.example" in text_of(response)
    messages = _outbox(app, "Juste pour voir")
    assert [(m.recipient, m.subject) for m in messages] == [("vigneron@vernette.example", "[TEST] Juste pour voir")]
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(MailingRecipient)) == 0
    assert _mailing(app, mailing_id).status == "draft"


def test_the_preview_shows_the_email_sandboxed_and_the_body_is_sanitised(app):  # type: ignore[no-untyped-def]
    vigneron = _vigneron(app)
    mailing_id = _new_mailing(vigneron, body='<p onclick="x()">Bonjour <strong>à tous</strong></p>'
                                             '<script>alert(1)</script><a href="javascript:alert(2)">lien</a>')
    stored = _mailing(app, mailing_id).body_html
    assert "<strong>à tous</strong>" in stored
    assert "script" not in stored and "onclick" not in stored and "javascript" not in stored
    page = vigneron.get(f"{ADMIN}/{mailing_id}").get_data(as_text=True)
    assert '<iframe class="mailing-preview" sandbox=""' in page and "srcdoc=" in page
    assert "&lt;strong&gt;à tous&lt;/strong&gt;" in page  # the email's HTML, escaped into srcdoc
    assert "Se désabonner" in text_of(vigneron.get(f"{ADMIN}/{mailing_id}"))


def test_a_promo_code_becomes_valid_for_the_recipients_only(app):  # type: ignore[no-untyped-def]
    _no_consent_anywhere(app)
    recipient_id = _customer(app, VERNETTE, "client@chai.example")
    _customer(app, VERNETTE, "caviste@chai.example", consent=False)
    estate_id = _estate_id(app)
    with session_for(app) as session:
        promotion = Promotion(estate_id=estate_id, name="Merci d'être abonné", benefit="percent_off",
                              percent_bp=1500, code="LETTRE15")
        session.add(promotion)
        session.commit()
        promotion_id = promotion.id
    vigneron = _vigneron(app)
    form = vigneron.get(f"{ADMIN}/nouvelle").get_data(as_text=True)
    assert "LETTRE15" in form and "#LAVERNETTE" not in form  # the demo's public code is not offered
    mailing_id = _new_mailing(vigneron, subject="Votre code", promotion_id=str(promotion_id))
    _test_and_send(vigneron, mailing_id)
    jobs.run_by_hand(app, "mailings", NOW)
    with session_for(app) as session:
        promotion = session.get(Promotion, promotion_id)
        assert promotion.restricted_to_customers
        assert [c.id for c in promotion.customers] == [recipient_id]
        letter = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "client@chai.example",
                                                             OutboxMessage.subject == "Votre code")).one()
        assert "LETTRE15" in letter.body_text and "LETTRE15" in letter.body_html

    wine_id, _multiple, _unit = first_orderable_wine(app, VERNETTE, stock=100)
    chosen, stranger = visitor(app), visitor(app)
    login(chosen, "client@chai.example")
    login(stranger, "caviste@chai.example")  # a customer of the estate who did not get the letter
    for shopper in (chosen, stranger):
        assert shopper.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
        shopper.post(f"/{VERNETTE}/panier/code", data={"code": "lettre15"})
    assert "(code LETTRE15)" in text_of(chosen.get(f"/{VERNETTE}/panier"))
    assert "n'est plus utilisable" in text_of(stranger.get(f"/{VERNETTE}/panier"))
    stranger.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup", token="stranger"))
    with session_for(app) as session:  # the checkout's quote gave no discount either
        assert session.scalar(select(func.count()).select_from(promotion_customer)
                              .where(promotion_customer.c.promotion_id == promotion_id)) == 1
        from models import PromotionUse

        assert session.scalar(select(func.count()).select_from(PromotionUse)
                              .where(PromotionUse.promotion_id == promotion_id)) == 0


def test_one_click_unsubscribe_without_csrf_withdraws_and_a_later_mailing_skips_them(database):  # type: ignore[no-untyped-def]
    app = make_app(database, WTF_CSRF_ENABLED=True)
    _no_consent_anywhere(app)
    leaving = _customer(app, VERNETTE, "client@chai.example")
    staying = _customer(app, VERNETTE, "bernard.lacroix@exemple.fr")
    token = unsubscribe.make_token(TEST_SECRET, "newsletter", leaving)
    mail_client = app.test_client()  # a mail client: no session, no age gate, no CSRF token
    page = mail_client.get(f"/desabonnement/lettre/{token}")
    assert page.status_code == 200 and "Me désabonner" in text_of(page)
    for bad in ("nimporte-quoi", unsubscribe.make_token("autre-secret", "newsletter", leaving),
                unsubscribe.make_token(TEST_SECRET, "news", leaving)):
        assert mail_client.post(f"/desabonnement/lettre/{bad}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    with session_for(app) as session:
        assert session.get(EstateCustomer, leaving).newsletter_consent_at is not None
    done = mail_client.post(f"/desabonnement/lettre/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "vous ne recevrez plus la lettre d'information" in text_of(done)
    with session_for(app) as session:
        customer = session.get(EstateCustomer, leaving)
        assert customer.newsletter_consent_at is None and customer.newsletter_unsubscribed_at is not None
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == leaving)
                               .order_by(AuditEntry.id.desc())).first() == "customer.newsletter"
    assert mail_client.post(f"/desabonnement/lettre/{token}").status_code == 200  # twice: harmless

    estate_id = _estate_id(app)
    with session_for(app) as session, in_estate(session, estate_id):
        from services import mailings

        mailing = mailings.save(session, estate_id, None, subject="Après", body_html="Texte",
                                promotion_id=None, user_id=None, now=NOW)
        mailing.test_sent_at = NOW
        assert mailings.start_sending(session, mailing, NOW) == 1
        assert set(session.scalars(select(MailingRecipient.customer_id))) == {staying}
        session.commit()


def test_a_customer_who_unsubscribes_after_envoyer_is_not_mailed(app):  # type: ignore[no-untyped-def]
    _no_consent_anywhere(app)
    leaving = _customer(app, VERNETTE, "client@chai.example")
    _customer(app, VERNETTE, "bernard.lacroix@exemple.fr")
    vigneron = _vigneron(app)
    mailing_id = _new_mailing(vigneron, subject="Entre-temps")
    _test_and_send(vigneron, mailing_id)
    token = unsubscribe.make_token(TEST_SECRET, "newsletter", leaving)
    assert app.test_client().post(f"/desabonnement/lettre/{token}").status_code == 200
    jobs.run_by_hand(app, "mailings", NOW)
    assert [m.recipient for m in _outbox(app, "Entre-temps")] == ["vigneron@vernette.example",
                                                                  "bernard.lacroix@exemple.fr"]
    assert _mailing(app, mailing_id).status == "sent"


def test_the_checkout_box_records_consent_with_source_commande_and_never_withdraws(app):  # type: ignore[no-untyped-def]
    wine_id, _multiple, _unit = first_orderable_wine(app, VERNETTE, stock=100)
    guest = visitor(app)
    assert guest.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    form = text_of(guest.get(f"/{VERNETTE}/commande"))
    assert "Je souhaite recevoir la lettre d'information de Domaine de la Vernette" in form
    before = utcnow()
    response = guest.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup", newsletter="y"))
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.email == "nouveau@client.example")).one()
        assert customer.newsletter_consent_source == "commande"
        assert before - timedelta(seconds=1) <= customer.newsletter_consent_at <= utcnow()

    kept = _customer(app, VERNETTE, "client@chai.example", source="vigneron")  # consented on paper
    unticked = _customer(app, VERNETTE, "caviste@chai.example", consent=False)
    for email, token in (("client@chai.example", "a"), ("caviste@chai.example", "b")):
        shopper = visitor(app)
        login(shopper, email)
        assert shopper.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
        data = checkout_form(delivery="pickup", token=token, email=None, password=None, confirm=None)
        assert shopper.post(f"/{VERNETTE}/commande", data=data).status_code == 302
    with session_for(app) as session:
        assert session.get(EstateCustomer, kept).newsletter_consent_source == "vigneron"  # an unticked box keeps it
        assert session.get(EstateCustomer, kept).newsletter_consent_at is not None
        assert session.get(EstateCustomer, unticked).newsletter_consent_at is None  # and gives nothing


def test_the_customer_area_box_gives_and_withdraws_consent_per_estate(app):  # type: ignore[no-untyped-def]
    _no_consent_anywhere(app)
    vernette_line = _customer(app, VERNETTE, "client@chai.example", consent=False)
    rozel_line = _customer(app, ROZEL, "client@chai.example", consent=False)
    someone_else = _customer(app, VERNETTE, "caviste@chai.example", consent=False)
    customer = visitor(app)
    login(customer, "client@chai.example")
    assert text_of(customer.get("/compte/")).count("Recevoir la lettre d'information") == 2
    response = customer.post(f"/compte/lettre/{vernette_line}", data={"newsletter": "1"}, follow_redirects=True)
    assert "Vous recevrez la lettre d'information de ce domaine." in text_of(response)
    with session_for(app) as session:
        line = session.get(EstateCustomer, vernette_line)
        assert (line.newsletter_consent_source, line.newsletter_consent_at is not None) == ("compte", True)
        assert session.get(EstateCustomer, rozel_line).newsletter_consent_at is None
    assert customer.post(f"/compte/lettre/{vernette_line}", data={}).status_code == 302  # unticked
    with session_for(app) as session:
        line = session.get(EstateCustomer, vernette_line)
        assert line.newsletter_consent_at is None and line.newsletter_unsubscribed_at is not None
    assert customer.post(f"/compte/lettre/{someone_else}", data={"newsletter": "1"}).status_code == 404
    with session_for(app) as session:
        assert session.get(EstateCustomer, someone_else).newsletter_consent_at is None


def test_the_vigneron_records_and_withdraws_a_paper_consent_on_the_card(app):  # type: ignore[no-untyped-def]
    customer_id = _customer(app, VERNETTE, "bernard.lacroix@exemple.fr", consent=False)
    vigneron = _vigneron(app)
    card = f"/gestion/{VERNETTE}/clients/{customer_id}"
    assert "Enregistrer un accord donné sur papier" in text_of(vigneron.get(card))
    assert vigneron.post(f"{card}/lettre", data={"consent": "peut-être"}).status_code == 422
    with session_for(app) as session:
        assert session.get(EstateCustomer, customer_id).newsletter_consent_at is None
    shown = text_of(vigneron.post(f"{card}/lettre", data={"consent": "oui"}, follow_redirects=True))
    assert "Accord donné le" in shown and "sur papier, noté par le domaine" in shown
    with session_for(app) as session:
        assert session.get(EstateCustomer, customer_id).newsletter_consent_source == "vigneron"
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "customer.newsletter", AuditEntry.subject_id == customer_id)) == 1
    vigneron.post(f"{card}/lettre", data={"consent": "non"})
    with session_for(app) as session:
        assert session.get(EstateCustomer, customer_id).newsletter_consent_at is None
        exported = gdpr.export(session, session.get(EstateCustomer, customer_id))
        assert exported["client"]["lettre_information"]["source"] == "vigneron"
        assert exported["client"]["lettre_information"]["desabonne_le"] is not None


def test_the_csv_import_records_consent_from_a_newsletter_column(app):  # type: ignore[no-untyped-def]
    estate_id = _estate_id(app)
    text = "email;nom;newsletter\nlea@exemple.fr;Léa;oui\nmax@exemple.fr;Max;non\nzoe@exemple.fr;Zoé;peut-être\n"
    with session_for(app) as session, in_estate(session, estate_id):
        rows = customer_file.parse(session, text)
        assert [r.ok for r in rows] == [True, True, False]
        assert "indiquez oui ou non" in rows[2].errors[0]
        customer_file.apply(session, estate_id, rows)
        session.commit()
        consents = dict(session.execute(select(EstateCustomer.email, EstateCustomer.newsletter_consent_source)
                                        .where(EstateCustomer.email.in_(["lea@exemple.fr", "max@exemple.fr"]))).all())
    assert consents == {"lea@exemple.fr": "import", "max@exemple.fr": ""}


def test_erasing_a_customer_clears_the_consent(app):  # type: ignore[no-untyped-def]
    customer_id = _customer(app, VERNETTE, "bernard.lacroix@exemple.fr")
    with session_for(app) as session:
        gdpr.anonymise(session, session.get(EstateCustomer, customer_id))
        session.commit()
        customer = session.get(EstateCustomer, customer_id)
        assert (customer.newsletter_consent_at, customer.newsletter_consent_source) == (None, "")


def test_another_estates_mailing_is_a_404_and_the_module_follows_the_option(app):  # type: ignore[no-untyped-def]
    vigneron = _vigneron(app)
    mailing_id = _new_mailing(vigneron, subject="Chez nous")
    other = visitor(app)
    login(other, "vigneron@rozel.example")
    for url in (f"/gestion/{ROZEL}/lettres/{mailing_id}", f"/gestion/{ROZEL}/lettres/{mailing_id}/test",
                f"/gestion/{ROZEL}/lettres/{mailing_id}/envoyer"):
        response = other.post(url, data={"subject": "Volé", "body": "x"}) if url.endswith(("test", "envoyer")) \
            else other.get(url)
        assert response.status_code == 404, url
    assert other.post(f"/gestion/{ROZEL}/lettres/{mailing_id}", data={"subject": "Volé", "body": "x"}).status_code == 404
    assert _mailing(app, mailing_id).subject == "Chez nous" and _mailing(app, mailing_id).test_sent_at is None
    assert "Lettres d'information" in text_of(vigneron.get(f"/gestion/{VERNETTE}/"))
    with session_for(app) as session:
        session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one().newsletter_enabled = False
        session.commit()
    assert vigneron.get(ADMIN).status_code == 404
    assert "Lettres d'information" not in text_of(vigneron.get(f"/gestion/{VERNETTE}/"))


def test_bad_input_gets_a_french_message_and_changes_nothing(app):  # type: ignore[no-untyped-def]
    vigneron = _vigneron(app)
    vernette_id, rozel_id = _estate_id(app), _estate_id(app, ROZEL)
    with session_for(app) as session:
        public_id = session.scalars(select(Promotion.id).where(Promotion.is_public.is_(True),
                                                               Promotion.estate_id == vernette_id)).first()
        rozel_code = Promotion(estate_id=rozel_id, name="Rozel", benefit="percent_off", percent_bp=500,
                               code="ROZEL5")
        session.add(rozel_code)
        session.commit()
        rozel_code_id = rozel_code.id
    cases = [
        (dict(subject="   "), "Indiquez l'objet de la lettre."),
        (dict(subject="x" * 201), "L'objet compte au plus 200 caractères."),
        (dict(body="<script>alert(1)</script>"), "Écrivez le texte de la lettre."),
        (dict(promotion_id="999999"), "Ce code promo n'existe pas ou n'est plus actif"),
        (dict(promotion_id="abc"), "Ce code promo n'existe pas ou n'est plus actif"),
        (dict(promotion_id=str(rozel_code_id)), "Ce code promo n'existe pas ou n'est plus actif"),  # another estate's
    ]
    if public_id is not None:
        cases.append((dict(promotion_id=str(public_id)), "Ce code promo est public"))
    for values, message in cases:
        response = _write(vigneron, **values)
        assert response.status_code == 422, values
        assert message in text_of(response), values
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Mailing)) == 0
    mailing_id = _new_mailing(vigneron, subject="Bonne version")
    assert _write(vigneron, subject="", mailing_id=mailing_id).status_code == 422
    assert _mailing(app, mailing_id).subject == "Bonne version"
    _no_consent_anywhere(app)
    assert vigneron.post(f"{ADMIN}/{mailing_id}/test").status_code == 302
    nobody = vigneron.post(f"{ADMIN}/{mailing_id}/envoyer", follow_redirects=True)
    assert "personne à qui l'envoyer" in text_of(nobody) and _mailing(app, mailing_id).status == "draft"

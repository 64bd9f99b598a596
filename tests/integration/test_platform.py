"""The platform operator's back office (issue 13): who may open it (the URL map walked as
every role), estates and their first staff member, options, subscriptions, plans,
payments of the operator's invoices, professional verification and leads."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from models import (
    AuditEntry,
    CustomerKind,
    Estate,
    EstateStaff,
    FreeMonth,
    FriendLead,
    OperatorInvoice,
    OutboxMessage,
    Plan,
    PriceList,
    ProStatus,
    Role,
    Subscription,
    User,
    utcnow,
)
from services import subscriptions
from services.fairs import paris_date
from tests.conftest import login, session_for, text_of, visitor

OPERATOR = "operateur@chai.example"
OWN, OTHER = "domaine-de-la-vernette", "domaine-rozel"
NOT_OPERATORS = {"customer": "client@chai.example", "pro": "caviste@chai.example", "staff": "vigneron@vernette.example"}
PRO_FORM = {
    "company_name": "Cave des Amis", "siret": "732 829 320 00074", "activity": "caviste", "first_name": "Léa",
    "last_name": "Martin", "email": "lea@cave.example", "phone": "", "password": "un-mot-de-passe",
    "confirm": "un-mot-de-passe", "adult": "y",
}
NEW_ESTATE = {
    "name": "Domaine des Aubes", "slug": "domaine-des-aubes", "legal_name": "EARL des Aubes",
    "email": "contact@aubes.example", "city": "Chablis", "staff_email": "marie@aubes.example",
    "staff_first_name": "Marie", "staff_last_name": "Aubert", "lead": "0",
}


def _estate_id(session, slug: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _operator(app):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, OPERATOR)
    return client


def _objects(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One object for every URL argument of the operator's rules: La Vernette, a plan, an
    invoice of the last quarter, a pending professional, a lead sent by La Vernette."""
    from services import accounts

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == OWN)).one()
        plan = subscriptions.save_plan(session, "Essentiel", 3900)
        start, _ = subscriptions.previous_quarter(paris_date(utcnow()))
        subscriptions.subscribe(session, estate, plan_id=plan.id, starts_on=start, billing_email="compta@vernette.example",
                                payment_mode="transfer")
        (invoice,) = subscriptions.bill_quarter(session, utcnow())
        pro = accounts.register_user(session, email="pending@cave.example", password="x" * 16, siret="73282932000074",
                                     company_name="Cave en attente")
        pro.pro_activity = "restaurant"
        lead = FriendLead(estate_id=estate.id, name="Jean Voisin", email="jean@voisin.example",
                          estate_name="Domaine Voisin")
        session.add(lead)
        session.commit()
        return {"estate_id": estate.id, "plan_id": plan.id, "invoice_id": invoice.id, "user_id": pro.id,
                "lead_id": lead.id}


def _state(app) -> tuple:  # type: ignore[no-untyped-def]
    """What an operator URL could change."""
    with session_for(app) as session:
        def count(model) -> int:  # type: ignore[no-untyped-def]
            return session.scalar(select(func.count()).select_from(model))
        estates = session.execute(select(Estate.id, Estate.slug, Estate.is_published, Estate.reservations_enabled,
                                         Estate.groups_enabled, Estate.tastings_enabled, Estate.newsletter_enabled)
                                  .order_by(Estate.id)).all()
        plans = session.execute(select(Plan.id, Plan.name, Plan.monthly_price_cents, Plan.is_active)).all()
        subs = session.execute(select(Subscription.id, Subscription.plan_id, Subscription.starts_on,
                                      Subscription.ends_on, Subscription.billing_email)).all()
        pros = session.execute(select(User.id, User.pro_status, User.pro_rejection_reason)
                               .where(User.siret.is_not(None))).all()
        leads = session.execute(select(FriendLead.id, FriendLead.status).execution_options(all_estates=True)).all()
        invoices = session.execute(select(OperatorInvoice.id, OperatorInvoice.paid_at)).all()
        return (estates, plans, subs, pros, leads, invoices, count(EstateStaff), count(User), count(AuditEntry),
                count(OutboxMessage))


def _operator_urls(app, ids: dict[str, int]) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("operator."):
            continue
        unknown = rule.arguments - ids.keys()
        assert not unknown, f"teach this test the arguments {unknown} of {rule}"
        url = adapter.build(rule.endpoint, {arg: ids[arg] for arg in rule.arguments})
        urls.extend((method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return urls


# ------------------------------------------------------------------- who gets in


def test_every_operator_url_sends_anonymous_visitors_to_log_in(app):
    ids = _objects(app)
    before = _state(app)
    client = visitor(app)
    urls = _operator_urls(app, ids)
    assert len(urls) >= 20
    for method, url in urls:
        response = client.open(url, method=method, data={"name": "x", "slug": "pirate", "reason": "x"})
        assert response.status_code == 302, f"{method} {url} → {response.status_code}"
        assert response.headers["Location"].startswith("/compte/connexion?next=")
    assert _state(app) == before


@pytest.mark.parametrize("role", sorted(NOT_OPERATORS))
def test_every_operator_url_is_404_to_customers_pros_and_estate_staff_and_changes_nothing(app, role):
    ids = _objects(app)
    before = _state(app)
    client = visitor(app)
    login(client, NOT_OPERATORS[role])
    form = {**NEW_ESTATE, "slug": "pirate", "reason": "non", "amount": "1000,00", "method": "transfer",
            "received_on": "2026-01-01", "name": "Pirate", "monthly_price": "0", "groups_enabled": "",
            "plan": str(ids["plan_id"]), "starts_on": "2026-01-01", "billing_email": "x@y.example",
            "payment_mode": "cheque", "requested_on": "2026-01-01"}
    checked = set()
    for method, url in _operator_urls(app, ids):
        response = client.open(url, method=method, data=form)
        assert response.status_code == 404, f"{role}: {method} {url} → {response.status_code}"
        checked.add((method, url))
    assert len(checked) >= 20
    assert _state(app) == before
    assert "/plateforme/" not in client.get("/compte/").get_data(as_text=True)


def test_the_operator_opens_every_operator_page(app):
    ids = _objects(app)
    client = _operator(app)
    for method, url in _operator_urls(app, ids):
        if method != "GET":
            continue
        response = client.get(url)
        assert response.status_code == 200, f"GET {url} → {response.status_code}"
        if url.endswith(".pdf"):
            assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert 'href="/plateforme/"' in client.get("/compte/").get_data(as_text=True)  # the header's "Opérateur"
    assert client.get("/plateforme/domaines/999999").status_code == 404
    assert client.get("/plateforme/factures/999999").status_code == 404
    assert client.post("/plateforme/professionnels/999999/verifier").status_code == 404
    assert client.post(f"/plateforme/professionnels/{_user_id(app, 'client@chai.example')}/verifier").status_code == 404
    assert client.post("/plateforme/prospects/999999/ecarter").status_code == 404
    assert client.post("/plateforme/formules/999999", data={"name": "x"}).status_code == 404


def _user_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


@pytest.mark.parametrize("value", ["", " ", "-1", "abc", "99999999999999999999", "<script>alert(1)</script>",
                                   "x" * 5000, "2031-13-45", "NaN", "1e309", "0"])
def test_nasty_values_in_every_operator_form_never_cause_a_server_error(app, value):
    ids = _objects(app)
    client = _operator(app)
    names: set[str] = set()
    for method, url in _operator_urls(app, ids):
        if method == "GET" and not url.endswith(".pdf"):
            names |= set(re.findall(r'name="([\w-]+)"', client.get(url).get_data(as_text=True)))
    names -= {"csrf_token"}
    assert {"slug", "staff_email", "plan", "requested_on", "amount", "reason", "monthly_price"} <= names
    posted = 0
    for method, url in _operator_urls(app, ids):
        if method != "POST":
            continue
        response = client.post(url, data={name: value for name in names})
        assert response.status_code < 500, f"{url} with {value[:20]!r}: {response.status_code}"
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
        posted += 1
    assert posted >= 10


# ------------------------------------------------------------------ estates


def test_creating_an_estate_checks_its_slug_and_emails_and_creates_nothing_on_error(app):
    client = _operator(app)
    with session_for(app) as session:
        estates_before = session.scalar(select(func.count()).select_from(Estate))
        users_before = session.scalar(select(func.count()).select_from(User))
    for changes, message in [
        ({"slug": OTHER}, "Un domaine utilise déjà cet identifiant."),
        ({"slug": "plateforme"}, "Cet identifiant est réservé par la plateforme"),
        ({"slug": "compte"}, "Cet identifiant est réservé par la plateforme"),
        ({"slug": "Domaine des Aubes"}, "L'identifiant ne peut contenir que des lettres minuscules"),
        ({"slug": "aubes--"}, "L'identifiant ne peut contenir que des lettres minuscules"),
        ({"slug": "château"}, "L'identifiant ne peut contenir que des lettres minuscules"),
        ({"staff_email": "marie-at-aubes"}, "Adresse email invalide."),
        ({"email": "contact@aubes"}, "Adresse email invalide."),
        ({"name": ""}, "Ce champ est obligatoire."),
        ({"lead": "999999"}, "Ce prospect n'est plus à traiter"),
        ({"lead": "abc"}, "Ce prospect n'est plus à traiter"),
    ]:
        response = client.post("/plateforme/domaines", data={**NEW_ESTATE, **changes})
        assert response.status_code == 422, changes
        assert message in text_of(response), changes
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Estate)) == estates_before
        assert session.scalar(select(func.count()).select_from(User)) == users_before
        assert session.scalars(select(OutboxMessage)).all() == []


def test_the_operator_creates_an_estate_whose_new_manager_is_invited_by_email(app):
    client = _operator(app)
    response = client.post("/plateforme/domaines", data=NEW_ESTATE)
    assert response.status_code == 302
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == "domaine-des-aubes")).one()
        assert response.headers["Location"] == f"/plateforme/domaines/{estate.id}"
        assert (estate.name, estate.legal_name, estate.email, estate.city, estate.is_published) == (
            "Domaine des Aubes", "EARL des Aubes", "contact@aubes.example", "Chablis", False)
        lists = session.execute(select(PriceList.name, PriceList.default_for, PriceList.prices_include_vat)
                                .where(PriceList.estate_id == estate.id).order_by(PriceList.position)).all()
        assert lists == [("Particuliers", CustomerKind.PARTICULIER, True),
                         ("Professionnels", CustomerKind.PROFESSIONNEL, False)]
        user = session.scalars(select(User).where(User.email == "marie@aubes.example")).one()
        assert (user.first_name, user.last_name, user.role) == ("Marie", "Aubert", Role.STAFF)
        staff = session.execute(select(EstateStaff.estate_id, EstateStaff.role)
                                .where(EstateStaff.user_id == user.id)).all()
        assert staff == [(estate.id, "manager")]
        (message,) = session.scalars(select(OutboxMessage)).all()
        assert message.recipient == "marie@aubes.example" and "Domaine des Aubes" in message.subject
        assert re.search(r"http://shop\.test/compte/reinitialiser/\S+", message.body_text)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "operator.estate_create")).one()
        assert entry.estate_id == estate.id and entry.actor_label.endswith(f"<{OPERATOR}>")
    page = text_of(client.get(f"/plateforme/domaines/{estate.id}"))
    assert "marie@aubes.example" in page and "En essai" in page
    listing = text_of(client.get("/plateforme/domaines"))
    assert "Domaine des Aubes" in listing and "domaine-des-aubes" in listing
    assert client.get("/domaine-des-aubes/").status_code == 404  # unpublished until the operator says so
    assert "Domaine créé (plateforme)" in text_of(client.get("/plateforme/journal"))


def test_an_existing_account_becomes_manager_and_gets_a_link_to_the_back_office(app):
    client = _operator(app)
    assert client.post("/plateforme/domaines", data={**NEW_ESTATE, "staff_email": "Client@Chai.example"}).status_code == 302
    with session_for(app) as session:
        estate_id = _estate_id(session, "domaine-des-aubes")
        user = session.scalars(select(User).where(User.email == "client@chai.example")).one()
        assert user.role is Role.CUSTOMER  # an existing account keeps its role; it is on the staff now
        assert session.scalars(select(EstateStaff.role).where(EstateStaff.user_id == user.id)).all() == ["manager"]
        (message,) = session.scalars(select(OutboxMessage)).all()
        assert "http://shop.test/gestion/domaine-des-aubes/" in message.body_text
        assert "reinitialiser" not in message.body_text
    # inviting the same person again is refused; another person is invited
    response = client.post(f"/plateforme/domaines/{estate_id}/equipe", data={"email": "client@chai.example"})
    assert response.status_code == 422 and "fait déjà partie de l'équipe" in text_of(response)
    response = client.post(f"/plateforme/domaines/{estate_id}/equipe", data={"email": "pas-une-adresse"})
    assert response.status_code == 422
    assert client.post(f"/plateforme/domaines/{estate_id}/equipe",
                       data={"email": "paul@aubes.example", "first_name": "Paul"}).status_code == 302
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(EstateStaff)
                              .where(EstateStaff.estate_id == estate_id)) == 2
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "operator.staff_invite")).one()
    staff = visitor(app)
    login(staff, "client@chai.example")
    assert staff.get("/gestion/domaine-des-aubes/").status_code == 200


def test_an_estate_made_from_a_lead_marks_it_onboarded_and_its_subscription_gives_the_sponsor_a_free_month(app):
    with session_for(app) as session:
        vernette = _estate_id(session, OWN)
        lead = FriendLead(estate_id=vernette, name="Marie Aubert", email="marie@aubes.example",
                          estate_name="Domaine des Aubes")
        session.add(lead)
        session.add(Plan(name="Essentiel", monthly_price_cents=3900))
        session.commit()
        lead_id = lead.id
        plan_id = session.scalars(select(Plan.id)).one()
    client = _operator(app)
    leads_page = text_of(client.get("/plateforme/prospects"))
    assert "Domaine des Aubes" in leads_page and "Domaine de la Vernette" in leads_page
    assert f"/plateforme/domaines?lead={lead_id}" in leads_page
    form = text_of(client.get(f"/plateforme/domaines?lead={lead_id}"))
    assert 'value="Domaine des Aubes"' in form and 'value="marie@aubes.example"' in form
    assert re.search(rf'<option selected value="{lead_id}">|<option value="{lead_id}" selected', form)
    assert client.post("/plateforme/domaines", data={**NEW_ESTATE, "lead": str(lead_id)}).status_code == 302
    with session_for(app) as session:
        aubes = _estate_id(session, "domaine-des-aubes")
        lead = session.get(FriendLead, lead_id)
        assert (lead.status, lead.onboarded_estate_id) == ("onboarded", aubes)
    # the lead is no longer offered; the subscription gives La Vernette one free month, once
    assert client.post("/plateforme/domaines", data={**NEW_ESTATE, "slug": "aubes-2", "lead": str(lead_id)}
                       ).status_code == 422
    subscription = {"plan": str(plan_id), "starts_on": "2026-02-01", "billing_email": "compta@aubes.example",
                    "payment_mode": "cheque"}
    assert client.post(f"/plateforme/domaines/{aubes}/abonnement", data=subscription).status_code == 302
    assert client.post(f"/plateforme/domaines/{aubes}/abonnement", data=subscription).status_code == 302
    with session_for(app) as session:
        assert session.execute(select(FreeMonth.estate_id, FreeMonth.lead_id)).all() == [(vernette, lead_id)]
    assert "Parrainage" in text_of(client.get(f"/plateforme/domaines/{vernette}"))


def test_options_switch_persists_and_is_audited(app):
    client = _operator(app)
    with session_for(app) as session:
        estate_id = _estate_id(session, OWN)
        estate = session.get(Estate, estate_id)
        assert (estate.reservations_enabled, estate.groups_enabled, estate.is_published) == (False, True, True)
    response = client.post(f"/plateforme/domaines/{estate_id}/options",
                           data={"reservations_enabled": "y", "tastings_enabled": "y", "is_published": "y"})
    assert response.status_code == 302
    with session_for(app) as session:
        estate = session.get(Estate, estate_id)
        assert (estate.reservations_enabled, estate.groups_enabled, estate.tastings_enabled,
                estate.newsletter_enabled, estate.is_published) == (True, False, True, False, True)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "operator.estate_options")).one()
        assert entry.estate_id == estate_id and entry.actor_label.endswith(f"<{OPERATOR}>")
        assert '"groups_enabled": true' in entry.before and '"groups_enabled": false' in entry.after
        assert "reservations_enabled" in entry.after and "tastings_enabled" not in entry.after
    journal = text_of(client.get("/plateforme/journal"))
    assert "Options du domaine modifiées (plateforme)" in journal and "Sophie Garnier" in journal
    assert "Groupes de producteurs" in journal
    # the estate's own journal shows it too
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    assert "Options du domaine modifiées (plateforme)" in text_of(staff.get(f"/gestion/{OWN}/journal"))


def test_plans_subscription_and_cancellation_through_the_forms(app):
    client = _operator(app)
    assert client.post("/plateforme/formules", data={"name": "Essentiel", "monthly_price": "39,00",
                                                     "is_active": "y"}).status_code == 302
    for data, message in [({"name": "Essentiel", "monthly_price": "49"}, "Une formule porte déjà ce nom."),
                          ({"name": "Autre", "monthly_price": "abc"}, "Montant invalide"),
                          ({"name": "Autre", "monthly_price": ""}, "Ce champ est obligatoire."),
                          ({"name": "Autre", "monthly_price": "99999999999999999999"}, "Montant trop élevé."),
                          ({"name": "", "monthly_price": "10"}, "Ce champ est obligatoire.")]:
        response = client.post("/plateforme/formules", data=data)
        assert response.status_code == 422 and message in text_of(response), data
    with session_for(app) as session:
        (plan,) = session.scalars(select(Plan)).all()
        assert (plan.name, plan.monthly_price_cents, plan.is_active) == ("Essentiel", 3900, True)
        estate_id = _estate_id(session, OWN)
    assert client.post(f"/plateforme/formules/{plan.id}", data={f"plan{plan.id}-name": "Essentiel",
                                                               f"plan{plan.id}-monthly_price": "42,50",
                                                               f"plan{plan.id}-is_active": "y"}).status_code == 302
    assert "42,50" in text_of(client.get("/plateforme/formules"))

    url = f"/plateforme/domaines/{estate_id}/abonnement"
    good = {"plan": str(plan.id), "starts_on": "2026-01-15", "billing_email": "compta@vernette.example",
            "payment_mode": "transfer"}
    for changes, message in [({"billing_email": "compta"}, "Adresse email de facturation invalide."),
                             ({"plan": "999999"}, "Choisissez une formule."),
                             ({"plan": "abc"}, "Choisissez une formule."),
                             ({"payment_mode": "cash"}, "Choisissez virement ou chèque."),
                             ({"starts_on": "2031-13-45"}, "N'est pas une date valide."),
                             ({"starts_on": "1900-01-01"}, "Indiquez une date valide."),
                             ({"starts_on": ""}, "Ce champ est obligatoire.")]:
        response = client.post(url, data={**good, **changes})
        assert response.status_code == 422 and message in text_of(response), changes
    with session_for(app) as session:
        assert session.scalars(select(Subscription)).all() == []
    assert client.post(url, data=good).status_code == 302
    with session_for(app) as session:
        sub = session.scalars(select(Subscription)).one()
        assert (sub.estate_id, sub.plan_id, sub.starts_on, sub.billing_email, sub.payment_mode) == (
            estate_id, plan.id, date(2026, 1, 15), "compta@vernette.example", "transfer")
    page = text_of(client.get(f"/plateforme/domaines/{estate_id}"))
    today = paris_date(utcnow())
    assert ("Actif" if today >= date(2026, 1, 15) else "En essai") in page

    cancel = f"/plateforme/domaines/{estate_id}/resiliation"
    response = client.post(cancel, data={"requested_on": "2025-11-30"})
    assert response.status_code == 422 and "ne peut précéder le début" in text_of(response)
    assert client.post(cancel, data={"requested_on": ""}).status_code == 422
    assert client.post(cancel, data={"requested_on": "2026-03-10"}).status_code == 302
    with session_for(app) as session:
        sub = session.scalars(select(Subscription)).one()
        assert (sub.cancel_requested_on, sub.ends_on) == (date(2026, 3, 10), date(2026, 3, 31))
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith("operator."))
                                  .order_by(AuditEntry.id)).all()
        assert actions == ["operator.plan_create", "operator.plan_update", "operator.subscription", "operator.cancel"]
    if today > date(2026, 3, 31):
        assert "Résilié" in text_of(client.get("/plateforme/domaines"))
    # an estate without a subscription has nothing to cancel
    with session_for(app) as session:
        rozel = _estate_id(session, OTHER)
    response = client.post(f"/plateforme/domaines/{rozel}/resiliation", data={"requested_on": "2026-03-10"})
    assert response.status_code == 422 and "pas d'abonnement" in text_of(response)


def test_recording_payments_marks_the_invoice_paid_once_they_cover_its_total(app):
    ids = _objects(app)
    client = _operator(app)
    with session_for(app) as session:
        invoice = session.get(OperatorInvoice, ids["invoice_id"])
        ttc, number = invoice.total_ttc_cents, invoice.number
    assert ttc > 0
    listing = text_of(client.get("/plateforme/factures?impayees=1"))
    assert number in listing and "Impayée" in listing
    url = f"/plateforme/factures/{ids['invoice_id']}/paiement"
    for data, message in [({"amount": "abc"}, "Montant invalide"), ({"amount": "0"}, "Indiquez le montant reçu"),
                          ({"amount": "10", "method": "cash"}, "Choisissez virement ou chèque."),
                          ({"amount": "10", "received_on": ""}, "Ce champ est obligatoire.")]:
        response = client.post(url, data={"method": "transfer", "received_on": "2026-04-10", **data})
        assert response.status_code == 422 and message in text_of(response), data
    first = ttc - 1000
    assert client.post(url, data={"amount": f"{first // 100},{first % 100:02d}", "method": "transfer",
                                  "reference": "VIR 123", "received_on": "2026-04-10"}).status_code == 302
    with session_for(app) as session:
        assert session.get(OperatorInvoice, ids["invoice_id"]).paid_at is None
    assert number in text_of(client.get("/plateforme/factures?impayees=1"))
    assert client.post(url, data={"amount": "10,00", "method": "cheque", "reference": "CHQ 42",
                                  "received_on": "2026-04-12"}).status_code == 302
    with session_for(app) as session:
        assert session.get(OperatorInvoice, ids["invoice_id"]).paid_at is not None
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "operator.payment")).all()) == 2
    page = text_of(client.get(f"/plateforme/factures/{ids['invoice_id']}"))
    assert "Payée" in page and "CHQ 42" in page
    assert number not in text_of(client.get("/plateforme/factures?impayees=1"))
    assert number in text_of(client.get("/plateforme/factures"))


# ---------------------------------------------------------- professionals


def _prices_shown(client, slug: str = OWN) -> list[str]:  # type: ignore[no-untyped-def]
    html = client.get(f"/{slug}/").get_data(as_text=True)
    return [p.replace("\xa0", " ") for p in re.findall(r'<strong class="price[^"]*">([^<]+)</strong>', html)]


def _sign_up_pro(app):  # type: ignore[no-untyped-def]
    pro = visitor(app)
    assert pro.post("/compte/inscription-pro", data=PRO_FORM).status_code == 302
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == "lea@cave.example")).one()
        assert (user.pro_status, user.pro_activity) == (ProStatus.PENDING, "caviste")
        return pro, user.id


def test_pro_sign_up_asks_for_the_declared_activity(app, client):
    response = client.post("/compte/inscription-pro", data={**PRO_FORM, "activity": ""})
    assert response.status_code == 422 and "Choisissez votre activité dans la liste." in text_of(response)
    response = client.post("/compte/inscription-pro", data={**PRO_FORM, "activity": "pirate"})
    assert response.status_code == 422
    assert "Bar à vins" in text_of(client.get("/compte/inscription-pro"))
    with session_for(app) as session:
        assert session.scalars(select(User).where(User.email == "lea@cave.example")).first() is None


def test_a_verified_pro_gets_the_email_and_ht_prices(app):
    anonymous = _prices_shown(visitor(app))
    assert "18,50 €" in anonymous  # Morgon « Côte du Py », Particuliers TTC
    pro, user_id = _sign_up_pro(app)
    pending = _prices_shown(pro)
    assert pending == anonymous and not any("HT" in p for p in pending)

    operator = _operator(app)
    page = text_of(operator.get("/plateforme/professionnels"))
    assert "Cave des Amis" in page and "73282932000074" in page and "clé valide" in page and "Caviste" in page
    response = operator.post(f"/plateforme/professionnels/{user_id}/verifier")
    assert response.status_code == 302
    with session_for(app) as session:
        user = session.get(User, user_id)
        assert user.pro_status is ProStatus.VERIFIED and user.pro_reviewed_at is not None
        (message,) = session.scalars(select(OutboxMessage)).all()
        assert message.recipient == "lea@cave.example" and "vérifié" in message.subject
        assert "tarifs professionnels" in message.body_text
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.estate_id.is_(None))).all() == [
            "operator.pro_verify"]
    verified = _prices_shown(pro)
    assert verified and all(p.endswith("HT") for p in verified) and "12,30 € HT" in verified
    # a second click sends nothing more
    assert operator.post(f"/plateforme/professionnels/{user_id}/verifier").status_code == 302
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert "Compte professionnel vérifié" in text_of(operator.get("/plateforme/journal"))


def test_refusing_a_pro_needs_a_reason_which_the_email_gives(app):
    anonymous = _prices_shown(visitor(app))
    pro, user_id = _sign_up_pro(app)
    operator = _operator(app)
    for reason in ("", "   "):
        response = operator.post(f"/plateforme/professionnels/{user_id}/refuser", data={"reason": reason})
        assert response.status_code == 422
        assert "Indiquez la raison du refus : elle est envoyée au client." in text_of(response)
    response = operator.post(f"/plateforme/professionnels/{user_id}/refuser", data={"reason": "x" * 300})
    assert response.status_code == 422 and "255 caractères au plus" in text_of(response)
    with session_for(app) as session:
        assert session.get(User, user_id).pro_status is ProStatus.PENDING
        assert session.scalars(select(OutboxMessage)).all() == []
    reason = "Le SIRET correspond à une entreprise de maçonnerie, pas à un commerce de vin."
    assert operator.post(f"/plateforme/professionnels/{user_id}/refuser", data={"reason": reason}).status_code == 302
    with session_for(app) as session:
        user = session.get(User, user_id)
        assert (user.pro_status, user.pro_rejection_reason) == (ProStatus.REJECTED, reason)
        (message,) = session.scalars(select(OutboxMessage)).all()
        assert message.recipient == "lea@cave.example" and reason in message.body_text
    assert _prices_shown(pro) == anonymous
    page = text_of(operator.get("/plateforme/professionnels"))
    assert "Aucun compte professionnel en attente." in page and reason in page


# ------------------------------------------------------------------- leads


def test_dismissing_a_lead(app):
    ids = _objects(app)
    client = _operator(app)
    assert client.post(f"/plateforme/prospects/{ids['lead_id']}/ecarter").status_code == 302
    with session_for(app) as session:
        assert session.get(FriendLead, ids["lead_id"]).status == "dismissed"
    assert client.post(f"/plateforme/prospects/{ids['lead_id']}/ecarter").status_code == 302  # nothing more
    with session_for(app) as session:
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "operator.lead_dismiss")).one()
    assert f"/plateforme/domaines?lead={ids['lead_id']}" not in text_of(client.get("/plateforme/prospects"))


def test_the_home_page_counts_estates_pros_invoices_and_leads(app):
    _objects(app)
    page = text_of(_operator(app).get("/plateforme/"))
    assert re.search(r'id="pending-pros">1<', page)
    assert re.search(r'id="unpaid-invoices">1<', page)
    assert re.search(r'id="new-leads">1<', page)
    assert "Actif : <strong>1</strong>" in page and "En essai : <strong>1</strong>" in page



def test_the_journal_shows_the_operators_actions_in_an_estates_back_office_too(app):
    from services import audit

    with session_for(app) as session:
        operator = session.scalars(select(User).where(User.email == OPERATOR)).one()
        vigneron = session.scalars(select(User).where(User.email == "vigneron@vernette.example")).one()
        estate_id = _estate_id(session, OWN)
        audit.record(session, estate_id, operator, "price.update", ("wine", 1), {"amount_cents": 1850},
                     {"amount_cents": 1900}, "Morgon par l'opérateur")
        audit.record(session, estate_id, vigneron, "price.update", ("wine", 1), {"amount_cents": 1900},
                     {"amount_cents": 2000}, "Morgon par le vigneron")
        session.commit()
    journal = text_of(_operator(app).get("/plateforme/journal"))
    assert "Morgon par l'opérateur" in journal and "Domaine de la Vernette" in journal
    assert "Morgon par le vigneron" not in journal


def test_two_factor_sign_in_is_required_for_the_operator_when_the_platform_asks_for_it(database):
    from tests.conftest import make_app

    app = make_app(database, REQUIRE_STAFF_TOTP=True)
    client = _operator(app)
    response = client.get("/plateforme/domaines")
    assert response.status_code == 302 and response.headers["Location"].startswith("/compte/double-authentification")

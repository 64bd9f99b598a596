"""Issue 15: the CGV template's answers and text, without a database."""

from __future__ import annotations

import pytest

from models import Estate
from services import sales_terms
from services.sales_terms import Completions, InvalidSalesTerms

GOOD = {"mediator_name": "Médiateur", "mediator_address": "1 rue A, 75001 Paris",
        "mediator_url": "https://mediateur.example", "return_costs": "buyer"}


def _estate(**values) -> Estate:  # type: ignore[no-untyped-def]
    defaults = dict(slug="d", name="Domaine D", legal_name="", street="1 rue B", postcode="33000", city="Bordeaux",
                    country="FR", email="d@example.com", phone="", siret="", vat_number="", minimum_order_cents=0,
                    shipping_delay="", mixing_allowed=False, case_size=6, accepts_card=True, accepts_transfer=False,
                    accepts_cheque=False, accepts_cash=False, allows_pickup=False, allows_hand_delivery=False,
                    pickup_instructions="", free_shipping_above_cents=None, destination_countries="FR")
    return Estate(**(defaults | values))


def test_valid_answers_are_cleaned_and_round_trip_through_json():
    answers = sales_terms.validate(GOOD | {"mediator_name": "  Médi\x00ateur\x1b  ", "primeur_clause": "y",
                                           "extra_clauses": "a\r\nb"})
    assert answers.mediator_name == "Médiateur" and answers.primeur_clause and answers.extra_clauses == "a\nb"
    assert Completions.from_json(answers.to_json()) == answers
    assert Completions.from_json("pas du json") == Completions() and Completions.from_json('["x"]') == Completions()


@pytest.mark.parametrize(("changes", "errors"), [
    ({"mediator_name": ""}, {"mediator_name": "required"}),
    ({"mediator_url": "ftp://x.example"}, {"mediator_url": "url"}),
    ({"mediator_url": "https://"}, {"mediator_url": "url"}),
    ({"privacy_url": "https://ok.example/vie-privee"}, {}),
    ({"return_costs": None}, {"return_costs": "choice"}),
    ({"delivery_details": "x" * 3001, "mediator_address": None}, {"delivery_details": "too_long",
                                                                  "mediator_address": "required"}),
])
def test_invalid_answers_name_every_faulty_field(changes, errors):
    if not errors:
        sales_terms.validate(GOOD | changes)
        return
    with pytest.raises(InvalidSalesTerms) as raised:
        sales_terms.validate(GOOD | changes)
    assert raised.value.errors == errors


def test_the_text_is_cut_into_headings_and_paragraphs():
    body = sales_terms.render_body(_estate(), Completions())
    blocks = sales_terms.blocks(body)
    headings = [b.text for b in blocks if b.heading]
    assert headings[0] == "Article 1 – Objet et champ d'application"
    assert headings[-1].startswith("Annexe – Formulaire type de rétractation")
    assert all(not b.text.startswith("Article ") for b in blocks if not b.heading)
    assert "carte bancaire" in body and "virement" not in body and "Enlèvement à la propriété" not in body


def test_the_answers_change_the_text():
    estate = _estate(accepts_cash=True, allows_pickup=True, destination_countries="FR BE XX")
    plain = sales_terms.render_body(estate, Completions())
    completed = sales_terms.render_body(estate, sales_terms.validate(GOOD | {
        "return_costs": "estate", "primeur_clause": "y", "excise_note": "Accises : sur devis.",
        "extra_clauses": "Clause maison.", "privacy_url": "https://d.example/confidentialite"}))
    assert plain.count(sales_terms.TO_COMPLETE) >= 3 and "Médiateur : Médiateur" in completed
    assert "à la charge de l'acheteur" in plain and "pris en charge par le vendeur" in completed
    assert "ne propose pas à ce jour de vente en primeur" in plain and "vendus en primeur" in completed
    assert "Accises : sur devis." in completed and "Article 17 – Clauses complémentaires" in completed
    assert "Clause maison." not in plain and "https://d.example/confidentialite" in completed
    assert "France, Belgique, XX" in plain and "Enlèvement à la propriété" in plain and "espèces" in plain

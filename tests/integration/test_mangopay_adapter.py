"""The real Mangopay adapter (official SDK, real HTTP) against the local sandbox."""

from __future__ import annotations

import html
import json
import re
import socket
import time
import urllib.error
import urllib.request
from typing import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from services.payments import PaymentError, parse_hook
from services.payments.mangopay import MangopayProvider, api_url
from services.payments.sandbox import WIRE_IBAN, MangopaySandbox

RETURN_URL = "http://shop.test/domaine-de-la-vernette/commande/42/retour?etape=paiement"
ESTATE_IBAN = "FR76 3000 6000 0112 3456 7890 189"


@pytest.fixture
def sandbox() -> Iterator[MangopaySandbox]:
    server = MangopaySandbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def provider(sandbox: MangopaySandbox) -> MangopayProvider:
    return MangopayProvider("chai-test", "sandbox-api-key", sandbox.base_url, timeout=5)


@pytest.fixture
def parties(provider: MangopayProvider) -> dict[str, str]:
    payer = provider.ensure_payer(
        email="client@chai.example", first_name="Camille", last_name="Martin", existing_id=None
    )
    owner, wallet = provider.ensure_estate_wallet(
        legal_name="Domaine de la Vernette",
        email="vigneron@vernette.example",
        existing_user_id=None,
        existing_wallet_id=None,
    )
    return {"payer": payer, "owner": owner, "wallet": wallet}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # let the 302 surface as an HTTPError


def _decide_on_pay_page(redirect_url: str, decision: str) -> str:
    """Opens the sandbox page like a browser, submits the chosen form and returns the
    302 Location without following it."""
    with urllib.request.urlopen(redirect_url, timeout=5) as response:
        page = response.read().decode("utf-8")
    forms = re.findall(r'<form method="post" action="([^"]+)">.*?name="decision" value="(\w+)"', page)
    action = next(html.unescape(action) for action, value in forms if value == decision)
    target = urlsplit(redirect_url)._replace(path=action).geturl()
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(target, data=urlencode({"decision": decision}).encode(), timeout=5)
    assert answer.value.code == 302
    answer.value.close()
    return answer.value.headers["Location"]


def _card_payin(provider: MangopayProvider, parties: dict[str, str], key: str = "order-42-card-try-1"):  # type: ignore[no-untyped-def]
    return provider.create_card_payin(
        payer_id=parties["payer"],
        wallet_id=parties["wallet"],
        amount_cents=4650,
        return_url=RETURN_URL,
        tag="CHAI-42",
        idempotency_key=key,
    )


def test_a_card_payment_accepted_on_the_sandbox_page_succeeds(sandbox, provider, parties):
    payin = _card_payin(provider, parties)
    assert payin.status == "CREATED"
    assert payin.amount_cents == 4650
    assert payin.tag == "CHAI-42"
    assert payin.redirect_url == f"{sandbox.base_url}/sandbox/pay/{payin.id}"

    with urllib.request.urlopen(payin.redirect_url, timeout=5) as response:
        page = response.read().decode("utf-8")
        csp = response.headers["Content-Security-Policy"]
    assert "MODE TEST — aucune carte réelle n'est débitée" in html.unescape(page)
    assert "Payer avec la carte de test" in page and "Refuser le paiement" in page
    assert "46,50" in page
    assert "<script" not in page and "script-src" not in csp

    location = _decide_on_pay_page(payin.redirect_url, "accept")
    parts = urlsplit(location)
    assert location.startswith("http://shop.test/domaine-de-la-vernette/commande/42/retour?")
    assert parse_qs(parts.query) == {"etape": ["paiement"], "transactionId": [payin.id]}

    paid = provider.get_payin(payin.id)
    assert paid.status == "SUCCEEDED"
    assert paid.amount_cents == 4650
    assert sandbox.wallet(parties["wallet"])["Balance"] == {"Currency": "EUR", "Amount": 4650}


def test_a_card_payment_refused_on_the_sandbox_page_fails_with_the_bank_message(sandbox, provider, parties):
    payin = _card_payin(provider, parties)

    location = _decide_on_pay_page(payin.redirect_url, "refuse")

    assert parse_qs(urlsplit(location).query)["transactionId"] == [payin.id]
    refused = provider.get_payin(payin.id)
    assert refused.status == "FAILED"
    assert refused.result_message == "Transaction refused by the bank (Do not honor)"
    assert sandbox.payin(payin.id)["ResultCode"] == "101101"
    assert sandbox.wallet(parties["wallet"])["Balance"]["Amount"] == 0


def test_a_second_decision_on_the_pay_page_changes_nothing(sandbox, provider, parties):
    payin = _card_payin(provider, parties)
    _decide_on_pay_page(payin.redirect_url, "accept")

    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(payin.redirect_url, data=b"decision=refuse", timeout=5)
    answer.value.close()

    assert answer.value.code == 302
    assert provider.get_payin(payin.id).status == "SUCCEEDED"
    assert sandbox.wallet(parties["wallet"])["Balance"]["Amount"] == 4650


def test_a_bank_wire_gives_the_bank_details_and_succeeds_once_the_wire_arrives(sandbox, provider, parties):
    payin = provider.create_bank_wire_payin(
        payer_id=parties["payer"],
        wallet_id=parties["wallet"],
        amount_cents=18000,
        tag="CHAI-43",
        idempotency_key="order-43-wire-try-1",
    )
    assert payin.status == "CREATED"
    assert payin.amount_cents == 18000
    assert payin.wire_reference
    assert payin.bank_iban == WIRE_IBAN and payin.bank_iban.startswith("FR")
    assert payin.bank_bic
    assert payin.bank_owner == "MANGOPAY SA (TEST)"
    assert provider.get_payin(payin.id).status == "CREATED"

    sandbox.settle_payin(payin.id, succeeded=True)

    settled = provider.get_payin(payin.id)
    assert settled.status == "SUCCEEDED"
    assert settled.amount_cents == 18000
    assert settled.wire_reference == payin.wire_reference
    assert sandbox.wallet(parties["wallet"])["Balance"]["Amount"] == 18000


def test_a_payout_sends_the_balance_and_one_above_it_is_refused(sandbox, provider, parties):
    payin = _card_payin(provider, parties)
    sandbox.settle_payin(payin.id)
    account = provider.register_bank_account(
        owner_id=parties["owner"],
        owner_name="EARL Domaine de la Vernette",
        iban=ESTATE_IBAN,
        bic="AGRIFRPP",
        address_line="2 chemin des Vignes",
        city="Beaune",
        postcode="21200",
        country="FR",
    )

    payout = provider.create_payout(
        owner_id=parties["owner"],
        wallet_id=parties["wallet"],
        bank_account_id=account,
        amount_cents=4000,
        reference="CHAI 2026-11",
        idempotency_key="payout-2026-11-vernette",
    )
    assert payout.status in ("CREATED", "SUCCEEDED")  # Mangopay answers CREATED
    assert payout.amount_cents == 4000
    assert provider.get_payout(payout.id).status == "SUCCEEDED"
    assert sandbox.wallet(parties["wallet"])["Balance"]["Amount"] == 650

    with pytest.raises(PaymentError, match="Unsufficient wallet balance"):
        provider.create_payout(
            owner_id=parties["owner"],
            wallet_id=parties["wallet"],
            bank_account_id=account,
            amount_cents=651,
            reference="CHAI 2026-12",
            idempotency_key="payout-2026-12-vernette",
        )
    assert sandbox.wallet(parties["wallet"])["Balance"]["Amount"] == 650


def test_an_invalid_iban_is_refused(provider, parties):
    with pytest.raises(PaymentError, match="IBAN"):
        provider.register_bank_account(
            owner_id=parties["owner"],
            owner_name="EARL Domaine de la Vernette",
            iban="FR76 3000 6000 0112 3456 7890 188",
            bic="AGRIFRPP",
            address_line="2 chemin des Vignes",
            city="Beaune",
            postcode="21200",
            country="FR",
        )


def test_the_same_idempotency_key_twice_gives_the_same_payin_and_creates_one(sandbox, provider, parties):
    first = _card_payin(provider, parties, key="order-44-card-try-1")
    sandbox.settle_payin(first.id)

    again = _card_payin(provider, parties, key="order-44-card-try-1")

    assert again.id == first.id
    assert again.status == "SUCCEEDED"  # read again, not the first answer's CREATED
    assert [p["Id"] for p in sandbox.payins()] == [first.id]
    assert sandbox.wallet(parties["wallet"])["Balance"]["Amount"] == 4650


def test_payer_and_wallet_creation_retried_returns_the_same_objects(sandbox, provider, parties):
    payer = provider.ensure_payer(
        email="client@chai.example", first_name="Camille", last_name="Martin", existing_id=None
    )
    owner, wallet = provider.ensure_estate_wallet(
        legal_name="Domaine de la Vernette",
        email="vigneron@vernette.example",
        existing_user_id=None,
        existing_wallet_id=None,
    )
    assert (payer, owner, wallet) == (parties["payer"], parties["owner"], parties["wallet"])
    assert provider.ensure_payer(
        email="x@y.fr", first_name="X", last_name="Y", existing_id=parties["payer"]
    ) == parties["payer"]


def test_a_repeated_key_whose_first_request_failed_raises(sandbox, provider, parties):
    arguments = dict(
        payer_id="no-such-user", wallet_id=parties["wallet"], amount_cents=100,
        tag="CHAI-45", idempotency_key="order-45-wire-try-1",
    )
    with pytest.raises(PaymentError, match="param_error"):
        provider.create_bank_wire_payin(**arguments)
    with pytest.raises(PaymentError, match="first request with idempotency key"):
        provider.create_bank_wire_payin(**arguments)
    assert sandbox.payins() == []


def test_a_malformed_idempotency_key_is_a_programming_error(provider, parties):
    with pytest.raises(ValueError):
        _card_payin(provider, parties, key="short")


def test_the_sandbox_answers_401_without_a_valid_bearer_token(sandbox, provider, parties):
    request = urllib.request.Request(
        f"{sandbox.base_url}/v2.01/chai-test/payins/1",
        headers={"Authorization": "Bearer not-a-token"},
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)
    assert answer.value.code == 401
    assert json.loads(answer.value.read())["Message"]
    answer.value.close()


def test_two_providers_with_different_base_urls_do_not_clobber_each_other(sandbox, provider, parties):
    other = MangopaySandbox()
    other.start()
    try:
        elsewhere = MangopayProvider("chai-test", "sandbox-api-key", other.base_url, timeout=5)
        elsewhere_payer = elsewhere.ensure_payer(
            email="client@chai.example", first_name="Camille", last_name="Martin", existing_id=None
        )
        payin = _card_payin(provider, parties)

        with pytest.raises(PaymentError, match="not found"):
            elsewhere.get_payin(payin.id)
        assert provider.get_payin(payin.id).status == "CREATED"
        assert [p["Id"] for p in sandbox.payins()] == [payin.id]
        assert other.payins() == []
        assert elsewhere_payer  # created on the other sandbox, with its own token
    finally:
        other.stop()


def test_a_revoked_token_is_fetched_again(sandbox, provider, parties):
    sandbox.revoke_tokens()

    payin = _card_payin(provider, parties)

    assert provider.get_payin(payin.id).status == "CREATED"


def test_an_unreachable_provider_raises_payment_error_quickly():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # the port is closed again: connections are refused
    unreachable = MangopayProvider("chai-test", "key", f"http://127.0.0.1:{port}/", timeout=1)

    started = time.monotonic()
    with pytest.raises(PaymentError, match="ConnectionError"):
        unreachable.get_payin("1")
    assert time.monotonic() - started < 5


def test_the_base_url_may_be_given_with_or_without_the_api_version():
    assert api_url("https://api.sandbox.mangopay.com") == "https://api.sandbox.mangopay.com/v2.01/"
    assert api_url("http://127.0.0.1:8123/") == "http://127.0.0.1:8123/v2.01/"
    assert api_url("https://api.mangopay.com/v2.01/") == "https://api.mangopay.com/v2.01/"
    with pytest.raises(ValueError):
        api_url("api.mangopay.com")


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            {"EventType": "PAYIN_NORMAL_SUCCEEDED", "RessourceId": "123", "Date": "1795516416"},
            ("PAYIN_NORMAL_SUCCEEDED", "123"),
        ),
        ({"EventType": "PAYOUT_NORMAL_FAILED", "RessourceId": "po_m_01HQMZ"}, ("PAYOUT_NORMAL_FAILED", "po_m_01HQMZ")),
        ({"EventType": "PAYIN_NORMAL_SUCCEEDED", "Date": "1795516416"}, None),
        ({"RessourceId": "123", "Date": "1795516416"}, None),
        ({"EventType": "", "RessourceId": "123"}, None),
        ({"EventType": "PAYIN_NORMAL_SUCCEEDED", "RessourceId": "../admin"}, None),
        ({"EventType": "payin<script>", "RessourceId": "123"}, None),
        ({}, None),
    ],
)
def test_a_hook_gives_its_event_and_resource_or_none_when_malformed(args, expected):
    assert parse_hook(args) == expected

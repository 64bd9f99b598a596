"""Wallet-to-wallet transfers (group basket split by estate) through the real adapter
against the local sandbox."""

from __future__ import annotations

import pytest

from services.payments import PaymentError, Transfer
from services.payments.mangopay import MangopayProvider
from services.payments.sandbox import MangopaySandbox

RETURN_URL = "http://shop.test/panier-groupe/7/retour"


@pytest.fixture
def provider(sandbox: MangopaySandbox) -> MangopayProvider:
    return MangopayProvider("chai-test", "sandbox-api-key", sandbox.base_url, timeout=5)


@pytest.fixture
def parties(provider: MangopayProvider) -> dict[str, str]:
    payer = provider.ensure_payer(
        email="client@chai.example", first_name="Camille", last_name="Martin", existing_id=None
    )
    payer_wallet = provider.ensure_payer_wallet(payer_id=payer, existing_wallet_id=None)
    vernette, vernette_wallet = provider.ensure_estate_wallet(
        legal_name="Domaine de la Vernette",
        email="vigneron@vernette.example",
        existing_user_id=None,
        existing_wallet_id=None,
    )
    combe, combe_wallet = provider.ensure_estate_wallet(
        legal_name="Clos de la Combe",
        email="contact@combe.example",
        existing_user_id=None,
        existing_wallet_id=None,
    )
    return {
        "payer": payer,
        "payer_wallet": payer_wallet,
        "vernette": vernette,
        "vernette_wallet": vernette_wallet,
        "combe": combe,
        "combe_wallet": combe_wallet,
    }


def _fund_payer_wallet(
    sandbox: MangopaySandbox, provider: MangopayProvider, parties: dict[str, str], amount_cents: int
) -> None:
    payin = provider.create_card_payin(
        payer_id=parties["payer"],
        wallet_id=parties["payer_wallet"],
        amount_cents=amount_cents,
        return_url=RETURN_URL,
        tag="CHAI-G7",
        idempotency_key="group-7-card-try-1",
    )
    sandbox.settle_payin(payin.id)


def _transfer_to(
    provider: MangopayProvider, parties: dict[str, str], estate: str, amount_cents: int, key: str
) -> Transfer:
    return provider.create_transfer(
        author_id=parties["payer"],
        debited_wallet_id=parties["payer_wallet"],
        credited_wallet_id=parties[f"{estate}_wallet"],
        credited_user_id=parties[estate],
        amount_cents=amount_cents,
        tag=f"CHAI-G7-{estate}",
        idempotency_key=key,
    )


def _balance(sandbox: MangopaySandbox, wallet_id: str) -> int:
    return sandbox.wallet(wallet_id)["Balance"]["Amount"]


def test_a_group_payment_is_split_between_the_estates(sandbox, provider, parties):
    _fund_payer_wallet(sandbox, provider, parties, 10000)
    assert _balance(sandbox, parties["payer_wallet"]) == 10000

    to_vernette = _transfer_to(provider, parties, "vernette", 6000, "group-7-vernette-try-1")
    to_combe = _transfer_to(provider, parties, "combe", 4000, "group-7-combe-try-1")

    assert to_vernette.status == to_combe.status == "SUCCEEDED"
    assert (to_vernette.amount_cents, to_combe.amount_cents) == (6000, 4000)
    assert provider.get_transfer(to_vernette.id) == to_vernette
    assert _balance(sandbox, parties["payer_wallet"]) == 0
    assert _balance(sandbox, parties["vernette_wallet"]) == 6000
    assert _balance(sandbox, parties["combe_wallet"]) == 4000
    recorded = {t["Id"]: t for t in sandbox.transfers()}
    assert recorded[to_vernette.id]["CreditedUserId"] == parties["vernette"]
    assert recorded[to_vernette.id]["Type"] == "TRANSFER"
    assert recorded[to_vernette.id]["Tag"] == "CHAI-G7-vernette"


def test_the_same_idempotency_key_twice_gives_the_same_transfer_and_moves_money_once(
    sandbox, provider, parties
):
    _fund_payer_wallet(sandbox, provider, parties, 10000)
    first = _transfer_to(provider, parties, "vernette", 6000, "group-7-vernette-try-1")

    again = _transfer_to(provider, parties, "vernette", 6000, "group-7-vernette-try-1")

    assert again == first
    assert [t["Id"] for t in sandbox.transfers()] == [first.id]
    assert _balance(sandbox, parties["payer_wallet"]) == 4000
    assert _balance(sandbox, parties["vernette_wallet"]) == 6000


def test_a_transfer_above_the_balance_is_refused_and_stays_refused(sandbox, provider, parties):
    _fund_payer_wallet(sandbox, provider, parties, 10000)

    with pytest.raises(PaymentError, match="001001 Unsufficient wallet balance"):
        _transfer_to(provider, parties, "vernette", 10001, "group-7-vernette-try-1")
    assert _balance(sandbox, parties["payer_wallet"]) == 10000
    assert _balance(sandbox, parties["vernette_wallet"]) == 0

    with pytest.raises(PaymentError, match="Unsufficient wallet balance"):
        _transfer_to(provider, parties, "vernette", 10001, "group-7-vernette-try-1")
    assert [t["Status"] for t in sandbox.transfers()] == ["FAILED"]
    assert _balance(sandbox, parties["payer_wallet"]) == 10000


def test_a_transfer_whose_author_does_not_own_the_debited_wallet_is_refused(sandbox, provider, parties):
    _fund_payer_wallet(sandbox, provider, parties, 10000)

    with pytest.raises(PaymentError, match="121002 The author is not the wallet owner"):
        provider.create_transfer(
            author_id=parties["vernette"],
            debited_wallet_id=parties["payer_wallet"],
            credited_wallet_id=parties["vernette_wallet"],
            credited_user_id=parties["vernette"],
            amount_cents=100,
            tag="CHAI-G7-vernette",
            idempotency_key="group-7-vernette-try-1",
        )
    assert _balance(sandbox, parties["payer_wallet"]) == 10000


def test_a_transfer_whose_answer_was_lost_is_found_again_by_its_key(sandbox, provider, parties):
    _fund_payer_wallet(sandbox, provider, parties, 10000)
    fault = sandbox.inject_fault("transfers", status=500, processed=True)

    with pytest.raises(PaymentError, match="500"):
        _transfer_to(provider, parties, "vernette", 6000, "group-7-vernette-try-1")
    assert fault.hits == 1

    retried = _transfer_to(provider, parties, "vernette", 6000, "group-7-vernette-try-1")

    assert [t["Id"] for t in sandbox.transfers()] == [retried.id]
    assert [c.status for c in sandbox.api_calls("POST", "transfers")] == [500, 409]
    assert retried.status == "SUCCEEDED" and retried.amount_cents == 6000
    assert _balance(sandbox, parties["payer_wallet"]) == 4000
    assert _balance(sandbox, parties["vernette_wallet"]) == 6000


def test_a_transfer_to_the_wrong_credited_user_is_a_parameter_error(sandbox, provider, parties):
    _fund_payer_wallet(sandbox, provider, parties, 10000)

    with pytest.raises(PaymentError, match="param_error"):
        provider.create_transfer(
            author_id=parties["payer"],
            debited_wallet_id=parties["payer_wallet"],
            credited_wallet_id=parties["vernette_wallet"],
            credited_user_id=parties["combe"],
            amount_cents=100,
            tag="CHAI-G7-vernette",
            idempotency_key="group-7-vernette-try-1",
        )
    assert sandbox.transfers() == []


def test_an_unknown_transfer_is_not_found(provider):
    with pytest.raises(PaymentError, match="not found"):
        provider.get_transfer("999999")


def test_the_payer_wallet_is_created_once(sandbox, provider, parties):
    again = provider.ensure_payer_wallet(payer_id=parties["payer"], existing_wallet_id=None)

    assert again == parties["payer_wallet"]
    wallet = sandbox.wallet(again)
    assert wallet["Owners"] == [parties["payer"]] and wallet["Currency"] == "EUR"

    calls = len(sandbox.api_calls())
    assert provider.ensure_payer_wallet(
        payer_id=parties["payer"], existing_wallet_id="123456"
    ) == "123456"
    assert len(sandbox.api_calls()) == calls

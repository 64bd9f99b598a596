"""Payment provider interface, provider-neutral (no Flask, no SDK).

A provider moves money in three steps: a customer's pay-in credits the estate's wallet
(card on the provider's hosted page, or bank wire), then a payout sends the wallet's
balance to the estate's bank account. A group basket is paid into the payer's own
wallet instead, then split by one transfer per estate (wallet to wallet). Amounts are
integer euro cents.

Contract shared by every implementation:

* every method that creates something takes (or derives) an idempotency key, so a
  retry after a timeout never charges or pays twice;
* any refusal or transport failure raises :class:`PaymentError`; nothing else escapes
  (``ValueError`` only for a programming error such as a malformed idempotency key);
* a notification (:func:`parse_hook`) is only a hint: fetch the pay-in again with
  :meth:`PaymentProvider.get_payin` before acting on it.

The Mangopay implementation is :mod:`services.payments.mangopay`; a local server that
speaks the same HTTP API for tests and the offline demo is
:mod:`services.payments.sandbox`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Protocol

#: pay-in and payout statuses, as the provider spells them
CREATED = "CREATED"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"


@dataclass(frozen=True)
class PayIn:
    id: str
    status: str  #: "CREATED" | "SUCCEEDED" | "FAILED"
    amount_cents: int
    redirect_url: str | None = None  #: card: where to send the customer
    wire_reference: str | None = None  #: bank wire: reference the customer must write
    bank_iban: str | None = None
    bank_bic: str | None = None
    bank_owner: str | None = None
    result_message: str = ""
    tag: str = ""  #: our order reference


@dataclass(frozen=True)
class PayOut:
    id: str
    status: str
    amount_cents: int


@dataclass(frozen=True)
class Transfer:
    id: str
    status: str  #: "SUCCEEDED" | "FAILED" ("CREATED" while the provider executes it)
    amount_cents: int
    result_message: str = ""


class PaymentError(Exception):
    """The provider refused or could not be reached; message is for logs."""


class PaymentProvider(Protocol):
    name: str

    def ensure_payer(
        self, *, email: str, first_name: str, last_name: str, existing_id: str | None
    ) -> str:
        """The provider's user id of a customer; creates the user when ``existing_id``
        is None, returns ``existing_id`` unchanged otherwise."""
        ...

    def ensure_estate_wallet(
        self,
        *,
        legal_name: str,
        email: str,
        existing_user_id: str | None,
        existing_wallet_id: str | None,
    ) -> tuple[str, str]:
        """(owner user id, EUR wallet id) of an estate, creating what is missing."""
        ...

    def create_card_payin(
        self,
        *,
        payer_id: str,
        wallet_id: str,
        amount_cents: int,
        return_url: str,
        tag: str,
        idempotency_key: str,
        culture: str = "FR",
    ) -> PayIn:
        """A card pay-in on the provider's hosted page: status CREATED and a
        ``redirect_url`` to send the customer to; the provider sends them back to
        ``return_url`` (with ``transactionId=<id>`` appended) when they are done."""
        ...

    def create_bank_wire_payin(
        self, *, payer_id: str, wallet_id: str, amount_cents: int, tag: str, idempotency_key: str
    ) -> PayIn:
        """A bank wire pay-in: status CREATED with the bank details and the reference
        the customer must write on the transfer."""
        ...

    def get_payin(self, payin_id: str) -> PayIn: ...

    def payin_by_idempotency_key(self, idempotency_key: str) -> PayIn | None:
        """The pay-in the first request with this key created, as it is now; None when
        the provider created none under it (for an answer that was lost)."""
        ...

    def register_bank_account(
        self,
        *,
        owner_id: str,
        owner_name: str,
        iban: str,
        bic: str,
        address_line: str,
        city: str,
        postcode: str,
        country: str,
    ) -> str:
        """Registers an IBAN for a payout; returns the bank account id."""
        ...

    def create_payout(
        self,
        *,
        owner_id: str,
        wallet_id: str,
        bank_account_id: str,
        amount_cents: int,
        reference: str,
        idempotency_key: str,
    ) -> PayOut:
        """Sends ``amount_cents`` of the wallet to the bank account.

        :raise PaymentError: the provider refused it (insufficient balance …).
        """
        ...

    def ensure_payer_wallet(self, *, payer_id: str, existing_wallet_id: str | None) -> str:
        """The EUR wallet of a customer (``payer_id`` from :meth:`ensure_payer`):
        ``existing_wallet_id`` unchanged, or a wallet created under a key derived from
        the payer, so a retry returns the same wallet."""
        ...

    def create_transfer(
        self,
        *,
        author_id: str,
        debited_wallet_id: str,
        credited_wallet_id: str,
        credited_user_id: str,
        amount_cents: int,
        tag: str,
        idempotency_key: str,
    ) -> Transfer:
        """Moves ``amount_cents`` from one wallet to another, without fees.
        ``author_id`` owns the debited wallet, ``credited_user_id`` the credited one. A
        retry with the same key returns the transfer the first request made.

        :raise PaymentError: the provider refused it (insufficient balance, author not
            the wallet owner …), now or the first time this key was used, or could not
            be reached.
        """
        ...

    def get_transfer(self, transfer_id: str) -> Transfer: ...


_HOOK_EVENT = re.compile(r"[A-Z][A-Z0-9_]{0,99}")
_HOOK_RESOURCE = re.compile(r"[A-Za-z0-9_-]{1,100}")


def parse_hook(args: Mapping[str, str]) -> tuple[str, str] | None:
    """Mangopay calls our hook URL with GET ?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=123&Date=...;
    return (event_type, resource_id) or None when malformed. A hook is only a hint: callers fetch the pay-in again.

    (Mangopay spells the parameter ``RessourceId``.) ``Date`` is not checked: an
    unsigned GET proves nothing, so nothing in it is trusted beyond "look at this id".
    """
    event_type = args.get("EventType")
    resource_id = args.get("RessourceId")
    if not isinstance(event_type, str) or not isinstance(resource_id, str):
        return None
    if not _HOOK_EVENT.fullmatch(event_type) or not _HOOK_RESOURCE.fullmatch(resource_id):
        return None
    return event_type, resource_id

"""The customer file's CSV import (preview, then confirm) and export.

Import: a row per customer; columns are recognised by French or English headers;
each bad row gets its French reasons; rows with the same email are merged (first
non-empty value wins) and an existing customer with that email is updated, never
duplicated. Export: every cell that a spreadsheet would run as a formula (starting
with = + - @, tab or carriage return) is prefixed with an apostrophe (OWASP "CSV
injection").
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CustomerKind, EstateCustomer

MAX_ROWS = 5000
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
HEADERS = {
    "email": "email", "e-mail": "email", "courriel": "email", "mail": "email",
    "prenom": "first_name", "prénom": "first_name", "first_name": "first_name", "firstname": "first_name",
    "nom": "last_name", "last_name": "last_name", "lastname": "last_name",
    "telephone": "phone", "téléphone": "phone", "tel": "phone", "phone": "phone",
    "societe": "company", "société": "company", "company": "company",
    "adresse": "billing_street", "address": "billing_street",
    "code_postal": "billing_postcode", "code postal": "billing_postcode", "cp": "billing_postcode", "postcode": "billing_postcode",
    "ville": "billing_city", "commune": "billing_city", "city": "billing_city",
    "pays": "billing_country", "country": "billing_country",
    "type": "kind", "numero_client": "external_number", "numéro client": "external_number", "n° client": "external_number",
    "customer_number": "external_number", "notes": "notes",
    # issue 14: consent to the newsletter, "oui" records it (source "import"); "non" or empty changes nothing
    "newsletter": "newsletter", "lettre": "newsletter", "lettre_information": "newsletter",
    "lettre d'information": "newsletter",
}
NEWSLETTER_YES = ("oui", "o", "yes", "y", "1", "x", "vrai", "true")
NEWSLETTER_NO = ("", "non", "n", "no", "0", "faux", "false")
FIELDS = ["email", "first_name", "last_name", "phone", "company", "billing_street", "billing_postcode",
          "billing_city", "billing_country", "kind", "external_number", "notes"]
LIMITS = {"email": 254, "first_name": 80, "last_name": 80, "phone": 30, "company": 140, "billing_street": 200,
          "billing_postcode": 10, "billing_city": 100, "external_number": 40, "notes": 5000}


class UnreadableFile(ValueError):
    """Not a CSV we can read; ``reason``: encoding, empty, no_email_column, too_many_rows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Row:
    line: int  #: line number in the file (the header is line 1)
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    merged_into: int | None = None  #: line of the row with the same email
    existing: bool = False  #: updates a customer already in the file

    @property
    def ok(self) -> bool:
        return not self.errors


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("encoding")


def parse(session: Session, text: str) -> list[Row]:
    """Read and check every row; writes nothing. :raise UnreadableFile:"""
    if not text.strip():
        raise UnreadableFile("empty")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [HEADERS.get(h.strip().lower().replace("\ufeff", "")) for h in next(reader, [])]
    if "email" not in header:
        raise UnreadableFile("no_email_column")
    existing = {e.lower() for e in session.scalars(select(EstateCustomer.email))}
    rows: list[Row] = []
    first_line_of: dict[str, int] = {}
    for number, cells in enumerate(reader, start=2):
        if number > MAX_ROWS + 1:
            raise UnreadableFile("too_many_rows")
        if not any(c.strip() for c in cells):
            continue
        values = {name: cells[i].strip() for i, name in enumerate(header) if name and i < len(cells)}
        row = Row(number, values)
        _check(row)
        email = values.get("email", "").lower()
        values["email"] = email
        if row.ok and email in first_line_of:
            row.merged_into = first_line_of[email]
        elif row.ok:
            first_line_of[email] = number
            row.existing = email in existing
        rows.append(row)
    return rows


def _check(row: Row) -> None:
    values = row.values
    if not EMAIL.match(values.get("email", "")):
        row.errors.append(f"Ligne {row.line} : adresse email invalide « {values.get('email', '')[:60]} ».")
    country = (values.get("billing_country") or "FR").strip().upper()
    if country == "FRANCE":
        country = "FR"
    if not re.fullmatch(r"[A-Z]{2}", country):
        row.errors.append(f"Ligne {row.line} : pays « {country[:20]} » : indiquez le code à deux lettres (FR, BE, CH…).")
        country = "FR"
    values["billing_country"] = country
    postcode = values.get("billing_postcode", "")
    if postcode and values["billing_country"] == "FR" and not re.fullmatch(r"\d{5}", postcode):
        row.errors.append(f"Ligne {row.line} : code postal français invalide « {postcode[:20]} » (5 chiffres).")
    kind = values.get("kind", "").lower()
    if kind and kind not in ("particulier", "professionnel", "pro"):
        row.errors.append(f"Ligne {row.line} : type « {kind[:20]} » inconnu (particulier ou professionnel).")
    if values.get("newsletter", "").lower() not in NEWSLETTER_YES + NEWSLETTER_NO:
        row.errors.append(f"Ligne {row.line} : lettre d'information « {values['newsletter'][:20]} » : "
                          "indiquez oui ou non.")
    for name, limit in LIMITS.items():
        if len(values.get(name, "")) > limit:
            row.errors.append(f"Ligne {row.line} : le champ {name} dépasse {limit} caractères.")


def apply(session: Session, estate_id: int, rows: list[Row]) -> tuple[int, int]:
    """Write the good rows (merging duplicates by email); returns (created, updated)."""
    created = updated = 0
    by_email: dict[str, EstateCustomer] = {c.email.lower(): c for c in session.scalars(select(EstateCustomer))}
    for row in rows:
        if not row.ok:
            continue
        email = row.values["email"]
        customer = by_email.get(email)
        if customer is None:
            customer = EstateCustomer(estate_id=estate_id, email=email)
            session.add(customer)
            by_email[email] = customer
            created += 1
        elif row.merged_into is None:
            updated += 1
        for name in FIELDS[1:]:
            value = row.values.get(name, "")
            if name == "kind":
                if value:
                    customer.kind = CustomerKind.PROFESSIONNEL if value.lower().startswith("pro") else CustomerKind.PARTICULIER
                continue
            if value and not getattr(customer, name, ""):
                setattr(customer, name, value)
            elif value and row.merged_into is None and name != "notes":
                setattr(customer, name, value)
        if row.values.get("newsletter", "").lower() in NEWSLETTER_YES:
            from models import utcnow
            from services.mailings import give_consent

            give_consent(customer, "import", utcnow())
    session.flush()
    return created, updated


DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def export(session: Session) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["email", "prenom", "nom", "telephone", "societe", "adresse", "code_postal", "ville", "pays",
                     "type", "numero_client", "avoir_fidelite", "notes"])
    for c in session.scalars(select(EstateCustomer).order_by(EstateCustomer.last_name, EstateCustomer.email)):
        writer.writerow([neutralise(v) for v in (
            c.email, c.first_name, c.last_name, c.phone, c.company, c.billing_street, c.billing_postcode,
            c.billing_city, c.billing_country, c.kind.value, c.external_number,
            f"{c.loyalty_balance_cents / 100:.2f}".replace(".", ","), c.notes)])
    return out.getvalue()


def invite_without_account(session: Session, estate, emails: list[str], secret_key: str, public_url: str) -> int:  # type: ignore[no-untyped-def]
    """Imported customers with no login get an account with an unusable password and an
    email whose link lets them choose one (the password-reset token, valid one hour
    after sending... and renewable from "mot de passe oublié")."""
    import secrets

    from services import accounts, mail

    invited = 0
    customers = session.scalars(select(EstateCustomer).where(EstateCustomer.email.in_(set(emails)),
                                                             EstateCustomer.user_id.is_(None))).all()
    for customer in customers:
        user = accounts.find_user_by_email(session, customer.email)
        if user is not None:
            customer.user_id = user.id  # already has a login elsewhere on the platform
            continue
        user = accounts.register_user(session, email=customer.email, password=secrets.token_urlsafe(32),
                                      first_name=customer.first_name, last_name=customer.last_name)
        customer.user_id = user.id
        link = public_url.rstrip("/") + "/compte/reinitialiser/" + accounts.make_reset_token(secret_key, user)
        mail.queue_template(session, "invitation", recipient=customer.email, estate_id=estate.id,
                            subject=f"{estate.name} vous ouvre sa boutique en ligne", customer=customer,
                            estate=estate, link=link)
        invited += 1
    session.flush()
    return invited

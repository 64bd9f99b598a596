"""The accounting export: an estate's sales, VAT, credit notes and payments of a period
as balanced double-entry postings, written as an FEC file or a simple CSV.

Entries (amounts in integer cents, written with a decimal comma):

- an invoice issued in the period (ours or one uploaded from the estate's own software,
  whose lines are the order's), journal ``estate.journal_sales``: debit the customers'
  account (its auxiliary account names the customer) with the TTC; credit the sales
  account with the goods HT (gifts and discounts netted in), the shipping account with
  the shipping lines' HT, the VAT account with the VAT, one line per rate;
- a credit note issued in the period: the same entry reversed (a credit note cancels
  its whole invoice, services.invoicing);
- a payment that succeeded in the period, journal ``estate.journal_bank``: debit the
  bank with the amount less the provider's fee, the fees account with the fee, credit
  the customer. Refunds do not exist in Chai (an order paid then cancelled is settled
  outside it), so no entry gives money back.

An amount whose sign is the other way round (a discount larger than the goods at one
rate) goes to the other column; a nil line is left out, and so is an entry with no
line left. Every entry balances because each order line is split exactly HT + VAT =
TTC (services.quote). EcritureNum counts from 1 per journal within the export, in date
order.

The FEC follows article A47 A-1 of the Livre des procédures fiscales: the 18 columns
in order, tab-separated, dates YYYYMMDD, encoded in ISO-8859-15 (the standard the
article names; a character outside it is transliterated), CRLF line ends, named
``<SIREN>FEC<end of period YYYYMMDD>.txt``. Its wording is French whatever the
interface language: it is a French tax record.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Estate, EstateCustomer, Invoice, InvoiceKind, Order, Payment, PaymentMode, PaymentStatus, User
from services import audit
from services.customer_file import neutralise
from services.pricing import format_euros_plain
from services.statistics import iso_date
from services.templating import PARIS

MAX_DAYS = 366  #: one fiscal year at most (a leap year's)

FEC_COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
               "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
               "ValidDate", "Montantdevise", "Idevise")
FEC_SEPARATOR = "\t"
FEC_ENCODING = "iso-8859-15"

#: the estate's columns holding its accounts and journal codes, in the form's order
ACCOUNT_FIELDS = ("account_customers", "account_sales", "account_shipping", "account_vat", "account_bank",
                  "account_fees")
JOURNAL_FIELDS = ("journal_sales", "journal_bank")
SETTINGS_FIELDS = ACCOUNT_FIELDS + JOURNAL_FIELDS
_ACCOUNT = re.compile(r"\d{3,10}")
_JOURNAL = re.compile(r"[A-Z0-9]{1,10}")

#: account titles (CompteLib): French, like the whole FEC
ACCOUNT_TITLES = {
    "account_customers": "Clients",
    "account_sales": "Ventes de vins",
    "account_shipping": "Port et frais accessoires facturés",
    "account_vat": "TVA collectée",
    "account_bank": "Banque",
    "account_fees": "Frais bancaires et commissions",
}
JOURNAL_TITLES = {"journal_sales": "Ventes", "journal_bank": "Banque"}
PAYMENT_WORDS = {PaymentMode.CARD: "carte", PaymentMode.TRANSFER: "virement", PaymentMode.CHEQUE: "chèque",
                 PaymentMode.CASH: "espèces"}


class InvalidPeriod(ValueError):
    """The period asked for is not usable; ``str(exc)`` is the French message."""


class InvalidSettings(ValueError):
    """Some accounts or journal codes are invalid; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


class MissingSiren(ValueError):
    """The estate has no SIRET: the FEC's file name needs its SIREN."""


# ----------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    start: date  #: first Paris day
    end: date  #: last Paris day, included

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 Paris, the day after end 00:00 Paris), in UTC."""
        return _utc(self.start), _utc(self.end + timedelta(days=1))


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(timezone.utc)


def paris_day(moment: datetime) -> date:
    if moment.tzinfo is None:  # SQLite hands back naive UTC when a column is read raw
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(PARIS).date()


def today(now: datetime | None = None) -> date:
    return paris_day(now or datetime.now(timezone.utc))


def presets(day: date) -> list[tuple[str, date, date]]:
    """(label, start, end) of the picker's shortcuts, for the Paris day ``day``."""
    month_start = day.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    quarter_start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter_start - timedelta(days=1)
    last_quarter_start = date(last_quarter_end.year, last_quarter_end.month - 2, 1)
    return [
        (_("Le mois dernier"), last_month_end.replace(day=1), last_month_end),
        (_("Ce mois-ci"), month_start, day),
        (_("Le trimestre dernier"), last_quarter_start, last_quarter_end),
        (_("Cette année"), date(day.year, 1, 1), day),
    ]


def default_period(day: date) -> Period:
    """Last month: what an accountant usually asks for."""
    _label, start, end = presets(day)[0]
    return Period(start, end)


def parse_period(du: str | None, au: str | None, day: date) -> Period:
    """The period of the query string (two ISO dates); neither given: last month.

    :raise InvalidPeriod: a date is missing or malformed, ends before it starts, or
        the period is longer than a year.
    """
    du, au = (du or "").strip(), (au or "").strip()
    if not du and not au:
        return default_period(day)
    if not du or not au:
        raise InvalidPeriod(_("Indiquez la date de début et la date de fin de la période."))
    start, end = _date(du), _date(au)
    if end < start:
        raise InvalidPeriod(_("La date de fin précède la date de début."))
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidPeriod(_("Une période d'export dure au plus %(days)s jours (un exercice).", days=MAX_DAYS))
    return Period(start, end)


def _date(raw: str) -> date:
    try:
        return iso_date(raw)
    except ValueError:
        raise InvalidPeriod(_("« %(value)s » n'est pas une date (AAAA-MM-JJ).", value=raw[:20])) from None


# ----------------------------------------------------------------- entries


@dataclass(frozen=True)
class Line:
    account: str  #: CompteNum
    account_title: str  #: CompteLib
    aux_number: str  #: CompAuxNum, the customer on the customers' account, else ""
    aux_title: str  #: CompAuxLib
    label: str  #: EcritureLib
    debit_cents: int
    credit_cents: int


@dataclass(frozen=True)
class Entry:
    journal: str  #: JournalCode
    journal_title: str  #: JournalLib
    number: int  #: EcritureNum, from 1 per journal within the export
    day: date  #: EcritureDate = PieceDate = ValidDate (recorded by Chai when it happened)
    piece: str  #: PieceRef: invoice or credit note number, the order number for a payment
    label: str
    moment: datetime  #: for the order of the file
    lines: tuple[Line, ...] = ()

    @property
    def debit_cents(self) -> int:
        return sum(line.debit_cents for line in self.lines)

    @property
    def credit_cents(self) -> int:
        return sum(line.credit_cents for line in self.lines)


@dataclass(frozen=True)
class JournalTotal:
    code: str
    title: str
    entries: int
    debit_cents: int
    credit_cents: int


@dataclass(frozen=True)
class Export:
    estate_id: int
    period: Period
    entries: list[Entry] = field(default_factory=list)

    @property
    def journals(self) -> list[JournalTotal]:
        totals: dict[tuple[str, str], list[int]] = {}
        for entry in self.entries:
            row = totals.setdefault((entry.journal, entry.journal_title), [0, 0, 0])
            row[0] += 1
            row[1] += entry.debit_cents
            row[2] += entry.credit_cents
        rows = [JournalTotal(code, title, *row) for (code, title), row in totals.items()]
        return sorted(rows, key=lambda row: row.title != JOURNAL_TITLES["journal_sales"])  # sales first

    @property
    def debit_cents(self) -> int:
        return sum(entry.debit_cents for entry in self.entries)

    @property
    def credit_cents(self) -> int:
        return sum(entry.credit_cents for entry in self.entries)


class _Accounts:
    """The estate's accounts and journals, read once."""

    def __init__(self, estate: Estate) -> None:
        self.number = {name: getattr(estate, name) for name in ACCOUNT_FIELDS}
        self.sales_journal = estate.journal_sales
        self.bank_journal = estate.journal_bank

    def line(self, name: str, signed_cents: int, label: str, aux: tuple[str, str] = ("", "")) -> Line | None:
        """A debit when ``signed_cents`` > 0, a credit when < 0, nothing when nil."""
        if not signed_cents:
            return None
        return Line(self.number[name], ACCOUNT_TITLES[name], aux[0], aux[1], label,
                    max(signed_cents, 0), max(-signed_cents, 0))


def clean(text: object, limit: int = 200) -> str:
    """A field that holds no separator (tab, "|", ";" is left: the CSV quotes it), no line
    break nor control character, on one line of single spaces."""
    value = "".join(" " if unicodedata.category(c)[0] == "C" or c == "|" else c for c in str(text or ""))
    return " ".join(value.split())[:limit]


def _customer_aux(customer: EstateCustomer, order: Order) -> tuple[str, str]:
    """CompAuxNum: the number of the estate's own software when the customer file has one
    (the accountant knows it), else "C" and our id; CompAuxLib: the customer's name."""
    number = re.sub(r"[^A-Za-z0-9._-]", "", customer.external_number or "")[:17] or f"C{customer.id}"
    name = customer.company or " ".join(p for p in (customer.first_name, customer.last_name) if p)
    return number, clean(name or order.billing_company or order.billing_name, 100)


def _buyer(order: Order) -> str:
    return clean(order.billing_company or order.billing_name, 100)


def _invoice_lines(accounts: _Accounts, invoice: Invoice, order: Order, label: str,
                   aux: tuple[str, str]) -> list[Line]:
    """The invoice's lines (sign +1), or the credit note's (sign -1): the order's lines."""
    sign = -1 if invoice.kind is InvoiceKind.CREDIT_NOTE else 1
    goods = sum(line.ht_cents for line in order.lines if line.kind != "shipping" and not line.is_shipping)
    shipping = sum(line.ht_cents for line in order.lines if line.kind == "shipping" or line.is_shipping)
    vat: dict[int, int] = defaultdict(int)
    for line in order.lines:
        vat[line.vat_rate_bp] += line.vat_cents
    ttc = goods + shipping + sum(vat.values())  # = the lines' TTC (HT + VAT = TTC on each line)
    several = len([rate for rate, cents in vat.items() if cents]) > 1
    lines = [accounts.line("account_customers", sign * ttc, label, aux),
             accounts.line("account_sales", -sign * goods, label),
             accounts.line("account_shipping", -sign * shipping, label)]
    for rate in sorted(vat, reverse=True):
        lines.append(accounts.line("account_vat", -sign * vat[rate],
                                   f"{label} TVA {_rate(rate)} %" if several else label))
    return [line for line in lines if line is not None]


def _rate(rate_bp: int) -> str:
    whole, frac = divmod(rate_bp, 100)
    return f"{whole},{frac:02d}".rstrip("0").rstrip(",")


def build(session: Session, estate: Estate, period: Period) -> Export:
    """The estate's entries of the period, sales journal then bank journal numbering,
    the whole in date order."""
    accounts = _Accounts(estate)
    low, high = period.bounds()
    sales: list[Entry] = []
    invoices = session.execute(
        select(Invoice, Order).join(Order, Order.id == Invoice.order_id)
        .where(Invoice.estate_id == estate.id, Order.estate_id == estate.id,
               Invoice.issued_at >= low, Invoice.issued_at < high)
        .options(selectinload(Order.lines), selectinload(Order.customer))
        .order_by(Invoice.issued_at, Invoice.id)).all()
    for invoice, order in invoices:
        word = "Avoir" if invoice.kind is InvoiceKind.CREDIT_NOTE else "Facture"
        label = clean(f"{word} {invoice.number} {_buyer(order)}")
        aux = _customer_aux(order.customer, order)
        sales.append(Entry(accounts.sales_journal, JOURNAL_TITLES["journal_sales"], 0,
                           paris_day(invoice.issued_at), clean(invoice.number, 40), label, invoice.issued_at,
                           tuple(_invoice_lines(accounts, invoice, order, label, aux))))
    bank: list[Entry] = []
    payments = session.execute(
        select(Payment, Order).join(Order, Order.id == Payment.order_id)
        .where(Payment.estate_id == estate.id, Order.estate_id == estate.id,
               Payment.status == PaymentStatus.SUCCEEDED, Payment.succeeded_at >= low, Payment.succeeded_at < high)
        .options(selectinload(Order.customer))
        .order_by(Payment.succeeded_at, Payment.id)).all()
    for payment, order in payments:
        label = clean(f"Règlement {PAYMENT_WORDS.get(payment.mode, '')} {order.number} {_buyer(order)}")
        fee = min(max(payment.fee_cents or 0, 0), payment.amount_cents)
        lines = [accounts.line("account_bank", payment.amount_cents - fee, label),
                 accounts.line("account_fees", fee, label),
                 accounts.line("account_customers", -payment.amount_cents, label, _customer_aux(order.customer, order))]
        bank.append(Entry(accounts.bank_journal, JOURNAL_TITLES["journal_bank"], 0,
                          paris_day(payment.succeeded_at), clean(order.number, 40), label, payment.succeeded_at,
                          tuple(line for line in lines if line is not None)))
    entries = [replace(entry, number=number)  # numbered once the nil entries are left out: no gap
               for journal in (sales, bank)
               for number, entry in enumerate((entry for entry in journal if entry.lines), start=1)]
    entries.sort(key=lambda e: (e.moment, e.journal != accounts.sales_journal, e.number))
    return Export(estate.id, period, entries)


# ----------------------------------------------------------------- files


def _amount(cents: int) -> str:
    return format_euros_plain(cents)


def siren(estate: Estate) -> str:
    """:raise MissingSiren: the estate's SIRET does not start with 9 digits."""
    digits = re.sub(r"\s", "", estate.siret or "")[:9]
    if not re.fullmatch(r"\d{9}", digits):
        raise MissingSiren(estate.slug)
    return digits


def fec_filename(estate: Estate, period: Period) -> str:
    """:raise MissingSiren:"""
    return f"{siren(estate)}FEC{period.end:%Y%m%d}.txt"


#: letters that Unicode does not decompose into a plain letter and an accent
_PLAIN_LETTERS = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
                                "ı": "i", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def _fec_text(value: str) -> str:
    """ISO-8859-15 can hold French; anything else loses its accent, or becomes "?"."""
    try:
        value.encode(FEC_ENCODING)
        return value
    except UnicodeEncodeError:
        pass
    out = []
    for char in value:
        try:
            char.encode(FEC_ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char.translate(_PLAIN_LETTERS)).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


def fec_rows(export: Export) -> Iterable[list[str]]:
    """The 18 fields of each line, in FEC_COLUMNS order (the header not included)."""
    for entry in export.entries:
        day = f"{entry.day:%Y%m%d}"
        for line in entry.lines:
            yield [entry.journal, entry.journal_title, str(entry.number), day, line.account, line.account_title,
                   line.aux_number, line.aux_title, entry.piece, day, line.label, _amount(line.debit_cents),
                   _amount(line.credit_cents), "", "", day, "", ""]


def to_fec(export: Export) -> bytes:
    lines = [FEC_SEPARATOR.join(FEC_COLUMNS)]
    for row in fec_rows(export):
        lines.append(FEC_SEPARATOR.join(_fec_text(clean(value)) for value in row))
    return ("\r\n".join(lines) + "\r\n").encode(FEC_ENCODING)


def csv_headers() -> list[str]:
    return [pgettext("comptabilité", "Journal"), _("Date"), _("N° pièce"), _("Compte"), _("Libellé compte"), _("Compte auxiliaire"),
            _("Libellé"), _("Débit"), _("Crédit")]


def to_csv(export: Export) -> bytes:
    """``;``-separated, UTF-8 with a BOM (Excel reads the accents), CRLF, decimal comma,
    dates DD/MM/YYYY; text cells a spreadsheet would run as a formula are neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_headers())
    for entry in export.entries:
        for line in entry.lines:
            writer.writerow([neutralise(entry.journal), f"{entry.day:%d/%m/%Y}", neutralise(entry.piece),
                             neutralise(line.account), neutralise(line.account_title),
                             neutralise(line.aux_number), neutralise(line.label),
                             _amount(line.debit_cents), _amount(line.credit_cents)])
    return out.getvalue().encode("utf-8")


def csv_filename(estate: Estate, period: Period) -> str:
    return f"ecritures-{estate.slug}-{period.start.isoformat()}-{period.end.isoformat()}.csv"


# ----------------------------------------------------------------- settings


def settings_of(estate: Estate) -> dict[str, str]:
    return {name: getattr(estate, name) for name in SETTINGS_FIELDS}


def validate_settings(form: dict[str, str]) -> dict[str, str]:
    """The cleaned values. :raise InvalidSettings: with a French message per bad field."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in ACCOUNT_FIELDS:
        value = re.sub(r"\s", "", form.get(name) or "")
        if not _ACCOUNT.fullmatch(value):
            errors[name] = _("Un numéro de compte s'écrit avec 3 à 10 chiffres, par exemple 411 ou 44571.")
        values[name] = value
    for name in JOURNAL_FIELDS:
        value = (form.get(name) or "").strip().upper()
        if not _JOURNAL.fullmatch(value):
            errors[name] = _("Un code journal s'écrit avec 1 à 10 lettres ou chiffres, par exemple VE ou BQ.")
        values[name] = value
    if not errors and values["journal_sales"] == values["journal_bank"]:
        errors["journal_bank"] = _("Le journal de banque doit avoir un autre code que le journal des ventes.")
    if errors:
        raise InvalidSettings(errors)
    return values


def update_settings(session: Session, estate: Estate, actor: User | None, form: dict[str, str]) -> bool:
    """Set the estate's accounts and journals, written to the audit log. Returns whether
    anything changed. :raise InvalidSettings: nothing is changed."""
    values = validate_settings(form)
    before = settings_of(estate)
    for name, value in values.items():
        setattr(estate, name, value)
    entry = audit.record(session, estate.id, actor, "accounting.settings", estate, before, settings_of(estate), "")
    session.flush()
    return entry is not None


def record_export(session: Session, estate: Estate, actor: User | None, export: Export, filename: str) -> None:
    """An export holds customers' names: who took which, in the audit log."""
    audit.record(session, estate.id, actor, "accounting.export", None, {},
                 {"period": f"{export.period.start.isoformat()} / {export.period.end.isoformat()}",
                  "entries": len(export.entries)}, filename, only_changes=False)

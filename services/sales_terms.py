"""The estate's CGV (conditions générales de vente, issue 15): a template with the
mentions French consumer law requires of a distance sale of wine, which the vigneron
completes (mediator, returns, delivery details, primeur clause …), published as
immutable versions.

* The seller's identity, prices, payment modes, delivery modes and delays come from
  the estate at publication; the vigneron's answers (:class:`Completions`) are kept as
  JSON in ``SalesTerms.fields``; the whole text in ``body``; its PDF in ``pdf``,
  rendered once (``templates/pdf/sales_terms.html``). The database refuses UPDATE and
  DELETE of ``sales_terms`` rows (migration 0018): publishing again makes version n + 1.
* The version in force is the latest published. Every customer order keeps the one in
  force when it was placed (``Order.sales_terms_id``, :func:`in_force_for_order`) and
  its confirmation carries that PDF (``sales_terms:<id>``, services.documents.resolve).
* An estate that never published gets version 1 from the template, with its own data
  and empty answers, at its first order (its mediator then reads "à compléter", which
  the back office flags): every order has a version, whatever the vigneron did.
* The estate's particular conditions (``Estate.sales_conditions_fr``/``_export``, the
  price lists' ``sales_conditions``) stay apart: they change without a new version and
  the order keeps them as accepted (``Order.sales_conditions``); the CGV's article
  "Conditions particulières" says they complete these and prevail over them.

The text is a legal document in French, like the other PDFs: it is not translated.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from models import Estate, SalesTerms, User
from services.sequences import take_next

#: the counter of services.sequences that numbers the versions (1, 2, 3 … per estate)
SEQUENCE = "sales-terms"
#: what the text says where the vigneron has not answered yet
TO_COMPLETE = "[à compléter par le vendeur]"
RETURN_COSTS = ("buyer", "estate")
#: field → longest answer kept
MAX_LENGTHS = {"mediator_name": 200, "mediator_address": 500, "mediator_url": 255, "return_address": 500,
               "delivery_details": 3000, "excise_note": 2000, "privacy_url": 255, "extra_clauses": 20000}
_URL = re.compile(r"https?://[^\s/]+\.[^\s]+", re.IGNORECASE)
#: control characters (NUL among them, which PostgreSQL's text refuses) are dropped; newlines and tabs stay
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

COUNTRY_NAMES = {
    "FR": "France", "BE": "Belgique", "LU": "Luxembourg", "DE": "Allemagne", "NL": "Pays-Bas", "IT": "Italie",
    "ES": "Espagne", "PT": "Portugal", "AT": "Autriche", "IE": "Irlande", "DK": "Danemark", "SE": "Suède",
    "FI": "Finlande", "PL": "Pologne", "CZ": "Tchéquie", "SK": "Slovaquie", "SI": "Slovénie", "HR": "Croatie",
    "HU": "Hongrie", "RO": "Roumanie", "BG": "Bulgarie", "GR": "Grèce", "CY": "Chypre", "MT": "Malte",
    "EE": "Estonie", "LV": "Lettonie", "LT": "Lituanie", "CH": "Suisse", "GB": "Royaume-Uni", "MC": "Monaco",
}


class InvalidSalesTerms(ValueError):
    """The vigneron's answers break a rule: ``errors`` maps a field to a code
    ("required", "too_long", "url", "choice")."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Completions:
    """The template's answers, what the vigneron completes."""

    mediator_name: str = ""
    mediator_address: str = ""
    mediator_url: str = ""
    return_address: str = ""  #: after the seller's name; "" : the estate's address
    return_costs: str = "buyer"  #: who pays the return after a withdrawal: "buyer" or "estate"
    delivery_details: str = ""  #: carriers, zones, packaging …
    primeur_clause: bool = False  #: the estate sells wines en primeur (L221-28 12°)
    excise_note: str = ""  #: "" : the default sentence on excise for other EU countries
    privacy_url: str = ""  #: the estate's privacy notice, if it has one
    extra_clauses: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Completions":
        try:
            values = json.loads(text or "{}")
        except ValueError:
            values = {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values if isinstance(values, dict) else {}).items() if k in known})

    @property
    def mediator_missing(self) -> bool:
        return not (self.mediator_name and self.mediator_address and self.mediator_url)


def validate(values: dict[str, object]) -> Completions:
    """The answers of the back-office form, cleaned (the mediator is required: L612-1 of
    the Code de la consommation).

    :raise InvalidSalesTerms: with every faulty field.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, object] = {}
    for name, limit in MAX_LENGTHS.items():
        text = _CONTROL.sub("", str(values.get(name) or "").replace("\r\n", "\n")).strip()
        if len(text) > limit:
            errors[name] = "too_long"
        cleaned[name] = text
    for name in ("mediator_name", "mediator_address", "mediator_url"):
        if not cleaned[name] and name not in errors:
            errors[name] = "required"
    for name in ("mediator_url", "privacy_url"):
        if cleaned[name] and name not in errors and (not _URL.fullmatch(str(cleaned[name]))):
            errors[name] = "url"
    return_costs = str(values.get("return_costs") or "")
    if return_costs not in RETURN_COSTS:
        errors["return_costs"] = "choice"
    if errors:
        raise InvalidSalesTerms(errors)
    return Completions(return_costs=return_costs, primeur_clause=bool(values.get("primeur_clause")),
                       **cleaned)  # type: ignore[arg-type]


# ------------------------------------------------------------------ reading


def latest(session: Session, estate_id: int) -> SalesTerms | None:
    """The version in force: the latest published."""
    return session.scalars(select(SalesTerms).where(SalesTerms.estate_id == estate_id)
                           .order_by(SalesTerms.version.desc()).limit(1)).first()


def by_version(session: Session, estate_id: int, version: int) -> SalesTerms | None:
    return session.scalars(select(SalesTerms).where(SalesTerms.estate_id == estate_id,
                                                    SalesTerms.version == version)).first()


def get(session: Session, estate_id: int, sales_terms_id: int) -> SalesTerms | None:
    return session.scalars(select(SalesTerms).where(SalesTerms.estate_id == estate_id,
                                                    SalesTerms.id == sales_terms_id)).first()


@dataclass(frozen=True)
class VersionRow:
    id: int
    version: int
    published_at: datetime
    published_by: str  #: "" : published automatically (first order)
    mediator_missing: bool


def versions(session: Session, estate_id: int) -> list[VersionRow]:
    """Every published version, newest first, without their PDFs."""
    rows = session.execute(
        select(SalesTerms.id, SalesTerms.version, SalesTerms.published_at, SalesTerms.fields,
               User.first_name, User.last_name, User.email)
        .outerjoin(User, User.id == SalesTerms.published_by_user_id)
        .where(SalesTerms.estate_id == estate_id).order_by(SalesTerms.version.desc())).all()
    return [VersionRow(r.id, r.version, r.published_at,
                       (f"{r.first_name or ''} {r.last_name or ''}".strip() or r.email or ""),
                       Completions.from_json(r.fields).mediator_missing) for r in rows]


def completions_of(terms: SalesTerms | None, estate: Estate) -> Completions:
    """The answers to start the form from: the version in force's, else the defaults."""
    return Completions.from_json(terms.fields) if terms is not None else default_completions(estate)


def default_completions(estate: Estate) -> Completions:
    return Completions()


def version_of_order(session: Session, order) -> SalesTerms | None:  # type: ignore[no-untyped-def]
    """The version the order's buyer accepted (None: an order without, such as a gift)."""
    if order.sales_terms_id is None:
        return None
    return session.scalars(select(SalesTerms).options(load_only(SalesTerms.id, SalesTerms.version))
                           .where(SalesTerms.estate_id == order.estate_id, SalesTerms.id == order.sales_terms_id)
                           ).first()


def needs_completion(session: Session, estate_id: int) -> bool:
    """The estate never published its CGV, or the version in force names no mediator."""
    fields_json = session.scalars(select(SalesTerms.fields).where(SalesTerms.estate_id == estate_id)
                                  .order_by(SalesTerms.version.desc()).limit(1)).first()
    return fields_json is None or Completions.from_json(fields_json).mediator_missing


def version_numbers(session: Session, ids: list[int | None]) -> dict[int, int]:
    """{version id: version number} of these versions, whatever their estate (the
    customer area lists orders of every estate: platform code)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(session.execute(select(SalesTerms.id, SalesTerms.version).where(SalesTerms.id.in_(wanted))
                                .execution_options(all_estates=True)).tuples().all())


# ------------------------------------------------------------------ publishing


def publish(session: Session, estate: Estate, completions: Completions, *, user: User | None,
            now: datetime) -> SalesTerms:
    """Publish the next version: its number taken from the estate's counter (a guarded
    UPDATE, held until commit: two publications at once get 1 and 2, never the same),
    its text and its PDF rendered now, once. Needs an application context (the PDF)."""
    version = take_next(session, estate.id, SEQUENCE)
    return _insert(session, estate, completions, version, user, now)


def in_force_for_order(session: Session, estate: Estate, now: datetime) -> int:
    """The id of the version an order placed now accepts: the latest, or version 1
    published from the template with the estate's data when the estate never published
    one. (Ids only: the checkout does not read the PDFs.)

    Two first orders at once publish one version 1: the counter's row lock (PostgreSQL)
    or the write lock (SQLite) makes the second wait for the first's commit, then it
    finds that version and gives its number back (its savepoint rolls back).
    """
    found = _latest_id(session, estate.id)
    if found is not None:
        return found
    savepoint = session.begin_nested()
    version = take_next(session, estate.id, SEQUENCE)
    found = _latest_id(session, estate.id)  # published while we waited for the counter
    if found is not None:
        savepoint.rollback()
        return found
    terms = _insert(session, estate, default_completions(estate), version, None, now)
    savepoint.commit()
    from services import audit

    audit.record(session, estate.id, None, "sales_terms.auto_publish", terms, {}, {"version": terms.version},
                 f"CGV version {terms.version} publiée automatiquement à la première commande")
    return terms.id


def _latest_id(session: Session, estate_id: int) -> int | None:
    return session.scalars(select(SalesTerms.id).where(SalesTerms.estate_id == estate_id)
                           .order_by(SalesTerms.version.desc()).limit(1)).first()


def _insert(session: Session, estate: Estate, completions: Completions, version: int, user: User | None,
            now: datetime) -> SalesTerms:
    body = render_body(estate, completions)
    terms = SalesTerms(estate_id=estate.id, version=version, fields=completions.to_json(), body=body,
                       pdf=b"", published_at=now, published_by_user_id=user.id if user is not None else None)
    terms.pdf = render_pdf(estate, terms)
    session.add(terms)
    session.flush()
    return terms


def render_pdf(estate: Estate, terms: SalesTerms) -> bytes:
    from services.documents import _render

    return _render("pdf/sales_terms.html", estate=estate, terms=terms, blocks=blocks(terms.body))


def filename(terms: SalesTerms) -> str:
    return f"conditions-generales-de-vente-v{terms.version}.pdf"


# ------------------------------------------------------------------ the text


@dataclass(frozen=True)
class Block:
    heading: bool
    text: str


def blocks(body: str) -> list[Block]:
    """The text cut at its blank lines; "Article …" and "Annexe …" lines are headings."""
    found = []
    for chunk in re.split(r"\n{2,}", body.strip()):
        chunk = chunk.strip("\n")
        if chunk:
            found.append(Block(chunk.startswith(("Article ", "Annexe ")) and "\n" not in chunk, chunk))
    return found


def _euros(cents: int) -> str:
    units, rest = divmod(cents, 100)
    grouped = f"{units:,}".replace(",", "\u202f")
    return f"{grouped},{rest:02d} €" if rest else f"{grouped} €"


def _address(estate: Estate) -> str:
    line = ", ".join(p for p in (estate.street, f"{estate.postcode} {estate.city}".strip()) if p)
    if estate.country and estate.country != "FR":
        line += f" ({COUNTRY_NAMES.get(estate.country, estate.country)})"
    return line or TO_COMPLETE


def _countries(estate: Estate) -> list[str]:
    codes = [c for c in (estate.destination_countries or "FR").upper().split() if c]
    return [COUNTRY_NAMES.get(c, c) for c in codes] or ["France"]


def render_body(estate: Estate, c: Completions) -> str:
    """The whole text of the CGV for this estate and these answers (plain text: blocks
    separated by a blank line, see :func:`blocks`)."""
    seller = estate.legal_name or estate.name
    address = _address(estate)
    articles: list[tuple[str, list[str]]] = []

    def article(title: str, *paragraphs: str) -> None:
        articles.append((title, [p for p in paragraphs if p]))

    trade_name = f" ({estate.name})" if estate.legal_name and estate.legal_name != estate.name else ""
    identity = [f"Raison sociale : {seller}{trade_name}",
                f"Adresse : {address}",
                f"SIRET : {estate.siret or TO_COMPLETE}",
                f"Numéro de TVA intracommunautaire : {estate.vat_number or TO_COMPLETE}",
                f"Courriel : {estate.email or TO_COMPLETE}",
                f"Téléphone : {estate.phone or TO_COMPLETE}"]
    article("Objet et champ d'application",
            f"Les présentes conditions générales de vente (CGV) s'appliquent à toute vente de vins et de produits "
            f"conclue à distance sur la boutique en ligne de {estate.name} entre le vendeur désigné à l'article 2 "
            "et toute personne physique ou morale qui y passe commande (l'« acheteur »). Les dispositions "
            "propres aux consommateurs (droit de rétractation, garanties légales, médiation) s'appliquent aux "
            "acheteurs agissant à des fins qui n'entrent pas dans le cadre de leur activité professionnelle.",
            "L'acheteur déclare en avoir pris connaissance et les accepter avant de passer commande. Elles lui sont "
            "adressées en PDF, dans la version en vigueur au jour de la commande, avec la confirmation de celle-ci "
            "(support durable). Le vendeur peut les modifier à tout moment : chaque commande reste régie par la "
            "version acceptée lors de sa passation.")
    article("Identité du vendeur", "\n".join(identity))
    article("Vente d'alcool et protection des mineurs",
            "La vente de boissons alcooliques à des mineurs est interdite (article L3342-1 du Code de la santé "
            "publique). En passant commande, l'acheteur certifie avoir au moins 18 ans à cette date ; le vendeur "
            "peut demander une preuve de l'âge et refuser la vente ou la remise des produits à défaut. Le "
            "destinataire d'une livraison doit lui aussi être majeur.",
            "L'abus d'alcool est dangereux pour la santé, à consommer avec modération. Les boissons alcoolisées ne "
            "doivent pas être consommées par les femmes enceintes.")
    article("Produits",
            "Les vins proposés sont décrits sur leur fiche (appellation, millésime, couleur, titre alcoométrique, "
            "volume, allergènes, ingrédients et déclaration nutritionnelle lorsqu'elle est requise). Les offres "
            "valent dans la limite des stocks disponibles. Un millésime épuisé peut être remplacé par le suivant "
            "seulement avec l'accord de l'acheteur. Les photographies ne sont pas contractuelles.")
    minimum = (f" Le montant minimum de commande est de {_euros(estate.minimum_order_cents)} TTC."
               if estate.minimum_order_cents else "")
    article("Prix",
            "Les prix sont indiqués en euros. Pour les particuliers, ils s'entendent toutes taxes comprises "
            "(TTC : TVA française au taux en vigueur et droits d'accise et cotisation sécurité sociale sur les "
            "boissons alcooliques inclus), hors frais de livraison. Les vins sont vendus aux prix du tarif "
            "applicable à l'acheteur (tarif « Particuliers » par défaut ; les professionnels dont le compte est "
            "vérifié voient des prix hors taxes) en vigueur au moment de la commande." + minimum,
            "Les frais de livraison, calculés selon la destination et le nombre de bouteilles, ainsi que les "
            "remises éventuelles sont indiqués à l'acheteur avant la validation de la commande. Le prix total "
            "affiché au moment de la validation est le prix dû.")
    mixing = (f" Le panachage est possible par cartons de {estate.case_size} bouteilles."
              if estate.mixing_allowed else "")
    article("Commande",
            "L'acheteur choisit ses vins et les ajoute à son panier, puis indique ou crée son compte, son adresse "
            "de facturation et de livraison, choisit le mode de livraison et le mode de paiement, prend "
            "connaissance des présentes CGV et des conditions particulières, et valide la commande. Avant cette "
            "validation, il peut vérifier le détail et le prix total de sa commande et corriger ses erreurs."
            + mixing,
            "La validation de la commande vaut conclusion du contrat et obligation de paiement. Le vendeur en "
            "accuse réception sans délai par courriel, avec le bon de commande et les présentes CGV en PDF. Le "
            "vendeur peut refuser une commande pour un motif légitime (acheteur mineur, litige de paiement "
            "antérieur, quantité anormale).")
    modes = [label for flag, label in (
        (estate.accepts_card, "carte bancaire, par l'intermédiaire d'un prestataire de paiement sécurisé (le "
                              "vendeur n'a jamais connaissance des coordonnées de la carte)"),
        (estate.accepts_transfer, "virement bancaire, avec la référence indiquée après la commande"),
        (estate.accepts_cheque, "chèque à l'ordre de " + seller + ", envoyé à l'adresse du vendeur"),
        (estate.accepts_cash, "espèces, lors de l'enlèvement de la commande à la propriété"),
    ) if flag]
    article("Paiement",
            "Le vendeur accepte les modes de paiement suivants :\n" + "\n".join(f"– {m} ;" for m in modes)[:-2] + ".",
            "Le prix est payable à la commande. La commande est préparée après la réception du paiement"
            + (" (sauf paiement en espèces à l'enlèvement)" if estate.accepts_cash else "")
            + ". Les vins restent la propriété du vendeur jusqu'au paiement intégral du prix.")
    delay = estate.shipping_delay.strip() if estate.shipping_delay else ""
    countries = ", ".join(_countries(estate))
    free = (f" La livraison à domicile est offerte à partir de {_euros(estate.free_shipping_above_cents)} TTC "
            "de commande." if estate.free_shipping_above_cents else "")
    pickup = ""
    if estate.allows_pickup:
        pickup = f"Enlèvement à la propriété : la commande peut être retirée gratuitement au domaine, {address}."
        if estate.pickup_instructions:
            pickup += " " + estate.pickup_instructions.strip()
    article("Livraison",
            f"Le vendeur livre à domicile dans les pays suivants : {countries}. Une commande à destination d'un "
            "autre pays ne peut pas être acceptée." + free,
            (f"Délai : {delay}. " if delay else "")
            + "Sauf délai différent indiqué lors de la commande, les produits sont livrés au plus tard trente "
            "jours après la conclusion du contrat (article L216-1 du Code de la consommation). En cas de "
            "retard, l'acheteur peut, après avoir enjoint le vendeur de livrer dans un délai supplémentaire "
            "raisonnable, résoudre le contrat par écrit si la livraison n'a pas eu lieu dans ce délai "
            "(article L216-6).",
            pickup,
            "Livraison en mains propres : le vendeur peut proposer une remise en mains propres, dont les conditions "
            "sont précisées lors de la commande." if estate.allows_hand_delivery else "",
            c.delivery_details,
            "Les risques de perte ou d'endommagement des produits sont transférés au consommateur au moment où "
            "il (ou un tiers qu'il a désigné, autre que le transporteur proposé par le vendeur) prend "
            "physiquement possession des produits (article L216-4). L'acheteur vérifie le colis à la livraison "
            "et porte ses réserves précises sur le bon de livraison en cas de casse ou de colis endommagé ; il "
            "en informe le vendeur au plus vite.")
    article("Droits d'accise et ventes vers d'autres pays de l'Union européenne",
            "Les vins livrés en France voyagent droits d'accise acquittés, avec les mentions qui dispensent d'un "
            "document d'accompagnement pour une vente à distance à un particulier.",
            c.excise_note or "Pour une livraison à un particulier dans un autre État membre de l'Union "
            "européenne, les droits d'accise et les taxes sur les boissons alcooliques du pays de destination "
            "sont à la charge du vendeur, qui les acquitte dans ce pays (vente à distance de produits soumis à "
            "accise) ; ils sont compris dans le prix indiqué à l'acheteur.")
    return_address = f"{seller}, {c.return_address or address}"
    costs = ("Les frais de renvoi des produits sont à la charge de l'acheteur." if c.return_costs == "buyer"
             else "Les frais de renvoi des produits sont pris en charge par le vendeur.")
    article("Droit de rétractation",
            "Le consommateur dispose d'un délai de quatorze jours pour se rétracter, sans avoir à motiver sa "
            "décision ni à supporter d'autres coûts que ceux prévus ci-dessous (articles L221-18 et suivants du "
            "Code de la consommation). Ce délai court à compter de la réception des produits par le consommateur "
            "ou un tiers qu'il a désigné ; pour une commande de plusieurs produits livrés séparément, à compter "
            "de la réception du dernier.",
            "Pour exercer ce droit, le consommateur notifie sa décision au vendeur avant l'expiration du délai, "
            f"au moyen du formulaire type de rétractation figurant en annexe ou de toute autre déclaration dénuée "
            f"d'ambiguïté, par courrier à {return_address} ou par courriel à {estate.email or TO_COMPLETE}.",
            f"Il renvoie les produits, non ouverts et dans leur emballage d'origine, à {return_address}, sans "
            "retard excessif et au plus tard quatorze jours après la communication de sa décision. " + costs
            + " La responsabilité du consommateur n'est engagée qu'en cas de dépréciation des produits résultant "
            "de manipulations autres que celles nécessaires pour établir leur nature, leurs caractéristiques et "
            "leur bon fonctionnement (article L221-23) : une bouteille ouverte ne peut pas être reprise.",
            "Le vendeur rembourse la totalité des sommes versées, frais de livraison initiaux compris (dans la "
            "limite du mode de livraison standard le moins coûteux proposé), au plus tard quatorze jours à compter "
            "du jour où il est informé de la décision de rétractation (article L221-24), par le moyen de paiement "
            "utilisé pour la commande sauf accord de l'acheteur. Il peut différer le remboursement jusqu'à la "
            "récupération des produits ou jusqu'à ce que le consommateur ait fourni une preuve de leur expédition.")
    primeur = ("Les vins vendus en primeur par le vendeur, livrés plus de trente jours après la commande et dont le "
               "prix convenu dépend des fluctuations du marché, relèvent de cette exception : ils ne peuvent faire "
               "l'objet d'une rétractation." if c.primeur_clause else
               "Le vendeur ne propose pas à ce jour de vente en primeur ; si une telle offre est faite, elle le "
               "précisera expressément.")
    article("Exceptions au droit de rétractation",
            "Conformément à l'article L221-28 du Code de la consommation, le droit de rétractation ne peut être "
            "exercé notamment pour les contrats :\n"
            "– de fourniture de biens confectionnés selon les spécifications du consommateur ou nettement "
            "personnalisés (3°), tels que des bouteilles à étiquette personnalisée ;\n"
            "– de fourniture de boissons alcoolisées dont la livraison est différée au-delà de trente jours et "
            "dont la valeur convenue à la conclusion du contrat dépend de fluctuations sur le marché échappant au "
            "contrôle du professionnel (12°).",
            primeur)
    article("Garanties légales",
            "Le vendeur est tenu de la garantie légale de conformité (articles L217-3 et suivants du Code de la "
            "consommation) et de la garantie des vices cachés (articles 1641 à 1649 du Code civil).",
            "Le consommateur dispose d'un délai de deux ans à compter de la délivrance du bien pour obtenir la "
            "mise en œuvre de la garantie légale de conformité en cas d'apparition d'un défaut de conformité. "
            "Durant ce "
            "délai, il n'est tenu d'établir que l'existence du défaut de conformité et non la date d'apparition "
            "de celui-ci. La garantie légale de conformité emporte obligation de fournir toutes les mises à jour "
            "nécessaires au maintien de la conformité du bien lorsqu'il s'agit d'un bien comportant des éléments "
            "numériques. Elle donne au consommateur droit à la réparation ou au remplacement du bien sans frais "
            "ni inconvénient majeur pour lui ; si la mise en conformité est impossible ou refusée, il peut "
            "obtenir une réduction du prix en conservant le bien, ou mettre fin au contrat en se faisant "
            "rembourser intégralement contre restitution du bien (articles L217-9 à L217-17). Le vendeur qui fait "
            "obstacle de mauvaise foi à la mise en œuvre de la garantie légale de conformité encourt une amende "
            "civile d'un montant maximal de 300 000 euros (article L241-5).",
            "Le consommateur bénéficie également de la garantie légale des vices cachés : dans les deux ans "
            "suivant la découverte du vice (article 1648 du Code civil), il peut choisir entre la résolution de "
            "la vente et une réduction du prix (article 1644). Un dépôt naturel dans la bouteille, un cristal de "
            "tartre ou l'évolution d'un vin avec l'âge ne constituent pas des défauts.")
    article("Service client et réclamations",
            f"Pour toute question ou réclamation : {estate.email or TO_COMPLETE}"
            + (f", {estate.phone}" if estate.phone else "") + f", ou par courrier à {seller}, {address}.")
    article("Médiation de la consommation",
            "Conformément aux articles L612-1 et suivants du Code de la consommation, le consommateur peut recourir "
            "gratuitement au médiateur de la consommation dont relève le vendeur, après une réclamation écrite "
            "adressée au vendeur restée sans réponse satisfaisante, dans un délai d'un an à compter de cette "
            "réclamation :",
            "\n".join((f"Médiateur : {c.mediator_name or TO_COMPLETE}",
                       f"Adresse : {c.mediator_address or TO_COMPLETE}",
                       f"Site internet : {c.mediator_url or TO_COMPLETE}")))
    article("Données personnelles",
            f"{seller} traite les données personnelles de l'acheteur pour gérer ses commandes, leur livraison, leur "
            "facturation et la relation client, sur le fondement du contrat et de ses obligations légales "
            "(conservation des factures dix ans). L'acheteur dispose d'un droit d'accès, de rectification, "
            "d'effacement, de limitation, de portabilité et d'opposition, qu'il exerce auprès de "
            f"{estate.email or TO_COMPLETE}, et peut saisir la CNIL.",
            f"Politique de confidentialité : {c.privacy_url}" if c.privacy_url else "")
    article("Conditions particulières",
            "Les conditions particulières du vendeur et du tarif applicable (minimum de commande, conditions "
            "d'export …), affichées lors de la commande et reprises sur le bon de commande, complètent les "
            "présentes CGV ; en cas de contradiction, elles prévalent, sauf si elles privent le consommateur "
            "d'un droit que la loi lui reconnaît.")
    if c.extra_clauses:
        article("Clauses complémentaires", c.extra_clauses)
    article("Droit applicable et litiges",
            "Les présentes CGV et les ventes qu'elles régissent sont soumises au droit français. En cas de litige, "
            "une solution amiable sera recherchée avant toute action judiciaire. Le consommateur peut saisir, à "
            "son choix, la juridiction du lieu où il demeurait au moment de la conclusion du contrat ou de la "
            "survenance du fait dommageable, ou l'une des juridictions territorialement compétentes en vertu du "
            "Code de procédure civile (article R631-3 du Code de la consommation).")

    parts: list[str] = []
    for number, (title, paragraphs) in enumerate(articles, start=1):
        parts.append(f"Article {number} – {title}")
        parts.extend(paragraphs)
    parts.append("Annexe – Formulaire type de rétractation (annexe à l'article R221-1 du Code de la consommation)")
    parts.extend([
        "(Veuillez compléter et renvoyer le présent formulaire uniquement si vous souhaitez vous rétracter du "
        "contrat.)",
        f"À l'attention de {return_address}, {estate.email or TO_COMPLETE} :",
        "Je/nous (*) vous notifie/notifions (*) par la présente ma/notre (*) rétractation du contrat pour la vente "
        "du bien (*) ci-dessous :",
        "Commandé le (*) / reçu le (*) :\nNuméro de commande :\nNom du (des) consommateur(s) :\n"
        "Adresse du (des) consommateur(s) :\n"
        "Signature du (des) consommateur(s) (uniquement en cas de notification du présent formulaire sur papier) :\n"
        "Date :",
        "(*) Rayez la mention inutile.",
    ])
    return "\n\n".join(p.strip() for p in parts if p and p.strip())

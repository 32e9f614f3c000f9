"""The words and number formats of a receipt in the payer's language (en, it, et, hu, sv).

Labels are a plain table, one entry per label with every language beside it, so a translator
reviews a whole line at once and a test checks that none is missing. Numbers, money and dates
are formatted by Babel with the CLDR conventions of each language's home country (a comma or a
point for decimals, where the currency sign goes, the order of day and month).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal

from services.common.languages import LOCALES
from services.common.languages import format_money as common_format_money
from services.receipts.document import SUPPORTED_LANGUAGES

LANGUAGES: tuple[str, ...] = SUPPORTED_LANGUAGES

# label: (en, it, et, hu, sv)
_TABLE: dict[str, tuple[str, str, str, str, str]] = {
    "receipt": ("Receipt", "Ricevuta", "Kviitung", "Nyugta", "Kvitto"),
    "credit_receipt": (
        "Credit receipt",
        "Ricevuta di storno",
        "Kreeditkviitung",
        "Jóváíró nyugta",
        "Kreditkvitto",
    ),
    "number": ("Number", "Numero", "Number", "Sorszám", "Nummer"),
    "issued_at": ("Issued", "Emessa il", "Väljastatud", "Kiállítva", "Utfärdat"),
    "issuer": ("Issued by", "Emittente", "Väljastaja", "Kiállító", "Utfärdare"),
    "tax_id": ("Tax ID", "Partita IVA", "KMKR number", "Adószám", "Momsregistreringsnummer"),
    "office": ("Office", "Ufficio", "Osakond", "Hivatal", "Förvaltning"),
    "payer": ("Paid by", "Pagato da", "Maksja", "Befizető", "Betalare"),
    "purpose": ("Payment for", "Causale", "Makse selgitus", "Fizetés jogcíme", "Avser"),
    "category": ("Category", "Categoria", "Kategooria", "Kategória", "Kategori"),
    "creditor_reference": (
        "Creditor reference",
        "Riferimento creditore",
        "Viitenumber",
        "Hitelezői hivatkozás",
        "Referensnummer",
    ),
    "description": ("Description", "Descrizione", "Kirjeldus", "Megnevezés", "Beskrivning"),
    "quantity": ("Qty", "Q.tà", "Kogus", "Menny.", "Antal"),
    "unit_amount": ("Unit price", "Prezzo unitario", "Ühiku hind", "Egységár", "À-pris"),
    "line_amount": ("Amount", "Importo", "Summa", "Összeg", "Belopp"),
    "total": ("Total paid", "Totale pagato", "Kokku makstud", "Fizetett összeg", "Totalt betalt"),
    "total_credited": (
        "Total refunded",
        "Totale rimborsato",
        "Kokku tagastatud",
        "Visszatérített összeg",
        "Totalt återbetalt",
    ),
    "vat": ("VAT", "IVA", "Käibemaks", "ÁFA", "Moms"),
    "payment": ("Payment", "Pagamento", "Makse", "Fizetés", "Betalning"),
    "method": ("Method", "Metodo", "Makseviis", "Fizetési mód", "Betalningssätt"),
    "card_ending": (
        "{brand} ending in {last4}",
        "{brand} che termina con {last4}",
        "{brand}, lõpeb numbritega {last4}",
        "{brand}, végződés: {last4}",
        "{brand} som slutar på {last4}",
    ),
    "provider": (
        "Payment provider",
        "Prestatore di pagamento",
        "Makseteenuse pakkuja",
        "Pénzforgalmi szolgáltató",
        "Betaltjänstleverantör",
    ),
    "transaction_id": (
        "Transaction ID",
        "ID transazione",
        "Tehingu ID",
        "Tranzakcióazonosító",
        "Transaktions-ID",
    ),
    "paid_at": ("Paid on", "Pagato il", "Makstud", "Fizetés ideje", "Betalt"),
    "credits": (
        "Refund of receipt",
        "Storno della ricevuta",
        "Tagastus kviitungi alusel",
        "Jóváírás a következő nyugtához",
        "Återbetalning av kvitto",
    ),
    "verify": (
        "Check this receipt at",
        "Verifica questa ricevuta su",
        "Kontrolli kviitungit aadressil",
        "A nyugta ellenőrizhető itt",
        "Kontrollera kvittot på",
    ),
    "integrity": ("Integrity", "Integrità", "Terviklus", "Sértetlenség", "Integritet"),
    "record_hash": (
        "Receipt hash (SHA-256)",
        "Impronta della ricevuta (SHA-256)",
        "Kviitungi räsi (SHA-256)",
        "Nyugta lenyomata (SHA-256)",
        "Kvittots hashvärde (SHA-256)",
    ),
    "previous_hash": (
        "Previous receipt hash",
        "Impronta della ricevuta precedente",
        "Eelmise kviitungi räsi",
        "Előző nyugta lenyomata",
        "Föregående kvittos hashvärde",
    ),
    "key_id": ("Signing key", "Chiave di firma", "Allkirjavõti", "Aláírókulcs", "Signeringsnyckel"),
    "archival_note": (
        "The attached file receipt.json is the receipt itself; this page is a rendering of it.",
        "Il file allegato receipt.json è la ricevuta; questa pagina ne è una rappresentazione.",
        "Lisatud fail receipt.json on kviitung ise; see lehekülg on selle esitus.",
        "A csatolt receipt.json fájl maga a nyugta; ez az oldal annak megjelenítése.",
        "Den bifogade filen receipt.json är själva kvittot; denna sida är en återgivning av den.",
    ),
    "method_card": ("Card", "Carta", "Kaart", "Kártya", "Kort"),
    "method_sepa_debit": (
        "SEPA direct debit",
        "Addebito diretto SEPA",
        "SEPA otsekorraldus",
        "SEPA csoportos beszedés",
        "SEPA-autogiro",
    ),
    "method_bank_transfer": (
        "Bank transfer",
        "Bonifico bancario",
        "Pangaülekanne",
        "Banki átutalás",
        "Banköverföring",
    ),
    "method_wallet": (
        "Digital wallet",
        "Portafoglio digitale",
        "Digitaalne rahakott",
        "Digitális pénztárca",
        "Digital plånbok",
    ),
}

LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        language: MappingProxyType({key: words[index] for key, words in _TABLE.items()})
        for index, language in enumerate(LANGUAGES)
    }
)


class UnsupportedLanguage(ValueError):
    pass


def labels(language: str) -> Mapping[str, str]:
    try:
        return LABELS[language]
    except KeyError:
        raise UnsupportedLanguage(
            f"receipts are rendered in {', '.join(LANGUAGES)}, not {language!r}"
        ) from None


def method_name(kind: str, language: str) -> str:
    """The payment method in words; a kind without a translation is shown as stored."""
    return labels(language).get(f"method_{kind}", kind)


def format_money(amount_minor: int, currency: str, language: str) -> str:
    labels(language)  # refuses a language receipts are not issued in
    return common_format_money(amount_minor, currency, language)


def format_quantity(quantity: int, language: str) -> str:
    return str(format_decimal(quantity, locale=LOCALES[language]))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (like Europe/Rome)") from None


def format_time(moment: datetime, language: str, time_zone: str) -> str:
    """Date and time in the municipality's time zone, in the payer's language."""
    return str(babel_format_datetime(moment, "medium", tzinfo=zone(time_zone), locale=LOCALES[language]))

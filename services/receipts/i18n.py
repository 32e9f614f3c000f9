"""The words and number formats of a receipt in the payer's language (en, it, et, hu, sv).

Labels are a plain table, one entry per label with every language beside it, so a translator
reviews a whole line at once and a test checks that none is missing. Numbers, money and dates
are formatted by Babel with the CLDR conventions of each language's home country (a comma or a
point for decimals, where the currency sign goes, the order of day and month).
"""

from __future__ import annotations

import re
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


# The officers' reconciliation dashboard. label: (en, it, et, hu, sv); {names} are filled in.
_DASHBOARD: dict[str, tuple[str, str, str, str, str]] = {
    "title": ("Reconciliation", "Riconciliazione", "Kooskõlastamine", "Egyeztetés", "Avstämning"),
    "language": ("Language", "Lingua", "Keel", "Nyelv", "Språk"),
    "no_run": (
        "No reconciliation run yet. Start one with {api} or {cli}.",
        "Nessuna riconciliazione ancora eseguita. Avviane una con {api} o {cli}.",
        "Kooskõlastamist pole veel tehtud. Alusta seda käsuga {api} või {cli}.",
        "Még nem futott egyeztetés. Indítson egyet: {api} vagy {cli}.",
        "Ingen avstämning har körts ännu. Starta en med {api} eller {cli}.",
    ),
    "run": (
        "Run {id} of {when} UTC by {who}: payments from {first} to {last}, as of {as_of}, window ±{days} days.",
        "Esecuzione {id} del {when} UTC di {who}: pagamenti dal {first} al {last}, alla data {as_of}, "
        "finestra ±{days} giorni.",
        "Kooskõlastus {id}, {when} UTC, tegi {who}: maksed {first} kuni {last}, seisuga {as_of}, "
        "ajavahemik ±{days} päeva.",
        "{id} egyeztetés, {when} UTC, indította: {who}; fizetések {first} és {last} között, {as_of} "
        "állapot szerint, ±{days} napos ablak.",
        "Körning {id} {when} UTC av {who}: betalningar från {first} till {last}, per {as_of}, "
        "fönster ±{days} dagar.",
    ),
    "inputs": (
        "Inputs: {receipts} receipts, {payouts} payouts, {entries} bank entries from {statements} statements.",
        "Dati: {receipts} ricevute, {payouts} versamenti del prestatore, {entries} movimenti bancari da "
        "{statements} estratti conto.",
        "Sisend: {receipts} kviitungit, {payouts} väljamakset, {entries} pangakannet {statements} "
        "väljavõttest.",
        "Bemenet: {receipts} nyugta, {payouts} kifizetés, {entries} banki tétel {statements} kivonatból.",
        "Underlag: {receipts} kvitton, {payouts} utbetalningar, {entries} bankposter från {statements} "
        "kontoutdrag.",
    ),
    "other_currencies": (
        "Amounts in {currency}; other currencies of this run:",
        "Importi in {currency}; altre valute di questa riconciliazione:",
        "Summad valuutas {currency}; selle kooskõlastuse muud valuutad:",
        "Összegek {currency} pénznemben; az egyeztetés további pénznemei:",
        "Belopp i {currency}; andra valutor i denna körning:",
    ),
    "chart_heading": (
        "Collected versus settled ({currency})",
        "Incassato e accreditato ({currency})",
        "Laekunud ja pangale jõudnud ({currency})",
        "Beszedett és jóváírt összeg ({currency})",
        "Inbetalt och avräknat ({currency})",
    ),
    "chart_title": (
        "Collected versus settled per day ({currency})",
        "Incassato e accreditato per giorno ({currency})",
        "Laekunud ja pangale jõudnud päevade kaupa ({currency})",
        "Beszedett és jóváírt összeg naponként ({currency})",
        "Inbetalt och avräknat per dag ({currency})",
    ),
    "legend_collected": (
        "collected (receipts)",
        "incassato (ricevute)",
        "laekunud (kviitungid)",
        "beszedve (nyugták)",
        "inbetalt (kvitton)",
    ),
    "legend_settled": (
        "settled (bank)",
        "accreditato (banca)",
        "pangale jõudnud",
        "jóváírva (bank)",
        "avräknat (bank)",
    ),
    "per_day_heading": (
        "Receipts per day and outcome",
        "Ricevute per giorno ed esito",
        "Kviitungid päevade ja tulemuste kaupa",
        "Nyugták naponként és eredmény szerint",
        "Kvitton per dag och utfall",
    ),
    "day": ("Day", "Giorno", "Päev", "Nap", "Dag"),
    "collected": ("Collected", "Incassato", "Laekunud", "Beszedve", "Inbetalt"),
    "settled": ("Settled", "Accreditato", "Pangale jõudnud", "Jóváírva", "Avräknat"),
    "open_heading": (
        "Open exceptions",
        "Eccezioni aperte",
        "Lahendamata erandid",
        "Nyitott eltérések",
        "Öppna avvikelser",
    ),
    "outcome": ("Outcome", "Esito", "Tulemus", "Eredmény", "Utfall"),
    "what": ("What", "Oggetto", "Mis", "Tétel", "Vad"),
    "expected": ("Expected", "Atteso", "Oodatud", "Várt", "Förväntat"),
    "found": ("Found", "Trovato", "Leitud", "Talált", "Funnet"),
    "found_title": (
        "What the provider reported for a receipt; what the bank received for a payout or a bank entry",
        "Quanto riportato dal prestatore per una ricevuta; quanto ricevuto dalla banca per un versamento "
        "o un movimento",
        "Mida makseteenuse pakkuja kviitungi kohta teatas; mida pank väljamakse või pangakande kohta sai",
        "Amit a szolgáltató a nyugtához jelentett; amit a bank a kifizetésre vagy a tételre kapott",
        "Vad leverantören rapporterade för ett kvitto; vad banken tog emot för en utbetalning eller bankpost",
    ),
    "reference": ("Reference", "Riferimento", "Viide", "Hivatkozás", "Referens"),
    "why": ("Why", "Motivo", "Põhjus", "Ok", "Varför"),
    "bank_entry_ref": (
        "bank entry {id}",
        "movimento bancario {id}",
        "pangakanne {id}",
        "banki tétel: {id}",
        "bankpost {id}",
    ),
    "first_shown": (
        "First {count} shown; the CSV export has all.",
        "Mostrate le prime {count}; l'esportazione CSV le contiene tutte.",
        "Näidatud on esimesed {count}; CSV-eksport sisaldab kõiki.",
        "Az első {count} látható; a CSV-export mindet tartalmazza.",
        "De första {count} visas; CSV-exporten innehåller alla.",
    ),
    "nothing_open": (
        "Nothing to work on: every receipt and bank credit is accounted for.",
        "Nulla da lavorare: ogni ricevuta e ogni accredito bancario trovano riscontro.",
        "Midagi lahendada pole: iga kviitung ja pangalaekumine on selgitatud.",
        "Nincs teendő: minden nyugta és banki jóváírás egyeztetve.",
        "Inget att åtgärda: varje kvitto och varje bankinsättning är avstämd.",
    ),
    "csv": (
        "CSV of every item:",
        "CSV di ogni voce:",
        "Kõigi kirjete CSV:",
        "Minden tétel CSV-ben:",
        "CSV med alla poster:",
    ),
    "outcome_matched": ("matched", "riconciliato", "vastavuses", "egyeztetve", "avstämt"),
    "outcome_unmatched_receipt": (
        "unmatched receipt",
        "ricevuta senza riscontro",
        "vasteta kviitung",
        "egyeztetetlen nyugta",
        "oavstämt kvitto",
    ),
    "outcome_unmatched_bank_entry": (
        "unmatched bank entry",
        "movimento bancario senza riscontro",
        "vasteta pangakanne",
        "egyeztetetlen banki tétel",
        "oavstämd bankpost",
    ),
    "outcome_partial": ("partial", "parziale", "osaline", "részleges", "delvis"),
    "outcome_duplicate": ("duplicate", "duplicato", "topelt", "ismétlődő", "dubblett"),
    "outcome_fee_difference": (
        "fee difference",
        "differenza di commissione",
        "tasu erinevus",
        "díjkülönbözet",
        "avgiftsdifferens",
    ),
    "outcome_in_transit": ("in transit", "in transito", "teel", "úton", "under överföring"),
    "outcome_unmatched_provider_transaction": (
        "provider transaction without receipt",
        "transazione del prestatore senza ricevuta",
        "kviitungita makseteenuse tehing",
        "nyugta nélküli szolgáltatói tranzakció",
        "leverantörstransaktion utan kvitto",
    ),
    "subject_receipt": ("receipt", "ricevuta", "kviitung", "nyugta", "kvitto"),
    "subject_payout": ("payout", "versamento", "väljamakse", "kifizetés", "utbetalning"),
    "subject_bank_entry": ("bank entry", "movimento bancario", "pangakanne", "banki tétel", "bankpost"),
    "subject_transaction": (
        "provider transaction",
        "transazione del prestatore",
        "makseteenuse tehing",
        "szolgáltatói tranzakció",
        "leverantörstransaktion",
    ),
}

# The reasons reconciliation stores with an item (in English, in reconciliation.py's SQL), as the
# dashboard shows them. A reason without an entry here is shown as stored.
_REASONS: dict[str, tuple[str, str, str, str]] = {
    "the bank received the collected amount less the provider fee": (
        "la banca ha ricevuto l'importo incassato meno la commissione del prestatore",
        "pank sai laekunud summa, millest on maha arvatud makseteenuse pakkuja tasu",
        "a bank a beszedett összeget kapta, a szolgáltató díjával csökkentve",
        "banken tog emot det inbetalda beloppet minus leverantörens avgift",
    ),
    "the bank received a different amount than the payout carries": (
        "la banca ha ricevuto un importo diverso da quello del versamento",
        "pank sai väljamaksest erineva summa",
        "a bank más összeget kapott, mint amennyi a kifizetésben szerepel",
        "banken tog emot ett annat belopp än utbetalningen",
    ),
    "a second bank credit names a payout already matched": (
        "un secondo accredito bancario indica un versamento già riconciliato",
        "teine pangalaekumine viitab juba vastavusse viidud väljamaksele",
        "egy második banki jóváírás már egyeztetett kifizetésre hivatkozik",
        "en andra bankinsättning anger en utbetalning som redan är avstämd",
    ),
    "no identifier on the bank credit: its amount is the only one within the date window": (
        "nessun identificativo sull'accredito: il suo importo è l'unico nella finestra di date",
        "pangalaekumisel pole tunnust: selle summa on ajavahemikus ainus",
        "a jóváíráson nincs azonosító: összege az egyetlen ilyen a dátumablakban",
        "ingen identifierare på insättningen: beloppet är det enda inom datumfönstret",
    ),
    "several bank credits of this amount within the window: match by hand": (
        "più accrediti di questo importo nella finestra: riconciliare a mano",
        "ajavahemikus on mitu sama summaga laekumist: vii vastavusse käsitsi",
        "több ilyen összegű jóváírás az ablakban: kézzel egyeztetendő",
        "flera insättningar med detta belopp inom fönstret: stäm av manuellt",
    ),
    "not due on the bank yet": (
        "non ancora atteso in banca",
        "pole veel pangale jõudma pidanud",
        "még nem esedékes a bankban",
        "ännu inte väntad på banken",
    ),
    "no bank credit found for this payout": (
        "nessun accredito bancario trovato per questo versamento",
        "selle väljamakse kohta pangalaekumist ei leitud",
        "ehhez a kifizetéshez nem található banki jóváírás",
        "ingen bankinsättning hittades för denna utbetalning",
    ),
    "the provider has not reported this payment yet": (
        "il prestatore non ha ancora riportato questo pagamento",
        "makseteenuse pakkuja pole seda makset veel teatanud",
        "a szolgáltató még nem jelentette ezt a fizetést",
        "leverantören har ännu inte rapporterat denna betalning",
    ),
    "the provider reports no transaction for this payment": (
        "il prestatore non riporta alcuna transazione per questo pagamento",
        "makseteenuse pakkuja ei teata selle makse kohta ühtegi tehingut",
        "a szolgáltató nem jelent tranzakciót ehhez a fizetéshez",
        "leverantören rapporterar ingen transaktion för denna betalning",
    ),
    "the provider reports this payment more than once": (
        "il prestatore riporta questo pagamento più di una volta",
        "makseteenuse pakkuja teatab seda makset rohkem kui üks kord",
        "a szolgáltató többször jelenti ezt a fizetést",
        "leverantören rapporterar denna betalning mer än en gång",
    ),
    "the provider reports another amount than the receipt": (
        "il prestatore riporta un importo diverso da quello della ricevuta",
        "makseteenuse pakkuja teatab kviitungist erineva summa",
        "a szolgáltató más összeget jelent, mint a nyugta",
        "leverantören rapporterar ett annat belopp än kvittot",
    ),
    "not paid out yet": (
        "non ancora versato",
        "pole veel välja makstud",
        "még nincs kifizetve",
        "ännu inte utbetalt",
    ),
    "its payout is not among the imported payouts in scope": (
        "il suo versamento non è tra quelli importati nel periodo",
        "selle väljamakset pole vaadeldava perioodi imporditud väljamaksete hulgas",
        "a kifizetése nincs az időszak importált kifizetései között",
        "dess utbetalning finns inte bland de importerade utbetalningarna i perioden",
    ),
    "no payout explains this bank credit": (
        "nessun versamento spiega questo accredito bancario",
        "ükski väljamakse ei selgita seda pangalaekumist",
        "egyik kifizetés sem magyarázza ezt a banki jóváírást",
        "ingen utbetalning förklarar denna bankinsättning",
    ),
}
# reconciliation._UNRECORDED_TRANSACTIONS: "the provider reports <kind> <transaction id> that no receipt records"
_UNRECORDED = re.compile(r"the provider reports (charge|refund) (\S+) that no receipt records")
_UNRECORDED_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "charge": ("charge", "l'addebito", "makse", "terhelést", "debiteringen"),
    "refund": ("refund", "il rimborso", "tagastuse", "visszatérítést", "återbetalningen"),
    "sentence": (
        "the provider reports {kind} {id} that no receipt records",
        "il prestatore riporta {kind} {id}, che nessuna ricevuta registra",
        "makseteenuse pakkuja teatab tehingust {id} ({kind}), mida ükski kviitung ei kajasta",
        "a szolgáltató jelenti a(z) {id} {kind}, amelyet egyetlen nyugta sem rögzít",
        "leverantören rapporterar {kind} {id} som inget kvitto registrerar",
    ),
}

DASHBOARD_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        language: MappingProxyType({key: words[index] for key, words in _DASHBOARD.items()})
        for index, language in enumerate(LANGUAGES)
    }
)


def dashboard_labels(language: str) -> Mapping[str, str]:
    """The dashboard's words in ``language`` (one of the five); English for anything else."""
    return DASHBOARD_LABELS.get(language, DASHBOARD_LABELS["en"])


def reason(text: str | None, language: str) -> str:
    """A stored reconciliation reason in ``language``; one this table does not know, as stored."""
    if not text:
        return ""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0
    if index == 0:
        return text
    known = _REASONS.get(text)
    if known is not None:
        return known[index - 1]
    unrecorded = _UNRECORDED.fullmatch(text)
    if unrecorded is not None:
        kind, transaction = unrecorded.groups()
        sentence = _UNRECORDED_WORDS["sentence"][index]
        return sentence.format(kind=_UNRECORDED_WORDS[kind][index], id=transaction)
    return text

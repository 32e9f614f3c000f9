"""The citizen pages' words in the partner cities' languages (en, it, et, hu, sv) and the
choice of language: an explicit switch (``?lang=``) first, then the browser's
``Accept-Language``, then the payment's own language, then English.

One table, one line per label with every language beside it, so a translator reviews a whole
line at once and a test checks that none is missing.
"""

from __future__ import annotations

from services.common.languages import LANGUAGE_NAMES, LANGUAGES, choose_language, format_money
from services.payments.models import Currency

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "all_labels_present", "choose", "labels", "money", "text"]

# label: (en, it, et, hu, sv)
_TABLE: dict[str, tuple[str, str, str, str, str]] = {
    "find_title": (
        "Pay what you owe",
        "Paga quanto dovuto",
        "Tasu oma võlg",
        "Tartozás befizetése",
        "Betala det du är skyldig",
    ),
    "find_intro": (
        "Enter the creditor reference printed on your notice. It starts with RF.",
        "Inserisci il riferimento creditore stampato sull'avviso. Inizia con RF.",
        "Sisesta teatisele trükitud viitenumber. See algab tähtedega RF.",
        "Adja meg az értesítőn szereplő hitelezői hivatkozást. RF betűkkel kezdődik.",
        "Ange referensnumret som står på din avi. Det börjar med RF.",
    ),
    "reference": (
        "Creditor reference",
        "Riferimento creditore",
        "Viitenumber",
        "Hitelezői hivatkozás",
        "Referensnummer",
    ),
    "find": ("Find", "Cerca", "Otsi", "Keresés", "Sök"),
    "reference_invalid": (
        "This reference is not valid. Check it and try again.",
        "Questo riferimento non è valido. Controllalo e riprova.",
        "See viitenumber ei ole õige. Kontrolli ja proovi uuesti.",
        "Ez a hivatkozás érvénytelen. Ellenőrizze, és próbálja újra.",
        "Referensnumret är ogiltigt. Kontrollera det och försök igen.",
    ),
    "not_found": (
        "No payment is due under this reference.",
        "Nessun pagamento risulta dovuto con questo riferimento.",
        "Selle viitenumbriga makset ei leitud.",
        "Ehhez a hivatkozáshoz nem tartozik fizetendő összeg.",
        "Ingen betalning hittades för detta referensnummer.",
    ),
    "owed_title": ("What you owe", "Quanto devi", "Tasumisele kuulub", "Fizetendő", "Att betala"),
    "payer": ("Payer", "Pagatore", "Maksja", "Befizető", "Betalare"),
    "purpose": ("Payment for", "Causale", "Makse selgitus", "Fizetés jogcíme", "Avser"),
    "amount_due": (
        "Amount due now",
        "Importo da pagare ora",
        "Praegu tasuda",
        "Most fizetendő",
        "Att betala nu",
    ),
    "due_date": ("Due date", "Scadenza", "Maksetähtaeg", "Fizetési határidő", "Förfallodag"),
    "instalment": ("Instalment", "Rata", "Osamakse", "Részlet", "Delbetalning"),
    "of": ("of", "di", "/", "/", "av"),
    "pay": ("Pay", "Paga", "Maksa", "Fizetés", "Betala"),
    "already_paid": (
        "This has already been paid. Thank you.",
        "Risulta già pagato. Grazie.",
        "See on juba tasutud. Aitäh!",
        "Ezt már befizették. Köszönjük.",
        "Detta är redan betalt. Tack!",
    ),
    "request_cancelled": (
        "This payment request was withdrawn: there is nothing to pay.",
        "Questa richiesta di pagamento è stata annullata: non c'è nulla da pagare.",
        "See maksenõue on tühistatud: midagi pole vaja tasuda.",
        "Ezt a fizetési felszólítást visszavonták: nincs teendő.",
        "Betalningskravet har återkallats: det finns inget att betala.",
    ),
    "past_due": (
        "The due date has passed, so this can no longer be paid online. Please contact the office.",
        "La scadenza è passata: non è più possibile pagare online. Contatta l'ufficio.",
        "Maksetähtaeg on möödas ja veebis enam tasuda ei saa. Palun võta ühendust ametiga.",
        "A határidő lejárt, ezért online már nem fizethető. Kérjük, forduljon a hivatalhoz.",
        "Förfallodagen har passerat och det går inte längre att betala online. Kontakta förvaltningen.",
    ),
    "card_title": ("Pay by card", "Paga con carta", "Maksa kaardiga", "Kártyás fizetés", "Betala med kort"),
    "card_number": ("Card number", "Numero della carta", "Kaardi number", "Kártyaszám", "Kortnummer"),
    "expiry": (
        "Expiry date (MM/YY)",
        "Scadenza (MM/AA)",
        "Kehtivus (KK/AA)",
        "Lejárat (HH/ÉÉ)",
        "Giltig till (MM/ÅÅ)",
    ),
    "cvc": ("Security code", "Codice di sicurezza", "Turvakood", "Biztonsági kód", "Säkerhetskod"),
    "cancel_payment": (
        "Cancel payment",
        "Annulla pagamento",
        "Tühista makse",
        "Fizetés megszakítása",
        "Avbryt betalningen",
    ),
    "sandbox_note": (
        "Test payments: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined. No money moves.",
        "Pagamenti di prova: 4242 4242 4242 4242 riesce, 4000 0000 0000 0002 viene rifiutata. Nessun addebito.",
        "Testmaksed: 4242 4242 4242 4242 õnnestub, 4000 0000 0000 0002 lükatakse tagasi. Raha ei liigu.",
        "Tesztfizetés: a 4242 4242 4242 4242 sikeres, a 4000 0000 0000 0002 elutasított. Pénz nem mozdul.",
        "Testbetalningar: 4242 4242 4242 4242 godkänns, 4000 0000 0000 0002 nekas. Inga pengar dras.",
    ),
    "card_error": (
        "The card details could not be used",
        "I dati della carta non sono utilizzabili",
        "Kaardi andmeid ei saanud kasutada",
        "A kártyaadatok nem használhatók",
        "Kortuppgifterna kunde inte användas",
    ),
    "card_digits": (
        "The card number must be 12 to 19 digits.",
        "Il numero della carta deve avere da 12 a 19 cifre.",
        "Kaardi number peab olema 12 kuni 19 numbrit.",
        "A kártyaszám 12–19 számjegyből áll.",
        "Kortnumret ska ha 12 till 19 siffror.",
    ),
    "card_check": (
        "The card number is not valid: check it for a typing mistake.",
        "Il numero della carta non è valido: controlla di averlo digitato correttamente.",
        "Kaardi number ei ole õige: kontrolli, kas sisestasid selle õigesti.",
        "A kártyaszám érvénytelen: ellenőrizze, nem gépelte-e el.",
        "Kortnumret är ogiltigt: kontrollera att det är rätt inskrivet.",
    ),
    "expiry_format": (
        "Write the expiry date as MM/YY.",
        "Scrivi la scadenza nel formato MM/AA.",
        "Kirjuta kehtivusaeg kujul KK/AA.",
        "A lejáratot HH/ÉÉ formában adja meg.",
        "Skriv giltighetstiden som MM/ÅÅ.",
    ),
    "expiry_month": (
        "The expiry month must be 01 to 12.",
        "Il mese di scadenza deve essere tra 01 e 12.",
        "Kehtivuse kuu peab olema 01 kuni 12.",
        "A lejárat hónapja 01 és 12 között lehet.",
        "Giltighetsmånaden ska vara 01 till 12.",
    ),
    "card_expired": (
        "This card has expired.",
        "Questa carta è scaduta.",
        "See kaart on aegunud.",
        "Ez a kártya lejárt.",
        "Kortet har gått ut.",
    ),
    "cvc_digits": (
        "The security code must be 3 or 4 digits.",
        "Il codice di sicurezza deve avere 3 o 4 cifre.",
        "Turvakood peab olema 3 või 4 numbrit.",
        "A biztonsági kód 3 vagy 4 számjegyből áll.",
        "Säkerhetskoden ska ha 3 eller 4 siffror.",
    ),
    "not_test_card": (
        "Only the test cards below can be used here.",
        "Qui si possono usare solo le carte di prova indicate sotto.",
        "Siin saab kasutada ainult allpool toodud testkaarte.",
        "Itt csak az alább felsorolt tesztkártyák használhatók.",
        "Här kan bara testkorten nedan användas.",
    ),
    "result_success": (
        "Payment received",
        "Pagamento ricevuto",
        "Makse laekus",
        "Fizetés beérkezett",
        "Betalningen är mottagen",
    ),
    "result_failed": (
        "Payment not completed",
        "Pagamento non riuscito",
        "Makse ebaõnnestus",
        "A fizetés nem sikerült",
        "Betalningen genomfördes inte",
    ),
    "result_cancelled": (
        "Payment cancelled",
        "Pagamento annullato",
        "Makse tühistatud",
        "Fizetés megszakítva",
        "Betalningen avbröts",
    ),
    "result_expired": (
        "Payment expired",
        "Pagamento scaduto",
        "Makse aegus",
        "A fizetés lejárt",
        "Betalningen har gått ut",
    ),
    "result_pending": (
        "Payment being processed",
        "Pagamento in elaborazione",
        "Makset töödeldakse",
        "A fizetés feldolgozás alatt",
        "Betalningen behandlas",
    ),
    "result_error": (
        "Payment could not be processed",
        "Impossibile elaborare il pagamento",
        "Makset ei saanud töödelda",
        "A fizetés nem dolgozható fel",
        "Betalningen kunde inte behandlas",
    ),
    "receipt_note": (
        "Your e-receipt is being issued; you can show this page until it arrives.",
        "La ricevuta elettronica è in fase di emissione; fino ad allora puoi mostrare questa pagina.",
        "E-kviitungit väljastatakse; seni võid näidata seda lehte.",
        "Az e-nyugta kiállítása folyamatban van; addig ezt az oldalt mutathatja be.",
        "Ditt e-kvitto utfärdas; tills det kommer kan du visa den här sidan.",
    ),
    "receipt_link": ("Your receipt", "La tua ricevuta", "Sinu kviitung", "Az Ön nyugtája", "Ditt kvitto"),
    "paid_amount": ("Amount paid", "Importo pagato", "Makstud summa", "Fizetett összeg", "Betalt belopp"),
    "payment_id": (
        "Payment number",
        "Numero del pagamento",
        "Makse number",
        "Fizetés azonosítója",
        "Betalningsnummer",
    ),
    "try_again": ("Try again", "Riprova", "Proovi uuesti", "Újrapróbálkozás", "Försök igen"),
    "back_to_find": (
        "Pay something else",
        "Paga un altro avviso",
        "Tasu midagi muud",
        "Másik tétel befizetése",
        "Betala något annat",
    ),
    "language": ("Language", "Lingua", "Keel", "Nyelv", "Språk"),
    "change_language": ("Change", "Cambia", "Muuda", "Váltás", "Byt"),
    "no_payment": (
        "There is no such payment.",
        "Questo pagamento non esiste.",
        "Sellist makset ei ole.",
        "Nincs ilyen fizetés.",
        "Betalningen finns inte.",
    ),
    "settled": (
        "This payment is already finished.",
        "Questo pagamento è già concluso.",
        "See makse on juba lõpetatud.",
        "Ez a fizetés már lezárult.",
        "Den här betalningen är redan avslutad.",
    ),
    "continue": ("Continue", "Continua", "Jätka", "Tovább", "Fortsätt"),
    "stripe_intro": (
        "Enter your card details. Your card is handled by Stripe; the city never sees its number.",
        "Inserisci i dati della carta. La carta è gestita da Stripe; il Comune non ne vede il numero.",
        "Sisesta kaardi andmed. Kaarti töötleb Stripe; linn kaardi numbrit ei näe.",
        "Adja meg kártyája adatait. A kártyát a Stripe kezeli; a város nem látja a számát.",
        "Ange dina kortuppgifter. Kortet hanteras av Stripe; staden ser aldrig numret.",
    ),
    "needs_javascript": (
        "Card payments through Stripe need JavaScript in your browser.",
        "I pagamenti con carta tramite Stripe richiedono JavaScript nel browser.",
        "Stripe'i kaudu kaardiga maksmiseks on brauseris vaja JavaScripti.",
        "A Stripe-on keresztüli kártyás fizetéshez JavaScript szükséges a böngészőben.",
        "Kortbetalning via Stripe kräver JavaScript i webbläsaren.",
    ),
}


def text(key: str, language: str) -> str:
    return _TABLE[key][LANGUAGES.index(language) if language in LANGUAGES else 0]


def labels(language: str) -> dict[str, str]:
    return {key: text(key, language) for key in _TABLE}


def all_labels_present() -> list[str]:
    """Labels with an empty translation (a test keeps this empty)."""
    return [
        f"{key}/{lang}"
        for key, row in _TABLE.items()
        for lang, value in zip(LANGUAGES, row, strict=True)
        if not value.strip()
    ]


def choose(*, switch: str | None, accept_language: str | None, fallback: str | None) -> str:
    """The page language (see services.common.languages.choose_language)."""
    return choose_language(switch=switch, accept_language=accept_language, fallback=fallback)


def money(amount: int, currency: Currency | str, language: str) -> str:
    return format_money(amount, Currency(currency).value, language)

"""The HTML pages of the receipts service: the public verification page and the officers'
reconciliation dashboard (totals per day and outcome, the open exceptions, and an inline SVG chart
of collected versus settled amounts). Templates are autoescaped and carry no script; every page is
sent with a Content-Security-Policy that forbids any."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from services.common.languages import LANGUAGE_NAMES
from services.receipts import i18n, reconciliation, repository, service
from services.receipts.errors import ReceiptNotFound
from services.receipts.models import OPEN_OUTCOMES, Outcome, ReconciliationRun
from services.receipts.schemas import ItemRead

TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
RECEIPT_OUTCOMES = (Outcome.MATCHED, Outcome.FEE_DIFFERENCE, Outcome.IN_TRANSIT, Outcome.PARTIAL,
                    Outcome.DUPLICATE, Outcome.UNMATCHED_RECEIPT)  # fmt: skip
MAX_EXCEPTIONS = 100


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def html_response(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


# The verification page's words, in the five languages receipts are issued in.
_VERIFY_KEYS = ("receipt", "credit_receipt", "valid", "partially_refunded", "refunded", "invalid", "issuer", "number",
                "amount", "date", "status", "signature", "holds", "fails", "status_valid", "status_refunded",
                "status_partially_refunded", "status_invalid", "note", "not_found_title", "not_found")  # fmt: skip
_VERIFY_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "Receipt", "credit receipt", "Genuine receipt, signature valid.",
        "Genuine receipt, signature valid. It has been partly refunded.",
        "Genuine receipt, signature valid. It has been refunded.",
        "This receipt does NOT verify: its record or signature has been altered.",
        "Issuer", "Number", "Amount", "Date", "Status", "Signature", "holds", "does not hold",
        "valid", "refunded", "partly refunded", "invalid",
        "Checked now against the issuer's records: the receipt's canonical record, its SHA-256, the issuer's "
        "signature and its link in the numbered chain of receipts.",
        "Receipt not found", "No receipt {id} was issued here. Check the address or the QR code.",
    ),
    "it": (
        "Ricevuta", "nota di credito", "Ricevuta autentica, firma valida.",
        "Ricevuta autentica, firma valida. È stata rimborsata in parte.",
        "Ricevuta autentica, firma valida. È stata rimborsata.",
        "Questa ricevuta NON è verificata: il documento o la firma sono stati alterati.",
        "Emittente", "Numero", "Importo", "Data", "Stato", "Firma", "valida", "non valida",
        "valida", "rimborsata", "rimborsata in parte", "non valida",
        "Verificata ora sui registri dell'emittente: il documento canonico della ricevuta, il suo SHA-256, la "
        "firma dell'emittente e il suo anello nella catena numerata delle ricevute.",
        "Ricevuta non trovata", "Nessuna ricevuta {id} è stata emessa qui. Controlla l'indirizzo o il codice QR.",
    ),
    "et": (
        "Kviitung", "kreeditkviitung", "Ehtne kviitung, allkiri kehtib.",
        "Ehtne kviitung, allkiri kehtib. See on osaliselt tagastatud.",
        "Ehtne kviitung, allkiri kehtib. See on tagastatud.",
        "Seda kviitungit EI saa kinnitada: selle kirjet või allkirja on muudetud.",
        "Väljastaja", "Number", "Summa", "Kuupäev", "Olek", "Allkiri", "kehtib", "ei kehti",
        "kehtiv", "tagastatud", "osaliselt tagastatud", "kehtetu",
        "Kontrollitud praegu väljastaja andmete põhjal: kviitungi kanooniline kirje, selle SHA-256, väljastaja "
        "allkiri ja selle koht kviitungite nummerdatud ahelas.",
        "Kviitungit ei leitud", "Kviitungit {id} siin ei väljastatud. Kontrollige aadressi või QR-koodi.",
    ),
    "hu": (
        "Nyugta", "jóváíró nyugta", "Eredeti nyugta, az aláírás érvényes.",
        "Eredeti nyugta, az aláírás érvényes. Részben visszatérítették.",
        "Eredeti nyugta, az aláírás érvényes. Visszatérítették.",
        "Ez a nyugta NEM hiteles: a tartalmát vagy az aláírását megváltoztatták.",
        "Kibocsátó", "Sorszám", "Összeg", "Dátum", "Állapot", "Aláírás", "érvényes", "érvénytelen",
        "érvényes", "visszatérítve", "részben visszatérítve", "érvénytelen",
        "Most ellenőrizve a kibocsátó nyilvántartásában: a nyugta kanonikus rekordja, annak SHA-256 lenyomata, a "
        "kibocsátó aláírása és helye a nyugták számozott láncában.",
        "A nyugta nem található", "Itt nem bocsátottak ki {id} azonosítójú nyugtát. Ellenőrizze a címet vagy a QR-kódot.",
    ),
    "sv": (
        "Kvitto", "kreditkvitto", "Äkta kvitto, signaturen är giltig.",
        "Äkta kvitto, signaturen är giltig. Det har delvis återbetalats.",
        "Äkta kvitto, signaturen är giltig. Det har återbetalats.",
        "Detta kvitto kan INTE verifieras: dess innehåll eller signatur har ändrats.",
        "Utfärdare", "Nummer", "Belopp", "Datum", "Status", "Signatur", "giltig", "ogiltig",
        "giltigt", "återbetalt", "delvis återbetalt", "ogiltigt",
        "Kontrollerat nu mot utfärdarens register: kvittots kanoniska post, dess SHA-256, utfärdarens signatur och "
        "dess länk i den numrerade kedjan av kvitton.",
        "Kvittot hittades inte", "Inget kvitto {id} har utfärdats här. Kontrollera adressen eller QR-koden.",
    ),
}  # fmt: skip
VERIFY_LABELS: dict[str, dict[str, str]] = {
    language: dict(zip(_VERIFY_KEYS, words, strict=True)) for language, words in _VERIFY_WORDS.items()
}


def verification(
    session: Session, *, receipt_id: uuid.UUID, issuing: service.Issuing, language: str | None = None
) -> HTMLResponse:
    """The public page, in the receipt's language unless ``language`` (one of the five) is asked for;
    a receipt that does not exist is a 404 page, not an error document."""
    template = _environment().get_template("receipts_verification.html")
    chosen = language if language in VERIFY_LABELS else None
    try:
        result = service.verify_receipt(session, receipt_id=receipt_id, issuing=issuing, language=chosen)
    except ReceiptNotFound:
        words = VERIFY_LABELS[chosen or issuing.default_language]
        page = template.render(result=None, receipt_id=receipt_id, words=words, language=chosen or "en")
        return html_response(page, status_code=404)
    words = VERIFY_LABELS[result.language]
    return html_response(
        template.render(result=result, receipt_id=receipt_id, words=words, language=result.language)
    )


@dataclass(frozen=True, slots=True)
class DayRow:
    day: str
    counts: dict[str, int]
    collected: str
    settled: str


def _money(amount: int, currency: str, language: str = "en") -> str:
    return i18n.format_money(amount, currency, language)


def chart_svg(points: list[tuple[str, int, int]], currency: str, language: str = "en") -> Markup:
    """Grouped bars per day: collected (receipts) and settled (bank credits matched to payouts)."""
    words = i18n.dashboard_labels(language)
    title = words["chart_title"].format(currency=currency)
    legend = {"collected": words["legend_collected"], "settled": words["legend_settled"]}
    width, height, left, bottom, top = 760, 240, 70, 40, 20
    if not points:
        return Markup("")
    peak = max(max(c, s) for _, c, s in points) or 1
    slot = (width - left - 10) / len(points)
    bar = max(1.0, min(18.0, slot / 2.5))
    plot = height - bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="chart-title"><title id="chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#555"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10">'
        f"{escape(_money(peak, currency, language))}</text>",
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" font-size="10">0</text>',
    ]
    for index, (day, collected, settled) in enumerate(points):
        x = left + index * slot + slot / 2 - bar
        for offset, value, colour, name in (
            (0.0, collected, "#2b6cb0", "collected"),
            (bar, settled, "#2f855a", "settled"),
        ):
            h = plot * value / peak
            parts.append(
                f'<rect class="{name}" x="{x + offset:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(day)} {escape(legend[name])}: '
                f"{escape(_money(value, currency, language))}</title></rect>"
            )
        if len(points) <= 31 or index % max(1, len(points) // 15) == 0:
            parts.append(
                f'<text x="{x + bar:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="9">'
                f"{escape(day[5:])}</text>"
            )
    parts.append(
        f'<rect x="{left}" y="{height - 14}" width="10" height="10" fill="#2b6cb0"/>'
        f'<text x="{left + 14}" y="{height - 5}" font-size="11">{escape(legend["collected"])}</text>'
        f'<rect x="{left + 220}" y="{height - 14}" width="10" height="10" fill="#2f855a"/>'
        f'<text x="{left + 234}" y="{height - 5}" font-size="11">{escape(legend["settled"])}</text></svg>'
    )
    return Markup("".join(parts))


def _query(**values: object) -> str:
    return "?" + urlencode({k: str(v) for k, v in values.items() if v is not None})


def dashboard(
    session: Session, *, run_id: uuid.UUID | None, currency: str | None = None, language: str = "en"
) -> str:
    """The latest run (or ``run_id``) in one currency (``currency``, else the run's most frequent),
    in ``language`` (one of the five; words, money and the chart)."""
    template = _environment().get_template("receipts_dashboard.html")
    language = language if language in i18n.LANGUAGES else "en"
    words = i18n.dashboard_labels(language)
    run: ReconciliationRun | None = (
        reconciliation.get_run(session, run_id=run_id) if run_id else repository.latest_run(session)
    )
    common = {"language": language, "words": words, "languages": LANGUAGE_NAMES}
    if run is None:
        switch = {code: _query(lang=code) for code in i18n.LANGUAGES}
        return template.render(run=None, switch=switch, **common)
    currencies = repository.run_currencies(session, run.id)
    currency = currency if currency in currencies else (currencies[0] if currencies else "EUR")
    by_day = repository.totals_by_day(session, run.id, "receipt", currency)
    settled = dict(repository.settled_by_day(session, run.id, currency))
    exceptions, open_total = repository.run_items(
        session, run.id, outcomes=sorted(OPEN_OUTCOMES), limit=MAX_EXCEPTIONS
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    collected: dict[int, int] = defaultdict(int)
    for day, outcome, count, amount in by_day:
        counts[day][outcome] = count
        collected[day] += amount
    days = sorted(set(counts) | set(settled))
    rows = [
        DayRow(
            reconciliation.day_of(day).isoformat(),
            counts.get(day, {}),
            _money(collected.get(day, 0), currency, language),
            _money(settled.get(day, 0), currency, language),
        )
        for day in days
    ]
    points = [(reconciliation.day_of(d).isoformat(), collected.get(d, 0), settled.get(d, 0)) for d in days]
    items: list[ItemRead] = [reconciliation.item_read(item) for item in exceptions]
    numbers = repository.display_numbers(session, [i.receipt_id for i in items if i.receipt_id is not None])
    return template.render(
        run=run,
        rows=rows,
        outcomes=[o.value for o in RECEIPT_OUTCOMES],
        currency=currency,
        currencies=currencies,
        currency_links={c: _query(run=run.id, currency=c, lang=language) for c in currencies},
        switch={code: _query(run=run_id, currency=currency, lang=code) for code in i18n.LANGUAGES},
        exceptions=items,
        numbers=numbers,
        open_total=open_total,
        chart=chart_svg(points, currency, language),
        money=lambda amount, cur: _money(amount, cur, language) if amount is not None else "",
        reason=lambda text: i18n.reason(text, language),
        totals=run.totals,
        **common,
    )

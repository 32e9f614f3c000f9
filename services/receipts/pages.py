"""The HTML pages of the receipts service: the public verification page and the officers'
reconciliation dashboard (totals per day and outcome, the open exceptions, and an inline SVG chart
of collected versus settled amounts). Templates are autoescaped and carry no script; every page is
sent with a Content-Security-Policy that forbids any."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

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


def verification(session: Session, *, receipt_id: uuid.UUID, issuing: service.Issuing) -> HTMLResponse:
    """The public page: a receipt that does not exist is a 404 page, not an error document."""
    template = _environment().get_template("receipts_verification.html")
    try:
        result = service.verify_receipt(session, receipt_id=receipt_id, issuing=issuing)
    except ReceiptNotFound:
        return html_response(template.render(result=None, receipt_id=receipt_id), status_code=404)
    return html_response(template.render(result=result, receipt_id=receipt_id))


@dataclass(frozen=True, slots=True)
class DayRow:
    day: str
    counts: dict[str, int]
    collected: str
    settled: str


def _money(amount: int, currency: str) -> str:
    return i18n.format_money(amount, currency, "en")


def chart_svg(points: list[tuple[str, int, int]], currency: str) -> Markup:
    """Grouped bars per day: collected (receipts) and settled (bank credits matched to payouts)."""
    width, height, left, bottom, top = 760, 240, 70, 40, 20
    if not points:
        return Markup("")
    peak = max(max(c, s) for _, c, s in points) or 1
    slot = (width - left - 10) / len(points)
    bar = max(1.0, min(18.0, slot / 2.5))
    plot = height - bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="chart-title"><title id="chart-title">Collected versus settled per day ({escape(currency)})'
        "</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#555"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10">{escape(_money(peak, currency))}</text>',
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
                f'height="{h:.1f}" fill="{colour}"><title>{escape(day)} {name}: '
                f"{escape(_money(value, currency))}</title></rect>"
            )
        if len(points) <= 31 or index % max(1, len(points) // 15) == 0:
            parts.append(
                f'<text x="{x + bar:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="9">'
                f"{escape(day[5:])}</text>"
            )
    parts.append(
        f'<rect x="{left}" y="{height - 14}" width="10" height="10" fill="#2b6cb0"/>'
        f'<text x="{left + 14}" y="{height - 5}" font-size="11">collected (receipts)</text>'
        f'<rect x="{left + 160}" y="{height - 14}" width="10" height="10" fill="#2f855a"/>'
        f'<text x="{left + 174}" y="{height - 5}" font-size="11">settled (bank)</text></svg>'
    )
    return Markup("".join(parts))


def dashboard(session: Session, *, run_id: uuid.UUID | None) -> str:
    template = _environment().get_template("receipts_dashboard.html")
    run: ReconciliationRun | None = (
        reconciliation.get_run(session, run_id=run_id) if run_id else repository.latest_run(session)
    )
    if run is None:
        return template.render(run=None)
    by_day = repository.totals_by_day(session, run.id, "receipt")
    settled = dict(repository.settled_by_day(session, run.id))
    exceptions, open_total = repository.run_items(
        session, run.id, outcomes=sorted(OPEN_OUTCOMES), limit=MAX_EXCEPTIONS
    )
    currencies = Counter(item.currency for item in exceptions)
    currency = currencies.most_common(1)[0][0] if currencies else "EUR"
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
            _money(collected.get(day, 0), currency),
            _money(settled.get(day, 0), currency),
        )
        for day in days
    ]
    points = [(reconciliation.day_of(d).isoformat(), collected.get(d, 0), settled.get(d, 0)) for d in days]
    items: list[ItemRead] = [reconciliation.item_read(item) for item in exceptions]
    return template.render(
        run=run,
        rows=rows,
        outcomes=[o.value for o in RECEIPT_OUTCOMES],
        exceptions=items,
        open_total=open_total,
        chart=chart_svg(points, currency),
        money=lambda amount, cur: _money(amount, cur) if amount is not None else "",
        totals=run.totals,
    )

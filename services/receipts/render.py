"""Renderings of a sealed receipt for people: an HTML page and an archival PDF, in the payer's language.

Both are drawn from one :class:`ReceiptView` (the record's values formatted with
:mod:`services.receipts.i18n`), so the two never disagree. Each carries a QR code of the public
verification URL (``{base_url}/verify/{receipt_id}``).

The PDF is written by fpdf2 (pure Python) declaring PDF/A-3b: every font embedded (DejaVu Sans,
which covers the Estonian and Hungarian letters), an sRGB output intent, XMP metadata with the
PDF/A identification, and the record's canonical bytes attached as ``receipt.json`` (an
Associated File with relationship ``Source``) beside ``receipt-signature.json`` (hash, key id and
signature). fpdf2 builds the document to PDF/A-3b; Tessera's tests check the pieces they can see
(attachments, XMP identification, embedded fonts, text), not a full validator run.

Fonts: DejaVu comes from the Debian package ``fonts-dejavu-core``; :func:`find_fonts` looks in the
usual font directories or in ``font_dir`` and raises :class:`FontUnavailable`, saying what to
install, when it finds none (a receipt is never drawn with a font that lacks its letters).

- PDF/A-3 (ISO 19005-3) associated files: https://pdfa.org/resource/iso-19005-3-pdfa-3/
- fpdf2 PDF/A support: https://py-pdf.github.io/fpdf2/PDFA.html
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, TableHeadingsDisplay, XPos, YPos
from fpdf.fonts import FontFace
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from services.receipts import i18n
from services.receipts.chain import SealedReceipt
from services.receipts.document import ReceiptKind

TEMPLATES = Path(__file__).parent / "templates"
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts/dejavu"),
)
FONT_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"}
RECEIPT_ATTACHMENT = "receipt.json"
SIGNATURE_ATTACHMENT = "receipt-signature.json"


class FontUnavailable(RuntimeError):
    """The DejaVu fonts a PDF receipt needs are not installed where Tessera looks."""


@dataclass(frozen=True, slots=True)
class Fonts:
    regular: Path
    bold: Path
    mono: Path


def find_fonts(font_dir: Path | None = None) -> Fonts:
    """The DejaVu font files from ``font_dir`` if given, else from the first usual directory holding all."""
    candidates = (font_dir,) if font_dir is not None else FONT_DIRS
    for directory in candidates:
        paths = {role: directory / name for role, name in FONT_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            return Fonts(**paths)
    raise FontUnavailable(
        f"PDF receipts need the DejaVu fonts ({', '.join(FONT_FILES.values())}), not found in "
        f"{', '.join(str(d) for d in candidates)}: install the Debian package fonts-dejavu-core "
        "or point font_dir at a directory holding them"
    )


def verification_url(base_url: str, receipt_id: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{receipt_id}"


@dataclass(frozen=True, slots=True)
class LineView:
    description: str
    quantity: str
    unit: str
    amount: str


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """Every word and number on a receipt, formatted for one language."""

    language: str
    labels: dict[str, str]
    title: str
    display_number: str
    issuer_name: str
    issuer_office: str
    issuer_tax_id: str
    summary: tuple[tuple[str, str], ...]
    lines: tuple[LineView, ...]
    total_label: str
    total: str
    vat_note: str
    payment: tuple[tuple[str, str], ...]
    integrity: tuple[tuple[str, str], ...]
    verify_url: str

    @property
    def qr_svg(self) -> Markup:
        """The verification URL as an inline SVG QR code, for the web page (the PDF draws its own
        from the same URL): made when a page asks, not for every PDF."""
        # segno writes the SVG itself from the URL; nothing of the receipt's text goes into it.
        return Markup(segno.make(self.verify_url, error="m").svg_inline(scale=4, omitsize=True))


def build_view(sealed: SealedReceipt, *, base_url: str, time_zone: str) -> ReceiptView:
    receipt = sealed.receipt
    integrity = receipt.integrity
    assert integrity is not None  # a SealedReceipt always carries it
    language = receipt.payer.language
    words = dict(i18n.labels(language))
    currency = receipt.amount.currency

    def money(minor: int) -> str:
        return i18n.format_money(minor, currency, language)

    credit = receipt.kind is ReceiptKind.CREDIT
    title = f"{words['credit_receipt' if credit else 'receipt']} {receipt.display_number}"
    summary: list[tuple[str, str]] = [
        (words["number"], receipt.display_number),
        (words["issued_at"], i18n.format_time(receipt.issued_at, language, time_zone)),
    ]
    if receipt.credits is not None:
        summary.append((words["credits"], receipt.credited_display_number or ""))
    if receipt.payer.name:
        summary.append((words["payer"], receipt.payer.name))
    summary.append((words["purpose"], receipt.purpose.description))
    summary.append((words["category"], receipt.purpose.category))
    if receipt.purpose.creditor_reference:
        summary.append((words["creditor_reference"], receipt.purpose.creditor_reference))

    method = receipt.payment.method
    method_text = i18n.method_name(method.kind, language)
    if method.card_brand and method.card_last4:
        card = words["card_ending"].format(brand=method.card_brand.upper(), last4=method.card_last4)
        method_text = f"{method_text}: {card}"
    url = verification_url(base_url, receipt.receipt_id)
    return ReceiptView(
        language=language,
        labels=words,
        title=title,
        display_number=receipt.display_number,
        issuer_name=receipt.issuer.name,
        issuer_office=receipt.issuer.office,
        issuer_tax_id=receipt.issuer.tax_id,
        summary=tuple(summary),
        lines=tuple(
            LineView(
                line.description,
                i18n.format_quantity(line.quantity, language),
                money(line.unit_amount_minor),
                money(line.amount_minor),
            )  # fmt: skip
            for line in receipt.purpose.lines
        ),
        total_label=words["total_credited" if credit else "total"],
        total=money(receipt.amount.amount_minor),
        vat_note=receipt.vat_note,
        payment=(
            (words["method"], method_text),
            (words["provider"], receipt.payment.provider),
            (words["transaction_id"], receipt.payment.transaction_id),
            (words["paid_at"], i18n.format_time(receipt.payment.paid_at, language, time_zone)),
        ),
        integrity=(
            (words["record_hash"], sealed.record_hash),
            (words["previous_hash"], integrity.previous_hash),
            (words["key_id"], f"{integrity.key_id} ({integrity.signature_algorithm.value})"),
        ),
        verify_url=url,
    )


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )


def render_html(sealed: SealedReceipt, *, base_url: str, time_zone: str = "UTC") -> str:
    view = build_view(sealed, base_url=base_url, time_zone=time_zone)
    return _environment().get_template("receipt.html").render(view=view)


def signature_document(sealed: SealedReceipt) -> bytes:
    """What ``receipt-signature.json`` holds: enough to check the attached record offline."""
    integrity = sealed.receipt.integrity
    assert integrity is not None
    return json.dumps(
        {
            "record_hash": sealed.record_hash,
            "key_id": integrity.key_id,
            "signature_algorithm": integrity.signature_algorithm.value,
            "signature": base64.b64encode(sealed.signature).decode("ascii"),
        },
        sort_keys=True,
        indent=2,
    ).encode()


class _ReceiptPdf(FPDF):
    def __init__(self, fonts: Fonts) -> None:
        super().__init__(format="A4", unit="mm", enforce_compliance="PDFA_3B")
        self.add_font("DejaVu", "", fonts.regular)
        self.add_font("DejaVu", "B", fonts.bold)
        self.add_font("DejaVuMono", "", fonts.mono)
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)

    def text_line(self, text: str, *, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: Sequence[tuple[str, str]], *, label_width: float = 52, mono: bool = False) -> None:
        for label, value in rows:
            self.set_font("DejaVu", "", 9)
            self.set_text_color(85, 85, 85)
            self.cell(label_width, 5.5, label)
            self.set_text_color(0, 0, 0)
            self.set_font("DejaVuMono" if mono else "DejaVu", "", 8 if mono else 10)
            self.multi_cell(0, 5.5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def qr(self, url: str, x: float, y: float, size: float) -> None:
        """The QR code as filled rectangles: vector, sharp at any zoom, no image to embed."""
        rows = list(segno.make(url, error="m").matrix_iter(scale=1, border=4))
        module = size / len(rows)
        self.set_fill_color(255, 255, 255)
        self.rect(x, y, size, size, style="F")
        self.set_fill_color(0, 0, 0)
        for row_index, row in enumerate(rows):
            start: int | None = None
            for col, dark in enumerate([*row, False]):
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    self.rect(
                        x + start * module, y + row_index * module, (col - start) * module, module, style="F"
                    )
                    start = None


def render_pdf(
    sealed: SealedReceipt, *, base_url: str, time_zone: str = "UTC", font_dir: Path | None = None
) -> bytes:
    """The receipt as a PDF/A-3b document with the canonical record attached."""
    view = build_view(sealed, base_url=base_url, time_zone=time_zone)
    receipt = sealed.receipt
    pdf = _ReceiptPdf(find_fonts(font_dir))
    pdf.set_lang(view.language)
    pdf.set_title(view.title)
    pdf.set_author(receipt.issuer.name)
    pdf.set_subject(receipt.purpose.description)
    pdf.set_creator("Tessera receipts")
    # The document's creation date is the receipt's issue time, whenever it is rendered.
    pdf.set_creation_date(receipt.issued_at.astimezone(UTC))
    pdf.add_page()

    qr_size = 34.0
    pdf.qr(view.verify_url, pdf.w - pdf.r_margin - qr_size, pdf.t_margin, qr_size)
    pdf.set_right_margin(pdf.r_margin + qr_size + 4)
    pdf.text_line(view.issuer_name, size=13, bold=True, height=6.5)
    pdf.text_line(view.issuer_office)
    pdf.text_line(f"{view.labels['tax_id']}: {view.issuer_tax_id}")
    pdf.ln(4)
    pdf.text_line(view.title, size=17, bold=True, height=8)
    pdf.set_right_margin(18)
    pdf.set_y(max(pdf.get_y(), pdf.t_margin + qr_size) + 4)
    pdf.pairs(view.summary)

    if view.lines:
        pdf.ln(3)
        headings = (view.labels["description"], view.labels["quantity"], view.labels["unit_amount"],
                    view.labels["line_amount"])  # fmt: skip
        pdf.set_font("DejaVu", "", 9.5)
        # A table wraps long descriptions and repeats its headings on each new page.
        with pdf.table(
            col_widths=(pdf.epw - 86, 18, 34, 34),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD", size_pt=9),
            line_height=5.5,
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
        ) as table:
            table.row(headings)
            for line in view.lines:
                table.row((line.description, line.quantity, line.unit, line.amount))
    pdf.ln(4)
    pdf.text_line(f"{view.total_label}: {view.total}", size=14, bold=True, height=7)
    pdf.text_line(f"{view.labels['vat']}: {view.vat_note}", size=9)
    pdf.ln(3)
    pdf.text_line(view.labels["payment"], size=11, bold=True, height=6)
    pdf.pairs(view.payment)
    pdf.ln(3)
    pdf.text_line(f"{view.labels['verify']} {view.verify_url}", size=9)
    pdf.ln(3)
    pdf.text_line(view.labels["integrity"], size=9, bold=True)
    pdf.pairs(view.integrity, mono=True)
    pdf.ln(2)
    pdf.text_line(view.labels["archival_note"], size=8, height=4.5)

    modified = receipt.issued_at.astimezone(UTC)
    pdf.embed_file(
        bytes=sealed.canonical,
        basename=RECEIPT_ATTACHMENT,
        mime_type="application/json",
        associated_file_relationship="Source",
        desc=f"{view.display_number}: the receipt record (RFC 8785 canonical JSON)",
        modification_date=modified,
        creation_date=modified,
    )
    pdf.embed_file(
        bytes=signature_document(sealed),
        basename=SIGNATURE_ATTACHMENT,
        mime_type="application/json",
        associated_file_relationship="Supplement",
        desc="SHA-256 of receipt.json and the signature over it",
        modification_date=modified,
        creation_date=modified,
    )
    return bytes(pdf.output())

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import string
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from services.receipts import i18n
from services.receipts.chain import SealedReceipt, seal
from services.receipts.document import (
    MAX_LINE_ITEMS,
    MAX_TEXT,
    CreditedReceipt,
    LineItem,
    Money,
    Payer,
    Purpose,
    parse_receipt,
)
from services.receipts.render import (
    RECEIPT_ATTACHMENT,
    SIGNATURE_ATTACHMENT,
    FontUnavailable,
    find_fonts,
    render_html,
    render_pdf,
    verification_url,
)
from services.receipts.signing import ReceiptSigner, ReceiptVerifier, SignatureCheck
from tests.receipts.test_document import make_receipt

SIGNER = ReceiptSigner(Ed25519PrivateKey.generate())
BASE = "https://receipts.demo.example/"


def sealed_in(language: str, **kwargs: object) -> SealedReceipt:
    return seal(make_receipt(1, language=language, **kwargs), previous=None, signer=SIGNER)  # type: ignore[arg-type]


def spaces(text: str) -> str:
    """Babel separates digits and currency with no-break spaces; compare with plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_every_label_in_every_language() -> None:
    english = i18n.LABELS["en"]
    assert set(i18n.LABELS) == {"en", "it", "et", "hu", "sv"}
    for language, words in i18n.LABELS.items():
        assert set(words) == set(english), language
        for key, text in words.items():
            assert text.strip(), (language, key)
            placeholders = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            expected = {name for _, name, _, _ in string.Formatter().parse(english[key]) if name}
            assert placeholders == expected, (language, key)
    # Translated, not copied: apart from a few international words each language has its own.
    for language in ("it", "et", "hu", "sv"):
        same = [k for k in english if i18n.LABELS[language][k] == english[k]]
        assert len(same) <= 3, (language, same)
    with pytest.raises(i18n.UnsupportedLanguage, match="not 'de'"):
        i18n.labels("de")


@pytest.mark.parametrize(
    ("language", "total"),
    [("en", "€45.50"), ("it", "45,50 €"), ("et", "45,50 €"), ("hu", "45,50 EUR"), ("sv", "45,50 €")],
)
def test_html_in_the_payer_language(language: str, total: str) -> None:
    sealed = sealed_in(language)
    html = render_html(sealed, base_url=BASE, time_zone="Europe/Rome")
    words = i18n.LABELS[language]
    assert f'<html lang="{language}">' in html
    assert f"{words['receipt']} DEMO-2026-000001" in html
    assert f"{words['total']}: {total}" in spaces(html)
    url = verification_url(BASE, sealed.receipt.receipt_id)
    assert url == f"https://receipts.demo.example/verify/{sealed.receipt.receipt_id}"
    assert f'href="{url}"' in html
    assert "<svg" in html and sealed.record_hash in html
    # Issued 09:26:54 UTC is 10:26:54 in Rome in March.
    assert "10:26:54" in html


def test_html_escapes_what_the_record_holds() -> None:
    receipt = dataclasses.replace(make_receipt(language="en"), payer=Payer("en", "<script>alert(1)</script>"))
    hostile = seal(receipt, previous=None, signer=SIGNER)
    html = render_html(hostile, base_url=BASE)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_credit_receipt_names_what_it_refunds() -> None:
    original = sealed_in("sv")
    credit = seal(
        make_receipt(
            2, language="sv", amount_minor=1000, credits=CreditedReceipt(original.receipt.receipt_id, 1)
        ),
        previous=original,
        signer=SIGNER,
    )
    html = spaces(render_html(credit, base_url=BASE))
    assert "Kreditkvitto DEMO-2026-000002" in html
    assert "Återbetalning av kvitto" in html and "DEMO-2026-000001" in html
    assert "Totalt återbetalt: 10,00 €" in html


def _attachments(pdf: bytes) -> dict[str, bytes]:
    reader = PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Receipt DEMO-2026-000001", "Total paid: €45.50", "Issued 14 Mar 2026"]),
        ("it", ["Ricevuta DEMO-2026-000001", "Totale pagato: 45,50 €", "Emessa il 14 mar 2026"]),
        ("et", ["Kviitung DEMO-2026-000001", "Kokku makstud: 45,50 €", "Väljastatud 14. märts 2026"]),
        ("hu", ["Nyugta DEMO-2026-000001", "Fizetett összeg: 45,50 EUR", "Kiállítva 2026. márc. 14."]),
        ("sv", ["Kvitto DEMO-2026-000001", "Totalt betalt: 45,50 €", "Utfärdat 14 mars 2026"]),
    ],
)
def test_pdf_text_attachments_and_archival_markers(language: str, words: list[str]) -> None:
    sealed = sealed_in(language)
    pdf = render_pdf(sealed, base_url=BASE, time_zone="Europe/Rome")
    reader = PdfReader(io.BytesIO(pdf))
    text = spaces(reader.pages[0].extract_text())
    for expected in words:
        assert expected in text, (expected, text)
    # Letters outside Latin-1 survive: the embedded font has them and the text maps back to them.
    assert "Mária Kovács" in text and "ő ű õ ä" in text
    assert verification_url(BASE, sealed.receipt.receipt_id) in text

    attached = _attachments(pdf)
    assert set(attached) == {RECEIPT_ATTACHMENT, SIGNATURE_ATTACHMENT}
    assert attached[RECEIPT_ATTACHMENT] == sealed.canonical
    assert parse_receipt(attached[RECEIPT_ATTACHMENT]) == sealed.receipt
    signature = json.loads(attached[SIGNATURE_ATTACHMENT])
    assert signature["record_hash"] == sealed.record_hash
    check = ReceiptVerifier.for_signer(SIGNER).check(
        signature["key_id"], sealed.receipt.integrity.signature_algorithm,  # type: ignore[union-attr]
        bytes.fromhex(signature["record_hash"]), base64.b64decode(signature["signature"]),
    )  # fmt: skip
    assert check is SignatureCheck.VALID

    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == language
    assert len(root["/AF"]) == 2
    assert root["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    xmp = reader.xmp_metadata
    assert xmp is not None
    xml = xmp.stream.get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xml and "<pdfaid:conformance>B</pdfaid:conformance>" in xml
    resources: Any = reader.pages[0]["/Resources"]
    fonts = [
        font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        for font in resources["/Font"].values()
    ]
    assert fonts and all("/FontFile2" in descriptor for descriptor in fonts)
    assert re.match(rb"%PDF-1\.7", pdf)


def test_missing_fonts_are_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FontUnavailable, match="fonts-dejavu-core"):
        find_fonts(tmp_path)
    with pytest.raises(FontUnavailable, match=str(tmp_path)):
        render_pdf(sealed_in("et"), base_url=BASE, font_dir=tmp_path)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA time zone"):
        render_html(sealed_in("it"), base_url=BASE, time_zone="Mars/Olympus")


def test_pdf_render_time_per_receipt() -> None:
    receipts = [
        seal(make_receipt(1, language=lang, receipt_id=str(uuid.uuid4())), previous=None, signer=SIGNER)
        for lang in i18n.LANGUAGES
    ]
    render_pdf(receipts[0], base_url=BASE)
    started = time.perf_counter()
    for sealed in receipts:
        render_pdf(sealed, base_url=BASE)
    each = (time.perf_counter() - started) / len(receipts)
    print(f"PDF render: {each * 1e3:.0f} ms per receipt")
    # Background work, but a bound catches a regression by an order of magnitude.
    assert each < 3.0


def test_long_receipt_wraps_and_breaks_pages() -> None:
    long_text = "Occupazione di suolo pubblico per dehors stagionale, via Garibaldi " * 7
    lines = tuple(
        LineItem(f"{n}. {long_text.strip()}"[:MAX_TEXT], 1, 100, 100) for n in range(1, MAX_LINE_ITEMS + 1)
    )
    receipt = dataclasses.replace(
        make_receipt(language="it"),
        purpose=Purpose(long_text.strip()[:MAX_TEXT], "public_land", None, lines),
        amount=Money(100 * MAX_LINE_ITEMS, "EUR"),
    )
    sealed = seal(receipt, previous=None, signer=SIGNER)
    pdf = render_pdf(sealed, base_url=BASE)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 5
    text = spaces("\n".join(page.extract_text() for page in reader.pages))
    assert "200. Occupazione" in text and "Totale pagato: 200,00 €" in text
    # Headings repeat on each page of the table.
    assert sum("Prezzo unitario" in page.extract_text() for page in reader.pages) >= 5
    assert _attachments(pdf)[RECEIPT_ATTACHMENT] == sealed.canonical

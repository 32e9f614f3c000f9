"""The public buyer's checks on invoice facts: who the seller is, who the buyer must be, the
routing code, what the supplier needs to be answered, attachments."""

from __future__ import annotations

import dataclasses

import pytest

from services.common.settings import MunicipalitySettings
from services.invoicing.checks import (
    BuyerRules,
    buyer_findings,
    issue_date,
    seller_ids,
    seller_matches,
    storage_findings,
)
from services.invoicing.samples import sample_invoice
from services.invoicing.ubl.facts import Attachment, Identifier, InvoiceFacts, read_facts
from services.invoicing.validation.parser import parse

TOWN = MunicipalitySettings()
RULES = BuyerRules(TOWN, {"UFDEMO-FIN", "UFDEMO-PW"}, max_attachments_bytes=1000)


def facts(**changes: object) -> InvoiceFacts:
    return dataclasses.replace(read_facts(parse(sample_invoice(number="C-1", lines=2))), **changes)  # type: ignore[arg-type]


def rules_of(found: InvoiceFacts, rules: BuyerRules = RULES) -> list[str]:
    return [f.rule for f in buyer_findings(found, rules)]


def test_a_sample_invoice_passes_every_check() -> None:
    assert rules_of(facts()) == []


@pytest.mark.parametrize("bound", ["IT01234567890", "it 0123 4567 890"])
def test_the_seller_is_matched_by_its_vat_id_whatever_the_spacing_or_case(bound: str) -> None:
    assert seller_matches(facts(), bound)


def test_the_seller_is_matched_by_an_identifier_with_or_without_its_scheme() -> None:
    identified = facts(seller_vat_id=None, seller_identifiers=(Identifier("5790000435975", "0088"),))
    assert seller_matches(identified, "0088:5790000435975") and seller_matches(identified, "5790000435975")
    assert not seller_matches(identified, "0211:IT01234567890")  # BT-34 (the address) is not an identity


def test_another_supplier_is_not_the_seller() -> None:
    assert not seller_matches(facts(), "IT09876543210")
    legal = facts(seller_vat_id=None, seller_legal_id=Identifier("12345", "0088"))
    assert seller_matches(legal, "0088:12345") and seller_matches(legal, "12345")
    assert "" not in seller_ids(facts(seller_vat_id="  "))


def test_a_buyer_naming_another_organisation_is_refused_per_identifier() -> None:
    found = buyer_findings(facts(buyer_vat_id="FR00000000000"), RULES)
    assert [f.rule for f in found] == ["TESSERA-B2G-01"] and "BT-48" in found[0].message
    nameless = facts(buyer_vat_id=None, buyer_legal_id=None, buyer_electronic_address=None)
    assert rules_of(nameless) == ["TESSERA-B2G-01"]
    by_address_only = facts(buyer_vat_id=None, buyer_legal_id=None)
    assert rules_of(by_address_only) == []


def test_the_routing_code_must_be_registered_and_the_finding_names_them() -> None:
    missing = buyer_findings(facts(buyer_reference=None), RULES)
    assert [f.rule for f in missing] == ["TESSERA-B2G-02"] and "UFDEMO-FIN, UFDEMO-PW" in missing[0].message
    none_registered = buyer_findings(
        facts(buyer_reference="X"), dataclasses.replace(RULES, routing_codes=set())
    )
    assert "none registered" in none_registered[0].message


def test_the_supplier_must_be_answerable() -> None:
    assert rules_of(facts(seller_electronic_address=None)) == ["TESSERA-B2G-03"]
    assert rules_of(facts(seller_electronic_address=Identifier("x", None))) == ["TESSERA-B2G-03"]


def attachment(mime: str | None, size: int) -> Attachment:
    return Attachment(
        reference="a",
        description=None,
        external_uri=None,
        mime_code=mime,
        filename="f",
        size=size,
        embedded=True,
    )


def test_attachments_need_an_allowed_type_and_a_bounded_total() -> None:
    assert rules_of(facts(attachments=(attachment("application/pdf", 600),))) == []
    assert rules_of(facts(attachments=(attachment("application/zip", 10),))) == ["TESSERA-B2G-04"]
    too_much = (attachment("application/pdf", 600), attachment("image/png", 600))
    assert rules_of(facts(attachments=too_much)) == ["TESSERA-B2G-05"]


@pytest.mark.parametrize(
    ("written", "day"),
    [("2026-03-02", (2026, 3, 2)), ("2026-03-02Z", (2026, 3, 2)), ("2026-03-02-05:00", (2026, 3, 2))],
)
def test_issue_dates_with_a_timezone_keep_their_day(written: str, day: tuple[int, int, int]) -> None:
    import datetime as dt

    assert issue_date(written) == dt.date(*day)


@pytest.mark.parametrize("written", ["12026-01-01", "-0001-01-01", "2026-02-30", "2026-3-2", ""])
def test_what_is_not_a_plain_calendar_date_is_refused(written: str) -> None:
    assert issue_date(written) is None
    assert [f.rule for f in storage_findings(facts(), written)] == ["TESSERA-B2G-07"]

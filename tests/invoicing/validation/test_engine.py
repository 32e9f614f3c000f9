"""The engine: stages in order, findings located and worded, crashes failing closed, the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from services.invoicing.validation import Finding, Severity, ValidationReport, rule_catalogue, validate
from services.invoicing.validation.engine import ENGINE_CHECKS, Locator, too_large
from services.invoicing.validation.rules.base import GROUPS, NS, REGISTRY, Check, Doc, Element, Rule
from tests.invoicing.validation.support import CREDIT_NOTE, INVOICE, require_schemas


@pytest.fixture(autouse=True, scope="module")
def schemas() -> Path:
    return require_schemas()


@pytest.fixture
def only_test_rules() -> Iterator[None]:
    """Run the engine with no EN 16931 rule but the ones a test adds (the rules have their own tests)."""
    saved_rules, saved_groups = dict(REGISTRY), list(GROUPS)
    REGISTRY.clear()
    GROUPS.clear()
    yield
    REGISTRY.clear()
    REGISTRY.update(saved_rules)
    GROUPS[:] = saved_groups


def add_rule(monkeypatch: pytest.MonkeyPatch, rule_id: str, check: Check, flag: str = "fatal") -> None:
    """Register a rule for one test only (the registry is restored afterwards)."""
    monkeypatch.setitem(
        REGISTRY, rule_id, Rule(rule_id, Severity(flag), ("BT-153",), f"Message of {rule_id}.", check)
    )


def second_line_item_name(doc: Doc) -> Iterator[Element]:
    name = doc.lines[1].find("cac:Item/cbc:Name", NS)
    assert name is not None
    yield name


@pytest.mark.usefixtures("only_test_rules")
def test_a_valid_invoice() -> None:
    report = validate(INVOICE.read_bytes())
    assert report == ValidationReport("Invoice", "urn:cen.eu:en16931:2017", ())
    assert report.valid


@pytest.mark.usefixtures("only_test_rules")
def test_a_valid_credit_note() -> None:
    report = validate(CREDIT_NOTE.read_bytes())
    assert report.document_type == "CreditNote"
    assert report.valid, report.findings


@pytest.mark.usefixtures("only_test_rules")
def test_a_rule_finding_carries_the_registry_message_a_readable_location_and_the_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_rule(monkeypatch, "TEST-LOCATION", second_line_item_name)
    report = validate(INVOICE.read_bytes())
    [finding] = report.findings
    text = INVOICE.read_text().splitlines()
    assert finding == Finding(
        "TEST-LOCATION",
        Severity.FATAL,
        "Message of TEST-LOCATION.",
        "/Invoice/cac:InvoiceLine[2]/cac:Item/cbc:Name",
        next(i for i, line in enumerate(text, start=1) if "Delivery to the town hall" in line),
    )
    assert not report.valid


@pytest.mark.usefixtures("only_test_rules")
def test_a_warning_leaves_the_document_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    add_rule(monkeypatch, "TEST-WARNING", lambda doc: [doc.root], flag="warning")
    report = validate(INVOICE.read_bytes())
    assert report.valid
    assert [(f.rule, f.severity, f.location) for f in report.findings] == [
        ("TEST-WARNING", Severity.WARNING, "/Invoice")
    ]


@pytest.mark.usefixtures("only_test_rules")
def test_a_crashing_rule_is_a_fatal_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(doc: Doc) -> Iterator[Element]:
        raise ZeroDivisionError("division by zero")

    add_rule(monkeypatch, "TEST-CRASH", crash, flag="warning")
    report = validate(INVOICE.read_bytes())
    assert not report.valid
    [finding] = report.findings
    assert (finding.rule, finding.severity, finding.location) == ("TEST-CRASH", Severity.FATAL, "/Invoice")
    assert "ZeroDivisionError" in finding.message and "not accepted" in finding.message


@pytest.mark.usefixtures("only_test_rules")
def test_rules_still_run_on_a_schema_invalid_document(monkeypatch: pytest.MonkeyPatch) -> None:
    add_rule(monkeypatch, "TEST-LOCATION", second_line_item_name)
    text = INVOICE.read_text().replace('"EUR">245.00<', '"EUR">lots<')
    report = validate(text.encode())
    assert [f.rule for f in report.findings if f.rule in ("XSD", "TEST-LOCATION")] == ["XSD", "TEST-LOCATION"]
    xsd_finding = report.findings[0]
    assert xsd_finding.location == "/Invoice/cac:InvoiceLine[1]/cbc:LineExtensionAmount"
    assert xsd_finding.severity is Severity.FATAL and "'lots'" in xsd_finding.message


def test_a_schema_invalid_document_is_never_valid() -> None:
    text = INVOICE.read_text().replace("<cbc:IssueDate>2026-03-02</cbc:IssueDate>", "")
    report = validate(text.encode())
    assert not report.valid
    assert "XSD" in {f.rule for f in report.findings}


def test_unparseable_and_foreign_documents_stop_early() -> None:
    garbage = validate(b"<Invoice")
    assert [(f.rule, f.location) for f in garbage.findings] == [("XML", "/")]
    assert garbage.document_type is None
    foreign = validate(b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>')
    assert [f.rule for f in foreign.findings] == ["DOCTYPE"]
    assert "Order" in foreign.findings[0].message


def test_too_large_needs_no_bytes() -> None:
    report = too_large(30_000_000, 20_000_000)
    assert [(f.rule, f.line) for f in report.findings] == [("XML", None)]
    assert "30,000,000 bytes" in report.findings[0].message


def test_the_size_limit_is_a_parameter() -> None:
    data = INVOICE.read_bytes()
    assert [f.rule for f in validate(data, max_bytes=len(data) - 1).findings] == ["XML"]


def locate(xml: str, path: str) -> str:
    root = etree.fromstring(xml)
    node = root.xpath(path, namespaces=NS)[0]
    return Locator().path(node)


CBC, CAC = NS["cbc"], NS["cac"]


def test_locations_use_tesseras_prefixes_whatever_the_document_declares() -> None:
    xml = (
        f'<x:Invoice xmlns:x="{NS["inv"]}" xmlns:agg="{CAC}">'
        f'<agg:InvoiceLine><ID xmlns="{CBC}">1</ID></agg:InvoiceLine>'
        f'<agg:InvoiceLine><ID xmlns="{CBC}">2</ID></agg:InvoiceLine></x:Invoice>'
    )
    assert locate(xml, "/inv:Invoice/cac:InvoiceLine[2]/cbc:ID") == "/Invoice/cac:InvoiceLine[2]/cbc:ID"
    assert locate(xml, "/inv:Invoice/cac:InvoiceLine[1]") == "/Invoice/cac:InvoiceLine[1]"


def test_positions_count_only_same_named_siblings() -> None:
    xml = (
        f'<CreditNote xmlns="{NS["cn"]}" xmlns:cbc="{CBC}" xmlns:cac="{CAC}">'
        "<cbc:Note>a</cbc:Note><cbc:ID>1</cbc:ID><cbc:Note>b</cbc:Note><cac:Unknown/></CreditNote>"
    )
    assert locate(xml, "//cbc:Note[2]") == "/CreditNote/cbc:Note[2]"
    assert locate(xml, "//cbc:ID") == "/CreditNote/cbc:ID"


def test_foreign_namespaces_are_spelled_out() -> None:
    xml = f'<Invoice xmlns="{NS["inv"]}"><e:X xmlns:e="urn:example"/><plain xmlns=""/><Note/></Invoice>'
    assert locate(xml, "/inv:Invoice/*[1]") == "/Invoice/Q{urn:example}X"
    assert locate(xml, "/inv:Invoice/plain") == "/Invoice/plain"
    assert locate(xml, "/inv:Invoice/inv:Note") == "/Invoice/Note"


def test_the_catalogue_lists_the_engine_checks_then_every_registered_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_rule(monkeypatch, "TEST-CATALOGUE", lambda doc: [], flag="warning")
    catalogue = rule_catalogue()
    assert [entry.id for entry in catalogue[:3]] == ["XML", "DOCTYPE", "XSD"]
    assert catalogue[:3] == ENGINE_CHECKS
    assert [entry.id for entry in catalogue[3:]] == list(REGISTRY)
    entry = next(e for e in catalogue if e.id == "TEST-CATALOGUE")
    assert (entry.flag, entry.terms, entry.message) == (
        Severity.WARNING,
        ("BT-153",),
        "Message of TEST-CATALOGUE.",
    )


@pytest.mark.usefixtures("only_test_rules")
def test_a_rule_yielding_something_else_than_an_element_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    add_rule(monkeypatch, "TEST-ODD", lambda doc: [doc.root.xpath("string(cbc:ID)", namespaces=NS)])
    report = validate(INVOICE.read_bytes())
    assert [(f.rule, f.location, f.line) for f in report.findings] == [("TEST-ODD", "/Invoice", None)]


@pytest.mark.usefixtures("only_test_rules")
def test_a_group_naming_an_unknown_rule_fails_closed() -> None:
    def group(doc: Doc) -> Iterator[tuple[str, Element]]:
        yield "NO-SUCH-RULE", doc.root

    GROUPS.append(group)
    report = validate(INVOICE.read_bytes())
    assert [(f.rule, f.severity) for f in report.findings] == [("group", Severity.FATAL)]
    assert "NO-SUCH-RULE" in report.findings[0].message


def test_concurrent_validations_give_the_serial_answers() -> None:
    documents = [
        INVOICE.read_bytes(),
        CREDIT_NOTE.read_bytes(),
        INVOICE.read_text().replace("245.00", "2x").encode(),
    ]
    expected = [validate(data) for data in documents]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(validate, documents * 20))
    assert answers == expected * 20

"""UBL-CR-*: the table of unused elements, checked one rule at a time on documents built from it."""

from __future__ import annotations

import pytest
from lxml import etree

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules.base import NS, REGISTRY, Doc, Element
from services.invoicing.validation.rules.unused import ENTRIES, RULES, TABLE, Unused, unused_elements
from tests.invoicing.validation.conformance import official_rules
from tests.invoicing.validation.rules.documents import credit_note, invoice
from tests.invoicing.validation.support import require_schemas

ROOT_TAGS = {"Invoice": "{" + NS["inv"] + "}Invoice", "CreditNote": "{" + NS["cn"] + "}CreditNote"}
# Paths of the artefacts that no schema-valid document holds (kept as published, see unused.py).
NOT_IN_SCHEMA = {"UBL-CR-629", "UBL-CR-630", "UBL-CR-651"}


def breaches(root: Element) -> list[tuple[str, Element]]:
    return list(unused_elements(Doc(root)))


def fired_ids(root: Element) -> list[str]:
    return [rule_id for rule_id, _ in breaches(root)]


def build(entry: Unused) -> Element:
    """The smallest document holding the entry's path, its condition met (a 130 type code, ...)."""
    steps = [*reversed(entry.ancestors), entry.tag]
    if steps == ["*"]:  # an attribute forbidden on any element: put it deep in a line
        steps = ["{" + NS["cac"] + "}InvoiceLine", "{" + NS["cbc"] + "}InvoicedQuantity"]
    credit = steps[0].endswith("CreditNoteLine")
    root = etree.Element(
        ROOT_TAGS["CreditNote" if credit else "Invoice"], nsmap={"cac": NS["cac"], "cbc": NS["cbc"]}
    )
    node = root
    for tag in steps:
        node = etree.SubElement(node, tag)
    if entry.attribute is not None:
        node.set(entry.attribute, "x")
    parent = node.getparent()
    assert parent is not None
    if entry.rule_id in ("UBL-CR-666", "UBL-CR-673"):
        etree.SubElement(parent, "{" + NS["cbc"] + "}DocumentTypeCode").text = "130"
    if entry.rule_id == "UBL-CR-002":
        node.text = "2.0"
    return root


def test_the_table_holds_every_official_rule_with_its_flag() -> None:
    official = {rule_id: flag for rule_id, flag in official_rules().items() if rule_id.startswith("UBL-CR-")}
    assert {r.id: r.severity.value for r in RULES} == official
    assert {r.id for r in RULES if r.severity is Severity.FATAL} == {"UBL-CR-666", "UBL-CR-673"}
    assert all(REGISTRY[r.id] is r for r in RULES)


def test_every_table_line_is_one_rule_with_a_path() -> None:
    lines = TABLE.strip().splitlines()
    assert len(lines) == len(RULES) == 678
    assert len({line.split()[0] for line in lines}) == 678


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.rule_id}:{e.path}:{e.ancestors[-1:]}" for e in ENTRIES])
def test_each_rule_fires_once_at_the_root_on_its_own_path(entry: Unused) -> None:
    root = build(entry)
    hits = breaches(root)
    assert [rule_id for rule_id, _ in hits].count(entry.rule_id) == 1
    assert all(el is root for _, el in hits)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.anchored], ids=lambda e: f"{e.rule_id}:{e.path}")
def test_a_path_from_the_root_does_not_match_one_level_deeper(entry: Unused) -> None:
    root = build(entry)
    wrapper = etree.SubElement(root, "{" + NS["cac"] + "}Wrapper")
    for child in [c for c in root if c is not wrapper]:
        wrapper.append(child)
    assert entry.rule_id not in fired_ids(root)


def test_an_element_in_the_wrong_place_answers_to_its_own_path_only() -> None:
    root = invoice("<cac:OrderReference><cbc:ID>1</cbc:ID><cbc:UUID>u</cbc:UUID></cac:OrderReference>")
    assert fired_ids(root) == ["UBL-CR-017"]


def test_a_rule_fires_once_however_many_elements_break_it() -> None:
    lines = "".join(f"<cac:InvoiceLine><cbc:UUID>{n}</cbc:UUID></cac:InvoiceLine>" for n in range(3))
    assert fired_ids(invoice(lines)) == ["UBL-CR-515"]


def test_ubl_version_21_is_accepted_and_others_are_not() -> None:
    assert fired_ids(invoice("<cbc:UBLVersionID>2.1</cbc:UBLVersionID>")) == []
    assert fired_ids(invoice("<cbc:UBLVersionID> 2.1</cbc:UBLVersionID>")) == ["UBL-CR-002"]


def test_payment_due_date_in_payment_means_is_for_credit_notes() -> None:
    means = "<cac:PaymentMeans><cbc:PaymentDueDate>2024-01-01</cbc:PaymentDueDate></cac:PaymentMeans>"
    assert fired_ids(invoice(means)) == ["UBL-CR-412"]
    assert fired_ids(credit_note(means)) == []


def test_scheme_identifier_on_a_supporting_document_depends_on_its_type_code() -> None:
    def reference(code: str) -> Element:
        return invoice(
            f'<cac:AdditionalDocumentReference><cbc:ID schemeID="AAA">1</cbc:ID>{code}'
            "</cac:AdditionalDocumentReference>"
        )

    assert fired_ids(reference("<cbc:DocumentTypeCode>130</cbc:DocumentTypeCode>")) == []
    assert fired_ids(reference("")) == ["UBL-CR-665"]
    assert fired_ids(reference("<cbc:DocumentTypeCode>916</cbc:DocumentTypeCode>")) == ["UBL-CR-665"]


def test_an_invoiced_object_carries_no_attachment_or_description() -> None:
    body = (
        "<cac:AdditionalDocumentReference><cbc:ID>1</cbc:ID><cbc:DocumentTypeCode>130</cbc:DocumentTypeCode>"
        "<cbc:DocumentDescription>d</cbc:DocumentDescription><cac:Attachment/></cac:AdditionalDocumentReference>"
    )
    assert fired_ids(invoice(body)) == ["UBL-CR-666", "UBL-CR-673"]
    other = body.replace(">130<", ">916<")
    assert fired_ids(invoice(other)) == []


def test_rules_speak_of_invoices_and_credit_notes_only() -> None:
    other = etree.fromstring(f'<Order xmlns:cbc="{NS["cbc"]}"><cbc:UUID>1</cbc:UUID></Order>')
    assert fired_ids(other) == []


def test_the_paths_name_elements_of_the_ubl_schema() -> None:
    """Guards the table against typing errors: each step is a child the UBL 2.1 schema allows there."""
    folder = require_schemas()
    xs = "{http://www.w3.org/2001/XMLSchema}"

    def content(path: str) -> tuple[dict[str, set[str]], dict[str, str]]:
        schema = etree.parse(str(folder / path)).getroot()
        types = {
            t.get("name", ""): {e.get("ref", "") for e in t.iter(xs + "element")}
            for t in schema.iter(xs + "complexType")
        }
        elements = {e.get("name", ""): e.get("type", "") for e in schema.findall(xs + "element")}
        return types, elements

    cac_types, cac_elements = content("common/UBL-CommonAggregateComponents-2.1.xsd")
    roots = (
        content("maindoc/UBL-Invoice-2.1.xsd")[0]["InvoiceType"]
        | content("maindoc/UBL-CreditNote-2.1.xsd")[0]["CreditNoteType"]
    )
    prefix = {NS["cac"]: "cac", NS["cbc"]: "cbc", NS["ext"]: "ext"}

    def qname(tag: str) -> str:
        namespace, _, name = tag[1:].partition("}")
        return f"{prefix[namespace]}:{name}"

    def in_schema(entry: Unused) -> bool:
        steps = [qname(tag) for tag in (*reversed(entry.ancestors), entry.tag) if tag != "*"]
        allowed = roots if entry.anchored else None
        for step in steps:
            if allowed is not None and step not in allowed:
                return False
            kind, _, name = step.partition(":")
            allowed = (
                cac_types.get(cac_elements.get(name, "").rpartition(":")[2], set())
                if kind == "cac"
                else set()
            )
        return True

    # A line path counts once it is right for invoice lines or for credit note lines.
    valid = {entry.rule_id for entry in ENTRIES if in_schema(entry)}
    assert {entry.rule_id for entry in ENTRIES} - valid == NOT_IN_SCHEMA

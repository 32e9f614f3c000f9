"""Properties over mutated invoices: the validator never raises, answers quickly, and never calls a
schema-invalid document valid (checked against an independent XSD implementation, ``xmlschema``)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from services.invoicing.validation import ValidationReport, validate
from services.invoicing.validation.xsd import SCHEMA_FILES
from tests.invoicing.validation.conformance import example_files
from tests.invoicing.validation.support import CREDIT_NOTE, INVOICE, require_schemas

# The small documents: the 3 MB example with an attachment adds time, not coverage.
SOURCES = [INVOICE, CREDIT_NOTE] + [p for p in example_files() if p.stat().st_size < 40_000]
ORIGINALS = {path.name: path.read_bytes() for path in SOURCES}
SECONDS = 2.0

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def reference_schema(document_type: str) -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(require_schemas() / SCHEMA_FILES[document_type]))


def timed_validate(data: bytes) -> ValidationReport:
    started = time.perf_counter()
    report = validate(data)
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"validation took {elapsed:.2f}s"
    return report


def assert_valid_means_schema_valid(data: bytes, report: ValidationReport) -> None:
    if report.valid:
        assert report.document_type is not None
        errors = list(reference_schema(report.document_type).iter_errors(etree.fromstring(data)))
        assert not errors, f"called valid but the schema says: {errors[0].reason}"


xml_text = st.one_of(
    st.sampled_from(
        ["", " ", "0", "-1", "1.005", "1e3", "NaN", "2026-02-30", "ZZZ", "999999999999.9999", "S"]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=24),
)
mutation = st.tuples(
    st.sampled_from(["drop", "duplicate", "text", "attribute", "move"]),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    xml_text,
)


def mutate(data: bytes, mutations: list[tuple[str, int, int, str]]) -> bytes:
    root = etree.fromstring(data)
    for kind, first, second, value in mutations:
        elements = [el for el in root.iter() if isinstance(el.tag, str)]
        target = elements[first % len(elements)]
        parent = target.getparent()
        if kind == "drop" and parent is not None:
            parent.remove(target)
        elif kind == "duplicate" and parent is not None:
            target.addnext(etree.fromstring(etree.tostring(target)))
        elif kind == "text":
            target.text = value
        elif kind == "attribute":
            names = ["currencyID", "unitCode", "schemeID", "listID", "languageID"]
            target.set(names[second % len(names)], value)
        elif kind == "move" and parent is not None:
            other = elements[second % len(elements)]
            if target not in other.iterancestors() and other is not target:
                other.append(target)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(autouse=True, scope="module")
def schemas() -> Path:
    return require_schemas()


@SETTINGS
@given(name=st.sampled_from(sorted(ORIGINALS)), mutations=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_documents(name: str, mutations: list[tuple[str, int, int, str]]) -> None:
    data = mutate(ORIGINALS[name], mutations)
    assert_valid_means_schema_valid(data, timed_validate(data))


@SETTINGS
@given(
    name=st.sampled_from(sorted(ORIGINALS)),
    cut=st.integers(min_value=0, max_value=100_000),
    insert=st.binary(max_size=16),
)
def test_damaged_bytes(name: str, cut: int, insert: bytes) -> None:
    original = ORIGINALS[name]
    position = cut % (len(original) + 1)
    data = original[:position] + insert + original[position + len(insert) :]
    assert_valid_means_schema_valid(data, timed_validate(data))


def test_the_reference_schema_agrees_on_the_originals() -> None:
    for name, data in ORIGINALS.items():
        report = timed_validate(data)
        assert report.document_type is not None
        assert reference_schema(report.document_type).is_valid(etree.fromstring(data)), name


def test_the_cross_check_can_fail() -> None:
    """A document libxml2 would refuse is also refused by the reference schema (the oracle is not blind)."""
    broken = INVOICE.read_text().replace("<cbc:IssueDate>2026-03-02</cbc:IssueDate>", "").encode()
    assert not reference_schema("Invoice").is_valid(etree.fromstring(broken))

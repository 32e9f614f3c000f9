from __future__ import annotations

import base64
import datetime as dt
import hashlib
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.xades.xades import XAdESSigner

from services.invoicing.ubl.facts import read_facts
from services.invoicing.ubl.ns import NS, qname
from services.invoicing.ubl.seal import (
    DEVELOPMENT_COMMON_NAME,
    SIGNATURE_PATH,
    NotSealable,
    Sealer,
    SealKeyError,
    SealStatus,
    development_paths,
    verify_seal,
)
from services.invoicing.validation import validate
from services.invoicing.validation.parser import parse
from tests.invoicing.ubl.support import (
    MUNICIPAL_CREDIT_NOTE,
    SERVICES_INVOICE,
    example_files,
    require_schemas,
)

NOW = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC)


def _certificate(key: ec.EllipticCurvePrivateKey, common_name: str, *, days: int = 30) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = NOW - dt.timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def other_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def other_sealer(other_key: ec.EllipticCurvePrivateKey) -> Sealer:
    """A second seal (ECDSA) standing for a supplier or an attacker."""
    return Sealer(other_key, _certificate(other_key, "Fonteinbeheer Oost B.V. e-invoicing"))


@pytest.fixture(scope="module")
def sealed(sealer: Sealer) -> bytes:
    return sealer.seal(SERVICES_INVOICE.read_bytes(), now=NOW).sealed


def _tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


# --- sealing ---------------------------------------------------------------------------------


def test_seal_places_a_xades_signature_at_the_ubl_location_and_verifies(sealer: Sealer) -> None:
    original = SERVICES_INVOICE.read_bytes()
    result = sealer.seal(original, now=NOW)

    assert result.original_sha256 == hashlib.sha256(original).hexdigest()
    assert result.sealed_sha256 == hashlib.sha256(result.sealed).hexdigest()
    assert result.signed_at == NOW
    assert result.development
    assert DEVELOPMENT_COMMON_NAME in result.certificate_subject

    root = _tree(result.sealed)
    assert root[0].tag == qname("ext:UBLExtensions"), "UBLExtensions must be the first child"
    signatures = root.findall(SIGNATURE_PATH, NS)
    assert len(signatures) == 1
    properties = signatures[0].find(
        "ds:Object/xades:QualifyingProperties/xades:SignedProperties/xades:SignedSignatureProperties", NS
    )
    assert properties is not None
    assert properties.find("xades:SigningCertificate", NS) is not None
    assert properties.find("xades:SigningCertificateV2", NS) is None
    assert properties.findtext("xades:SigningTime", namespaces=NS) == NOW.isoformat(timespec="seconds")
    digest_methods = {el.get("Algorithm") for el in signatures[0].iterfind(".//ds:DigestMethod", NS)}
    assert digest_methods == {"http://www.w3.org/2001/04/xmlenc#sha256"}

    verdict = verify_seal(result.sealed, trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INTACT, verdict.message
    assert verdict.intact
    assert verdict.signed_at == NOW
    assert verdict.development
    assert verdict.certificate_subject == result.certificate_subject
    assert verdict.certificate_sha256 == result.certificate_sha256
    # The verified content is the document without its signature, not the file around it.
    assert verdict.signed_content is not None
    content = etree.fromstring(verdict.signed_content)
    assert content.findtext("cbc:ID", namespaces=NS) == "GM-2026-117"
    assert content.find(".//ds:Signature", NS) is None


def test_sealing_twice_gives_two_independent_seals(sealer: Sealer) -> None:
    original = MUNICIPAL_CREDIT_NOTE.read_bytes()
    first = sealer.seal(original, now=NOW)
    second = sealer.seal(original, now=NOW + dt.timedelta(seconds=5))
    assert first.original_sha256 == second.original_sha256
    assert first.sealed != second.sealed
    for copy in (first, second):
        assert verify_seal(copy.sealed, trusted_certs=[sealer.certificate]).intact


def test_sealed_examples_pass_the_xsd_and_every_fatal_rule_with_only_ubl_cr_001_added(sealer: Sealer) -> None:
    require_schemas()
    problems: list[str] = []
    for path in [*example_files(), SERVICES_INVOICE, MUNICIPAL_CREDIT_NOTE]:
        original = path.read_bytes()
        before = {finding.rule for finding in validate(original).findings}
        result = sealer.seal(original, now=NOW)
        report = validate(result.sealed)
        added = {finding.rule for finding in report.findings} - before
        if report.fatal:
            problems.append(f"{path.name}: fatal {[(f.rule, f.message) for f in report.fatal]}")
        if added != {"UBL-CR-001"}:
            problems.append(f"{path.name}: findings added by the seal: {sorted(added)}")
        verdict = verify_seal(result.sealed, trusted_certs=[sealer.certificate])
        if not verdict.intact:
            problems.append(f"{path.name}: {verdict.status} {verdict.message}")
    assert not problems, "\n".join(problems)


def test_signxml_default_signing_certificate_v2_would_fail_the_ubl_xsd(sealer: Sealer, sealed: bytes) -> None:
    """Why the signer is customised: the same seal with SigningCertificateV2 is not UBL 2.1 valid."""
    require_schemas()
    root = _tree(sealed)
    v1 = root.find(".//xades:SigningCertificate", NS)
    assert v1 is not None
    v1.tag = "{http://uri.etsi.org/01903/v1.3.2#}SigningCertificateV2"
    report = validate(_bytes(root))
    assert any("SigningCertificateV2" in finding.message for finding in report.fatal)


def test_the_key_is_loaded_once_not_on_every_seal(sealer: Sealer, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the seal key was parsed again")

    for loader in ("load_pem_private_key", "load_der_private_key"):
        monkeypatch.setattr(serialization, loader, refuse)
    original = SERVICES_INVOICE.read_bytes()
    started = time.perf_counter()
    for _ in range(5):
        assert verify_seal(sealer.seal(original, now=NOW).sealed, trusted_certs=[sealer.certificate]).intact
    assert (time.perf_counter() - started) / 5 < 1.0


def test_sealing_the_tree_already_parsed_seals_the_same_content(sealer: Sealer) -> None:
    """Submission hands over the tree it validated; the seal covers what sealing the bytes would."""
    original = SERVICES_INVOICE.read_bytes()
    from_bytes = sealer.seal(original, now=NOW)
    from_tree = sealer.seal(original, now=NOW, parsed=parse(original))
    assert from_tree.original_sha256 == from_bytes.original_sha256
    first = verify_seal(from_bytes.sealed, trusted_certs=[sealer.certificate])
    second = verify_seal(from_tree.sealed, trusted_certs=[sealer.certificate])
    assert first.intact and second.intact, (first.message, second.message)
    assert second.signed_content == first.signed_content
    # Each seal has its own identifiers, so two seals of one document never share a reference target.
    assert from_tree.sealed != from_bytes.sealed


def test_each_reference_is_bound_to_what_it_names(sealer: Sealer, sealed: bytes) -> None:
    """The signed properties and the key info are covered by their own digests: changing the
    certificate digest the properties announce, or dropping the certificate, is not intact."""
    root = _tree(sealed)
    digest = root.find(".//xades:CertDigest/ds:DigestValue", NS)
    assert digest is not None
    digest.text = base64.b64encode(b"\0" * 32).decode()
    assert verify_seal(_bytes(root), trusted_certs=[sealer.certificate]).status is SealStatus.ALTERED

    root = _tree(sealed)
    key_info = root.find(".//ds:KeyInfo", NS)
    assert key_info is not None and key_info.get("Id")
    key_info.set("Id", "elsewhere")
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID, verdict.message


def test_a_supplier_signature_is_kept_and_the_seal_added_after_it(
    sealer: Sealer, other_sealer: Sealer
) -> None:
    signed_by_supplier = other_sealer.seal(SERVICES_INVOICE.read_bytes(), now=NOW).sealed
    assert read_facts(parse(signed_by_supplier)).signed

    supplier_verdict = verify_seal(signed_by_supplier)
    assert supplier_verdict.status is SealStatus.UNTRUSTED, supplier_verdict.message
    assert supplier_verdict.certificate_subject == "CN=Fonteinbeheer Oost B.V. e-invoicing"
    assert not supplier_verdict.development

    archived = sealer.seal(signed_by_supplier, now=NOW)
    root = _tree(archived.sealed)
    assert len(root.findall(SIGNATURE_PATH, NS)) == 2
    assert len(root.findall("ext:UBLExtensions", NS)) == 1
    verdict = verify_seal(archived.sealed, trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INTACT, verdict.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not xml at all", "not well-formed"),
        (b"", "empty"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
        (b"<Order xmlns='urn:example'/>", "root element"),
    ],
)
def test_seal_refuses_what_is_not_a_ubl_invoice(sealer: Sealer, data: bytes, fragment: str) -> None:
    with pytest.raises(NotSealable, match=fragment):
        sealer.seal(data)


def test_seal_refuses_a_certificate_outside_its_validity(other_sealer: Sealer) -> None:
    with pytest.raises(SealKeyError, match="not valid at"):
        other_sealer.seal(SERVICES_INVOICE.read_bytes(), now=NOW + dt.timedelta(days=365))


# --- loading keys ------------------------------------------------------------------------------


def test_development_seal_is_created_once_with_a_private_key_file(tmp_path: Path) -> None:
    first = Sealer.development(tmp_path)
    key_path, certificate_path = development_paths(tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert first.is_development
    assert first.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        DEVELOPMENT_COMMON_NAME
    )
    second = Sealer.development(tmp_path)
    assert second.certificate == first.certificate
    assert certificate_path.read_bytes() == first.certificate.public_bytes(serialization.Encoding.PEM)


def test_pem_files_with_password_and_pkcs12(tmp_path: Path, other_key: ec.EllipticCurvePrivateKey) -> None:
    certificate = _certificate(other_key, "Gemeente Deventer seal")
    key_path = tmp_path / "seal.key"
    key_path.write_bytes(
        other_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    certificate_path = tmp_path / "seal.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    from_pem = Sealer.from_pem_files(key_path, certificate_path, b"secret")
    assert from_pem.certificate == certificate
    assert not from_pem.is_development

    p12_path = tmp_path / "seal.p12"
    p12_path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", other_key, certificate, None, serialization.BestAvailableEncryption(b"p12-pass")
        )
    )
    from_p12 = Sealer.from_pkcs12(p12_path, b"p12-pass")
    sealed = from_p12.seal(SERVICES_INVOICE.read_bytes(), now=NOW).sealed
    assert verify_seal(sealed, trusted_certs=[certificate]).intact

    with pytest.raises(SealKeyError, match="wrong password"):
        Sealer.from_pkcs12(p12_path, b"nope")
    with pytest.raises(SealKeyError, match="cannot load the seal key"):
        Sealer.from_pem_files(key_path, certificate_path, b"nope")
    with pytest.raises(SealKeyError, match="cannot read"):
        Sealer.from_pem_files(tmp_path / "missing.key", certificate_path)
    with pytest.raises(SealKeyError, match="cannot load the seal certificate"):
        Sealer.from_pem_files(key_path, key_path, b"secret")


def test_key_and_certificate_must_belong_together(
    sealer: Sealer, other_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(SealKeyError, match="does not belong"):
        Sealer(other_key, sealer.certificate)
    with pytest.raises(SealKeyError, match="RSA or EC"):
        Sealer(ed25519.Ed25519PrivateKey.generate(), sealer.certificate)


# --- verifying hostile input ------------------------------------------------------------------


def test_unsigned_documents_are_reported_unsigned_not_rejected() -> None:
    verdict = verify_seal(SERVICES_INVOICE.read_bytes())
    assert verdict.status is SealStatus.UNSIGNED
    assert verdict.certificate_subject is None and verdict.signed_content is None


@pytest.mark.parametrize("data", [b"\x00\x01garbage", b"<Invoice>", b"", b"<a xmlns='urn:x'/>"])
def test_non_xml_and_foreign_documents_are_unreadable(data: bytes) -> None:
    verdict = verify_seal(data)
    assert verdict.status is SealStatus.UNREADABLE
    assert verdict.message


def test_text_instead_of_bytes_is_unreadable() -> None:
    verdict = verify_seal("<Invoice/>")  # type: ignore[arg-type]
    assert verdict.status is SealStatus.UNREADABLE


def test_a_changed_amount_is_altered(sealer: Sealer, sealed: bytes) -> None:
    tampered = sealed.replace(b">1161.60</cbc:PayableAmount>", b">1161.61</cbc:PayableAmount>")
    assert tampered != sealed
    verdict = verify_seal(tampered, trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.ALTERED
    assert verdict.signed_content is None
    assert verdict.certificate_subject is not None  # still says who claims to have sealed it


def test_every_single_byte_change_in_the_content_is_caught(sealer: Sealer, sealed: bytes) -> None:
    start = sealed.index(b"<cbc:ID>GM-2026-117") + len(b"<cbc:ID>")
    for offset in range(len(b"GM-2026-117")):
        position = start + offset
        tampered = sealed[:position] + b"X" + sealed[position + 1 :]
        assert verify_seal(tampered, trusted_certs=[sealer.certificate]).status is SealStatus.ALTERED


def test_changed_signing_time_or_signature_value_is_altered(sealer: Sealer, sealed: bytes) -> None:
    root = _tree(sealed)
    signing_time = root.find(".//xades:SigningTime", NS)
    assert signing_time is not None
    signing_time.text = (NOW + dt.timedelta(hours=1)).isoformat()
    assert verify_seal(_bytes(root), trusted_certs=[sealer.certificate]).status is SealStatus.ALTERED
    # A claimed time outside the certificate's validity is refused before anything else.
    signing_time.text = "2020-01-01T00:00:00+00:00"
    assert verify_seal(_bytes(root), trusted_certs=[sealer.certificate]).status is SealStatus.INVALID

    root = _tree(sealed)
    value = root.find(".//ds:SignatureValue", NS)
    assert value is not None and value.text is not None
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    assert verify_seal(_bytes(root), trusted_certs=[sealer.certificate]).status is SealStatus.ALTERED


def test_removed_signature_is_unsigned(sealed: bytes) -> None:
    root = _tree(sealed)
    signature = root.find(SIGNATURE_PATH, NS)
    assert signature is not None
    signature.getparent().remove(signature)  # type: ignore[union-attr]
    assert verify_seal(_bytes(root)).status is SealStatus.UNSIGNED

    root = _tree(sealed)
    root.remove(root[0])
    assert verify_seal(_bytes(root)).status is SealStatus.UNSIGNED


def test_untrusted_certificate(sealer: Sealer, other_sealer: Sealer, sealed: bytes) -> None:
    assert verify_seal(sealed).status is SealStatus.UNTRUSTED
    verdict = verify_seal(sealed, trusted_certs=[other_sealer.certificate])
    assert verdict.status is SealStatus.UNTRUSTED
    assert "not a trusted" in verdict.message


def test_certificate_swapped_for_another_key_is_not_intact(
    sealer: Sealer, other_sealer: Sealer, sealed: bytes
) -> None:
    """Someone puts a trusted certificate in a signature made with another key."""
    signed_by_other = other_sealer.seal(SERVICES_INVOICE.read_bytes(), now=NOW).sealed
    root = _tree(signed_by_other)
    element = root.find(".//ds:X509Certificate", NS)
    assert element is not None
    element.text = base64.b64encode(sealer.certificate.public_bytes(serialization.Encoding.DER)).decode()
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert not verdict.intact
    assert verdict.status in {SealStatus.ALTERED, SealStatus.INVALID}


def test_garbled_certificate_is_invalid(sealer: Sealer, sealed: bytes) -> None:
    root = _tree(sealed)
    element = root.find(".//ds:X509Certificate", NS)
    assert element is not None
    element.text = "bm90IGEgY2VydGlmaWNhdGU="
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID
    assert "certificate" in verdict.message


def test_wrapping_a_sealed_invoice_inside_another_document_is_invalid(sealer: Sealer, sealed: bytes) -> None:
    """The genuine signed invoice is hidden inside an altered one, hoping the checker looks there."""
    evil = parse(SERVICES_INVOICE.read_bytes())
    payable = evil.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS)
    assert payable is not None
    payable.text = "9999.00"
    extensions = etree.Element(qname("ext:UBLExtensions"))
    content = etree.SubElement(
        etree.SubElement(extensions, qname("ext:UBLExtension")), qname("ext:ExtensionContent")
    )
    content.append(_tree(sealed))
    evil.insert(0, extensions)
    verdict = verify_seal(_bytes(evil), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID
    assert "outside UBL's signature location" in verdict.message


def test_a_copied_signature_elsewhere_is_invalid(sealer: Sealer, sealed: bytes) -> None:
    root = _tree(sealed)
    signature = root.find(SIGNATURE_PATH, NS)
    assert signature is not None
    root.find("cac:AccountingSupplierParty", NS).append(etree.fromstring(etree.tostring(signature)))  # type: ignore[union-attr]
    assert verify_seal(_bytes(root), trusted_certs=[sealer.certificate]).status is SealStatus.INVALID


def test_a_trusted_signature_over_part_of_the_document_is_invalid(sealer: Sealer) -> None:
    """Signed with the trusted key, but only the supplier party: the rest could say anything."""
    root = parse(SERVICES_INVOICE.read_bytes())
    party = root.find("cac:AccountingSupplierParty", NS)
    assert party is not None
    party.set("Id", "supplier")
    extensions = etree.Element(qname("ext:UBLExtensions"))
    information = etree.SubElement(
        etree.SubElement(
            etree.SubElement(
                etree.SubElement(extensions, qname("ext:UBLExtension")), qname("ext:ExtensionContent")
            ),
            qname("sig:UBLDocumentSignatures"),
        ),
        qname("sac:SignatureInformation"),
    )
    etree.SubElement(information, qname("ds:Signature"), Id="placeholder")
    root.insert(0, extensions)
    signed = XAdESSigner().sign(
        root,
        key=sealer._key,
        cert=list(sealer.chain),
        reference_uri=["#supplier"],
        always_add_key_value=False,
    )
    payable = signed.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS)
    assert payable is not None
    for amount in (payable.text, "9999.00"):
        payable.text = amount
        verdict = verify_seal(_bytes(signed), trusted_certs=[sealer.certificate])
        assert verdict.status is SealStatus.INVALID
        assert "whole document" in verdict.message


def test_duplicate_ids_for_the_signed_properties_are_invalid(sealer: Sealer, sealed: bytes) -> None:
    """A decoy with the signed properties' Id, inside the signature where the digest does not see it."""
    root = _tree(sealed)
    properties = root.find(".//xades:SignedProperties", NS)
    signature = root.find(SIGNATURE_PATH, NS)
    assert properties is not None and signature is not None
    decoy = etree.SubElement(etree.SubElement(signature, qname("ds:Object")), qname("xades:SignedProperties"))
    decoy.set("Id", properties.get("Id") or "")
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID
    assert "exactly one element inside the signature" in verdict.message

    # The same decoy in the document body changes what was signed.
    root = _tree(sealed)
    decoy = etree.SubElement(root.find("cac:AccountingCustomerParty", NS), qname("cbc:Note"))  # type: ignore[arg-type]
    decoy.set("Id", properties.get("Id") or "")
    assert verify_seal(_bytes(root), trusted_certs=[sealer.certificate]).status is SealStatus.ALTERED


def test_an_extra_transform_is_invalid(sealer: Sealer, sealed: bytes) -> None:
    root = _tree(sealed)
    transforms = root.find(".//ds:SignedInfo/ds:Reference[@URI='']/ds:Transforms", NS)
    assert transforms is not None
    etree.SubElement(
        transforms, qname("ds:Transform"), Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"
    )
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID


def test_a_later_signature_by_someone_else_is_what_gets_checked(
    sealer: Sealer, other_sealer: Sealer, sealed: bytes
) -> None:
    """Altering a sealed invoice and sealing it again with another key never comes back intact."""
    altered = sealed.replace(b">1161.60</cbc:PayableAmount>", b">1.00</cbc:PayableAmount>")
    resealed = other_sealer.seal(altered, now=NOW).sealed
    verdict = verify_seal(resealed, trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.UNTRUSTED
    assert verdict.certificate_subject == "CN=Fonteinbeheer Oost B.V. e-invoicing"


def test_comments_are_left_out_of_the_seal_and_refused_when_added(sealer: Sealer) -> None:
    """Canonical XML without comments cannot see them: "1<!---->161.60" must not pass as intact."""
    original = SERVICES_INVOICE.read_bytes().replace(
        b"<cbc:Note>Quarterly", b"<!-- supplier remark --><?tool hint?><cbc:Note>Quarterly"
    )
    result = sealer.seal(original, now=NOW)
    assert b"supplier remark" not in result.sealed and b"<?tool" not in result.sealed
    assert result.original_sha256 == hashlib.sha256(original).hexdigest()
    assert read_facts(parse(result.sealed)).invoice_number == "GM-2026-117"
    assert verify_seal(result.sealed, trusted_certs=[sealer.certificate]).intact

    split = result.sealed.replace(b">1161.60</cbc:PayableAmount>", b">1<!---->161.60</cbc:PayableAmount>")
    verdict = verify_seal(split, trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID
    assert "comments" in verdict.message


@pytest.mark.parametrize(
    "algorithm",
    [
        "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "urn:unknown:algorithm",
    ],
)
def test_weak_or_unknown_signature_methods_are_refused(sealer: Sealer, sealed: bytes, algorithm: str) -> None:
    root = _tree(sealed)
    method = root.find(".//ds:SignedInfo/ds:SignatureMethod", NS)
    assert method is not None
    method.set("Algorithm", algorithm)
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID, verdict.message


def test_no_single_byte_change_anywhere_leaves_the_seal_intact(sealer: Sealer, sealed: bytes) -> None:
    """Every part of the file is covered: content, signature, certificate, properties, even Ids."""
    signature_start = sealed.index(b"<ds:Signature")
    signature_end = sealed.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    # Every byte of the signature's start tag and its first 2,000 bytes, and a spread over the rest.
    positions = set(range(signature_start, min(signature_end, signature_start + 2000)))
    positions |= set(range(0, len(sealed), 7))
    changed = 0
    for position in sorted(positions):
        if sealed[position : position + 1] == b"#":
            continue
        tampered = sealed[:position] + b"#" + sealed[position + 1 :]
        verdict = verify_seal(tampered, trusted_certs=[sealer.certificate])
        assert verdict.status is not SealStatus.INTACT, f"byte {position} changed, still intact"
        changed += 1
    assert changed > 1000


def test_the_signature_id_is_bound_to_its_signed_properties(sealer: Sealer, sealed: bytes) -> None:
    root = _tree(sealed)
    signature = root.find(SIGNATURE_PATH, NS)
    assert signature is not None
    signature.set("Id", "something-else")
    verdict = verify_seal(_bytes(root), trusted_certs=[sealer.certificate])
    assert verdict.status is SealStatus.INVALID
    assert "target" in verdict.message

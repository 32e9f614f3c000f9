"""The archive seal: an enveloped XAdES-BES signature in UBL 2.1's signature extension, and its check.

Where the signature goes (UBL 2.1, section 5.4 "UBL Digital Signatures")::

    ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent
        /sig:UBLDocumentSignatures/sac:SignatureInformation/ds:Signature

One reference with ``URI=""`` and the enveloped-signature transform covers the whole document
except the signature itself; two more (XAdES) cover the signed properties and the key info.
The signing certificate is named with XAdES 1.3.2's ``SigningCertificate`` (SHA-256 digest and
issuer/serial): UBL 2.1 ships the 1.3.2 schema, in which signxml's default
``SigningCertificateV2`` does not exist, so a document carrying it fails the UBL XSD.

A sealed invoice still passes the UBL 2.1 XSD and every fatal EN 16931 rule; the extension
itself raises the warning UBL-CR-001 ("A UBL invoice should not include extensions"), which is
expected for the archive copy and only for it: the supplier's original bytes are kept unchanged.

:class:`Sealer` writes the signature itself with lxml and ``cryptography`` rather than through
signxml's signer, which serialises and re-parses the whole document twice per call and builds
its namespaces and certificate digests anew each time: the key, the certificate's digest, its
issuer and its base64 form are prepared once, and the document is canonicalised once (a 20-line
invoice: 4.5 ms with signxml's signer, 2.2 ms here, of which the RSA-2048 signature is 1.1 ms).
The result is checked by :func:`verify_seal` (signxml's verifier) like any other signature. A
caller that parsed the document already (submission validates it first) hands its tree over
instead of the bytes being parsed again.

:func:`verify_seal` never raises on bad input; it answers with a :class:`SealVerification`
whose ``status`` is one of :class:`SealStatus`. It accepts a signature only at the UBL location
above, only if one of its references covers the whole document (``URI=""``, enveloped), and
only with the transforms Tessera understands; this defeats signature wrapping, where a valid
signature over one part is shown beside altered content. Comments and processing instructions
are outside what a signature covers: the archive copy carries none, and a document holding any
is refused rather than reported intact.

Errors::

    SealError             the seal could not be made
    ├── SealKeyError      the key or certificate cannot be loaded or do not belong together
    └── NotSealable       the bytes are not a UBL Invoice or CreditNote Tessera will seal
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import hashlib
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidSignature, SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from services.invoicing.ubl.ns import NS, Element, qname
from services.invoicing.validation.parser import (
    WrongDocumentType,
    XmlRejected,
    document_type,
    parse,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEVELOPMENT_COMMON_NAME: Final = "Tessera DEVELOPMENT seal - not valid"
SEAL_SIGNATURE_ID: Final = "urn:tessera:seal"
# The extension URI UBL 2.1 gives for an enveloped XAdES signature (section 5.4.2).
SIGNATURE_EXTENSION_URI: Final = "urn:oasis:names:specification:ubl:dsig:enveloped:xades"
SIGNATURE_PATH: Final = (
    "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent"
    "/sig:UBLDocumentSignatures/sac:SignatureInformation/ds:Signature"
)
_SIGNATURE = qname("ds:Signature")
_ENVELOPED = SignatureConstructionMethod.enveloped.value
# What the seal declares; the verifier (signxml) reads CANONICAL_XML_1_1 with lxml's inclusive
# canonicaliser, without comments, which is what :func:`_canonical` computes here.
_C14N: Final = CanonicalizationMethod.CANONICAL_XML_1_1.value
_SHA256: Final = DigestAlgorithm.SHA256.value
# XAdES 1.3.2, 6.3.1: the reference to the signed properties carries this Type.
_SIGNED_PROPERTIES_TYPE: Final = "http://uri.etsi.org/01903#SignedProperties"
_PAYLOAD_DESCRIPTION: Final = "The UBL 2.1 document this signature is enveloped in"
_C14N_ALGORITHMS: Final = frozenset(method.value for method in CanonicalizationMethod)
_SIGNATURE_METHODS: Final = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
_DIGEST_METHODS: Final = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
_ID_ATTRIBUTES: Final = ("Id", "ID", "id")

DEVELOPMENT_WARNING: Final = (
    "\n"
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    "!!  DEVELOPMENT SEAL created at {path}\n"
    "!!  Invoices sealed with it prove nothing. A municipality must configure its own\n"
    "!!  seal key and certificate (PEM or PKCS#12) before archiving anything real.\n"
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
)


class SealError(Exception):
    """The seal could not be made; the message says why."""


class SealKeyError(SealError):
    """The seal's key or certificate cannot be loaded, or they do not belong together."""


class NotSealable(SealError):
    """The bytes are not a UBL Invoice or CreditNote that Tessera will seal."""


@dataclass(frozen=True, slots=True)
class SealedDocument:
    """The sealed archive copy and what identifies it."""

    sealed: bytes
    """The sealed document (UTF-8 XML)."""
    original_sha256: str
    """SHA-256 (hex) of the original bytes, which are kept unchanged beside the sealed copy."""
    sealed_sha256: str
    """SHA-256 (hex) of :attr:`sealed`."""
    signed_at: dt.datetime
    """The signing time written in the seal (XAdES ``SigningTime``, UTC)."""
    certificate_subject: str
    """Subject of the sealing certificate (RFC 4514)."""
    certificate_sha256: str
    """SHA-256 fingerprint (hex) of the sealing certificate."""
    development: bool
    """True when made with the auto-generated development seal, which proves nothing."""


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _is_development(certificate: x509.Certificate) -> bool:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return any(name.value == DEVELOPMENT_COMMON_NAME for name in names)


def _canonical(el: Element) -> bytes:
    """Inclusive canonical XML of ``el`` where it stands (in-scope namespaces included), without
    comments: how the verifier canonicalises each reference and the signed information."""
    return etree.tostring(el, method="c14n", exclusive=False, with_comments=False)


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _reference(signed_info: Element, uri: str, **attributes: str) -> Element:
    reference = etree.SubElement(signed_info, qname("ds:Reference"), {"URI": uri, **attributes})
    etree.SubElement(reference, qname("ds:DigestMethod"), Algorithm=_SHA256)
    etree.SubElement(reference, qname("ds:DigestValue"))
    return reference


def _pem_body(certificate: x509.Certificate) -> str:
    """The certificate as X509Certificate text: its DER in base64, in PEM's 64-character lines."""
    encoded = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    return "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64)) + "\n"


@dataclass(frozen=True, slots=True)
class _CertificateFacts:
    """What every seal writes about one certificate of the chain, prepared once per sealer."""

    pem_body: str
    sha256: str  # base64, for XAdES CertDigest
    issuer: str
    serial: str

    @classmethod
    def of(cls, certificate: x509.Certificate) -> _CertificateFacts:
        return cls(
            pem_body=_pem_body(certificate),
            sha256=base64.b64encode(certificate.fingerprint(hashes.SHA256())).decode(),
            issuer=certificate.issuer.rfc4514_string(),
            serial=str(certificate.serial_number),
        )


def _signature_method(key: PrivateKey) -> SignatureMethod:
    if isinstance(key, rsa.RSAPrivateKey):
        return SignatureMethod.RSA_SHA256
    return SignatureMethod.ECDSA_SHA256


def _public_bytes(public_key: Any) -> bytes:
    data: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


class Sealer:
    """Seals documents with one key and certificate, loaded once.

    Build it at start-up (:meth:`from_pem_files`, :meth:`from_pkcs12` or :meth:`development`)
    and share it: :meth:`seal` keeps no state between calls and is safe to call from threads.
    """

    def __init__(
        self,
        key: Any,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        development: bool = False,
    ) -> None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SealKeyError(
                f"the seal key is a {type(key).__name__}; Tessera seals with an RSA or EC (ECDSA) key"
            )
        if _public_bytes(key.public_key()) != _public_bytes(certificate.public_key()):
            raise SealKeyError(
                f"the seal key does not belong to the certificate {certificate.subject.rfc4514_string()}"
            )
        self._key: PrivateKey = key
        self.certificate = certificate
        self.chain: tuple[x509.Certificate, ...] = (certificate, *chain)
        self.is_development = development or _is_development(certificate)
        self._method = _signature_method(key)
        self._chain_facts = tuple(_CertificateFacts.of(c) for c in self.chain)
        self._subject = certificate.subject.rfc4514_string()
        self._fingerprint = fingerprint(certificate)
        self._template = self._signature_template()

    @classmethod
    def from_pem_files(cls, key_path: Path, certificate_path: Path, password: bytes | None = None) -> Sealer:
        """A sealer from a PEM private key and a PEM certificate file (the seal's first, then its chain)."""
        key_data = _read(key_path, "seal key")
        certificate_data = _read(certificate_path, "seal certificate")
        try:
            key = serialization.load_pem_private_key(key_data, password=password)
        except (ValueError, TypeError) as error:
            raise SealKeyError(f"cannot load the seal key {key_path}: {error}") from None
        try:
            certificates = x509.load_pem_x509_certificates(certificate_data)
        except ValueError as error:
            raise SealKeyError(f"cannot load the seal certificate {certificate_path}: {error}") from None
        return cls(key, certificates[0], certificates[1:])

    @classmethod
    def from_pkcs12(cls, path: Path, password: bytes | None = None) -> Sealer:
        """A sealer from a PKCS#12 (.p12, .pfx) file holding the key, its certificate and chain."""
        data = _read(path, "seal PKCS#12 file")
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, password)
        except (ValueError, TypeError) as error:
            raise SealKeyError(f"cannot open the PKCS#12 file {path} (wrong password?): {error}") from None
        if key is None or certificate is None:
            raise SealKeyError(f"the PKCS#12 file {path} must hold both a private key and its certificate")
        return cls(key, certificate, chain)

    @classmethod
    def development(cls, data_dir: Path) -> Sealer:
        """The development seal under ``data_dir/keys``, created (and announced on stderr) if missing."""
        key_path, certificate_path = development_paths(data_dir)
        if not (key_path.exists() and certificate_path.exists()):
            _create_development_seal(key_path, certificate_path)
            sys.stderr.write(DEVELOPMENT_WARNING.format(path=certificate_path))
        sealer = cls.from_pem_files(key_path, certificate_path)
        sealer.is_development = True
        return sealer

    def seal(
        self, original: bytes, *, now: dt.datetime | None = None, parsed: Element | None = None
    ) -> SealedDocument:
        """Seal a copy of ``original``; raise :class:`NotSealable` if it is not a UBL invoice.

        ``parsed`` is the root of ``original`` as :func:`~services.invoicing.validation.parser.parse`
        read it, when the caller has it already: it becomes the sealed copy (changed in place), so
        the caller must be done with it.
        """
        try:
            root = parse(original) if parsed is None else parsed
            document_type(root)
        except (XmlRejected, WrongDocumentType) as error:
            raise NotSealable(f"cannot seal this document: {error}") from None
        if any(root.get(name) is not None for name in _ID_ATTRIBUTES):
            raise NotSealable("cannot seal this document: its root element carries an Id attribute")
        signing_time = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
        if not self.certificate.not_valid_before_utc <= signing_time <= self.certificate.not_valid_after_utc:
            raise SealKeyError(
                f"the seal certificate is not valid at {signing_time.isoformat()} (valid "
                f"{self.certificate.not_valid_before_utc.isoformat()} to "
                f"{self.certificate.not_valid_after_utc.isoformat()})"
            )
        _drop_comments_and_instructions(root)
        self._sign(root, _signature_information(root), signing_time)
        sealed = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
        return SealedDocument(
            sealed=sealed,
            original_sha256=hashlib.sha256(original).hexdigest(),
            sealed_sha256=hashlib.sha256(sealed).hexdigest(),
            signed_at=signing_time,
            certificate_subject=self._subject,
            certificate_sha256=self._fingerprint,
            development=self.is_development,
        )

    def _sign(self, root: Element, information: Element, signing_time: dt.datetime) -> None:
        """Append the enveloped XAdES-BES ``ds:Signature`` to ``information`` (XML-DSig 1.1, 3.1).

        The whole-document digest is taken before the signature exists, which is the document the
        enveloped-signature transform gives back once the signature is removed again. The other
        digests and the signature value are taken where the signature stands, as the verifier does.
        """
        document_digest = _digest(_canonical(root))
        signature_id = f"tessera-seal-{secrets.token_hex(8)}"
        reference_id = f"{signature_id}-document"
        key_info_id = f"{signature_id}-key"
        properties_id = f"{signature_id}-signed-properties"

        signature = copy.deepcopy(self._template)
        # The template's shape, from _signature_template.
        signed_info, value, key_info, holder = signature
        _, _, whole, properties_reference, key_reference = signed_info
        qualifying = holder[0]
        properties = qualifying[0]
        signing_time_element = properties[0][0]
        data_format = properties[1][0]

        signature.set("Id", signature_id)
        whole.set("Id", reference_id)
        whole[-1].text = document_digest
        properties_reference.set("URI", f"#{properties_id}")
        key_reference.set("URI", f"#{key_info_id}")
        key_info.set("Id", key_info_id)
        qualifying.set("Target", f"#{signature_id}")
        properties.set("Id", properties_id)
        signing_time_element.text = signing_time.isoformat(timespec="seconds")
        data_format.set("ObjectReference", f"#{reference_id}")
        information.append(signature)

        properties_reference[-1].text = _digest(_canonical(properties))
        key_reference[-1].text = _digest(_canonical(key_info))
        value.text = base64.b64encode(self._signature_value(_canonical(signed_info))).decode()

    def _signature_template(self) -> Element:
        """The ``ds:Signature`` every seal writes, less what each seal fills in (identifiers,
        digests, signing time, signature value): built once per sealer, copied for each seal.

        XAdES 1.3.2 qualifying properties name the certificate with ``SigningCertificate`` (v1) and
        SHA-256 digests: UBL 2.1 ships the 1.3.2 schema, in which ``SigningCertificateV2`` does not exist.
        """
        signature = etree.Element(_SIGNATURE, nsmap={"ds": NS["ds"]})
        signed_info = etree.SubElement(signature, qname("ds:SignedInfo"))
        etree.SubElement(signed_info, qname("ds:CanonicalizationMethod"), Algorithm=_C14N)
        etree.SubElement(signed_info, qname("ds:SignatureMethod"), Algorithm=self._method.value)
        whole = _reference(signed_info, "")
        transforms = etree.Element(qname("ds:Transforms"))
        etree.SubElement(transforms, qname("ds:Transform"), Algorithm=_ENVELOPED)
        etree.SubElement(transforms, qname("ds:Transform"), Algorithm=_C14N)
        whole.insert(0, transforms)
        _reference(signed_info, "", Type=_SIGNED_PROPERTIES_TYPE)
        _reference(signed_info, "")
        etree.SubElement(signature, qname("ds:SignatureValue"))

        key_info = etree.SubElement(signature, qname("ds:KeyInfo"))
        x509_data = etree.SubElement(key_info, qname("ds:X509Data"))
        for facts in self._chain_facts:
            etree.SubElement(x509_data, qname("ds:X509Certificate")).text = facts.pem_body

        qualifying = etree.SubElement(
            etree.SubElement(signature, qname("ds:Object")),
            qname("xades:QualifyingProperties"),
            nsmap={"xades": NS["xades"]},
        )
        properties = etree.SubElement(qualifying, qname("xades:SignedProperties"))
        signature_properties = etree.SubElement(properties, qname("xades:SignedSignatureProperties"))
        etree.SubElement(signature_properties, qname("xades:SigningTime"))
        signing_certificate = etree.SubElement(signature_properties, qname("xades:SigningCertificate"))
        for facts in self._chain_facts:
            cert = etree.SubElement(signing_certificate, qname("xades:Cert"))
            digest = etree.SubElement(cert, qname("xades:CertDigest"))
            etree.SubElement(digest, qname("ds:DigestMethod"), Algorithm=_SHA256)
            etree.SubElement(digest, qname("ds:DigestValue")).text = facts.sha256
            issuer_serial = etree.SubElement(cert, qname("xades:IssuerSerial"))
            etree.SubElement(issuer_serial, qname("ds:X509IssuerName")).text = facts.issuer
            etree.SubElement(issuer_serial, qname("ds:X509SerialNumber")).text = facts.serial
        data_format = etree.SubElement(
            etree.SubElement(properties, qname("xades:SignedDataObjectProperties")),
            qname("xades:DataObjectFormat"),
        )
        etree.SubElement(data_format, qname("xades:Description")).text = _PAYLOAD_DESCRIPTION
        etree.SubElement(data_format, qname("xades:MimeType")).text = "text/xml"
        return signature

    def _signature_value(self, signed_info: bytes) -> bytes:
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(signed_info, padding.PKCS1v15(), hashes.SHA256())
        # XML-DSig 1.1, 6.4.3: an ECDSA SignatureValue is r and s as two fixed-size integers.
        r, s = decode_dss_signature(key.sign(signed_info, ec.ECDSA(hashes.SHA256())))
        size = (key.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SealKeyError(f"cannot read the {what} {path}: {error.strerror}") from None


def development_paths(data_dir: Path) -> tuple[Path, Path]:
    keys = data_dir / "keys"
    return keys / "dev-seal-key.pem", keys / "dev-seal-cert.pem"


def _create_development_seal(key_path: Path, certificate_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEVELOPMENT_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tessera development"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _drop_comments_and_instructions(root: Element) -> None:
    """Remove comments and processing instructions inside ``root``, keeping the text around them.

    The canonical form a signature covers leaves them out, so in a signed file they could be
    changed or added unnoticed (``1<!---->161.60`` reads as "1" to a careless reader); the
    archive copy carries none, and :func:`verify_seal` refuses a document that has any.
    """
    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        parent = node.getparent()
        if parent is None:
            continue
        if node.tail:
            previous = node.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + node.tail
            else:
                parent.text = (parent.text or "") + node.tail
        parent.remove(node)


def _signature_information(root: Element) -> Element:
    """A new ``sac:SignatureInformation`` at UBL's signature location, for the seal to go in."""
    extensions = root.find("ext:UBLExtensions", NS)
    if extensions is None:
        # UBLExtensions is the first child of every UBL document (UBL 2.1 XSD).
        extensions = etree.Element(qname("ext:UBLExtensions"), nsmap={"ext": NS["ext"]})
        root.insert(0, extensions)
        extensions.tail = root.text
    extension = etree.SubElement(extensions, qname("ext:UBLExtension"))
    etree.SubElement(extension, qname("ext:ExtensionURI")).text = SIGNATURE_EXTENSION_URI
    content = etree.SubElement(extension, qname("ext:ExtensionContent"))
    signatures = etree.SubElement(
        content, qname("sig:UBLDocumentSignatures"), nsmap={"sig": NS["sig"], "sac": NS["sac"]}
    )
    information = etree.SubElement(signatures, qname("sac:SignatureInformation"))
    etree.SubElement(information, qname("cbc:ID")).text = SEAL_SIGNATURE_ID
    return information


class SealStatus(StrEnum):
    """The verdict on a signed (or unsigned) document."""

    INTACT = "intact"
    """The signature is valid, covers the whole document and was made with a trusted certificate."""
    UNTRUSTED = "untrusted"
    """The signature is valid and covers the whole document, but its certificate is not trusted."""
    ALTERED = "altered"
    """The document or its signature changed after signing (or another key signed)."""
    UNSIGNED = "unsigned"
    """The document carries no signature."""
    INVALID = "invalid"
    """A signature is present but cannot be accepted: misplaced, partial, malformed, unsupported."""
    UNREADABLE = "unreadable"
    """The bytes are not a UBL Invoice or CreditNote."""


@dataclass(frozen=True, slots=True)
class SealVerification:
    """The answer of :func:`verify_seal`."""

    status: SealStatus
    message: str
    """One sentence for people: what was found, and why when it is not intact."""
    certificate_subject: str | None = None
    """Who signed: the signing certificate's subject (RFC 4514), when a certificate was found."""
    certificate_sha256: str | None = None
    """SHA-256 fingerprint (hex) of the signing certificate."""
    signed_at: dt.datetime | None = None
    """The signing time the signer claims (XAdES ``SigningTime``), once the signature verified."""
    development: bool = False
    """The certificate is Tessera's development seal, which proves nothing."""
    signed_content: bytes | None = None
    """What the signature covers (canonical XML of the document without the signature), only
    when the signature verified: trust these bytes, not the file around them."""

    @property
    def intact(self) -> bool:
        return self.status is SealStatus.INTACT


def _position_path(signature: Element, root: Element) -> str:
    """An ElementPath from ``root`` to the parent of ``signature``, with a position at each step."""
    steps: list[str] = []
    node = signature.getparent()
    while node is not None and node is not root:
        parent = node.getparent()
        assert parent is not None
        same = [child for child in parent.iterchildren(node.tag)]
        steps.append(f"{node.tag}[{same.index(node) + 1}]")
        node = parent
    return "./" + "/".join(reversed(steps)) + "/"


def _certificate(signature: Element) -> x509.Certificate | None:
    element = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    if element is None or not (element.text or "").strip():
        return None
    return x509.load_der_x509_certificate(
        base64.b64decode("".join((element.text or "").split()), validate=True)
    )


def _transforms(reference: Element) -> list[str]:
    return [
        transform.get("Algorithm") or "" for transform in reference.iterfind("ds:Transforms/ds:Transform", NS)
    ]


def _coverage_problem(signature: Element) -> str | None:
    """Why the references of ``signature`` do not cover the whole document, or None when they do."""
    for properties in signature.iterfind("ds:Object/xades:QualifyingProperties", NS):
        # XAdES: the signed properties name the signature they qualify (ETSI EN 319 132-1, 4.3.1).
        signature_id = signature.get("Id")
        if signature_id is None or properties.get("Target") != f"#{signature_id}":
            return "the XAdES qualifying properties do not name this signature as their target"
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    whole = [reference for reference in references if reference.get("URI") == ""]
    if len(whole) != 1:
        return 'the signature has no single reference to the whole document (URI="")'
    transforms = _transforms(whole[0])
    if (
        not transforms
        or transforms[0] != _ENVELOPED
        or any(t not in _C14N_ALGORITHMS for t in transforms[1:])
    ):
        return "the whole-document reference must use the enveloped-signature transform and canonicalization only"
    for reference in references:
        uri = reference.get("URI")
        if reference is whole[0]:
            continue
        if uri is None or not uri.startswith("#"):
            return f"the signature refers to {uri!r}, outside the document"
        if any(t not in _C14N_ALGORITHMS for t in _transforms(reference)):
            return f"the reference {uri} uses a transform Tessera does not accept"
        target = uri[1:]
        inside = [
            el
            for el in signature.iter()
            if isinstance(el.tag, str) and any(el.get(name) == target for name in _ID_ATTRIBUTES)
        ]
        if len(inside) != 1:
            return f"the reference {uri} does not point to exactly one element inside the signature"
    return None


def _signing_time(signature: Element) -> dt.datetime | None:
    value = signature.findtext(
        "ds:Object/xades:QualifyingProperties/xades:SignedProperties/"
        "xades:SignedSignatureProperties/xades:SigningTime",
        namespaces=NS,
    )
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def verify_seal(data: bytes, *, trusted_certs: Sequence[x509.Certificate] = ()) -> SealVerification:
    """Check the signature of a UBL document; never raises on bad input.

    The last signature at UBL's signature location is checked (a seal is added after any
    signature the supplier made). It is ``INTACT`` only when its certificate is one of
    ``trusted_certs``; with none given (a supplier's own signature), a valid signature is
    ``UNTRUSTED`` and the answer names who signed. The certificate's validity period is checked
    at the signing time the signature claims, so archived seals stay verifiable after expiry.
    """
    try:
        root = parse(data)
        document_type(root)
    except (XmlRejected, WrongDocumentType) as error:
        return SealVerification(SealStatus.UNREADABLE, f"not a readable UBL document: {error}")
    except TypeError as error:
        return SealVerification(SealStatus.UNREADABLE, str(error))
    everywhere = list(root.iter(_SIGNATURE))
    if not everywhere:
        return SealVerification(SealStatus.UNSIGNED, "the document carries no signature")
    placed = root.findall(SIGNATURE_PATH, NS)
    if len(placed) != len(everywhere):
        return SealVerification(
            SealStatus.INVALID,
            "the document holds a signature outside UBL's signature location "
            "(ext:UBLExtensions/.../sac:SignatureInformation/ds:Signature)",
        )
    signature = placed[-1]
    try:
        certificate = _certificate(signature)
    except (ValueError, binascii.Error) as error:
        return SealVerification(SealStatus.INVALID, f"the signature's certificate cannot be read: {error}")
    if certificate is None:
        return SealVerification(SealStatus.INVALID, "the signature carries no X.509 certificate")
    who = {
        "certificate_subject": certificate.subject.rfc4514_string(),
        "certificate_sha256": fingerprint(certificate),
        "development": _is_development(certificate),
    }
    problem = _coverage_problem(signature)
    if problem is not None:
        return SealVerification(SealStatus.INVALID, problem, **who)  # type: ignore[arg-type]
    if next(root.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
        return SealVerification(
            SealStatus.INVALID,
            "the document holds comments or processing instructions, which no signature covers "
            "and which can disguise a change",
            **who,  # type: ignore[arg-type]
        )
    claimed = _signing_time(signature)
    return _verify(root, signature, certificate, claimed, who, trusted_certs)


def _verify(
    root: Element,
    signature: Element,
    certificate: x509.Certificate,
    claimed: dt.datetime | None,
    who: dict[str, Any],
    trusted_certs: Sequence[x509.Certificate],
) -> SealVerification:
    location = _position_path(signature, root)
    xades = signature.find("ds:Object/xades:QualifyingProperties", NS) is not None
    settings: dict[str, Any] = {
        "location": location,
        "expect_references": True,
        "signature_methods": _SIGNATURE_METHODS,
        "digest_algorithms": _DIGEST_METHODS,
        "verification_time": claimed,
    }
    try:
        if xades:
            results = XAdESVerifier().verify(
                root, x509_cert=certificate, expect_config=XAdESSignatureConfiguration(**settings)
            )
        else:
            outcome = XMLVerifier().verify(
                root, x509_cert=certificate, expect_config=SignatureConfiguration(**settings)
            )
            results = outcome if isinstance(outcome, list) else [outcome]
    except InvalidDigest as error:
        return SealVerification(
            SealStatus.ALTERED, f"the document changed after it was signed ({error})", **who
        )
    except InvalidCertificate as error:
        return SealVerification(SealStatus.INVALID, f"the signing certificate is not usable: {error}", **who)
    except InvalidSignature:
        return SealVerification(
            SealStatus.ALTERED,
            "the signature value does not verify with the certificate: the signed information "
            "was changed, or another key signed it",
            **who,
        )
    except (SignXMLException, ValueError, TypeError, etree.LxmlError) as error:
        return SealVerification(SealStatus.INVALID, f"the signature cannot be checked: {error}", **who)

    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    verified_value = results[0].signature_xml.findtext("ds:SignatureValue", namespaces=NS)
    if len(results) != len(references) or verified_value != signature.findtext(
        "ds:SignatureValue", namespaces=NS
    ):
        return SealVerification(SealStatus.INVALID, "the verified signature is not the one checked", **who)
    whole = next(i for i, reference in enumerate(references) if reference.get("URI") == "")
    content = results[whole].signed_data
    signed_at = claimed if xades else None
    trusted = {fingerprint(candidate) for candidate in trusted_certs}
    if who["certificate_sha256"] not in trusted:
        return SealVerification(
            SealStatus.UNTRUSTED,
            "the signature is valid and covers the whole document, but its certificate is not a trusted one",
            signed_at=signed_at,
            signed_content=content,
            **who,
        )
    return SealVerification(
        SealStatus.INTACT,
        "the seal is intact: nothing changed since it was signed",
        signed_at=signed_at,
        signed_content=content,
        **who,
    )

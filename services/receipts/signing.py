"""Signing receipt hashes, and checking those signatures by key id.

A :class:`ReceiptSigner` is loaded once (at start-up) from a PKCS#8 PEM private key: Ed25519, the
default, or ECDSA on P-256. What it signs is the 32-byte SHA-256 record hash; for ECDSA the hash is
passed as a pre-computed digest, so the signature is an ordinary ECDSA-SHA256 signature over the
canonical bytes and any standard tool can check it.

The key id is a short fingerprint of the public key (the first 16 hex digits of the SHA-256 of its
DER SubjectPublicKeyInfo), so a verifier holding several public keys (key rotation) picks the
right one from the id stored in each record.

- Ed25519: https://www.rfc-editor.org/rfc/rfc8032
- ECDSA with a pre-hashed message: https://cryptography.io/en/latest/hazmat/primitives/asymmetric/ec/
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common.devkeys import ensure_dev_signing_key
from services.receipts.document import SignatureAlgorithm

HASH_BYTES = 32
KEY_ID_HEX_DIGITS = 16

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class SigningKeyError(ValueError):
    """A key file Tessera cannot sign or verify with; the message says why."""


class SignatureCheck(StrEnum):
    VALID = "valid"
    UNKNOWN_KEY = "unknown_key"
    INVALID = "invalid"


def _algorithm_of(key: PrivateKey | PublicKey) -> SignatureAlgorithm:
    if isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        return SignatureAlgorithm.ED25519
    if isinstance(key.curve, ec.SECP256R1):
        return SignatureAlgorithm.ECDSA_P256_SHA256
    raise SigningKeyError(f"ECDSA keys must be on P-256 (secp256r1), not {key.curve.name}")


def key_id(public_key: PublicKey) -> str:
    """The short fingerprint of a public key that records carry as ``integrity.key_id``."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:KEY_ID_HEX_DIGITS]


def _check_hash(record_hash: bytes) -> None:
    if not isinstance(record_hash, bytes) or len(record_hash) != HASH_BYTES:
        raise ValueError("a record hash is the 32 bytes of a SHA-256 digest")


class ReceiptSigner:
    """Signs record hashes with one private key; build it once and share it."""

    def __init__(self, private_key: PrivateKey) -> None:
        self._key = private_key
        self.algorithm = _algorithm_of(private_key)
        self.public_key: PublicKey = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> ReceiptSigner:
        try:
            key = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as error:
            raise SigningKeyError(f"not a usable PEM private key: {error}") from None
        if not isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise SigningKeyError(f"receipts are signed with Ed25519 or ECDSA keys, not {type(key).__name__}")
        return cls(key)

    @classmethod
    def from_file(cls, path: Path, password: bytes | None = None) -> ReceiptSigner:
        try:
            pem = path.read_bytes()
        except OSError as error:
            raise SigningKeyError(f"cannot read the signing key {path}: {error.strerror}") from None
        return cls.from_pem(pem, password)

    @classmethod
    def development(cls, data_dir: Path) -> ReceiptSigner:
        """The development key under ``data_dir``, created (with a loud warning) on first use."""
        return cls.from_file(ensure_dev_signing_key(data_dir))

    def sign(self, record_hash: bytes) -> bytes:
        _check_hash(record_hash)
        if isinstance(self._key, Ed25519PrivateKey):
            return self._key.sign(record_hash)
        return self._key.sign(record_hash, ec.ECDSA(utils.Prehashed(hashes.SHA256())))

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True, slots=True)
class ReceiptVerifier:
    """Checks signatures with the public keys it knows, by key id."""

    keys: Mapping[str, PublicKey]

    @classmethod
    def from_public_pems(cls, pems: Iterable[bytes]) -> ReceiptVerifier:
        keys: dict[str, PublicKey] = {}
        for number, pem in enumerate(pems, start=1):
            try:
                key = serialization.load_pem_public_key(pem)
            except (ValueError, UnsupportedAlgorithm) as error:
                raise SigningKeyError(f"public key {number}: not a usable PEM public key: {error}") from None
            if not isinstance(key, Ed25519PublicKey | ec.EllipticCurvePublicKey):
                raise SigningKeyError(f"public key {number}: {type(key).__name__} is not Ed25519 or ECDSA")
            _algorithm_of(key)
            keys[key_id(key)] = key
        return cls(keys)

    @classmethod
    def for_signer(cls, signer: ReceiptSigner) -> ReceiptVerifier:
        return cls({signer.key_id: signer.public_key})

    def check(
        self, key_id: str, algorithm: SignatureAlgorithm, record_hash: bytes, signature: bytes
    ) -> SignatureCheck:
        """VALID only when the key is known, its algorithm is the one the record names, and the
        signature verifies."""
        _check_hash(record_hash)
        key = self.keys.get(key_id)
        if key is None:
            return SignatureCheck.UNKNOWN_KEY
        if _algorithm_of(key) is not algorithm:
            return SignatureCheck.INVALID
        try:
            if isinstance(key, Ed25519PublicKey):
                key.verify(signature, record_hash)
            else:
                key.verify(signature, record_hash, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        except InvalidSignature:
            return SignatureCheck.INVALID
        return SignatureCheck.VALID

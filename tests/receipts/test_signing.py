from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.receipts.document import SignatureAlgorithm
from services.receipts.signing import (
    KEY_ID_HEX_DIGITS,
    ReceiptSigner,
    ReceiptVerifier,
    SignatureCheck,
    SigningKeyError,
    key_id,
)

DIGEST = hashlib.sha256(b"a canonical receipt").digest()


def _pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_development_key_is_created_once_and_signs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = ReceiptSigner.development(tmp_path)
    assert "DEVELOPMENT SIGNING KEY" in capsys.readouterr().err
    again = ReceiptSigner.development(tmp_path)
    assert capsys.readouterr().err == ""
    assert signer.key_id == again.key_id
    assert len(signer.key_id) == KEY_ID_HEX_DIGITS
    assert signer.algorithm is SignatureAlgorithm.ED25519
    signature = signer.sign(DIGEST)
    verifier = ReceiptVerifier.from_public_pems([signer.public_pem()])
    assert verifier.check(signer.key_id, signer.algorithm, DIGEST, signature) is SignatureCheck.VALID
    other = hashlib.sha256(b"another receipt").digest()
    assert verifier.check(signer.key_id, signer.algorithm, other, signature) is SignatureCheck.INVALID


def test_ecdsa_signature_is_plain_ecdsa_sha256_over_the_canonical_bytes() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = ReceiptSigner.from_pem(_pem(key))
    assert signer.algorithm is SignatureAlgorithm.ECDSA_P256_SHA256
    signature = signer.sign(DIGEST)
    # Any ECDSA tool checks it against the bytes themselves: the record hash is SHA-256 of them.
    key.public_key().verify(signature, b"a canonical receipt", ec.ECDSA(hashes.SHA256()))
    verifier = ReceiptVerifier.for_signer(signer)
    assert verifier.check(signer.key_id, signer.algorithm, DIGEST, signature) is SignatureCheck.VALID


def test_verifier_picks_key_by_id_and_refuses_unknown_or_mismatched() -> None:
    old, new = ReceiptSigner(Ed25519PrivateKey.generate()), ReceiptSigner(Ed25519PrivateKey.generate())
    assert old.key_id != new.key_id
    verifier = ReceiptVerifier.from_public_pems([old.public_pem(), new.public_pem()])
    assert verifier.check(old.key_id, old.algorithm, DIGEST, old.sign(DIGEST)) is SignatureCheck.VALID
    assert verifier.check(new.key_id, new.algorithm, DIGEST, old.sign(DIGEST)) is SignatureCheck.INVALID
    assert (
        verifier.check("ffffffffffffffff", old.algorithm, DIGEST, old.sign(DIGEST))
        is SignatureCheck.UNKNOWN_KEY
    )
    ecdsa = SignatureAlgorithm.ECDSA_P256_SHA256
    assert verifier.check(old.key_id, ecdsa, DIGEST, old.sign(DIGEST)) is SignatureCheck.INVALID


def test_key_id_is_a_fingerprint_of_the_public_key() -> None:
    key = Ed25519PrivateKey.generate()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_id(key.public_key()) == hashlib.sha256(der).hexdigest()[:16]


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"not a key", "not a usable PEM private key"),
        (
            _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "not RSAPrivateKey|Ed25519 or ECDSA",
        ),
        (_pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
    ],
)
def test_unusable_keys_are_refused_clearly(pem: bytes, message: str) -> None:
    with pytest.raises(SigningKeyError, match=message):
        ReceiptSigner.from_pem(pem)


def test_missing_key_file_and_bad_public_keys(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="cannot read the signing key"):
        ReceiptSigner.from_file(tmp_path / "absent.pem")
    with pytest.raises(SigningKeyError, match="public key 1"):
        ReceiptVerifier.from_public_pems([b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])


def test_only_a_sha256_digest_is_signed() -> None:
    signer = ReceiptSigner(Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="32 bytes"):
        signer.sign(b"the whole document instead of its hash")

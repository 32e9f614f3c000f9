"""The development signing key: created on first run so the suite works on a bare machine, and
announced loudly, because nothing signed with it proves anything. Production points
``TESSERA_SIGNING_KEY_FILE`` at the municipality's own key instead."""

from __future__ import annotations

import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

WARNING = (
    "\n"
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    "!!  DEVELOPMENT SIGNING KEY created at {path}\n"
    "!!  Receipts and seals signed with it are for trying Tessera only. A municipality\n"
    "!!  must configure its own key before issuing anything real.\n"
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
)


def ensure_dev_signing_key(data_dir: Path) -> Path:
    """The path of the development Ed25519 key under ``data_dir/keys``, creating it if missing."""
    path = data_dir / "keys" / "dev-signing-key.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.touch(mode=0o600)
        path.write_bytes(pem)
        sys.stderr.write(WARNING.format(path=path))
    return path

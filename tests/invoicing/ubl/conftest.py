from __future__ import annotations

from pathlib import Path

import pytest

from services.invoicing.ubl.seal import Sealer


@pytest.fixture(scope="session")
def seal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seal-data")


@pytest.fixture(scope="session")
def sealer(seal_dir: Path) -> Sealer:
    """The development seal, created once per session (RSA key generation is slow)."""
    return Sealer.development(seal_dir)

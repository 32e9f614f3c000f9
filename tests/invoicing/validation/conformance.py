"""Readers for the CEN/TC 434 conformance data in ../shared/conformance (never copied here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
UNIT_DIR = SHARED / "conformance" / "en16931-ubl-unit"
EXAMPLES_DIR = SHARED / "conformance" / "en16931-ubl-examples"
RULES_JSON = SHARED / "reference" / "en16931-rules.json"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"


@dataclass(frozen=True)
class UnitCase:
    file: str
    index: int
    description: str
    success: tuple[str, ...]
    errors: tuple[tuple[str, int | None], ...]  # (rule id, exact count or None for "at least once")
    warnings: tuple[str, ...]
    document: bytes

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: put the shared conformance data beside the project root")
    return path


def unit_cases() -> Iterator[UnitCase]:
    if not UNIT_DIR.exists():
        return
    for path in sorted(UNIT_DIR.glob("*.xml")):
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        for index, test in enumerate(tree.getroot().iter(f"{VEFA}test"), start=1):
            assertion = test.find(f"{VEFA}assert")
            assert assertion is not None
            doc = next(el for el in test if isinstance(el.tag, str) and not el.tag.startswith(VEFA))
            errors = tuple(
                (e.text.strip(), int(e.get("number")) if e.get("number") else None)
                for e in assertion.iter(f"{VEFA}error")
                if e.text
            )
            yield UnitCase(
                file=path.name,
                index=index,
                description=" ".join((assertion.findtext(f"{VEFA}description") or "").split()),
                success=tuple(e.text.strip() for e in assertion.iter(f"{VEFA}success") if e.text),
                errors=errors,
                warnings=tuple(e.text.strip() for e in assertion.iter(f"{VEFA}warning") if e.text),
                document=etree.tostring(doc),
            )


def example_files() -> list[Path]:
    if not EXAMPLES_DIR.exists():
        return []
    return sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() == ".xml")


def expected_verdicts() -> dict[str, list[list[str]]]:
    data: dict[str, list[list[str]]] = json.loads(
        (require_shared(EXAMPLES_DIR) / "expected.json").read_text()
    )
    return data


def official_rules() -> dict[str, str]:
    """Rule id -> flag, for every rule of the EN 16931 UBL validation."""
    data = json.loads(require_shared(RULES_JSON).read_text())
    return {r["id"]: r["flag"] for r in data["rules"]}

"""Generate ``services/invoicing/validation/rules/codelist_data.py`` from the shared code-list facts.

The source is ``../shared/reference/en16931-codelists.json`` (the code lists of the BR-CL rules as in
the CEN/TC 434 validation artefacts, release 1.3.16). Each list becomes a frozenset named after its
rule; the few rules with a second list get a descriptive suffix. Run from the project root:

    .venv/bin/python tools/gen_codelists.py [path/to/en16931-codelists.json]
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "en16931-codelists.json"
TARGET = ROOT / "services" / "invoicing" / "validation" / "rules" / "codelist_data.py"
RELEASE = "1.3.16"

# Names of the lists after the first one, where a rule has more than one.
EXTRA_LIST_NAMES = {
    ("BR-CL-01", 0): "INVOICE",
    ("BR-CL-01", 1): "CREDIT_NOTE",
    ("BR-CL-10", 1): "SELLER_OR_PAYEE_EXTRA",
}

HEADER = '''"""Code lists of the EN 16931 code-list rules (BR-CL-*), one frozenset per list.

GENERATED FILE, do not edit by hand. Source: ``{source}``,
the code lists of the CEN/TC 434 validation artefacts release {release}. Regenerate with:

    .venv/bin/python tools/gen_codelists.py
"""

from __future__ import annotations


def _codes(listing: str) -> frozenset[str]:
    return frozenset(listing.split())
'''


class SourceError(Exception):
    """The code-list file does not have the expected shape."""


def constant_name(rule_id: str, index: int, count: int) -> str:
    base = rule_id.replace("-", "_")
    suffix = EXTRA_LIST_NAMES.get((rule_id, index))
    if suffix is None and index > 0:
        raise SourceError(f"{rule_id} has {count} lists: name list {index} in EXTRA_LIST_NAMES")
    return f"{base}_{suffix}" if suffix else base


def render_list(name: str, rule_id: str, applies_to: str, codes: list[str]) -> str:
    for code in codes:
        if not code or any(ch.isspace() or ch in '"\\' for ch in code):
            raise SourceError(f"{rule_id}: code {code!r} cannot be written as a plain token")
    lines = textwrap.wrap(" ".join(codes), width=96, break_long_words=False, break_on_hyphens=False)
    single = f'{name}: frozenset[str] = _codes("{lines[0]} ")'
    if len(lines) == 1 and len(single) <= 110:
        return f"\n\n# {rule_id}: {applies_to}\n{single}\n"
    body = "\n".join(f'    "{line} "' for line in lines)
    return f"\n\n# {rule_id}: {applies_to}\n{name}: frozenset[str] = _codes(\n{body}\n)\n"


def generate(source: Path) -> str:
    data = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SourceError("expected a JSON object keyed by rule id")
    parts = [HEADER.format(source="../shared/reference/en16931-codelists.json", release=RELEASE)]
    for rule_id, entry in data.items():
        if rule_id.startswith("_"):
            continue
        lists = entry.get("code_lists") if isinstance(entry, dict) else None
        if not rule_id.startswith("BR-CL-") or not isinstance(lists, list) or not lists:
            raise SourceError(f"{rule_id}: expected a BR-CL rule with a non-empty 'code_lists'")
        for index, codes in enumerate(lists):
            name = constant_name(rule_id, index, len(lists))
            parts.append(render_list(name, rule_id, str(entry.get("applies_to", "")), list(codes)))
    return "".join(parts)


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    try:
        TARGET.write_text(generate(source), encoding="utf-8")
    except (OSError, ValueError, SourceError) as error:
        print(f"gen_codelists: {error}", file=sys.stderr)
        return 1
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

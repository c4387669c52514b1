"""Code cites docs/behaviour.md by section anchor: every cited anchor is a heading there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "behaviour.md"


def anchors() -> set[str]:
    """GitHub's anchors: each heading lower-cased, spaces as dashes, punctuation dropped."""
    headings = re.findall(r"^#{2,} (.+)$", CONTRACT.read_text(), re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in headings}


def citations() -> dict[str, set[str]]:
    """file → the anchors its lines citing docs/behaviour.md name (`#identity and #anonymisation`)."""
    cited: dict[str, set[str]] = {}
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        for line in path.read_text().splitlines():
            if "docs/behaviour.md#" in line:
                cited.setdefault(str(path.relative_to(ROOT)), set()).update(re.findall(r"#([a-z][a-z0-9-]*)", line))
    return cited


def test_every_cited_section_of_the_contract_exists():
    known = anchors()
    unknown = {path: sorted(names - known) for path, names in citations().items() if names - known}
    assert unknown == {}


def test_the_code_cites_the_contract_and_nothing_cites_the_old_spec():
    assert len(citations()) >= 10
    assert not [path for path in (ROOT / "app").rglob("*.py") if "SPEC §" in path.read_text()]

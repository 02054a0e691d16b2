"""House rule: no Python module in sdk_core, integrations or scrubbers over 600 lines (split by concern instead)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 600


@pytest.mark.parametrize("package", ["sdk_core", "integrations", "scrubbers"])
def test_no_module_over_600_lines(package: str) -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert len(sizes) > 10  # the walk found the package
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}

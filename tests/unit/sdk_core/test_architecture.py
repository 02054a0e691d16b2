"""The layering rules of docs/architecture.md, checked on the source so a new edge fails CI."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import sdk_core.integration

ROOT = Path(__file__).resolve().parents[3]
ALLOWED_CORE_MODULES = {"sdk_core", "sdk_core.integration"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name ``path`` imports (``from a.b import c`` also yields ``a.b.c``)."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _core_edges(path: Path) -> list[str]:
    bad = []
    for lineno, name in _imports(path):
        if not (name == "sdk_core" or name.startswith("sdk_core.")):
            continue
        parent = name.rsplit(".", 1)[0]
        if name in ALLOWED_CORE_MODULES or (parent in ALLOWED_CORE_MODULES and not _is_module(name)):
            continue
        bad.append(f"{path.name}:{lineno} imports {name}")
    return bad


def _is_module(name: str) -> bool:
    parts = name.split(".")
    return (ROOT.joinpath(*parts).with_suffix(".py")).exists() or ROOT.joinpath(*parts).is_dir()


def test_integrations_import_only_the_public_core_surface() -> None:
    """Integrations reach the core through ``sdk_core`` and ``sdk_core.integration`` only."""
    files = sorted((ROOT / "integrations").rglob("*.py"))
    assert len(files) > 10
    bad = [edge for path in files for edge in _core_edges(path)]
    assert bad == []


def test_the_import_graph_check_catches_a_private_edge(tmp_path: Path) -> None:
    """The checker itself: a private import (direct or via ``from sdk_core import _api``) is reported."""
    fake = tmp_path / "probe.py"
    fake.write_text(
        "import sdk_core\nfrom sdk_core import capture_exception\nfrom sdk_core.integration import options\n"
        "from sdk_core.transport import worker\nfrom sdk_core import _api\nimport sdk_core.capture\n"
    )
    flagged_lines = {edge.split(":")[1].split()[0] for edge in _core_edges(fake)}
    assert flagged_lines == {"4", "5", "6"}


def test_integration_surface_has_an_exact_all_and_documents_each_name() -> None:
    names = sdk_core.integration.__all__
    assert len(names) == len(set(names))
    public = {n for n in vars(sdk_core.integration) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(sdk_core.integration, n)).__name__ == "module"}
    imported_helpers = {"annotations", "dataclass", "Any", "Protocol", "runtime_checkable", "logging", "get_client"}
    imported_helpers |= {"get_global_scope", "logger"}
    assert set(names) == public - modules - imported_helpers
    for name in names:
        obj = getattr(sdk_core.integration, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_sdk_core_alone_imports_no_framework() -> None:
    """Importing the SDK and the integrations package loads no web framework or task queue."""
    code = (
        "import sys, sdk_core, integrations, sdk_core.integration\n"
        "bad = [m for m in ('django', 'flask', 'celery', 'starlette') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", sorted(sdk_core.integration.__all__))
def test_every_surface_name_is_importable(name: str) -> None:
    assert hasattr(sdk_core.integration, name)

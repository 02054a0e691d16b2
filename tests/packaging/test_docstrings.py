"""House rule: every public name in sdk_core, integrations and scrubbers says why it exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _public_modules(package: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / package).rglob("*.py"))
        if not any(part.startswith("_") and part not in ("__init__.py", "__main__.py") for part in path.parts)
    ]


def _overload(node: ast.AST) -> bool:
    return any("overload" in ast.unparse(d) for d in getattr(node, "decorator_list", []))


def _undocumented(path: Path) -> list[str]:
    missing: list[str] = []
    label = path.relative_to(ROOT) if ROOT in path.parents else path.name

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if node.name.startswith("_") or _overload(node):
                continue
            if not ast.get_docstring(node):
                missing.append(f"{label}:{node.lineno} {prefix}{node.name}")
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(ast.parse(path.read_text(encoding="utf-8")).body, "")
    return missing


@pytest.mark.parametrize("package", ["sdk_core", "integrations", "scrubbers"])
def test_every_public_function_and_class_has_a_docstring(package: str) -> None:
    modules = _public_modules(package)
    assert len(modules) > 10  # the walk found the package
    assert [name for path in modules for name in _undocumented(path)] == []


def test_the_check_sees_a_missing_docstring(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        'class Shown:\n    """Why."""\n\n    def method(self) -> None:\n        pass\n\n\n'
        "def _hidden() -> None:\n    pass\n"
    )
    assert [m.split(" ")[1] for m in _undocumented(probe)] == ["Shown.method"]

"""The wheel installs exactly three import packages, typed, with the pytest plugin entry point."""

from __future__ import annotations

import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[2]


def _build(tmp_path: Path) -> zipfile.ZipFile:
    builder = WheelBuilder(str(ROOT))
    (wheel,) = list(builder.build(directory=str(tmp_path), versions=["standard"]))
    return zipfile.ZipFile(wheel)


def test_wheel_declares_exactly_the_three_packages(tmp_path: Path) -> None:
    with _build(tmp_path) as whl:
        names = whl.namelist()
        top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
        assert top == {"sdk_core", "integrations", "scrubbers"}
        for package in top:
            assert f"{package}/py.typed" in names
        assert not any("/tests/" in n or n.startswith("tests/") for n in names)
        dist_info = next(n.split("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = whl.read(f"{dist_info}/METADATA").decode()
        entry_points = whl.read(f"{dist_info}/entry_points.txt").decode()
    requires = sorted(
        line.split(":", 1)[1].strip().split(";")[0].split(">")[0].split("=")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )
    assert requires == ["httpx", "opentelemetry-api", "orjson", "typing-extensions", "wrapt"]
    assert "Name: coderadar-sdk" in metadata
    assert "coderadar = sdk_core.testing" in entry_points


def test_wheel_ships_the_console_static_files(tmp_path: Path) -> None:
    """The console's CSS, JS and icon are package data files the installed server can load."""
    static = ROOT / "sdk_core" / "devserver" / "console" / "static"
    expected = sorted(p.name for p in static.iterdir())
    assert expected == ["console.css", "console.js", "favicon.svg"]
    with _build(tmp_path) as whl:
        for name in expected:
            assert whl.read(f"sdk_core/devserver/console/static/{name}") == (static / name).read_bytes()

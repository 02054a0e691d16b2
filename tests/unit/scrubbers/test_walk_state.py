"""The walk depends on an explicit ScrubState, not on the engine's private fields (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import scrubbers
import scrubbers.walk
from scrubbers.text import ScrubState
from scrubbers.walk import Walk


def test_walk_module_never_touches_the_engine() -> None:
    """No import of scrubbers.engine, and no private attribute read of anything but the walk itself."""
    tree = ast.parse(Path(scrubbers.walk.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "scrubbers.engine" not in imported
    private = [
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr.startswith("_")
        and not n.attr.startswith("__")
        and not (isinstance(n.value, ast.Name) and n.value.id == "self")
    ]
    assert private == []


def test_a_walk_runs_on_a_state_built_by_hand() -> None:
    """The state is the whole seam: a walk over a copy of an engine's parts scrubs as the engine does."""
    engine = scrubbers.compile_rules()
    src = engine.state
    state = ScrubState(
        text=src.text,
        classify=src.classify,
        allow=src.allow,
        funcs=[],
        paths_start=src.paths_start,
        skip_short=src.skip_short,
        hash_key=None,
        weak=src.weak,
    )
    event: dict[str, Any] = {"extra": {"password": "hunter2", "note": "mail ana@example.org"}}
    counts: dict[str, int] = {}
    Walk(state, event, counts).run()
    assert event["extra"] == {"password": "[Filtered]", "note": "mail [Filtered]"}
    assert counts == {"password-field": 1, "email": 1}

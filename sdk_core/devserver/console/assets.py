"""The console's static files (``static/``: CSS, JS, icon), shipped as package data.

Served same-origin from ``/static/<name>`` so the Content-Security-Policy can forbid inline script
and style entirely. Only the names listed here are served; each is read once, on first use.
"""

from __future__ import annotations

import functools
from importlib.resources import files

__all__ = ["CONTENT_TYPES", "load"]

CONTENT_TYPES: dict[str, str] = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""Every file ``/static/<name>`` serves, with its ``Content-Type``."""


@functools.cache
def load(name: str) -> bytes | None:
    """The bytes of a static file, or ``None`` when ``name`` is not one of :data:`CONTENT_TYPES`."""
    if name not in CONTENT_TYPES:
        return None
    return files(__package__).joinpath("static").joinpath(name).read_bytes()

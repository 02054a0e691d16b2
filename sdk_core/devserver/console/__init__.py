"""The development server's web console: server-rendered HTML over the receiver's SQLite store.

Served by :class:`sdk_core.devserver.Receiver` (``console=True``, which ``python -m sdk_core serve``
turns on) on the receiver's own loopback port. Layout:

* :mod:`.routes`: the URL table and :class:`Console`, which answers each route;
* :mod:`.views` (list rows, summary strip, page shell) and :mod:`.event_view` (the event page),
  drawing values through :mod:`.values` and ``_meta`` remarks through :mod:`.remarks`;
* :mod:`.markup`: HTML built by :func:`el`, which escapes every text child and attribute value;
* :mod:`.assets`: the CSS, JS and icon in ``static/``, package data served from ``/static/``.

Every string in an event comes from the application and is treated as hostile; no event data
ever reaches a ``<script>``: the JS reads JSON and writes ``textContent`` only.
"""

from __future__ import annotations

from sdk_core.devserver.console.markup import el, esc
from sdk_core.devserver.console.routes import CONTENT_SECURITY_POLICY, Console, ConsoleResponse, pages

__all__ = ["CONTENT_SECURITY_POLICY", "Console", "ConsoleResponse", "el", "esc", "pages"]

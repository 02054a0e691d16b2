"""The development server: a local Sentry-protocol receiver, its SQLite store and web console.

A tool for developing against the SDK, not part of it: the client SDK never imports this
package (a test checks). ``python -m sdk_core serve`` / ``events`` run it from the command line;
in code, ``with Receiver() as receiver:`` gives a DSN to point ``sdk_core.init`` at.

Modules, each owning one thing:

* :mod:`.receiver`: :class:`Receiver`, the lifecycle, the route table and the console guard;
* :mod:`.server`: the HTTP server and request handler;
* :mod:`.ingest` (endpoints, auth, limits, what is stored) and :mod:`.body` (reading and
  decompressing request bodies); envelopes are parsed by :func:`sdk_core.transport.envelope.parse`;
* :mod:`.store`: the SQLite database, and :func:`read_events` & co. for reading it;
* :mod:`.summaries`: the one headline-and-location summary of an event, for every display;
* :mod:`.cli`: ``serve`` and ``events``;
* :mod:`.console`: the web console's routes, markup, views and static files.
"""

from __future__ import annotations

from sdk_core.devserver.body import MAX_BODY_SIZE
from sdk_core.devserver.cli import DEFAULT_DB_PATH, DEFAULT_PORT, events_main, serve_main
from sdk_core.devserver.ingest import MAX_EVENT_SIZE, ScrubHook, credential_scrub
from sdk_core.devserver.receiver import Receiver
from sdk_core.devserver.store import read_client_reports, read_events, read_stats
from sdk_core.devserver.summaries import Summary, summarize

__all__ = [
    "DEFAULT_DB_PATH",
    "DEFAULT_PORT",
    "MAX_BODY_SIZE",
    "MAX_EVENT_SIZE",
    "Receiver",
    "ScrubHook",
    "Summary",
    "credential_scrub",
    "events_main",
    "read_client_reports",
    "read_events",
    "read_stats",
    "serve_main",
    "summarize",
]

"""``python -m sdk_core``: serve (local receiver), events (read it), check (a DSN), scrub-preview.

Only dispatch lives here; each command is imported when it runs, so ``serve`` and ``events``
(:mod:`sdk_core.devserver.cli`) load the development server and nothing else does.
"""

from __future__ import annotations

import sys

USAGE = """usage: python -m sdk_core COMMAND [options]

commands:
  serve           start the local development receiver (prints a DSN)
  events          print the events the local receiver stored
  check           explain a DSN, check the endpoint and send a test event
  scrub-preview   show what the default scrub list would redact in an event JSON file
"""


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (2 for usage errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from .devserver.cli import serve_main

        return serve_main(rest)
    if command == "events":
        from .devserver.cli import events_main

        return events_main(rest)
    if command in ("check", "send-test-event"):
        from .check import check_main

        return check_main(rest)
    if command == "scrub-preview":
        from scrubbers.__main__ import main as scrub_main

        return int(scrub_main(["preview", *rest]) or 0)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""``python -m sdk_core serve`` and ``python -m sdk_core events``: run the receiver, read its store.

Wired into ``python -m sdk_core`` by :mod:`sdk_core.__main__`; flags and output are the interface
(``serve`` prints ``DSN: ...`` first and ``Console: ...`` second, then one line per event).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Mapping
from typing import Any

from sdk_core.devserver.ingest import credential_scrub
from sdk_core.devserver.items import KINDS, item_line
from sdk_core.devserver.receiver import Receiver
from sdk_core.devserver.store import (
    NotAReceiverDatabase,
    dumps,
    read_client_reports,
    read_events,
    read_items,
    read_transactions,
)
from sdk_core.devserver.summaries import format_event_line, write_line

__all__ = ["DEFAULT_DB_PATH", "DEFAULT_PORT", "events_main", "serve_main"]

DEFAULT_PORT = 8030
"""``serve``'s port when ``--port`` is not given (a free one when it is taken)."""
DEFAULT_DB_PATH = "coderadar-events.db"
"""The SQLite file ``serve`` writes and ``events`` reads when ``--db`` is not given."""


def _port_arg(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | int:
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else 2


def serve_main(argv: list[str] | None = None, *, stop_event: threading.Event | None = None) -> int:
    """``serve``: print ``DSN: <dsn>`` first, ``Console: <url>`` second, then one line per event,
    until SIGINT/SIGTERM; returns 0.

    ``stop_event`` lets a caller that is not the main thread (no signal handlers there) stop it.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sdk_core serve",
        description="Local development receiver: prints a DSN, stores received events in SQLite, "
        "and serves a web console for them on the same loopback port.",
    )
    parser.add_argument(
        "--port", type=_port_arg, default=None,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, or a free one if it is taken; 0 = any free port)",
    )  # fmt: skip
    parser.add_argument("--db", default=DEFAULT_DB_PATH, help=f"SQLite file (default ./{DEFAULT_DB_PATH})")
    parser.add_argument("--quiet", action="store_true", help="do not print a line per event")
    parser.add_argument("--project-id", type=_positive_int, default=1, help="project id in the DSN (default 1)")
    parser.add_argument("--key", default=None, help="public key to use (default: the stored one, or a new one)")
    parser.add_argument("--no-console", action="store_true", help="ingest only: no web console at /")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    stop = stop_event or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():  # before the DSN line: a supervisor
        for sig in (signal.SIGINT, signal.SIGTERM):  # may signal as soon as it has read it
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.set())
    try:
        return _serve(args, stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    err = sys.stderr
    port = DEFAULT_PORT if args.port is None else args.port
    try:
        receiver = Receiver(
            args.db,
            port,
            args.key,
            args.project_id,
            scrub=credential_scrub(),
            verbose=not args.quiet,
            stream=sys.stdout,
            console=not args.no_console,
        )
    except (OSError, ValueError, sqlite3.Error) as exc:
        write_line(err, f"error: cannot open {args.db}: {exc}")
        return 1
    try:
        try:
            receiver.start()
        except OSError as exc:
            if args.port is not None:
                write_line(err, f"error: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
                return 1
            receiver._requested_port = 0
            receiver.start()
            write_line(err, f"port {DEFAULT_PORT} is taken; using {receiver.port}")
        try:
            write_line(sys.stdout, f"DSN: {receiver.dsn}")
            if receiver.console_url is not None:
                write_line(sys.stdout, f"Console: {receiver.console_url}")
        except (OSError, ValueError):
            pass
        where = os.path.abspath(args.db)
        write_line(err, f"coderadar receiver on 127.0.0.1:{receiver.port}, storing events in {where}; Ctrl-C to stop")
        while not stop.wait(0.25):
            pass
    finally:
        receiver.stop()
    return 0


def _format_row(row: Mapping[str, Any]) -> str:
    line = format_event_line(str(row["event_id"]), str(row["level"]), str(row["summary"]), row["server_redactions"])
    return f"{row['received_at']} {line}"


def _format_item(row: Mapping[str, Any]) -> str:
    return f"{row['received_at']} {item_line(str(row['kind']), str(row['label']), row['payload'])}"


def _tx_line(row: Mapping[str, Any]) -> str:
    return (
        f"{row['received_at']} {row['event_id']} [{row['op']}] {row['name']} {row['duration_ms']:.1f}ms"
        f" {row['status']} spans={row['span_count']} trace={row['trace_id']}"
    )


def events_main(argv: list[str] | None = None) -> int:
    """``events``: print stored events, one per line (``--json`` for JSON lines); 1 when no database."""
    parser = argparse.ArgumentParser(prog="python -m sdk_core events", description="Print events the receiver stored.")
    parser.add_argument("--db", default=DEFAULT_DB_PATH, help=f"SQLite file (default ./{DEFAULT_DB_PATH})")
    parser.add_argument("--json", action="store_true", help="one JSON object per line, full payloads")
    parser.add_argument("--last", type=_positive_int, default=None, metavar="N", help="only the last N events")
    parser.add_argument("--client-reports", action="store_true", help="also print aggregated client reports")
    parser.add_argument(
        "--type", choices=("event", "transaction", *KINDS), default="event",
        help="what to print: error events (default), transactions, logs, check-ins, session aggregates or attachments"
        " (metadata)",
    )  # fmt: skip
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        if args.type == "event":
            rows = read_events(args.db, args.last)
        elif args.type == "transaction":
            rows = read_transactions(args.db, args.last)
        else:
            rows = read_items(args.db, args.type, args.last)
        reports = read_client_reports(args.db) if args.client_reports else []
    except FileNotFoundError as exc:
        write_line(sys.stderr, f"error: {exc} (start one with: python -m sdk_core serve --db {args.db})")
        return 1
    except (NotAReceiverDatabase, sqlite3.Error) as exc:
        write_line(sys.stderr, f"error: {exc}")
        return 1
    try:
        for row in rows:
            if args.json:
                write_line(sys.stdout, dumps(row))
            elif args.type == "event":
                write_line(sys.stdout, _format_row(row))
            elif args.type == "transaction":
                write_line(sys.stdout, _tx_line(row))
            else:
                write_line(sys.stdout, _format_item(row))
        for report in reports:
            text = f"[client_report] {report['reason']} {report['category']} x{report['quantity']}"
            write_line(sys.stdout, dumps({"client_report": report}) if args.json else text)
    except BrokenPipeError:  # `events | head`
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    return 0

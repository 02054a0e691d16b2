"""The development server as a package of its own: the SDK never loads it, and its displays agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdk_core.devserver import Receiver

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(console=True) as r:
        yield r


def post_event(receiver: Receiver, payload: dict[str, Any]) -> None:
    event_id = uuid.uuid4().hex
    body = json.dumps({**payload, "event_id": event_id}).encode()
    data = b"\n".join(
        [json.dumps({"event_id": event_id}).encode(), json.dumps({"type": "event", "length": len(body)}).encode(), body]
    )
    response = httpx.post(
        f"http://127.0.0.1:{receiver.port}/api/1/envelope/",
        content=data + b"\n",
        headers={"X-Sentry-Auth": f"Sentry sentry_key={receiver.public_key}"},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text


def test_client_sdk_never_imports_the_devserver(receiver: Receiver) -> None:
    """init, capture and flush (events really delivered) load no ``sdk_core.devserver`` module."""
    code = """if True:
        import sys
        import sdk_core
        sdk_core.init(sys.argv[1], shutdown_timeout=10)
        try:
            1 / 0
        except ZeroDivisionError:
            sdk_core.capture_exception()
        sdk_core.capture_message("hello from the client")
        sdk_core.flush(10)
        sdk_core.close(10)
        print(sorted(m for m in sys.modules if m == "sdk_core.devserver" or m.startswith("sdk_core.devserver.")))
        import sdk_core.devserver  # the check above can see the package when it is there
        print("sdk_core.devserver.receiver" in sys.modules)
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, "-c", code, receiver.dsn],
        capture_output=True, text=True, env=env, cwd=str(REPO_ROOT), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "True"]
    assert sorted(e["summary"].split(" (")[0] for e in receiver.events()) == [
        "ZeroDivisionError: division by zero",
        "hello from the client",
    ]


def test_receiver_output_and_console_show_the_same_summary(receiver: Receiver) -> None:
    """One summary function: the stored line (``events``, serve's output) and the console list agree,
    including a location found only in a thread's stack."""
    post_event(
        receiver,
        {
            "level": "warning",
            "message": "queue stalled",
            "threads": {"values": [{"id": 1, "stacktrace": {"frames": [{"filename": "worker.py", "lineno": 7}]}}]},
        },
    )
    post_event(
        receiver,
        {
            "exception": {
                "values": [
                    {
                        "type": "ValueError",
                        "value": "bad",
                        "stacktrace": {"frames": [{"abs_path": "C:\\app\\views.py", "lineno": 3, "in_app": True}]},
                    }
                ]
            }
        },
    )
    stored = [e["summary"] for e in receiver.events()]
    assert stored == ["queue stalled (worker.py:7)", "ValueError: bad (views.py:3)"]
    rows = httpx.get(f"http://127.0.0.1:{receiver.port}/poll", params={"after": "0"}, timeout=30.0).json()["rows"]
    shown = [(row["type"], row["value"], row["location"]) for row in reversed(rows)]
    assert shown == [("", "queue stalled", "worker.py:7"), ("ValueError", "bad", "views.py:3")]
    page = httpx.get(f"http://127.0.0.1:{receiver.port}/event/{rows[-1]['id']}", timeout=30.0).text
    assert '<p class="where"><code>worker.py:7</code></p>' in page

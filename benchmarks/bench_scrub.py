"""Scrub throughput: CodeRadar's scrubbers engine vs sentry-sdk's EventScrubber, side by side.

    .venv/bin/python benchmarks/bench_scrub.py [--events 400] [--rounds 5] [--seed 7] [--cpu] [--suite]

Each event is realistic and varied: an exception 5 frames deep with locals and source context
(drawn from a pool of 25 code locations, as a real app repeats its code paths), a request with
headers, cookies and a JSON body, 30 breadcrumbs (SQL, HTTP, log lines with fresh ids and
timestamps), user, tags, contexts, extra. Both scrubbers get identical fresh copies (copying
is not timed). Our engine does key AND value scrubbing of every string; sentry's EventScrubber
does key-only scrubbing of fixed places (``recursive=False`` is sentry-sdk's default; the
``recursive=True`` row walks every dict). "cold" compiles a new engine per round, so its string
cache starts empty; "warm" reuses one engine, as a long-running process does.
Prints a Markdown table with events/s, MB/s of event JSON and the time ratio to sentry;
``--suite`` adds a second table for the suite's event (``benchmarks/scenarios.py``), the same
event scrubbed over and over, as in a burst of one error.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scrubbers

_WORDS = (
    "order invoice customer payment shipment cart checkout refund account profile session "
    "report export import sync queue worker retry timeout cache index search filter"
).split()


def _code_pool(rng: random.Random, n: int = 25) -> list[dict[str, Any]]:
    pool = []
    for i in range(n):
        mod = f"app.{rng.choice(_WORDS)}s.{rng.choice(_WORDS)}_{i}"
        fn = f"{rng.choice(['handle', 'process', 'update', 'load', 'render'])}_{rng.choice(_WORDS)}"
        pool.append(
            {
                "filename": mod.replace(".", "/") + ".py",
                "abs_path": "/srv/app/" + mod.replace(".", "/") + ".py",
                "module": mod,
                "function": fn,
                "lineno": rng.randint(10, 900),
                "pre_context": [
                    f"def {fn}(self, request, {rng.choice(_WORDS)}_id):",
                    f'    """Handle the {rng.choice(_WORDS)} flow."""',
                    f"    obj = self.repo.get({rng.choice(_WORDS)}_id)",
                    "    if obj is None:",
                    f"        raise NotFound('{rng.choice(_WORDS)} missing')",
                ],
                "context_line": f"    result = self.service.{fn}(obj, payload=request.json, retries=3)",
                "post_context": [
                    "    log.info('done %s', obj.pk)",
                    "    return JsonResponse(result, status=200)",
                    "",
                    "@login_required",
                    f"def other_{i}(request):",
                ],
                "in_app": True,
            }
        )
    return pool


def make_event(rng: random.Random, pool: list[dict[str, Any]]) -> dict[str, Any]:
    """One realistic error event with fresh ids, timestamps and values."""
    oid = rng.randint(1000, 999999)
    uid = rng.randint(1, 99999)
    hexid = f"{rng.getrandbits(128):032x}"
    ts = 1_700_000_000 + rng.randint(0, 10_000_000)
    frames = []
    for code in rng.sample(pool, 5):
        frame = dict(code)
        frame["pre_context"] = list(code["pre_context"])
        frame["post_context"] = list(code["post_context"])
        frame["vars"] = {
            "self": f"<app.services.OrderService object at 0x7f{rng.getrandbits(40):010x}>",
            "request": f"<WSGIRequest: POST '/api/orders/{oid}'>",
            "order_id": repr(oid),
            "payload": repr({"items": [{"sku": f"SKU-{rng.randint(100, 999)}", "qty": rng.randint(1, 5)}]}),
            "retries": "3",
            "obj": f"<Order: {oid} pending>",
            "started_at": repr(ts + rng.random()),
            "password_attempts": "0",
            "api_key": "'" + f"{rng.getrandbits(160):040x}" + "'",
            "result": "None",
        }
        frames.append(frame)
    crumbs = []
    for b in range(30):
        kind = b % 3
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts - 60 + b)) + f".{rng.randint(0, 999):03d}Z"
        if kind == 0:
            crumbs.append(
                {
                    "timestamp": when,
                    "type": "http",
                    "category": "httplib",
                    "level": "info",
                    "data": {
                        "url": f"https://api.internal.example/v2/{rng.choice(_WORDS)}s/{rng.randint(1, 9999)}",
                        "method": rng.choice(["GET", "POST"]),
                        "status_code": 200,
                        "reason": "OK",
                    },
                }
            )
        elif kind == 1:
            crumbs.append(
                {
                    "timestamp": when,
                    "type": "default",
                    "category": "query",
                    "level": "info",
                    "message": f"SELECT id, status, total FROM {rng.choice(_WORDS)}s WHERE customer_id = %s "
                    f"AND created_at > %s ORDER BY id LIMIT {rng.randint(1, 100)}",
                    "data": {"params": [str(uid), "2024-01-01"], "duration_ms": round(rng.random() * 20, 3)},
                }
            )
        else:
            crumbs.append(
                {
                    "timestamp": when,
                    "type": "default",
                    "category": "app.worker",
                    "level": "info",
                    "message": f"processed {rng.choice(_WORDS)} {oid} for customer {uid} in {rng.randint(1, 900)} ms "
                    f"(request {hexid[:8]}-{hexid[8:12]}-4{hexid[13:16]}-a{hexid[17:20]}-{hexid[20:]})",
                }
            )
    return {
        "event_id": hexid,
        "timestamp": ts,
        "platform": "python",
        "level": "error",
        "logger": "django.request",
        "release": "shop@4.12.0+a1b2c3d",
        "environment": "production",
        "server_name": f"web-{rng.randint(1, 20)}",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"invalid state transition for order {oid}: pending -> shipped",
                    "module": "app.errors",
                    "mechanism": {"type": "django", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        "request": {
            "url": f"https://shop.example.com/api/orders/{oid}",
            "method": "POST",
            "query_string": f"page={rng.randint(1, 9)}&sort=desc",
            "headers": {
                "Host": "shop.example.com",
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Authorization": "Bearer " + f"{rng.getrandbits(256):064x}",
                "Cookie": f"sessionid={rng.getrandbits(128):032x}; csrftoken={rng.getrandbits(128):032x}",
                "X-Request-Id": f"{hexid[:8]}-{hexid[8:12]}-4{hexid[13:16]}-a{hexid[17:20]}-{hexid[20:]}",
                "X-Forwarded-For": f"203.0.113.{rng.randint(1, 254)}",
            },
            "cookies": {
                "sessionid": f"{rng.getrandbits(128):032x}",
                "csrftoken": f"{rng.getrandbits(128):032x}",
                "theme": "dark",
            },
            "data": {"items": [{"sku": f"SKU-{rng.randint(100, 999)}", "qty": 2}], "note": "leave at the door"},
            "env": {"REMOTE_ADDR": f"203.0.113.{rng.randint(1, 254)}", "SERVER_NAME": "shop.example.com"},
        },
        "breadcrumbs": {"values": crumbs},
        "user": {"id": str(uid), "email": f"customer{uid}@example.com", "ip_address": "203.0.113.9"},
        "tags": {"region": "eu-west-1", "service": "orders", "order_state": "pending"},
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.7"},
            "os": {"name": "Linux", "version": "6.1.0"},
            "trace": {"trace_id": hexid, "span_id": hexid[:16]},
        },
        "extra": {"sys.argv": ["manage.py", "runserver"], "order_total": f"{rng.randint(1, 999)}.99"},
    }


_CLOCK = time.perf_counter


def _time(fn: Callable[[dict[str, Any]], Any], copies: list[dict[str, Any]]) -> float:
    start = _CLOCK()
    for event in copies:
        fn(event)
    return _CLOCK() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time with process CPU time and report the best round (steadier on a shared, loaded machine)",
    )
    parser.add_argument(
        "--suite",
        action="store_true",
        help="also time the suite's event (benchmarks/scenarios.py, as our pipeline hands it to the scrubber)",
    )
    args = parser.parse_args(argv)
    global _CLOCK
    if args.cpu:
        _CLOCK = time.process_time
    pick = min if args.cpu else statistics.median

    rng = random.Random(args.seed)
    pool = _code_pool(rng)
    events = [make_event(rng, pool) for _ in range(args.events)]
    payload = [json.dumps(e) for e in events]

    tables = [("varied events", payload)]
    if args.suite:
        from benchmarks.scenarios import pre_scrub_event

        tables.append(("the suite's event, repeated", [json.dumps(pre_scrub_event())] * args.events))
    for title, payloads in tables:
        if len(tables) > 1:
            print(f"### {title}\n")
        _table(payloads, args, pick)
    return 0


def _table(payload: list[str], args: argparse.Namespace, pick: Callable[[list[float]], float]) -> None:
    from sentry_sdk.scrubber import EventScrubber

    mb = sum(len(p) for p in payload) / 1e6
    warm_engine = scrubbers.compile_rules()
    contenders: dict[str, Callable[[], Callable[[dict[str, Any]], Any]]] = {
        "sentry-sdk EventScrubber() (key-only, default)": lambda: EventScrubber().scrub_event,
        "sentry-sdk EventScrubber(recursive=True)": lambda: EventScrubber(recursive=True).scrub_event,
        "coderadar scrubbers, cold (new engine each round)": lambda: scrubbers.compile_rules().scrub_in_place,
        "coderadar scrubbers, warm (long-running engine)": lambda: warm_engine.scrub_in_place,
    }
    warm_engine.scrub_in_place(json.loads(payload[0]))
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, make in contenders.items():
            fn = make()
            copies = [json.loads(p) for p in payload]
            gc.collect()
            times[name].append(_time(fn, copies))

    base = pick(times["sentry-sdk EventScrubber() (key-only, default)"])
    base_rec = pick(times["sentry-sdk EventScrubber(recursive=True)"])
    how = f"best of {args.rounds} rounds, CPU time" if args.cpu else f"median of {args.rounds} rounds"
    print(f"{args.events} events, {mb * 1e6 / args.events / 1024:.1f} KiB of JSON each, {how}")
    print(f"Python {sys.version.split()[0]}\n")
    print("| scrubber | events/s | MB/s | µs/event | x sentry default | x sentry recursive |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ts in times.items():
        t = pick(ts)
        print(
            f"| {name} | {args.events / t:,.0f} | {mb / t:,.1f} | {t / args.events * 1e6:,.1f} "
            f"| {t / base:.2f} | {t / base_rec:.2f} |"
        )
    print()


if __name__ == "__main__":
    raise SystemExit(main())

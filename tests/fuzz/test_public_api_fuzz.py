"""Property tests: the public API never raises into the host, whatever it is given, and every event
it produces serialises.

Hostile values: recursive containers, objects whose ``__repr__``/``__str__``/``__eq__``/``__hash__``/
``__bool__``/``__iter__`` raise, ``__repr__`` returning a non-string, huge strings and bytes, lone
surrogates, non-string dict keys, generators, NaN and infinities, huge integers, deep nesting,
exception chains with cycles. Each example runs a random sequence of public calls against an
in-memory transport, then captures a message and an exception and checks what was "sent".
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from typing import Any, Callable

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdk_core
from sdk_core import scope
from sdk_core.transport.memory import InMemoryTransport

SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # the fixture is reset by hand per example (reset())
    ],
)


class Boom(Exception):
    pass


class Hostile:
    """Everything the SDK might call on a value raises."""

    def __repr__(self) -> str:
        raise Boom("repr")

    def __str__(self) -> str:
        raise Boom("str")

    def __format__(self, spec: str) -> str:
        raise Boom("format")

    def __eq__(self, other: object) -> bool:
        raise Boom("eq")

    def __hash__(self) -> int:
        raise Boom("hash")

    def __bool__(self) -> bool:
        raise Boom("bool")

    def __len__(self) -> int:
        raise Boom("len")

    def __iter__(self) -> Iterator[Any]:
        raise Boom("iter")

    def __getattr__(self, name: str) -> Any:
        raise Boom(name)


class HostileKey(Hostile):
    """Usable as a dict key (hash works), hostile otherwise."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


class BadRepr:
    def __repr__(self) -> Any:
        return 42  # repr() raises TypeError


class HugeRepr:
    def __repr__(self) -> str:
        return "r" * 2_000_000


class EvilStr(str):
    def __str__(self) -> str:
        raise Boom("str subclass")

    def __repr__(self) -> str:
        raise Boom("str subclass")


class EvilDict(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise Boom("items")

    def keys(self) -> Any:
        raise Boom("keys")

    def __iter__(self) -> Any:
        raise Boom("iter")


class EvilList(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        raise Boom("iter")

    def __len__(self) -> int:
        raise Boom("len")


class HostileError(Exception):
    def __str__(self) -> str:
        raise Boom("exception str")

    def __repr__(self) -> str:
        raise Boom("exception repr")


def recursive_list() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


def recursive_dict() -> dict[str, Any]:
    loop: dict[str, Any] = {"a": 1}
    loop["self"] = loop
    loop["nested"] = {"back": loop}
    return loop


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"d": value}
    return value


def generator() -> Iterator[int]:
    yield from range(3)


def hostile_objects() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(Hostile),
        st.builds(HostileKey),
        st.builds(BadRepr),
        st.builds(HugeRepr),
        st.builds(lambda: EvilStr("evil")),
        st.builds(lambda: EvilDict(a=1)),
        st.builds(lambda: EvilList([1, 2])),
        st.builds(recursive_list),
        st.builds(recursive_dict),
        st.builds(generator),
        st.builds(lambda: (x for x in iter(Hostile, None))),  # a generator that raises when consumed
        st.builds(lambda: iter([1, 2])),
        st.builds(object),
        st.builds(lambda: type("Dyn", (), {})),
        st.builds(lambda: sys.modules[__name__]),
        st.builds(lambda: lambda: None),
        st.builds(lambda: memoryview(b"view")),
        st.builds(lambda: bytearray(b"\x00\xff" * 10)),
        st.integers(min_value=1, max_value=3000).map(nested),
    )


def leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**64, max_value=2**400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
        st.text(alphabet=st.characters(codec=None, exclude_categories=())),  # lone surrogates too
        st.binary(),
        st.complex_numbers(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True),
        st.datetimes(),
        st.uuids(),
        st.sampled_from(["x" * 1_000_000, "\ud800" * 1000, "é" * 50_000]),
        st.sampled_from([b"\xff" * 1_000_000, b""]),
        hostile_objects(),
    )


def keys() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=20),
        st.integers(),
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True),
        st.binary(max_size=10),
        st.tuples(st.integers(), st.text(max_size=3)),
        st.frozensets(st.integers(), max_size=3),
        st.builds(HostileKey),
        st.just("x" * 100_000),
    )


def values() -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves(),
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.tuples(children, children),
            st.dictionaries(keys(), children, max_size=5),
            st.sets(st.one_of(st.integers(), st.text(max_size=5), st.builds(HostileKey)), max_size=4),
            st.lists(children, min_size=60, max_size=80),  # wider than the breadth limit
        ),
        max_leaves=12,
    )


def exceptions() -> st.SearchStrategy[BaseException]:
    def raised(exc: BaseException, local: Any) -> BaseException:
        def frame(hostile_local: Any) -> None:
            password = "hunter2"  # a local the scrubber must remove
            another = hostile_local
            raise exc

        try:
            frame(local)
        except BaseException as caught:
            return caught
        raise AssertionError("unreachable")

    def chained(a: BaseException, b: BaseException, cycle: bool) -> BaseException:
        a.__cause__ = b
        if cycle:
            b.__context__ = a
        return a

    base = st.one_of(
        st.builds(ValueError, values()),
        st.builds(HostileError),
        st.builds(KeyError, keys()),
        st.builds(lambda v: OSError(2, v), st.text()),
        st.builds(lambda: RecursionError("deep")),
    )
    plain = st.one_of(base, st.builds(raised, base, values()))
    combined = st.one_of(plain, st.builds(chained, plain, plain, st.booleans()))
    if sys.version_info >= (3, 11):
        group = st.builds(lambda a, b: ExceptionGroup("group", [a, b]), base, base)  # noqa: F821
        combined = st.one_of(combined, group, st.builds(raised, group, values()))
    return combined


def op(name: str, fn: Callable[..., Any], *args: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(st.just(name), st.just(fn), st.tuples(*args))


def crumb_kwargs(message: Any, data: Any, category: Any, level: Any) -> Callable[[], None]:
    return lambda: sdk_core.add_breadcrumb(message=message, data=data, category=category, level=level)


OPERATIONS = st.one_of(
    op("set_extra", sdk_core.set_extra, keys(), values()),
    op("set_context", sdk_core.set_context, keys(), values()),
    op("set_tag", sdk_core.set_tag, keys(), values()),
    op("set_tags", sdk_core.set_tags, values()),
    op("set_user", sdk_core.set_user, values()),
    op("set_level", sdk_core.set_level, values()),
    op("set_transaction_name", sdk_core.set_transaction_name, values()),
    op("add_breadcrumb", sdk_core.add_breadcrumb, values()),
    st.tuples(
        st.just("add_breadcrumb(**fields)"),
        st.builds(crumb_kwargs, values(), values(), values(), values()),
        st.just(()),
    ),
    op("capture_message", sdk_core.capture_message, values()),
    op("capture_message(level)", sdk_core.capture_message, st.text(max_size=50), values()),
    op("capture_exception", sdk_core.capture_exception, st.one_of(exceptions(), values())),
    op("capture_event", sdk_core.capture_event, values()),
)


@pytest.fixture
def transport() -> Iterator[InMemoryTransport]:
    transport = InMemoryTransport()
    sdk_core.init(transport=transport, default_integrations=False, max_queue_size=10_000)
    yield transport
    sdk_core.close(1)


def check_delivered(transport: InMemoryTransport) -> list[dict[str, Any]]:
    assert sdk_core.flush(10)
    events = []
    for envelope in transport.envelopes:
        envelope.serialize()
        for item in envelope.items:
            events.append(orjson.loads(item.payload))  # valid JSON, whatever went in
    return events


def reset(transport: InMemoryTransport) -> None:
    sdk_core.flush(10)
    transport.clear()
    scope._reset_for_tests()


@SETTINGS
@given(calls=st.lists(OPERATIONS, max_size=8))
def test_any_sequence_of_public_calls_never_raises(transport: InMemoryTransport, calls: list[Any]) -> None:
    reset(transport)
    client: Any = sdk_core.get_client()
    before = client.discards.totals[("internal_sdk_error", "error")]
    expected = 0
    for _name, fn, args in calls:
        result = fn(*args)  # must not raise
        if _name.startswith("capture") and result is not None:
            expected += 1
    try:
        raise ValueError("the final one")
    except ValueError:
        assert sdk_core.capture_exception() is not None
    assert sdk_core.capture_message("and a message") is not None
    events = check_delivered(transport)
    assert len(events) == expected + 2  # every accepted capture produced a serialisable event
    assert client.discards.totals[("internal_sdk_error", "error")] == before


@SETTINGS
@given(value=values(), key=keys())
def test_hostile_scope_data_reaches_the_wire_as_json(transport: InMemoryTransport, value: Any, key: Any) -> None:
    reset(transport)
    sdk_core.set_extra(key, value)
    sdk_core.set_context(key, value)
    sdk_core.set_tag(key, value)
    sdk_core.set_user(value)
    sdk_core.add_breadcrumb(message=value, data=value)
    sdk_core.add_breadcrumb(value)
    assert sdk_core.capture_message(value) is not None
    (event,) = check_delivered(transport)
    assert event["event_id"]
    assert orjson.dumps(event)  # and it round-trips


@SETTINGS
@given(error=exceptions())
def test_hostile_exceptions_are_captured(transport: InMemoryTransport, error: BaseException) -> None:
    reset(transport)
    assert sdk_core.capture_exception(error) is not None
    (event,) = check_delivered(transport)
    values_ = event["exception"]["values"]
    assert values_ and all(isinstance(v.get("type"), str) for v in values_)
    assert b"hunter2" not in orjson.dumps(event)


@SETTINGS
@given(value=values())
def test_calls_without_init_are_no_ops(value: Any) -> None:
    sdk_core.close(0)
    before = sdk_core.stats()  # the last closed client's counters, or {} if there never was one
    assert sdk_core.capture_message(value) is None
    assert sdk_core.capture_exception(ValueError(value)) is None
    sdk_core.add_breadcrumb(message=value)
    sdk_core.set_extra("k", value)
    sdk_core.set_user(value)
    assert sdk_core.flush(0) is True
    assert sdk_core.stats() == before

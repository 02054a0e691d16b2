"""sdk_core.transport.envelope.parse: the one envelope parser (the receiver, the spool, the tests)."""

from __future__ import annotations

import pytest

from sdk_core.transport.envelope import Envelope, EnvelopeParseError, Item, loads, parse


def test_items_keep_unknown_headers() -> None:
    """Every header key, known or not, survives; ``type`` and ``length`` become the item's own fields."""
    envelope = parse(b'{"event_id":"x","custom":1}\n{"type":"new","length":3,"k":"v"}\nabc\n')
    assert envelope.headers == {"event_id": "x", "custom": 1}
    assert [(i.type, i.headers, i.payload) for i in envelope.items] == [("new", {"k": "v"}, b"abc")]


def test_empty_payload_items() -> None:
    """Zero-length and newline-terminated empty payloads are items too."""
    envelope = parse(b'{}\n{"type":"a","length":0}\n\n{"type":"b"}\n\n{"type":"c"}')
    assert [(i.type, i.payload) for i in envelope.items] == [("a", b""), ("b", b""), ("c", b"")]


def test_serialised_envelopes_read_back() -> None:
    """What the SDK writes, the parser reads: payloads with newlines, several items, custom headers."""
    items = [
        Item("event", b'{"message":"line\\nbreak"}'),
        Item("attachment", b"a\nb\n", {"filename": "x.txt"}),
        Item("client_report", b"{}"),
    ]
    back = parse(Envelope({"event_id": "a" * 32, "sent_at": "2024-01-01T00:00:00Z"}, items).serialize())
    assert back.headers == {"event_id": "a" * 32, "sent_at": "2024-01-01T00:00:00Z"}
    assert back.items == items


def test_lengthless_payload_runs_to_the_newline_and_the_end() -> None:
    envelope = parse(b'{}\n{"type":"event"}\n{"a":1}\n{"type":"event"}\n{"b":2}')
    assert [i.payload for i in envelope.items] == [b'{"a":1}', b'{"b":2}']


def test_crlf_and_blank_lines_are_tolerated() -> None:
    """Relay accepts CRLF after a declared-length payload and blank lines between items."""
    envelope = parse(b'{}\r\n{"type":"event","length":2}\r\n{}\r\n\r\n\n{"type":"log","length":1}\nx')
    assert [(i.type, i.payload) for i in envelope.items] == [("event", b"{}"), ("log", b"x")]


def test_header_only_envelope_has_no_items() -> None:
    assert parse(b'{"event_id":"x"}').items == []
    assert parse(b'{"event_id":"x"}\n').items == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "envelope header is not valid JSON"),
        (b"not json\n", "envelope header is not valid JSON"),
        (b'{"x": NaN}\n', "envelope header is not valid JSON"),
        (b"[1]\n", "envelope header is not a JSON object"),
        (b"{}\nnope\n", "item header is not valid JSON"),
        (b'{}\n"event"\n', "item header is not a JSON object"),
        (b'{}\n{"length":2}\n{}\n', "without a 'type'"),
        (b'{}\n{"type":""}\n{}\n', "without a 'type'"),
        (b'{}\n{"type":"event","length":true}\n{}\n', "not a non-negative integer"),
        (b'{}\n{"type":"event","length":-1}\n{}\n', "not a non-negative integer"),
        (b'{}\n{"type":"event","length":"2"}\n{}\n', "not a non-negative integer"),
        (b'{}\n{"type":"event","length":99}\n{}\n', "runs past the end"),
        (b'{}\n{"type":"event","length":1}\n{}\n', "no newline after an item payload"),
    ],
)
def test_malformed_envelopes_raise(data: bytes, message: str) -> None:
    with pytest.raises(EnvelopeParseError, match=message):
        parse(data)


def test_parse_error_is_a_value_error() -> None:
    """Callers that guard with ``except ValueError`` (the spool's reader) keep working."""
    assert issubclass(EnvelopeParseError, ValueError)


def test_strict_json_accepts_lone_surrogate_escapes_and_refuses_constants() -> None:
    """orjson refuses ``\\ud800``, which JSON allows; the stdlib decides. NaN and Infinity are not JSON."""
    assert loads(b'{"m": "\\ud800 lone"}') == {"m": "\ud800 lone"}
    assert parse(b'{"m":"\\udfff"}\n').headers == {"m": "\udfff"}
    for bad in (b"NaN", b"[Infinity]", b'{"a": -Infinity}', b"\xff", b"[" * 100000):
        with pytest.raises(ValueError):
            loads(bad)

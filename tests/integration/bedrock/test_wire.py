"""The fake's event-stream encoder, checked against botocore's own parser as the oracle."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from tests.support.fake_bedrock import answer, encode_event, wire_bytes


def _parse(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(message.headers), message.payload) for message in buffer]


def test_botocore_parses_what_the_encoder_writes() -> None:
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    payload = json.dumps({"bytes": base64.b64encode(b'{"type": "message_stop"}').decode()}).encode()
    first, second = encode_event(headers, payload), encode_event({":message-type": "event"}, b"")

    assert _parse(first + second) == [(headers, payload), ({":message-type": "event"}, b"")]
    total_length, headers_length = struct.unpack("!II", first[:8])
    assert total_length == len(first)
    assert headers_length == len(first) - 12 - len(payload) - 4


@pytest.mark.parametrize("offset", [9, -1], ids=["prelude-crc", "message-crc"])
def test_corrupted_messages_fail_botocore_checksums(offset: int) -> None:
    message = bytearray(encode_event({":message-type": "event"}, b"{}"))
    message[offset] ^= 0xFF

    with pytest.raises(ChecksumMismatch):
        _parse(bytes(message))


def test_converse_stream_reply_is_a_valid_event_stream() -> None:
    reply = answer("converse-stream", "us.amazon.nova-lite-v1:0", {}, "default")

    events = _parse(wire_bytes(reply))
    assert [headers[":event-type"] for headers, _ in events][:2] == ["messageStart", "contentBlockDelta"]
    assert events[-1][0][":event-type"] == "metadata"
    assert {headers[":message-type"] for headers, _ in events} == {"event"}
    assert "usage" in json.loads(events[-1][1])

"""Reading hostile server frames and events, with plain values: nothing raises, nothing is trusted."""

from __future__ import annotations

import base64

from polybot_device.realtime import decoding
from polybot_device.realtime.actions import SessionOver


def test_a_frame_is_an_event_only_when_it_is_a_json_object():
    assert decoding.parse_frame('{"type": "x"}') == {"type": "x"}
    assert decoding.parse_frame(b'{"type": "x"}') == {"type": "x"}
    for junk in ("not json", "[1, 2]", "42", b"\xff\xfe", ""):
        assert decoding.parse_frame(junk) is None


def test_audio_is_whole_samples_of_valid_base64():
    assert decoding.audio(base64.b64encode(b"\x01\x02\x03").decode()) == b"\x01\x02"
    assert decoding.audio(base64.b64encode(b"").decode()) == b""
    assert decoding.audio("not base64!") is None
    assert decoding.audio(None) is None and decoding.audio(123) is None


def test_an_error_event_is_read_field_by_field_whatever_its_shape():
    error = decoding.server_error({"type": "error", "error": {
        "type": "invalid_request_error", "code": "bad", "message": "m" * 1000, "event_id": "evt_1"}})
    assert (error.code, error.kind, error.caused_by, len(error.message)) == ("bad", "invalid_request_error", "evt_1",
                                                                              decoding.MESSAGE_CHARS)
    for shape in ({"type": "error"}, {"type": "error", "error": "text"}, {"type": "error", "error": {"code": None}}):
        assert decoding.server_error(shape).code == ""


def test_a_refused_key_or_an_expired_session_ends_the_session_and_nothing_else_does():
    def over(code: str) -> SessionOver | None:
        return decoding.server_error({"error": {"code": code}}).session_over()

    assert over("invalid_api_key") == SessionOver("invalid_api_key", auth=True)
    assert over("insufficient_quota") == SessionOver("insufficient_quota", auth=True)
    assert over("session_expired") == SessionOver("session_expired")
    assert over("rate_limit_exceeded") is None and over("") is None

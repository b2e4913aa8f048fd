"""The protocol state machine, with plain values: no socket, no audio device."""

import base64
import json
import tracemalloc

import pytest

from polybot_device.config import parse_config
from polybot_device.realtime import events as ev
from polybot_device.realtime.actions import (
    Play,
    ResponseFinished,
    Send,
    SessionLive,
    SessionOver,
    SpeechStarted,
    Transcript,
)
from polybot_device.realtime.instructions import conversation_instructions, one_way_instructions
from polybot_device.realtime.protocol import TRANSCRIPT_MAX_CHARS, ConversationProtocol
from tests.validation import validate


def make_protocol(**overrides):
    config = parse_config(overrides)
    update = ev.session_update(config, conversation_instructions("es", "en"), "evt_1")
    return ConversationProtocol(update, ev.EventIds("t")), config


def delta(item="item_a", pcm=b"\x01\x00" * 480):
    return {"type": "response.output_audio.delta", "item_id": item, "response_id": "resp_1",
            "output_index": 0, "content_index": 0, "delta": base64.b64encode(pcm).decode()}


@pytest.mark.parametrize("overrides", [
    {},
    {"vad": {"type": "semantic_vad", "eagerness": "high"}},
    {"api": {"transcription_model": None, "noise_reduction": "off", "reasoning_effort": "minimal"}},
    {"audio": {"echo_gate": False}, "mode": "one-way"},
])
def test_session_update_is_valid_ga_protocol_with_no_unknown_field(overrides):
    protocol, _ = make_protocol(**overrides)
    (send,) = protocol.opening()
    model = validate(send.event)
    assert model.session.type == "realtime"
    assert model.session.audio.input.format.rate == 24000


def test_session_update_carries_the_configured_vad():
    _, config = make_protocol(vad={"threshold": 0.7, "silence_duration_ms": 800, "prefix_padding_ms": 200})
    event = ev.session_update(config, "x", "e")
    vad = event["session"]["audio"]["input"]["turn_detection"]
    assert (vad["type"], vad["threshold"], vad["silence_duration_ms"], vad["prefix_padding_ms"]) == (
        "server_vad", 0.7, 800, 200)
    # echo gate on (default): the server must not cancel on our own speaker's echo
    assert vad["interrupt_response"] is False


def test_audio_append_json_is_exact_and_valid():
    pcm = bytes(range(256)) * 4
    text = ev.audio_append_json(pcm)
    event = json.loads(text)
    validate(event)
    assert base64.b64decode(event["audio"]) == pcm


def test_truncate_cancel_commit_create_are_valid():
    for event in (ev.truncate("item_1", 1234, "e1"), ev.response_cancel("e2"), ev.commit("e3"),
                  ev.response_create("e4"), ev.clear("e5")):
        validate(event)


def test_session_goes_live_only_on_session_updated():
    protocol, _ = make_protocol()
    assert protocol.handle({"type": "session.created", "session": {}}) == []
    assert not protocol.live
    assert protocol.handle({"type": "session.updated", "session": {}}) == [SessionLive()]
    assert protocol.live


def test_audio_delta_is_played_as_it_arrives_and_old_names_are_aliases():
    protocol, _ = make_protocol()
    pcm = b"\x10\x00" * 100
    assert protocol.handle(delta(pcm=pcm)) == [Play("item_a", pcm)]
    old = delta(item="item_b", pcm=pcm) | {"type": "response.audio.delta"}
    assert protocol.handle(old) == [Play("item_b", pcm)]


def test_bad_base64_and_odd_bytes_are_survived():
    protocol, _ = make_protocol()
    bad = delta() | {"delta": "!!!not base64!!!"}
    assert protocol.handle(bad) == []
    odd = protocol.handle(delta(pcm=b"\x01\x02\x03"))
    assert odd == [Play("item_a", b"\x01\x02")]


def test_delta_after_its_item_is_done_is_ignored():
    protocol, _ = make_protocol()
    protocol.handle({"type": "response.output_audio.done", "item_id": "item_a"})
    assert protocol.handle(delta()) == []


def test_unknown_and_typeless_events_are_ignored():
    protocol, _ = make_protocol()
    assert protocol.handle({"type": "rate_limits.updated", "rate_limits": []}) == []
    assert protocol.handle({"type": "something.new.from.the.future"}) == []
    assert protocol.handle({"no": "type"}) == []


def test_interrupt_truncates_the_playing_item_with_the_ms_heard_and_cancels_an_open_response():
    protocol, _ = make_protocol()
    protocol.handle({"type": "response.created", "response": {"id": "resp_1"}})
    protocol.handle(delta(item="item_x"))
    actions = protocol.interrupt(played_ms=730)
    events = [a.event for a in actions if isinstance(a, Send)]
    assert [e["type"] for e in events] == ["conversation.item.truncate", "response.cancel"]
    assert events[0]["item_id"] == "item_x" and events[0]["audio_end_ms"] == 730
    for e in events:
        validate(e)
    assert protocol.interrupt(0) == []  # nothing playing any more: nothing to truncate


def test_late_deltas_of_an_interrupted_item_are_not_played_again():
    protocol, _ = make_protocol()
    protocol.handle({"type": "response.created", "response": {"id": "resp_1"}})
    assert protocol.handle(delta(item="item_x"))
    protocol.interrupt(played_ms=400)
    assert protocol.handle(delta(item="item_x")) == []  # already on its way when we stopped it
    assert protocol.handle(delta(item="item_y"))  # the next answer plays


def test_a_flood_of_items_responses_and_transcript_text_does_not_grow_the_session_state():
    protocol, _ = make_protocol()

    def flood(n: int, start: int) -> None:
        for i in range(start, start + n):
            protocol.handle({"type": "response.created", "response": {"id": f"resp_{i:0>200}"}})
            protocol.handle({"type": "response.output_audio.done", "item_id": f"item_{i:0>200}"})
            protocol.handle({"type": "response.output_audio_transcript.delta", "delta": "x" * 1000})

    flood(200, 0)  # settle: every bound reached
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        flood(5000, 200)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, grown  # unbounded, it is over 3 MB
    acts = protocol.handle({"type": "response.output_audio_transcript.done"})
    assert acts == [Transcript("translated", "x" * 1000)]  # only since the last response.created


def test_a_transcript_without_end_is_cut():
    protocol, _ = make_protocol()
    protocol.handle({"type": "response.created", "response": {"id": "resp_1"}})
    for _ in range(100):
        protocol.handle({"type": "response.output_audio_transcript.delta", "delta": "y" * 1000})
    (transcript,) = protocol.handle({"type": "response.output_audio_transcript.done"})
    assert transcript.text == "y" * TRANSCRIPT_MAX_CHARS
    (heard,) = protocol.handle({"type": "conversation.item.input_audio_transcription.completed",
                                "transcript": "z" * 100_000})
    assert heard.text == "z" * TRANSCRIPT_MAX_CHARS


def test_speech_started_reports_its_position_and_response_done_its_status():
    protocol, _ = make_protocol()
    acts = protocol.handle({"type": "input_audio_buffer.speech_started", "audio_start_ms": 1500, "item_id": "i"})
    assert SpeechStarted(1500) in acts
    protocol.handle({"type": "response.created", "response": {"id": "resp_1"}})
    acts = protocol.handle({"type": "response.done", "response": {"id": "resp_1", "status": "cancelled"}})
    assert acts == [ResponseFinished("cancelled")]


def test_transcripts_of_both_people_are_reported():
    protocol, _ = make_protocol()
    protocol.handle({"type": "response.output_audio_transcript.delta", "delta": "Good "})
    assert protocol.handle({"type": "response.output_audio_transcript.done", "transcript": "Good morning"}) == [
        Transcript("translated", "Good morning")]
    assert protocol.handle({"type": "conversation.item.input_audio_transcription.completed",
                            "transcript": "Buenos días", "item_id": "i", "content_index": 0}) == [
        Transcript("heard", "Buenos días")]


@pytest.mark.parametrize("code,auth", [("invalid_api_key", True), ("insufficient_quota", True),
                                       ("session_expired", False)])
def test_session_ending_errors_are_classified(code, auth):
    protocol, _ = make_protocol()
    (over,) = protocol.handle({"type": "error", "error": {"type": "x", "code": code, "message": "m"}})
    assert isinstance(over, SessionOver) and over.auth is auth


def test_informative_error_keeps_the_session():
    protocol, _ = make_protocol()
    assert protocol.handle({"type": "error", "error": {"type": "invalid_request_error",
                                                       "code": "unknown_parameter", "message": "x"}}) == []


def test_instructions_name_languages_and_forbid_answering():
    text = conversation_instructions("es", "en", ("Hotel Miramar", "Dr. Okafor"))
    assert "Spanish (es)" in text and "English (en)" in text
    assert "never answer" in text.lower() or "Never answer" in text
    assert "Hotel Miramar" in text
    assert "English (en)" in one_way_instructions("en")


def test_utterance_end_comes_from_speech_stopped_since_committed_has_no_position():
    from polybot_device.realtime.actions import UtteranceEnded

    protocol, _ = make_protocol()
    protocol.handle({"type": "input_audio_buffer.speech_started", "audio_start_ms": 700, "item_id": "item_u"})
    protocol.handle({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2400, "item_id": "item_u"})
    actions = protocol.handle({"type": "input_audio_buffer.committed", "item_id": "item_u", "previous_item_id": None})
    assert actions == [UtteranceEnded(2400)]


def test_response_done_settles_only_a_response_that_was_open():
    protocol, _ = make_protocol()
    # A stray done (out of order, or a malformed event) is not a translation.
    assert protocol.handle({"type": "response.done", "response": "not an object"}) == []
    assert protocol.handle({"type": "response.done", "response": {"id": "resp_never"}}) == []
    # After a barge-in the old response's done comes late: it settles the old one, and a newer
    # response stays open (its stall timer keeps running).
    protocol.handle({"type": "response.created", "response": {"id": "resp_old"}})
    protocol.interrupt(played_ms=0)
    protocol.handle({"type": "response.created", "response": {"id": "resp_new"}})
    assert protocol.handle({"type": "response.done", "response": {"id": "resp_old", "status": "cancelled"}}) == [
        ResponseFinished("cancelled")]
    assert protocol.response_open
    # A stalled response is settled once, when it is abandoned; its late done settles nothing.
    abandoned = protocol.abandon_response()
    assert ResponseFinished("stalled") in abandoned and not protocol.response_open
    assert protocol.handle({"type": "response.done", "response": {"id": "resp_new", "status": "completed"}}) == []


def test_a_change_made_while_the_first_configuration_is_being_confirmed_is_sent_not_lost():
    protocol, config = make_protocol()
    later = ev.session_update(config, conversation_instructions("es", "de"), "evt_2")
    assert protocol.reconfigure(later) == []  # the socket is not open yet: the opening will carry it
    assert protocol.opening() == [Send(later)]
    newer = ev.session_update(config, conversation_instructions("es", "fr"), "evt_3")
    assert protocol.reconfigure(newer) == [Send(newer)]  # opened, not yet confirmed: sent at once
    assert protocol.handle({"type": "session.updated", "session": {}}) == [SessionLive()]
    assert protocol.handle({"type": "session.updated", "session": {}}) == []  # the second confirmation

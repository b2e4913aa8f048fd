"""Interpreter mode's protocol, with plain values: what the gadget sends to open and change a
translation session, and what it plays and logs from the server's events."""

import asyncio
import base64
import json

import numpy as np
import pytest

from polybot_device.config import parse_config
from polybot_device.realtime import events as ev
from polybot_device.realtime.actions import InputTranslated, Play, Send, SessionLive, SessionOver, Transcript
from polybot_device.realtime.events import translation_append_json
from polybot_device.realtime.translation import FRAME_BYTES, TranslationProtocol, as_wire, translation_session_update
from tests.validation import validate


def make(target="en", **config):
    update = translation_session_update(parse_config(config), target, "evt_1")
    return TranslationProtocol(update, ev.EventIds("t")), update


def audio_delta(pcm: bytes, **extra) -> dict:
    return {"type": "session.output_audio.delta", "delta": base64.b64encode(pcm).decode(), **extra}


def text_delta(kind: str, text: str) -> dict:
    return {"type": f"session.{kind}_transcript.delta", "delta": text}


def test_opening_asks_for_the_target_language_in_a_valid_translation_session_update():
    protocol, update = make("fr")
    assert protocol.opening() == [Send(update)]
    validate(update, "translation-client")
    assert update["session"]["audio"]["output"]["language"] == "fr"


def test_audio_appends_are_exact_200_ms_frames_the_service_accepts():
    assert FRAME_BYTES == 200 * 24 * 2  # 200 ms of 24 kHz 16-bit mono
    pcm = (bytes(range(256)) * 40)[:FRAME_BYTES]
    event = json.loads(translation_append_json(memoryview(pcm)))
    validate(event, "translation-client")
    assert base64.b64decode(event["audio"]) == pcm


def test_the_session_is_live_once_the_server_confirms_it_and_only_once():
    protocol, _ = make()
    assert protocol.handle({"type": "session.updated"}) == [SessionLive()]
    assert protocol.handle({"type": "session.updated"}) == []  # a later confirmation is not a new start


def test_a_language_change_before_the_session_is_live_waits_and_after_it_goes_out_at_once():
    protocol, _ = make("en")
    german = translation_session_update(parse_config({}), "de", "evt_2")
    assert protocol.reconfigure(german) == []
    assert protocol.opening() == [Send(german)]  # a reconnect opens with the new language
    protocol.handle({"type": "session.updated"})
    italian = translation_session_update(parse_config({}), "it", "evt_3")
    assert protocol.reconfigure(italian) == [Send(italian)]


def test_translated_audio_is_played_as_it_arrives():
    protocol, _ = make()
    pcm = np.arange(-480, 480, dtype=np.int16).tobytes()
    assert protocol.handle(audio_delta(pcm)) == [Play(TranslationProtocol.ITEM_ID, pcm)]
    assert protocol.playing_item_id == TranslationProtocol.ITEM_ID


def test_audio_at_another_rate_or_in_stereo_is_played_at_24_khz_mono():
    protocol, _ = make()
    t = np.arange(4800) / 48000  # 100 ms of 1 kHz at 48 kHz, the same in both channels
    tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    stereo = np.repeat(tone, 2).tobytes()
    (stated,) = protocol.handle(audio_delta(stereo, sample_rate=48000, channels=2))
    assert (stated.rate_hz, stated.channels, stated.pcm) == (48000, 2, stereo)  # handle() converts nothing
    play = asyncio.run(as_wire(stated))
    assert play.is_wire
    out = np.frombuffer(play.pcm, dtype=np.int16)
    assert len(out) == pytest.approx(2400, abs=10)  # 100 ms at 24 kHz
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert np.argmax(spectrum) * 24000 / len(out) == pytest.approx(1000, rel=0.02)  # same pitch


@pytest.mark.parametrize("rate,channels", [(1, 1), (0, 2), (10**9, 1), (48000, 10**6), ("48000", 2.5), (None, -1)])
def test_a_format_no_audio_has_is_read_as_the_wire_format(rate, channels):
    protocol, _ = make()
    (play,) = protocol.handle(audio_delta(bytes(960), sample_rate=rate, channels=channels))
    assert play.rate_hz in (24000, 48000) and 1 <= play.channels <= 8  # never a 24,000-fold clip


def test_a_large_delta_in_another_format_is_converted_while_the_loop_runs_on():
    big = Play(TranslationProtocol.ITEM_ID, bytes(3 * 1024 * 1024), 8000, 1)  # near the 4 MiB frame cap

    async def main() -> tuple[int, Play]:
        ticks, converting = 0, True

        async def tick() -> None:
            nonlocal ticks
            while converting:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)
        seen = ticks
        play = await as_wire(big)
        converting = False
        await ticker
        return ticks - seen, play

    ticks_while_converting, play = asyncio.run(main())
    assert ticks_while_converting > 0  # on the loop, the ticker could not have run at all
    assert len(play.pcm) == 3 * len(big.pcm)  # 8 kHz -> 24 kHz


def test_one_huge_transcript_fragment_is_cut():
    protocol, _ = make()
    (t,) = protocol.handle(text_delta("output", "x" * 1_000_000))
    assert len(t.text) <= 400


@pytest.mark.parametrize("event", [
    {"type": "session.output_audio.delta"},
    {"type": "session.output_audio.delta", "delta": 42},
    {"type": "session.output_audio.delta", "delta": "not base64!"},
])
def test_a_broken_audio_delta_is_skipped_not_played(event):
    protocol, _ = make()
    assert protocol.handle(event) == []


def test_transcripts_are_logged_a_sentence_at_a_time():
    protocol, _ = make()
    assert protocol.handle(text_delta("input", "Hola, ")) == []
    assert protocol.handle(text_delta("input", "¿qué tal?")) == [Transcript("heard", "Hola, ¿qué tal?")]
    assert protocol.handle(text_delta("output", "Hello")) == []
    assert protocol.handle(text_delta("output", ", how are you?")) == [Transcript("translated", "Hello, how are you?")]


def test_a_sentence_that_never_ends_is_logged_in_pieces():
    protocol, _ = make()
    out = [a for _ in range(50) for a in protocol.handle(text_delta("output", "word word "))]
    assert out and all(len(t.text) <= 410 for t in out)


def test_when_the_server_closes_the_session_what_was_said_so_far_is_logged_then_it_is_over():
    protocol, _ = make()
    protocol.handle(text_delta("input", "Un momento"))
    protocol.handle(text_delta("output", "One moment"))
    assert protocol.handle({"type": "session.closed"}) == [
        Transcript("heard", "Un momento"), Transcript("translated", "One moment"),
        SessionOver("the server closed the translation session")]


@pytest.mark.parametrize("code,over", [
    ("invalid_api_key", SessionOver("invalid_api_key", auth=True)),
    ("insufficient_quota", SessionOver("insufficient_quota", auth=True)),
    ("session_expired", SessionOver("session_expired")),
])
def test_errors_that_end_the_session_say_whether_the_key_is_to_blame(code, over):
    protocol, _ = make()
    assert protocol.handle({"type": "error", "error": {"code": code, "message": "m"}}) == [over]


def test_other_errors_and_unknown_events_do_not_end_the_session():
    protocol, _ = make()
    assert protocol.handle({"type": "error", "error": {"code": "invalid_value", "message": "bad"}}) == []
    assert protocol.handle({"type": "error", "error": "not an object"}) == []
    assert protocol.handle({"type": "session.something_new"}) == []


def test_a_press_has_nothing_to_stop_on_the_server_the_stream_goes_on():
    protocol, _ = make()
    protocol.handle({"type": "session.updated"})
    protocol.handle(audio_delta(bytes(960)))
    assert protocol.interrupt(played_ms=300) == [] and protocol.abandon_response() == []
    (close,) = protocol.closing()
    assert isinstance(close, Send) and close.event["type"] == "session.close"


def test_output_positions_say_how_far_the_input_was_translated_and_only_forward():
    protocol, _ = make()
    protocol.handle({"type": "session.updated"})
    pcm = bytes(4800)
    assert InputTranslated(400) in protocol.handle(audio_delta(pcm, elapsed_ms=400))
    assert protocol.handle({**text_delta("output", "a"), "elapsed_ms": 400}) == []  # no step forward
    assert protocol.handle({**text_delta("output", "b"), "elapsed_ms": 600}) == [InputTranslated(600)]
    assert protocol.handle({**text_delta("input", "c"), "elapsed_ms": 800}) == []  # heard is not translated
    for bad in ("800", 1.5e3, True, None, -5):
        assert not any(isinstance(a, InputTranslated) for a in protocol.handle(audio_delta(pcm, elapsed_ms=bad)))

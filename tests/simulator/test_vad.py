"""The simulator's VAD finds turns the way its docstring promises."""

from __future__ import annotations

import copy

from polybot_device.simulator import RealtimeSimulator
from polybot_device.simulator.vad import EnergyVad, SpeechStarted, SpeechStopped, threshold_to_dbfs

from .helpers import SESSION_UPDATE, Client, run, silence, tone, utterance
from .validation import validate_server_event


def feed_all(vad: EnergyVad, pcm: bytes, chunk_bytes: int) -> list[object]:
    events: list[object] = []
    for i in range(0, len(pcm), chunk_bytes):
        events += vad.feed(pcm[i : i + chunk_bytes])
    return events


def test_threshold_maps_linearly_onto_minus_60_to_minus_20_dbfs() -> None:
    assert threshold_to_dbfs(0.0) == -60
    assert threshold_to_dbfs(0.5) == -40
    assert threshold_to_dbfs(1.0) == -20


def test_turn_boundaries_do_not_depend_on_chunk_size() -> None:
    expected = [SpeechStarted(200), SpeechStopped(audio_end_ms=2000, voiced_ms=1000)]
    for chunk in (2, 334, 960, 4800, len(utterance())):
        assert feed_all(EnergyVad(), utterance(), chunk) == expected


def test_quiet_speech_short_blips_and_short_pauses() -> None:
    quiet = silence(100) + tone(500, dbfs=-45) + silence(600)  # about -48 dBFS RMS
    assert EnergyVad(threshold=0.5).feed(quiet) == []
    assert len(EnergyVad(threshold=0.2).feed(quiet)) == 2  # -52 dBFS threshold hears it
    assert EnergyVad().feed(silence(100) + tone(40) + silence(600)) == []  # under 60 ms
    paused = tone(500) + silence(300) + tone(500) + silence(600)
    assert EnergyVad(prefix_padding_ms=0).feed(paused) == [
        SpeechStarted(0), SpeechStopped(audio_end_ms=1800, voiced_ms=1300)]
    assert len(EnergyVad(silence_duration_ms=200).feed(paused)) == 4


def test_session_update_threshold_changes_what_counts_as_speech() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim, Client.connect(f"{sim.url}?model=gpt-realtime-2.1") as client:
            update = copy.deepcopy(SESSION_UPDATE)
            update["session"]["audio"]["input"]["turn_detection"] = {
                "type": "server_vad", "threshold": 0.9}  # -24 dBFS
            await client.send(update)
            updated = await client.until("session.updated")
            turn = updated["session"]["audio"]["input"]["turn_detection"]
            assert turn["threshold"] == 0.9 and turn["silence_duration_ms"] == 500
            await client.append(silence(200) + tone(800, dbfs=-30) + silence(800))
            await client.send({"type": "input_audio_buffer.clear"})
            await client.until("input_audio_buffer.cleared")  # events are answered in order
            assert "input_audio_buffer.speech_started" not in client.types()
            await client.append(silence(200) + tone(800, dbfs=-10) + silence(800))
            await client.until("input_audio_buffer.speech_stopped")

    run(body)


def test_semantic_vad_is_accepted_and_still_finds_turns() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim, Client.connect(f"{sim.url}?model=gpt-realtime-2.1") as client:
            update = copy.deepcopy(SESSION_UPDATE)
            update["session"]["audio"]["input"]["turn_detection"] = {
                "type": "semantic_vad", "eagerness": "high"}  # 400 ms of silence ends a turn
            await client.send(update)
            await client.append(silence(200) + tone(800) + silence(500))
            stopped = await client.until("input_audio_buffer.speech_stopped")
            assert stopped["audio_end_ms"] == 1400
        for event in sim.sessions[0].events_sent:
            validate_server_event(event)

    run(body)

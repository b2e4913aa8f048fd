"""The interpreter endpoint streams translation while the person speaks, per the GA types."""

from __future__ import annotations

import base64

from openai import AsyncOpenAI

from polybot_device.simulator import RealtimeSimulator
from tests.rig.timing import scaled

from .helpers import Client, b64, rms_dbfs, run, silence, tone, utterance
from .validation import validate_translation_client_event, validate_translation_server_event

MODEL = "gpt-realtime-translate"
UPDATE = {
    "type": "session.update",
    "session": {"audio": {"output": {"language": "en"},
                          "input": {"transcription": {"model": "gpt-4o-mini-transcribe"},
                                    "noise_reduction": {"type": "far_field"}}}},
}


def test_translation_session_events_are_valid_and_follow_speech() -> None:
    async def body() -> None:
        validate_translation_client_event(UPDATE)
        async with RealtimeSimulator() as sim:
            url = f"{sim.url}/translations?model={MODEL}"
            async with Client.connect(url) as client:
                created = await client.until("session.created")
                assert created["session"]["type"] == "translation"
                assert created["session"]["model"] == MODEL
                await client.send(UPDATE)
                updated = await client.until("session.updated")
                assert updated["session"]["audio"]["output"]["language"] == "en"
                await client.append(utterance(), chunk_ms=200,
                                    kind="session.input_audio_buffer.append")
                await client.send({"type": "session.close"})
                await client.until("session.closed")
            await sim.wait_for(lambda: sim.sessions[0].closed, timeout=scaled(5))

        record = sim.sessions[0]
        assert record.kind == "translation" and record.close_code == 1000
        for event in record.events_sent:
            validate_translation_server_event(event)
        audio_events = [e for e in client.events if e["type"] == "session.output_audio.delta"]
        # speech from 500 to 1500 ms touches the 200 ms frames ending at 600 .. 1600 ms
        assert [e["elapsed_ms"] for e in audio_events] == [600, 800, 1000, 1200, 1400, 1600]
        assert all(e["sample_rate"] == 24000 and e["channels"] == 1 for e in audio_events)
        audio = b"".join(base64.b64decode(e["delta"]) for e in audio_events)
        assert len(audio) == 1200 * 48 and rms_dbfs(audio) > -30
        text = "".join(e["delta"] for e in client.events
                       if e["type"] == "session.output_transcript.delta")
        assert text == "[en] translation 1..... "
        heard = "".join(e["delta"] for e in client.events
                        if e["type"] == "session.input_transcript.delta")
        assert heard == "speech 1....."
        assert record.input_audio == utterance() and record.utterances == 1

    run(body)


def test_openai_sdk_translation_client_gets_audio_for_each_stretch_of_speech() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim:
            client = AsyncOpenAI(api_key="sk-sdk", websocket_base_url=f"ws://127.0.0.1:{sim.port}/v1")
            async with client.realtime.translations.connect(model=MODEL) as conn:
                await conn.session.update(session={"audio": {"output": {"language": "de"}}})
                speech = tone(400) + silence(600) + tone(400) + silence(600)
                for i in range(0, len(speech), 9600):
                    await conn.session.input_audio_buffer.append(audio=b64(speech[i:i + 9600]))
                await conn.session.close()
                transcript = ""
                deltas = 0
                async for event in conn:
                    if event.type == "session.output_transcript.delta":
                        transcript += event.delta
                    elif event.type == "session.output_audio.delta":
                        deltas += 1
                    elif event.type == "session.closed":
                        break
            await client.close()
        assert transcript == "[de] translation 1. [de] translation 2. "
        assert deltas == 4
        assert sim.sessions[0].path == f"/v1/realtime/translations?model={MODEL}"
        assert sim.sessions[0].utterances == 2

    run(body)


def test_translation_refuses_conversation_events_and_unknown_settings() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim, Client.connect(f"{sim.url}/translations?model={MODEL}") as client:
            await client.until("session.created")
            await client.send({"type": "input_audio_buffer.append", "event_id": "ev_1",
                               "audio": b64(silence(200))})
            error = (await client.until("error"))["error"]
            assert error["event_id"] == "ev_1" and error["code"] == "invalid_value"
            await client.send({"type": "session.update",
                               "session": {"audio": {"output": {"voice": "marin"}}}})
            error = (await client.until("error"))["error"]
            assert error["param"] == "session.audio.output.voice"
            await client.send(UPDATE)
            await client.until("session.updated")
        for event in sim.sessions[0].events_sent:
            validate_translation_server_event(event)

    run(body)

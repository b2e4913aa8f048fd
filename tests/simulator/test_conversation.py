"""The conversation endpoint behaves like the GA Realtime service for everything the daemon uses."""

from __future__ import annotations

import base64
import copy

from openai import AsyncOpenAI

from polybot_device.simulator import RealtimeSimulator, SimulatorOptions
from tests.rig.timing import scaled

from .helpers import SESSION_UPDATE, Client, b64, rms_dbfs, run, silence, tone, utterance
from .validation import validate_client_event, validate_server_event

MODEL = "gpt-realtime-2.1"

TURN_SEQUENCE = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.input_audio_transcription.completed",
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
]
RESPONSE_TAIL = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def fast() -> SimulatorOptions:
    return SimulatorOptions(pace=50)


def test_every_event_of_a_full_utterance_is_valid_ga_protocol() -> None:
    async def body() -> None:
        validate_client_event(SESSION_UPDATE)
        async with RealtimeSimulator(fast()) as sim:
            async with Client.connect(f"{sim.url}?model={MODEL}") as client:
                created = await client.until("session.created")
                assert created["session"]["model"] == MODEL
                await client.send(SESSION_UPDATE)
                await client.until("session.updated")
                await client.append(utterance())
                done = await client.until("response.done")
                await client.until("rate_limits.updated")
            await sim.wait_for(lambda: sim.sessions[0].closed, timeout=scaled(5))

        record = sim.sessions[0]
        assert record.events_sent == client.events
        for event in record.events_sent:
            validate_server_event(event)
        types = record.sent_types()
        assert types[:2] == ["session.created", "session.updated"]
        body_types = [t for t in types[2:] if not t.endswith(".delta")]
        assert body_types[: len(TURN_SEQUENCE)] == TURN_SEQUENCE
        assert body_types[len(TURN_SEQUENCE):] == RESPONSE_TAIL + ["rate_limits.updated"]
        assert types.count("response.output_audio.delta") >= 4
        assert "response.output_audio_transcript.delta" in types

        assert done["response"]["status"] == "completed"
        started = next(e for e in client.events if e["type"].endswith("speech_started"))
        stopped = next(e for e in client.events if e["type"].endswith("speech_stopped"))
        assert started["audio_start_ms"] == 200  # onset at 500 ms minus 300 ms padding
        assert stopped["audio_end_ms"] == 2000  # tone ends at 1500 ms, plus 500 ms silence
        transcript = next(e for e in client.events if e["type"].endswith("transcript.done"))
        assert transcript["transcript"] == "[en] translation 1"
        heard = next(e for e in client.events if e["type"].endswith("transcription.completed"))
        assert heard["transcript"] == "utterance 1 (1.0 s)"

        audio = b"".join(base64.b64decode(e["delta"]) for e in client.events
                         if e["type"] == "response.output_audio.delta")
        assert len(audio) == 800 * 48  # 0.8 x 1 s of speech, 48 bytes per ms
        assert rms_dbfs(audio) > -30
        assert record.input_audio == utterance()
        assert record.utterances == 1 and sim.responses_completed == 1
        assert record.key == "sk-test" and "sk-test" not in repr(record)
        assert [e["type"] for e in sim.client_events] == ["session.update"] + [
            "input_audio_buffer.append"] * 25

    run(body)


def test_openai_sdk_client_gets_a_translated_turn() -> None:
    async def body() -> None:
        async with RealtimeSimulator(fast()) as sim:
            client = AsyncOpenAI(api_key="sk-sdk", websocket_base_url=f"ws://127.0.0.1:{sim.port}/v1")
            async with client.realtime.connect(model=MODEL) as conn:
                await conn.session.update(session=copy.deepcopy(SESSION_UPDATE["session"]))
                await conn.input_audio_buffer.append(audio=b64(utterance()))
                seen = []
                transcript = ""
                async for event in conn:
                    seen.append(event.type)
                    if event.type == "response.output_audio_transcript.delta":
                        transcript += event.delta
                    if event.type == "response.done":
                        assert event.response.status == "completed"
                        break
            await client.close()
        assert seen[0] == "session.created" and "session.updated" in seen
        assert transcript == "[en] translation 1"
        assert sim.sessions[0].path == f"/v1/realtime?model={MODEL}"
        assert sim.sessions[0].key == "sk-sdk"

    run(body)


def test_second_utterance_gets_more_beeps_and_its_own_number() -> None:
    async def body() -> None:
        async with RealtimeSimulator(fast()) as sim, Client.connect(f"{sim.url}?model={MODEL}") as client:
            await client.send(SESSION_UPDATE)
            await client.append(utterance())
            await client.until("response.done")
            await client.append(tone(2000) + silence(800))
            await client.until("response.done")
        transcripts = [e["transcript"] for e in client.events
                       if e["type"] == "response.output_audio_transcript.done"]
        assert transcripts == ["[en] translation 1", "[en] translation 2"]
        assert sim.sessions[0].utterances == 2 and sim.responses_completed == 2

    run(body)


def test_language_is_the_last_code_in_the_instructions_or_und() -> None:
    async def body() -> None:
        async with RealtimeSimulator(fast()) as sim, Client.connect(f"{sim.url}?model={MODEL}") as client:
            update = copy.deepcopy(SESSION_UPDATE)
            update["session"]["instructions"] = "Speak French (fr), Japanese (ja) or German (de)."
            await client.send(update)
            await client.append(utterance())
            done = await client.until("response.output_audio_transcript.done")
            assert done["transcript"] == "[de] translation 1"
            await client.send({"type": "session.update",
                               "session": {"type": "realtime", "instructions": "no codes"}})
            await client.append(utterance())
            done = await client.until("response.output_audio_transcript.done")
            assert done["transcript"] == "[und] translation 2"

    run(body)


def test_barge_in_cancels_the_response_and_truncate_is_answered() -> None:
    async def body() -> None:
        options = SimulatorOptions(pace=0.05)  # 2 s between deltas: the barge-in lands mid-response
        async with RealtimeSimulator(options) as sim, Client.connect(f"{sim.url}?model={MODEL}") as client:
            await client.send(SESSION_UPDATE)
            await client.append(utterance())
            delta = await client.until("response.output_audio.delta")
            await client.append(tone(200))
            started = await client.until("input_audio_buffer.speech_started")
            done = await client.until("response.done")
            assert done["response"]["status"] == "cancelled"
            assert done["response"]["status_details"] == {"type": "cancelled",
                                                          "reason": "turn_detected"}
            types = client.types()
            tail = types[len(types) - types[::-1].index("input_audio_buffer.speech_started") - 1:]
            assert [t for t in tail if not t.endswith("delta")] == [
                "input_audio_buffer.speech_started"] + RESPONSE_TAIL
            item = next(e for e in client.events if e["type"] == "response.output_item.done")
            assert item["item"]["status"] == "incomplete"

            await client.send({"type": "conversation.item.truncate", "event_id": "ev_t1",
                               "item_id": delta["item_id"], "content_index": 0,
                               "audio_end_ms": 40})
            truncated = await client.until("conversation.item.truncated")
            assert (truncated["item_id"], truncated["content_index"],
                    truncated["audio_end_ms"]) == (delta["item_id"], 0, 40)
            await client.send({"type": "conversation.item.truncate", "event_id": "ev_t2",
                               "item_id": delta["item_id"], "content_index": 0,
                               "audio_end_ms": 5000})
            error = await client.until("error")
            assert error["error"]["event_id"] == "ev_t2"
        assert started["item_id"] != delta["item_id"]
        assert sim.responses_completed == 0
        for event in sim.sessions[0].events_sent:
            validate_server_event(event)

    run(body)


def test_no_barge_in_when_interrupt_response_is_false() -> None:
    async def body() -> None:
        async with (
            RealtimeSimulator(SimulatorOptions(pace=2)) as sim,
            Client.connect(f"{sim.url}?model={MODEL}") as client,
        ):
            update = copy.deepcopy(SESSION_UPDATE)
            update["session"]["audio"]["input"]["turn_detection"]["interrupt_response"] = False
            await client.send(update)
            await client.append(utterance())
            await client.until("response.output_audio.delta")
            await client.append(tone(200))
            await client.until("input_audio_buffer.speech_started")
            done = await client.until("response.done")
            assert done["response"]["status"] == "completed"

    run(body)


def test_response_cancel_and_clear_are_answered() -> None:
    async def body() -> None:
        async with (
            RealtimeSimulator(SimulatorOptions(pace=0.05)) as sim,
            Client.connect(f"{sim.url}?model={MODEL}") as client,
        ):
            await client.send(SESSION_UPDATE)
            await client.append(utterance())
            await client.until("response.output_audio.delta")
            await client.send({"type": "response.cancel"})
            done = await client.until("response.done")
            assert done["response"]["status_details"]["reason"] == "client_cancelled"
            await client.send({"type": "response.cancel", "event_id": "ev_c"})
            error = await client.until("error")
            assert error["error"]["code"] == "response_cancel_not_active"
            await client.send({"type": "input_audio_buffer.clear"})
            await client.until("input_audio_buffer.cleared")

    run(body)


def test_push_to_talk_commit_and_response_create_without_vad() -> None:
    async def body() -> None:
        async with RealtimeSimulator(fast()) as sim, Client.connect(f"{sim.url}?model={MODEL}") as client:
            update = copy.deepcopy(SESSION_UPDATE)
            update["session"]["audio"]["input"]["turn_detection"] = None
            await client.send(update)
            updated = await client.until("session.updated")
            assert updated["session"]["audio"]["input"]["turn_detection"] is None
            await client.send({"type": "input_audio_buffer.commit", "event_id": "ev_1"})
            error = await client.until("error")
            assert error["error"]["code"] == "input_audio_buffer_commit_empty"
            await client.append(tone(1500))
            await client.send({"type": "input_audio_buffer.commit"})
            await client.until("input_audio_buffer.committed")
            await client.send({"type": "response.create"})
            done = await client.until("response.done")
            assert done["response"]["status"] == "completed"
        assert not any(t.startswith("input_audio_buffer.speech") for t in client.types())
        for event in sim.sessions[0].events_sent:
            validate_server_event(event)

    run(body)


def test_bad_client_events_get_error_events_and_the_session_stays_open() -> None:
    async def body() -> None:
        async with RealtimeSimulator(fast()) as sim, Client.connect(f"{sim.url}?model={MODEL}") as client:
            await client.until("session.created")
            await client.ws.send("{not json")
            assert (await client.until("error"))["error"]["code"] == "invalid_json"
            await client.send({"type": "response.audio.delta", "event_id": "ev_x"})
            error = (await client.until("error"))["error"]
            assert (error["type"], error["code"], error["event_id"]) == (
                "invalid_request_error", "invalid_value", "ev_x")
            beta = {"type": "session.update", "event_id": "ev_b",
                    "session": {"modalities": ["audio", "text"]}}
            await client.send(beta)
            error = (await client.until("error"))["error"]
            assert error["param"] == "session.type" and error["event_id"] == "ev_b"
            typo = copy.deepcopy(SESSION_UPDATE)
            typo["session"]["audio"]["input"]["turn_detection"]["silence_ms"] = 300
            await client.send(typo)
            error = (await client.until("error"))["error"]
            assert error["code"] == "unknown_parameter"
            assert error["param"] == "session.audio.input.turn_detection.silence_ms"
            await client.send({"type": "session.update",
                               "session": {"type": "realtime", "audio": {"input": None}}})
            assert (await client.until("error"))["error"]["param"] == "session.audio.input"
            await client.send({"type": "input_audio_buffer.append", "audio": "***"})
            assert (await client.until("error"))["error"]["param"] == "audio"
            # still alive and still answering
            await client.send(SESSION_UPDATE)
            await client.append(utterance())
            assert (await client.until("response.done"))["response"]["status"] == "completed"
        for event in sim.sessions[0].events_sent:
            validate_server_event(event)
        assert sim.client_events[0]["type"] == "response.audio.delta"  # bad JSON is not recorded

    run(body)


def test_record_audio_off_keeps_the_records_small_for_soaks() -> None:
    async def body() -> None:
        async with (
            RealtimeSimulator(SimulatorOptions(pace=50, record_audio=False)) as sim,
            Client.connect(f"{sim.url}?model={MODEL}") as client,
        ):
            await client.send(SESSION_UPDATE)
            await client.append(utterance())
            await client.until("response.done")
        record = sim.sessions[0]
        assert record.input_audio == b"" and record.utterances == 1
        assert {e["audio"] for e in sim.client_events if "audio" in e} == {""}
        assert {e["delta"] for e in record.events_sent
                if e["type"] == "response.output_audio.delta"} == {""}
        assert any(e["delta"] for e in client.events if e["type"] == "response.output_audio.delta")

    run(body)

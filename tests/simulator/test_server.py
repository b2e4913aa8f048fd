"""The simulator's knobs produce the failures the daemon has to survive."""

from __future__ import annotations

import asyncio
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from polybot_device.simulator import RealtimeSimulator, SimulatorOptions, run_simulator
from tests.rig.timing import scaled

from .helpers import SESSION_UPDATE, Client, run, silence, tone, utterance
from .validation import validate_server_event

MODEL = "gpt-realtime-2.1"


async def refused(url: str, key: str | None = "sk-test") -> InvalidStatus:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, additional_headers=headers):
            pass
    return info.value


def test_wrong_key_is_refused_at_the_handshake_with_401() -> None:
    async def body() -> None:
        async with RealtimeSimulator(SimulatorOptions(expected_key="sk-good")) as sim:
            url = f"{sim.url}?model={MODEL}"
            exc = await refused(url, "sk-bad")
            assert exc.response.status_code == 401
            assert exc.response.body.strip() == b"invalid api key"
            assert (await refused(url, None)).response.status_code == 401
            async with Client.connect(url, key="sk-good") as client:
                await client.until("session.created")
        assert [h.status for h in sim.handshakes] == [401, 401, 101]
        assert len(sim.sessions) == 1

    run(body)


def test_wrong_key_can_be_refused_with_an_error_event_and_close_1008() -> None:
    async def body() -> None:
        options = SimulatorOptions(expected_key="sk-good", auth_failure="event")
        async with (
            RealtimeSimulator(options) as sim,
            Client.connect(f"{sim.url}?model={MODEL}", key="sk-bad") as client,
        ):
            error = await client.recv()
            with pytest.raises(ConnectionClosed) as closed:
                await client.recv()
        assert error["type"] == "error" and error["error"]["code"] == "invalid_api_key"
        validate_server_event(error)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    run(body)


def test_rate_limited_handshake_carries_retry_after() -> None:
    async def body() -> None:
        options = SimulatorOptions(handshake_status=429, retry_after_s=7)
        async with RealtimeSimulator(options) as sim:
            exc = await refused(f"{sim.url}?model={MODEL}")
            assert exc.response.status_code == 429
            assert exc.response.headers["Retry-After"] == "7"
            sim.options.handshake_status = None
            async with Client.connect(f"{sim.url}?model={MODEL}") as client:
                await client.until("session.created")

    run(body)


def test_refuse_next_refuses_that_many_handshakes_then_accepts() -> None:
    async def body() -> None:
        async with RealtimeSimulator(SimulatorOptions(refuse_next=2)) as sim:
            url = f"{sim.url}?model={MODEL}"
            assert (await refused(url)).response.status_code == 503
            assert (await refused(url)).response.status_code == 503
            async with Client.connect(url) as client:
                await client.until("session.created")
            assert sim.options.refuse_next == 0
            assert (await refused(f"{sim.url}/elsewhere?model=m")).response.status_code == 404
            assert (await refused(sim.url)).response.status_code == 400

    run(body)


def test_drop_after_deltas_aborts_mid_response_once() -> None:
    async def body() -> None:
        async with RealtimeSimulator(SimulatorOptions(pace=50, drop_after_deltas=3)) as sim:
            url = f"{sim.url}?model={MODEL}"
            async with Client.connect(url) as client:
                await client.send(SESSION_UPDATE)
                await client.append(utterance())
                with pytest.raises(ConnectionClosedError) as closed:
                    await client.until("response.done")
            assert closed.value.rcvd is None  # no close frame: the TCP connection just died
            assert client.types().count("response.output_audio.delta") == 3
            assert sim.options.drop_after_deltas is None
            await sim.wait_for(lambda: sim.sessions[0].closed, timeout=scaled(5))
            async with Client.connect(url) as client:
                await client.send(SESSION_UPDATE)
                await client.append(utterance())
                done = await client.until("response.done")
                assert done["response"]["status"] == "completed"

    run(body)


def test_session_max_s_expires_the_session_with_close_1001() -> None:
    async def body() -> None:
        async with (
            RealtimeSimulator(SimulatorOptions(session_max_s=0.2)) as sim,
            Client.connect(f"{sim.url}?model={MODEL}") as client,
        ):
            await client.until("session.created")
            error = await client.until("error")
            with pytest.raises(ConnectionClosed) as closed:
                await client.recv()
        assert error["error"]["code"] == "session_expired"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert sim.sessions[0].close_code == 1001

    run(body)


def test_half_open_connection_is_noticed_by_a_client_that_pings() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim:
            url = f"{sim.url}?model={MODEL}"
            # A websockets client gives up after ping_interval + ping_timeout + close_timeout:
            # after the missed pong it still waits close_timeout for the server to close.
            pings = {"ping_interval": 0.1, "ping_timeout": 0.2, "close_timeout": 0.2}
            async with Client.connect(url, **pings) as client:
                await client.until("session.created")
                sent_before = len(sim.sessions[0].events_sent)
                await asyncio.to_thread(sim.hold_silent, 30)  # as the threaded test rig does
                await client.send(SESSION_UPDATE)  # would be answered at once if not held
                with pytest.raises(ConnectionClosed) as closed:
                    await client.recv(timeout=5)
            assert closed.value.sent is not None and closed.value.sent.code == 1011  # ping timeout
            assert len(sim.sessions[0].events_sent) == sent_before
        # stop() above did not wait for the 30 s hold

    run(body)


def test_held_connection_answers_once_the_hold_ends() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim, Client.connect(f"{sim.url}?model={MODEL}", ping_interval=None) as client:
            await client.until("session.created")
            sim.hold_silent(0.5)
            await client.send(SESSION_UPDATE)
            await client.nothing_for(0.2)
            assert (await client.recv(timeout=5))["type"] == "session.updated"
            assert len(sim.client_events) == 1  # it was read only after the hold

    run(body)


def test_drop_connections_aborts_without_close_frame() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim:
            async with Client.connect(f"{sim.url}?model={MODEL}") as client:
                await client.until("session.created")
                await sim.drop_connections()
                with pytest.raises(ConnectionClosedError) as closed:
                    await client.recv()
            assert closed.value.rcvd is None
            assert sim.sessions[0].closed

    run(body)


def test_injected_errors_and_raw_frames_reach_every_session() -> None:
    async def body() -> None:
        async with RealtimeSimulator() as sim:
            url = f"{sim.url}?model={MODEL}"
            async with Client.connect(url) as a, Client.connect(url) as b:
                await a.until("session.created")
                await b.until("session.created")
                await sim.send_raw("{half a frame")
                assert await a.ws.recv() == "{half a frame"
                assert await b.ws.recv() == "{half a frame"
                await sim.send_error("rate_limit_exceeded", "slow down")
                for client in (a, b):
                    assert (await client.until("error"))["error"]["code"] == "rate_limit_exceeded"
                await sim.send_error("insufficient_quota", "no money", close=True)
                for client in (a, b):
                    assert (await client.until("error"))["error"]["code"] == "insufficient_quota"
                    with pytest.raises(ConnectionClosed) as closed:
                        await client.recv()
                    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    run(body)


def test_response_delay_postpones_the_answer() -> None:
    async def body() -> None:
        async with (
            RealtimeSimulator(SimulatorOptions(pace=50, response_delay_s=0.3)) as sim,
            Client.connect(f"{sim.url}?model={MODEL}") as client,
        ):
            await client.send(SESSION_UPDATE)
            await client.append(silence(200) + tone(600) + silence(600))
            await client.until("input_audio_buffer.committed")
            loop = asyncio.get_running_loop()
            committed_at = loop.time()
            await client.until("response.created")
            assert loop.time() - committed_at >= 0.25

    run(body)


def test_run_simulator_reports_its_url_and_serves_until_cancelled() -> None:
    async def body() -> None:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            run_simulator("127.0.0.1", 0, SimulatorOptions(), on_ready=ready.set_result))
        url = await asyncio.wait_for(ready, scaled(5))
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/v1/realtime")
        async with Client.connect(f"{url}?model={MODEL}") as client:
            await client.until("session.created")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(body)


def test_the_key_never_reaches_the_log_even_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def body() -> None:
        async with RealtimeSimulator(SimulatorOptions(expected_key="sk-secret-good")) as sim:
            url = f"{sim.url}?model={MODEL}"
            await refused(url, "sk-secret-bad")
            async with Client.connect(url, key="sk-secret-good") as client:
                await client.until("session.created")

    run(body)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("polybot_device")]
    assert any("session" in message for message in ours)
    assert not [message for message in ours if "sk-secret" in message]

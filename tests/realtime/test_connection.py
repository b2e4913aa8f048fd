"""Shutdown is cancellation: it must reach the link whatever the link is doing at that moment,
including tearing down a session the server has just refused (a SIGTERM landing there used to be
swallowed, and the daemon went on reconnecting)."""

import asyncio

from polybot_device.apikey import KeySource
from polybot_device.config import parse_config
from polybot_device.realtime.connection import RealtimeLink
from polybot_device.realtime.events import EventIds, session_update
from polybot_device.realtime.outbox import Outbox
from polybot_device.realtime.protocol import ConversationProtocol
from polybot_device.realtime.session import SessionKind, SessionType
from polybot_device.simulator import RealtimeSimulator, SimulatorOptions
from polybot_device.state import StatusModel
from tests.rig.timing import scaled


def test_cancelling_the_link_at_any_moment_of_a_refused_session_stops_it():
    async def main():
        options = SimulatorOptions(expected_key="sk-right-000000000000", auth_failure="event")
        async with RealtimeSimulator(options) as sim:
            config = parse_config({"api": {"url": sim.url, "auth_retry_s": 1.0}})
            ids = EventIds()
            kind = SessionKind(SessionType.REALTIME, "m",
                               lambda: ConversationProtocol(session_update(config, "x", "e"), ids))
            keys = KeySource(None, environ={"OPENAI_API_KEY": "sk-wrong-111111111111"})
            for i in range(120):
                link = RealtimeLink(config.api, keys, StatusModel(), Outbox(1000), lambda: kind, lambda a: None)
                seen = len(sim.handshakes)
                task = asyncio.create_task(link.run())
                await sim.wait_for(lambda seen=seen: len(sim.handshakes) > seen, timeout=scaled(5))
                await asyncio.sleep((i % 40) * 0.0004)  # sweep the moment across the session's teardown
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=scaled(2))
                assert done, f"link ignored cancellation {(i % 40) * 0.4:.1f} ms after the handshake"
                assert task.cancelled()

    asyncio.run(main())

"""A long conversation session, turn by turn, through the daemon's own protocol machine and the
simulator: what the cost tests and benchmarks/context_cost.py measure.

The daemon's :class:`~polybot_device.sessions.SessionChoice` builds the session (its
``session.update`` with the configured truncation, its protocol machine with the configured item
deletion); every server event goes through that machine and every event it asks to send is sent,
so what is measured is what the gadget would do. Audio is appended faster than real time (the
simulator's VAD works on the audio's own timeline), so 60 turns take seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from websockets.asyncio.client import connect

from polybot_device.config import Config, ContextConfig
from polybot_device.cost.usage import ResponseUsage
from polybot_device.modes import Selection
from polybot_device.realtime.actions import ResponseFinished, Send, SessionLive, UsageReported
from polybot_device.sessions import SessionChoice
from polybot_device.simulator import RealtimeSimulator, SimulatorOptions

RATE_HZ = 24_000


def speech(ms: int) -> bytes:
    """An utterance the simulator's VAD hears: 300 ms quiet, ``ms`` of tone, 900 ms quiet."""
    t = np.arange(RATE_HZ * ms // 1000) / RATE_HZ
    voiced = (0.3 * np.sin(2 * np.pi * 300 * t) * 32767).astype("<i2").tobytes()
    return bytes(RATE_HZ * 300 // 1000 * 2) + voiced + bytes(RATE_HZ * 900 // 1000 * 2)


def utterance_lengths_ms(turns: int, seed: int = 14) -> list[int]:
    """Utterances of 1 to 4 s, the same sequence for every strategy compared."""
    rng = np.random.default_rng(seed)
    return [int(ms) for ms in rng.integers(1000, 4001, size=turns)]


@dataclass
class SessionRun:
    usages: list[ResponseUsage] = field(default_factory=list)
    """One per response, in turn order, as the daemon's protocol machine parsed them."""
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Every client event except audio appends."""
    server_usages: list[dict[str, Any]] = field(default_factory=list)
    """The raw ``response.usage`` objects the simulator sent."""


def config_with(context: ContextConfig, base: Config | None = None) -> Config:
    return replace(base or Config(), context=context)


async def run_conversation(config: Config, lengths_ms: list[int], sim: RealtimeSimulator | None = None) -> SessionRun:
    if sim is None:
        async with RealtimeSimulator(SimulatorOptions(pace=0, record_audio=False)) as own:
            return await run_conversation(config, lengths_ms, own)
    choice = SessionChoice(config, Selection.from_config(config))
    kind = choice.kind()
    protocol = kind.make_protocol()
    run = SessionRun()
    finished: asyncio.Queue[None] = asyncio.Queue()
    live = asyncio.Event()
    async with connect(f"{sim.url}?model={kind.model}", additional_headers={"Authorization": "Bearer sk-test"},
                       max_size=2**24) as ws:

        async def send(event: dict[str, Any]) -> None:
            run.sent.append(event)
            await ws.send(json.dumps(event))

        async def read() -> None:
            async for message in ws:
                event = json.loads(message)
                if event.get("type") == "response.done" and event["response"].get("usage"):
                    run.server_usages.append(event["response"]["usage"])
                for action in protocol.handle(event):
                    match action:
                        case Send():
                            await send(action.event)
                        case SessionLive():
                            live.set()
                        case UsageReported():
                            run.usages.append(action.usage)
                        case ResponseFinished():
                            finished.put_nowait(None)

        reader = asyncio.get_running_loop().create_task(read())
        try:
            for action in protocol.opening():
                if isinstance(action, Send):
                    await send(action.event)
            await asyncio.wait_for(live.wait(), 10)
            for ms in lengths_ms:
                await ws.send(kind.append_json(speech(ms)))
                await asyncio.wait_for(finished.get(), 20)
        finally:
            reader.cancel()
    return run

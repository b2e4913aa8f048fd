"""Audio and a small raw-websocket client for driving the simulator in tests."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from tests.rig.timing import scaled

RATE_HZ = 24_000
TEST_TIMEOUT_S = 20


def run(test: Callable[[], Awaitable[None]]) -> None:
    """Run an async test body on a fresh loop, with an overall timeout (stretched by the time factor)."""

    async def bounded() -> None:
        async with asyncio.timeout(scaled(TEST_TIMEOUT_S)):
            await test()

    asyncio.run(bounded())


def silence(ms: int) -> bytes:
    return bytes(RATE_HZ * ms // 1000 * 2)


def tone(ms: int, dbfs: float = -10.0, hz: float = 300.0) -> bytes:
    """A sine of peak level ``dbfs``, PCM16 24 kHz mono."""
    t = np.arange(RATE_HZ * ms // 1000) / RATE_HZ
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2").tobytes()


def utterance() -> bytes:
    """The standard test input: 0.5 s silence, 1 s of 300 Hz at -10 dBFS, 1 s silence."""
    return silence(500) + tone(1000) + silence(1000)


def rms_dbfs(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    rms = float(np.sqrt(np.mean(samples * samples))) / 32768 if samples.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else -100.0


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


SESSION_UPDATE: dict[str, Any] = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "instructions": "Translate Spanish (es) into English (en). Never answer.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "noise_reduction": {"type": "far_field"},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "turn_detection": {"type": "server_vad", "threshold": 0.5,
                                   "prefix_padding_ms": 300, "silence_duration_ms": 500,
                                   "create_response": True, "interrupt_response": True},
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
        },
    },
}


class Client:
    """A raw client: sends dicts, reads events into ``events``, waits for a given type."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    @classmethod
    def connect(cls, url: str, key: str = "sk-test", **kwargs: Any) -> _Connect:
        return _Connect(cls, url, key, kwargs)

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def append(self, pcm: bytes, chunk_ms: int = 100,
                     kind: str = "input_audio_buffer.append") -> None:
        size = RATE_HZ * chunk_ms // 1000 * 2
        for i in range(0, len(pcm), size):
            await self.send({"type": kind, "audio": b64(pcm[i : i + size])})

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        """The next event; TimeoutError if none comes within ``timeout`` (stretched by the time factor)."""
        async with asyncio.timeout(scaled(timeout)):
            event = json.loads(await self.ws.recv())
        self.events.append(event)
        return event

    async def until(self, type_: str, timeout: float = 5) -> dict[str, Any]:
        """Read events until one of ``type_`` arrives; return it."""
        async with asyncio.timeout(scaled(timeout)):
            while True:
                event = await self.recv(timeout)
                if event["type"] == type_:
                    return event

    async def nothing_for(self, seconds: float) -> None:
        """Assert that no event arrives for ``seconds`` (exactly: a window the test is about, not a wait)."""
        try:
            async with asyncio.timeout(seconds):
                event = json.loads(await self.ws.recv())
        except TimeoutError:
            return
        raise AssertionError(f"expected nothing for {seconds} s, got {event}")

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]


class _Connect:
    def __init__(self, cls: type[Client], url: str, key: str, kwargs: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._cm = connect(url, additional_headers=headers, **kwargs)
        self._cls = cls

    async def __aenter__(self) -> Client:
        return self._cls(await self._cm.__aenter__())

    async def __aexit__(self, *exc: Any) -> None:
        await self._cm.__aexit__(*exc)

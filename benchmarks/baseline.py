"""The obvious implementation of the daemon's job: the yardstick ``benchmarks/run.py`` compares with.

Same job, same inputs: reads the same YAML config (the keys it needs), the key from
OPENAI_API_KEY, sends READY=1 to NOTIFY_SOCKET, and writes the same latency marks as
``polybot_device.trace`` when POLYBOT_TRACE_FILE is set. What makes it "obvious":

* the mic is a blocking PCM read on the event loop (``await asyncio.sleep(0)`` after each send,
  or the socket would never be read: websockets' ``send`` does not yield);
* downmix with ``mean``, resampling with ``numpy.interp`` chunk by chunk (no filter, no history);
* ``json.dumps`` of a dict with ``base64.b64encode`` per 20 ms chunk;
* the reply is collected and played only after ``response.output_audio.done`` (one blocking
  ``write``; on the rig's null slave that returns at once, which flatters this baseline).

Not part of the product; never imported by it.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import json
import os
import signal
import time

import alsaaudio
import numpy as np
import websockets
import yaml

from systemd import daemon

API_RATE = 24000
TRACE: list[tuple[str, object, float]] | None = [] if os.environ.get("POLYBOT_TRACE_FILE") else None


def mark(tag: str, key: object, t: float | None = None) -> None:
    if TRACE is not None:
        TRACE.append((tag, key, time.monotonic() if t is None else t))


def dump_trace() -> None:
    if TRACE is not None:
        with open(os.environ["POLYBOT_TRACE_FILE"], "w") as f:
            f.writelines(f"{tag} {key} {t:.6f}\n" for tag, key, t in TRACE)


def mic_to_api(data: bytes, rate: int, channels: int) -> bytes:
    mono = np.frombuffer(data, dtype=np.int16).reshape(-1, channels).mean(axis=1)
    n_out = len(mono) * API_RATE // rate
    x = np.arange(n_out) * (rate / API_RATE)
    return np.interp(x, np.arange(len(mono)), mono).astype(np.int16).tobytes()


def api_to_speaker(pcm: bytes, rate: int, channels: int) -> bytes:
    mono = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    n_out = len(mono) * rate // API_RATE
    x = np.arange(n_out) * (API_RATE / rate)
    out = np.interp(x, np.arange(len(mono)), mono).astype(np.int16)
    return np.repeat(out[:, None], channels, axis=1).tobytes()


def session_update(cfg: dict) -> dict:
    vad = cfg.get("vad", {})
    return {"type": "session.update", "session": {
        "type": "realtime", "instructions": "Translate between Spanish and English.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": API_RATE}, "turn_detection": {
                "type": "server_vad", "threshold": vad.get("threshold", 0.5),
                "prefix_padding_ms": vad.get("prefix_padding_ms", 300),
                "silence_duration_ms": vad.get("silence_duration_ms", 500),
                "create_response": True, "interrupt_response": False}},
            "output": {"format": {"type": "audio/pcm", "rate": API_RATE}, "voice": "marin"},
        }}}


async def mic_loop(ws, mic, rate: int, channels: int) -> None:
    while True:
        n, data = mic.read()  # blocks the whole event loop for a period
        t = time.monotonic()
        if n <= 0:
            continue
        pcm = mic_to_api(data, rate, channels)
        event = {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}
        await ws.send(json.dumps(event))
        mark("read", id(pcm), t)
        mark("sent", id(pcm))
        await asyncio.sleep(0)


async def speaker_loop(ws, spk, rate: int, channels: int) -> None:
    reply: dict[str, list[bytes]] = {}
    async for message in ws:
        event = json.loads(message)
        kind = event.get("type")
        if kind == "response.output_audio.delta":
            reply.setdefault(event["item_id"], []).append(base64.b64decode(event["delta"]))
        elif kind == "response.output_audio.done":
            deltas = reply.pop(event["item_id"], [])
            frames = api_to_speaker(b"".join(deltas), rate, channels)
            t = time.monotonic()
            for _ in deltas:
                mark("pop", event["item_id"], t)
                mark("handed", event["item_id"], t)
            spk.write(frames)


async def serve(cfg: dict) -> None:
    inp, out = cfg["audio"]["input"], cfg["audio"]["output"]
    fmt = alsaaudio.PCM_FORMAT_S16_LE
    mic = alsaaudio.PCM(alsaaudio.PCM_CAPTURE, alsaaudio.PCM_NORMAL, device=inp["device"],
                        channels=inp["channels"], rate=inp["rate"], format=fmt,
                        periodsize=inp["rate"] // 50, periods=4)
    spk = alsaaudio.PCM(alsaaudio.PCM_PLAYBACK, alsaaudio.PCM_NORMAL, device=out["device"],
                        channels=out["channels"], rate=out["rate"], format=fmt,
                        periodsize=out["rate"] // 50, periods=4)
    daemon.notify("READY=1")
    url = cfg["api"]["url"] + "?model=gpt-realtime"
    headers = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps(session_update(cfg)))
        await asyncio.gather(mic_loop(ws, mic, inp["rate"], inp["channels"]),
                             speaker_loop(ws, spk, out["rate"], out["channels"]))


async def main_async(cfg: dict) -> None:
    task = asyncio.current_task()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await serve(cfg)
    except asyncio.CancelledError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    atexit.register(dump_trace)
    asyncio.run(main_async(cfg))


if __name__ == "__main__":
    main()

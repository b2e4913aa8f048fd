"""The one audio format on the wire: what the Realtime API sends and accepts as ``audio/pcm``.

16-bit signed little-endian, mono, 24 kHz, in both directions and on both endpoints (conversation
and translation sessions); the API offers no other PCM rate. Everything between the devices and
the socket (the outbox, the protocol machines, cues, replay) holds audio in this format, and the
simulator speaks it too, so the numbers live here once.
"""

from __future__ import annotations

WIRE_RATE_HZ = 24_000
"""Samples per second on the wire."""
SAMPLE_BYTES = 2
"""One PCM16 mono sample (= one frame)."""
BYTES_PER_MS = WIRE_RATE_HZ * SAMPLE_BYTES // 1000
"""48: how the outbox and the sender turn byte counts into milliseconds of audio."""
BYTES_PER_S = BYTES_PER_MS * 1000

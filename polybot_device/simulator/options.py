"""The simulator's behaviour knobs (faults, pacing, thresholds), read when they matter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SimulatorOptions:
    """Behaviour knobs; change them on ``simulator.options`` while it runs."""

    expected_key: str | None = None
    """None: any non-empty key is accepted; else any other key is refused (see auth_failure)."""
    auth_failure: str = "handshake"
    """How a wrong key is refused: "handshake" (HTTP 401) or "event" (error invalid_api_key, close 1008)."""
    handshake_status: int | None = None
    """If set, every handshake is refused with this HTTP status (e.g. 429, 503)."""
    retry_after_s: float | None = None
    """Sent as the Retry-After header (seconds) with handshake_status."""
    refuse_next: int = 0
    """Refuse the next N handshakes with HTTP 503 (counts down)."""
    response_delay_s: float = 0.0
    """Delay between the end of an utterance (or response.create) and response.created."""
    drop_after_deltas: int | None = None
    """Abort the TCP connection after this many more audio deltas (once; then back to None)."""
    session_max_s: float | None = None
    """Sessions opened while set expire after this long: error session_expired, close 1001."""
    delta_ms: int = 100
    """Audio per response.output_audio.delta, in milliseconds."""
    pace: float = 3.0
    """Responses stream this many times faster than real time (0: as fast as possible)."""
    translation_threshold: float = 0.5
    """Speech level for interpreter sessions, on the VAD's 0..1 scale (0.5 = -40 dBFS)."""
    record_audio: bool = True
    """Keep audio in the records (input_audio, append and delta payloads); off for long soaks."""

"""A local OpenAI Realtime API (GA protocol) simulator: a real websockets server on loopback.

Used by the tests and by ``polybot-device simulate`` so the daemon can run with no internet.
See server.py for the knobs and records, vad.py for how turns are found, voice.py for what
the "translations" sound like.
"""

from .server import (
    HandshakeRecord,
    RealtimeSimulator,
    SessionRecord,
    SimulatorOptions,
    run_simulator,
)

__all__ = [
    "HandshakeRecord",
    "RealtimeSimulator",
    "SessionRecord",
    "SimulatorOptions",
    "run_simulator",
]

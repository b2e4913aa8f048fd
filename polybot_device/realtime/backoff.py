"""Reconnect delays: exponential with full jitter, so a hundred kiosks behind one hotel router do
not all knock on the API in the same second after the Wi-Fi comes back."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        self.initial_s = initial_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        """Uniform in [0, min(cap, initial * 2**failures)] ("full jitter")."""
        ceiling = min(self.cap_s, self.initial_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        """After a healthy session the next drop starts again from a short delay."""
        self.failures = 0

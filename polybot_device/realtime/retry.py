"""How long the link waits before its next attempt, decided by why and after how long the last one
ended. Pure bookkeeping with plain values (tests/realtime/test_retry.py); the link does the waiting.

* A session counts as healthy only after it lived ``api.stable_session_s``: only then does the backoff
  start again from its first delay, and only then is a server's ending of it a swap made at once.
  A server that ends every session as soon as it is live (by close or by an error event) therefore
  meets the growing backoff, not hundreds of sessions a minute, each re-sending the outbox and
  running the key command.
* A refused, missing or unusable key waits from ``AUTH_RETRY_FIRST_S`` doubling up to
  ``api.auth_retry_s``: a passing auth outage costs seconds, a revoked key one try a minute. The
  link also retries at once when the key file or credential changes (``KEY_POLL_S``).
* Our own swaps (rollover while quiet, a mode change) are always made at once.
* A clock behind the server's certificate (a Pi before its time sync) is retried every
  ``CLOCK_RETRY_S``, with no backoff: the link also tries at once when the clock is set.
"""

from __future__ import annotations

import random

from .backoff import CLOCK_RETRY_S, Backoff
from .failures import Cause, Outcome

AUTH_RETRY_FIRST_S = 2.0
"""The first wait after a key problem; it doubles up to api.auth_retry_s."""
KEY_POLL_S = 0.5
"""While a key problem waits, the key file's (or credential's) identity and time are looked at this
often (a stat, no read): a replaced key is tried at once."""


class RetryPolicy:
    def __init__(self, initial_s: float, cap_s: float, auth_cap_s: float, stable_s: float,
                 rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._stable_s = stable_s
        self._backoff = Backoff(initial_s, cap_s, self._rng)
        self._auth_cap_s = auth_cap_s
        self._auth_failures = 0

    def is_swap(self, outcome: Outcome, lived_s: float) -> bool:
        """A planned change of session, made at once and not shown as an outage: ours always; the
        server's only after a healthy session."""
        if not outcome.immediate:
            return False
        return outcome.cause is Cause.ROLLOVER or lived_s >= self._stable_s

    def delay_s(self, outcome: Outcome, lived_s: float) -> float:
        """Seconds to wait after ``outcome``; ``lived_s``: how long its session was live (0: never)."""
        if outcome.went_live:
            self._auth_failures = 0  # the key worked
            if lived_s >= self._stable_s:
                self._backoff.reset()
        if outcome.cause is Cause.CLOCK:
            delay = CLOCK_RETRY_S  # not the network's fault: no backoff; the link also ends it when the clock steps
        elif outcome.auth:
            step = min(self._auth_cap_s, AUTH_RETRY_FIRST_S * 2 ** min(self._auth_failures, 20))
            self._auth_failures += 1
            delay = self._rng.uniform(0.75 * step, step)  # jitter: a fleet whose key was revoked spreads out
        elif self.is_swap(outcome, lived_s):
            delay = 0.0
        else:
            delay = self._backoff.next_delay()
        return delay if outcome.retry_after_s is None else max(delay, outcome.retry_after_s)

"""How long the link waits after each ending, with plain values: a session that lived a moment is
not a healthy one, and a key problem waits from seconds up to api.auth_retry_s."""

from polybot_device.realtime.failures import Cause, Outcome
from polybot_device.realtime.retry import AUTH_RETRY_FIRST_S, RetryPolicy
from tests.realtime.test_backoff import Ceiling

STABLE_SESSION_S = 20.0
LOST = Outcome("connection closed", Cause.CONNECTION_LOST, went_live=True)
EXPIRED = Outcome("session_expired", Cause.SESSION_ENDED, went_live=True, immediate=True)
REFUSED = Outcome("API key refused (HTTP 401)", Cause.AUTH)


def policy() -> RetryPolicy:
    return RetryPolicy(0.5, 10.0, 60.0, STABLE_SESSION_S, rng=Ceiling())  # type: ignore[arg-type]


def test_sessions_that_end_as_soon_as_they_are_live_meet_a_growing_backoff():
    retry = policy()
    assert [retry.delay_s(LOST, lived_s=0.1) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_a_session_that_lived_a_while_resets_the_backoff():
    retry = policy()
    for _ in range(5):
        retry.delay_s(LOST, lived_s=0.1)
    assert retry.delay_s(LOST, lived_s=STABLE_SESSION_S) == 0.5


def test_the_server_ending_a_healthy_session_is_a_swap_but_ending_a_fresh_one_is_not():
    retry = policy()
    assert retry.is_swap(EXPIRED, lived_s=STABLE_SESSION_S) and retry.delay_s(EXPIRED, STABLE_SESSION_S) == 0.0
    assert not retry.is_swap(EXPIRED, lived_s=0.2)
    assert [retry.delay_s(EXPIRED, lived_s=0.2) for _ in range(3)] == [0.5, 1.0, 2.0]
    ours = Outcome("session rollover", Cause.ROLLOVER, went_live=True, immediate=True)
    assert retry.is_swap(ours, lived_s=0.2) and retry.delay_s(ours, lived_s=0.2) == 0.0


def test_a_key_problem_waits_from_a_few_seconds_doubling_up_to_auth_retry_s():
    retry = policy()
    delays = [retry.delay_s(REFUSED, lived_s=0.0) for _ in range(7)]
    assert delays == [AUTH_RETRY_FIRST_S, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    for cause in (Cause.KEY_UNAVAILABLE, Cause.KEY_UNUSABLE):
        assert retry.delay_s(Outcome("no key", cause), lived_s=0.0) == 60.0


def test_a_key_that_worked_again_starts_the_key_waits_from_the_beginning():
    retry = policy()
    for _ in range(6):
        retry.delay_s(REFUSED, lived_s=0.0)
    quota = Outcome("insufficient_quota", Cause.AUTH, went_live=True)
    assert retry.delay_s(quota, lived_s=5.0) == AUTH_RETRY_FIRST_S


def test_retry_after_is_a_floor():
    retry = policy()
    limited = Outcome("rate limited (HTTP 429)", Cause.RATE_LIMITED, retry_after_s=7.0)
    assert retry.delay_s(limited, lived_s=0.0) == 7.0

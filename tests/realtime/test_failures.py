"""Why a connection failed, with plain values: the words a person reads in STATUS= and the log, the
cause the metrics and journal count, and what the run loop does about it (wait for the key, honour
Retry-After, or back off)."""

import errno
import socket
import ssl

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from polybot_device.realtime.actions import SessionOver
from polybot_device.realtime.failures import (
    RETRY_AFTER_MAX_S,
    Cause,
    close_words,
    ended_by_server,
    rejected,
    unreachable,
)


def refused(status: int, retry_after: str | None = None):
    headers = Headers({"Retry-After": retry_after} if retry_after is not None else {})
    return rejected(InvalidStatus(Response(status, "", headers)))


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_an_auth_problem_named_with_its_status(status):
    outcome = refused(status)
    assert outcome.auth and outcome.words == f"API key refused (HTTP {status})" and outcome.cause is Cause.AUTH


def test_rate_limiting_waits_as_long_as_the_server_asks_or_five_seconds():
    assert refused(429, "7").retry_after_s == 7.0
    assert refused(429).retry_after_s == 5.0
    assert refused(429, "soon").retry_after_s == 5.0  # unreadable: the default
    assert refused(429).words == "rate limited (HTTP 429)" and not refused(429).auth
    assert refused(429).cause is Cause.RATE_LIMITED


def test_a_server_error_honours_retry_after_and_otherwise_leaves_it_to_the_backoff():
    assert refused(503, "2.5").retry_after_s == 2.5
    assert refused(503, "-3").retry_after_s == 0.0  # never a negative wait


@pytest.mark.parametrize("header", ["inf", "1e9", "Infinity", "99999999999999999999"])
def test_an_endless_retry_after_is_capped_at_minutes(header):
    assert refused(429, header).retry_after_s == RETRY_AFTER_MAX_S == 300.0
    assert refused(503, header).retry_after_s == RETRY_AFTER_MAX_S


def test_a_retry_after_that_is_not_a_number_is_ignored():
    assert refused(429, "nan").retry_after_s == 5.0
    assert refused(503, "NaN").retry_after_s is None
    outcome = refused(500)
    assert outcome.retry_after_s is None and not outcome.auth
    assert outcome.words == "server refused the connection (HTTP 500)" and outcome.cause is Cause.SERVER_ERROR


def describe(exc: BaseException) -> tuple[str, Cause]:
    outcome = unreachable(exc)
    assert not outcome.auth and not outcome.went_live and outcome.is_fault
    return outcome.words, outcome.cause


def test_network_failures_are_named_the_way_a_person_would_look_them_up():
    assert describe(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 9)")) == \
        ("network error: Connection refused", Cause.NETWORK)
    assert describe(socket.gaierror(socket.EAI_NONAME, "Name or service not known")) == \
        ("DNS lookup failed (Name or service not known)", Cause.NETWORK)
    assert describe(TimeoutError()) == ("connection attempt timed out", Cause.TIMEOUT)
    assert describe(OSError(None, "Network is unreachable")) == ("network error: Network is unreachable", Cause.NETWORK)


def test_tls_failures_say_whether_the_certificate_was_not_trusted():
    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "self-signed certificate"
    assert describe(untrusted) == ("TLS certificate not trusted (self-signed certificate)", Cause.TLS)
    other = ssl.SSLError(1, "x")
    other.reason = "WRONG_VERSION_NUMBER"
    assert describe(other) == ("TLS failure (WRONG_VERSION_NUMBER)", Cause.TLS)


def test_a_certificate_not_yet_valid_is_the_clock_not_an_untrusted_server():
    """OpenSSL's verify code 9: the certificate starts after our clock, as on a Pi before NTP."""
    early = ssl.SSLCertVerificationError(1, "certificate verify failed")
    early.verify_code, early.verify_message = 9, "certificate is not yet valid"
    words, cause = describe(early)
    assert cause is Cause.CLOCK and words.startswith("clock not set")
    expired = ssl.SSLCertVerificationError(1, "certificate verify failed")
    expired.verify_code, expired.verify_message = 10, "certificate has expired"
    assert describe(expired) == ("TLS certificate not trusted (certificate has expired)", Cause.TLS)


def test_anything_else_is_named_by_its_type_and_kept_short():
    words, cause = describe(ValueError("x" * 1000))
    assert words.startswith("ValueError: xxx") and len(words) == 200 and cause is Cause.OTHER


def test_a_closed_connection_says_who_closed_it_and_why():
    assert close_words(ConnectionClosed(Close(1011, "keepalive ping timeout"), None)) == \
        "code 1011: keepalive ping timeout"
    assert close_words(ConnectionClosed(None, Close(1000, ""))) == "code 1000"  # we closed it, no reason
    assert close_words(ConnectionClosed(None, None)) == "no close frame: the connection broke"


def test_a_session_the_server_ended_is_counted_by_why_and_whether_it_had_been_live():
    expired = ended_by_server(SessionOver("session_expired"), went_live=True)
    assert expired.cause is Cause.SESSION_ENDED and expired.immediate and not expired.is_fault
    refused_key = ended_by_server(SessionOver("invalid_api_key", auth=True), went_live=True)
    assert refused_key.cause is Cause.AUTH and refused_key.auth and not refused_key.immediate
    before_live = ended_by_server(SessionOver("session_expired"), went_live=False)
    assert before_live.cause is Cause.OTHER and before_live.is_fault


def test_every_cause_is_a_metrics_label_of_its_own():
    labels = [cause.value for cause in Cause]
    assert len(set(labels)) == len(labels) and all(label.isidentifier() for label in labels)
    assert {cause for cause in Cause if cause.is_auth} == {Cause.AUTH, Cause.KEY_UNAVAILABLE, Cause.KEY_UNUSABLE}

"""Why a connection attempt or a session ended, in words a person reads and a cause the run loop
acts on: a refused key waits api.auth_retry_s, a 429 honours Retry-After, a clock that is behind
(a Pi has no real-time clock) waits for the time sync, the rest backs off."""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed, InvalidStatus


@dataclass(frozen=True)
class Outcome:
    cause: str  # words for the log and, later, a metrics label
    went_live: bool = False
    auth: bool = False
    retry_after_s: float | None = None
    immediate: bool = False  # the server ended a healthy session (e.g. expiry): reconnect now
    clock: bool = False  # the certificate is not valid yet by our clock: the clock is not set


X509_V_ERR_CERT_NOT_YET_VALID = 9
"""OpenSSL's verify code (x509_vfy.h) for a certificate whose notBefore is after our clock. A Pi has
no battery-backed clock: until NTP sets it, the time is the image's or the last shutdown's, and a
certificate issued since then fails this way. No other cause gives this code."""

CLOCK_UNSET = "clock not set: the server's TLS certificate is not valid yet by this device's clock"


def failed(exc: BaseException) -> Outcome:
    """The outcome of a connect that raised ``exc`` (network, TLS, handshake)."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_code == X509_V_ERR_CERT_NOT_YET_VALID:
        return Outcome(CLOCK_UNSET, clock=True)
    return Outcome(describe(exc))


def rejected(exc: InvalidStatus) -> Outcome:
    status = exc.response.status_code
    if status in (401, 403):
        return Outcome(f"API key refused (HTTP {status})", auth=True)
    retry_after = None
    header = exc.response.headers.get("Retry-After")
    if header:
        try:
            retry_after = max(0.0, float(header))
        except ValueError:
            retry_after = None
    if status == 429:
        return Outcome("rate limited (HTTP 429)", retry_after_s=retry_after if retry_after is not None else 5.0)
    return Outcome(f"server refused the connection (HTTP {status})", retry_after_s=retry_after)


def describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({exc.reason or exc})"
    if isinstance(exc, TimeoutError):
        return "connection attempt timed out"
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed ({exc.strerror})"
    if isinstance(exc, OSError) and exc.errno:  # asyncio's strerror reads "Connect call failed (...)"
        return f"network error: {os.strerror(exc.errno)}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"network error: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"[:200]


def close_words(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "no close frame: the connection broke"
    return f"code {frame.code}{': ' + frame.reason if frame.reason else ''}"

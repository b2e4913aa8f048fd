"""Why a connection attempt or a session ended: words a person reads, and a cause code.

The cause is decided where the failure is understood (the HTTP status of a refused handshake, the
exception a connect raised, the error event that ended a session), never recovered later from the
words. The run loop acts on it (a refused key waits ``api.auth_retry_s``, a 429 honours
Retry-After, a clock that is behind waits for the time sync, the rest backs off) and the fleet
reporting counts it: a closed set, so that ``polybot_reconnects_total{cause=...}`` has a bounded
number of series and alerts can name them.
"""

from __future__ import annotations

import enum
import math
import os
import socket
import ssl
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from ..redact import escape
from .actions import SessionOver


class Cause(enum.StrEnum):
    """The metrics and journal label of an ending (the values are the label text)."""

    AUTH = "auth"
    """The API refused the key (HTTP 401/403, invalid_api_key, no quota)."""
    KEY_UNAVAILABLE = "key_unavailable"
    """No key to try: the key file unreadable or empty, api.key_command failed."""
    KEY_UNUSABLE = "key_unusable"
    """The key has a character no API key has (not printable ASCII after normalising): not sent."""
    RATE_LIMITED = "rate_limited"
    """HTTP 429 at the handshake."""
    SERVER_ERROR = "server_error"
    """Any other HTTP status at the handshake, or a handshake that was not a websocket's."""
    NETWORK = "network"
    """DNS, refused, unreachable, reset: the network or the endpoint is down."""
    TLS = "tls"
    """Certificate or TLS failure."""
    CLOCK = "clock"
    """The server's certificate is not valid yet by our clock: a Pi has no real-time clock, and
    until the time sync sets it TLS cannot work. Not an outage: retried soon, and at once when
    the clock is stepped."""
    TIMEOUT = "timeout"
    """The connect or the session setup took too long."""
    CONNECTION_LOST = "connection_lost"
    """A session's connection broke (Wi-Fi drop, half-open, server close)."""
    SESSION_ENDED = "session_ended"
    """The server ended a healthy session (e.g. the 60-minute limit)."""
    ROLLOVER = "rollover"
    """We ended it ourselves: a rollover while quiet, a mode switch."""
    OTHER = "other"

    @property
    def is_auth(self) -> bool:
        """No key, an unusable or a refused one: a key state and slow retries (sooner when the key
        file changes)."""
        return self in (Cause.AUTH, Cause.KEY_UNAVAILABLE, Cause.KEY_UNUSABLE)


@dataclass(frozen=True)
class Outcome:
    words: str
    """For the log and the state's detail; may carry a server's text, never a secret."""
    cause: Cause
    went_live: bool = False
    retry_after_s: float | None = None
    immediate: bool = False
    """A planned swap (rollover, the server's session limit, a mode change): reconnect at once."""

    @property
    def auth(self) -> bool:
        return self.cause.is_auth

    @property
    def is_fault(self) -> bool:
        """An ending people should hear about (not a planned rollover or a routine expiry)."""
        return not self.immediate


def rejected(exc: InvalidStatus) -> Outcome:
    """The server answered the handshake with an HTTP error."""
    status = exc.response.status_code
    if status in (401, 403):
        return Outcome(f"API key refused (HTTP {status})", Cause.AUTH)
    retry_after = retry_after_s(exc.response.headers.get("Retry-After"))
    if status == 429:
        return Outcome("rate limited (HTTP 429)", Cause.RATE_LIMITED,
                       retry_after_s=retry_after if retry_after is not None else 5.0)
    return Outcome(f"server refused the connection (HTTP {status})", Cause.SERVER_ERROR, retry_after_s=retry_after)


RETRY_AFTER_MAX_S = 300.0
"""The longest Retry-After honoured (5 minutes): ``inf`` or ``1e9`` from a broken or hostile server
must not leave the gadget offline until someone restarts it."""


def retry_after_s(header: str | None) -> float | None:
    """A Retry-After header in seconds, clamped to [0, RETRY_AFTER_MAX_S]; None when absent or
    unreadable (an HTTP date is read as unreadable: the backoff or the 429 default applies)."""
    try:
        seconds = float(header or "")
    except ValueError:
        return None
    if math.isnan(seconds):
        return None
    return min(RETRY_AFTER_MAX_S, max(0.0, seconds))


X509_V_ERR_CERT_NOT_YET_VALID = 9
"""OpenSSL's verify code (x509_vfy.h) for a certificate whose notBefore is after our clock. A Pi has
no battery-backed clock: until NTP sets it, the time is the image's or the last shutdown's, and a
certificate issued since then fails this way. No other cause gives this code."""

CLOCK_UNSET = "clock not set: the server's TLS certificate is not valid yet by this device's clock"


def unreachable(exc: BaseException) -> Outcome:
    """The connect itself failed: DNS, TCP, TLS, a timeout or a handshake that made no sense."""
    code = getattr(exc, "verify_code", None)  # set by ssl for a real handshake; absent on a hand-made one
    if isinstance(exc, ssl.SSLCertVerificationError) and code == X509_V_ERR_CERT_NOT_YET_VALID:
        return Outcome(CLOCK_UNSET, Cause.CLOCK)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome(f"TLS certificate not trusted ({exc.verify_message})", Cause.TLS)
    if isinstance(exc, ssl.SSLError):
        return Outcome(f"TLS failure ({exc.reason or exc})", Cause.TLS)
    if isinstance(exc, TimeoutError):
        return Outcome("connection attempt timed out", Cause.TIMEOUT)
    if isinstance(exc, socket.gaierror):
        return Outcome(f"DNS lookup failed ({exc.strerror})", Cause.NETWORK)
    if isinstance(exc, OSError) and exc.errno:  # asyncio's strerror reads "Connect call failed (...)"
        return Outcome(f"network error: {os.strerror(exc.errno)}", Cause.NETWORK)
    if isinstance(exc, OSError) and exc.strerror:
        return Outcome(f"network error: {exc.strerror}", Cause.NETWORK)
    cause = Cause.SERVER_ERROR if isinstance(exc, InvalidHandshake) else Cause.OTHER
    return Outcome(f"{type(exc).__name__}: {exc}"[:200], cause)


def ended_by_server(over: SessionOver, went_live: bool) -> Outcome:
    """The server said why it ended the session (an error event before the close)."""
    cause = Cause.AUTH if over.auth else Cause.SESSION_ENDED if went_live else Cause.OTHER
    return Outcome(over.reason, cause, went_live=went_live, retry_after_s=over.retry_after_s,
                   immediate=went_live and not over.auth)


def close_words(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "no close frame: the connection broke"
    return f"code {frame.code}{': ' + escape(frame.reason) if frame.reason else ''}"

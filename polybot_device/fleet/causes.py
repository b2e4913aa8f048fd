"""Why a connection attempt or session ended, as one of a small fixed set of labels.

The link describes each ending in words for people (:class:`Outcome.cause`, which may carry a
server's free text); metrics and journal queries need a closed set instead, so that
``polybot_reconnects_total{cause=...}`` has a bounded number of series and alerts can name them.
"""

from __future__ import annotations

from ..realtime.failures import Outcome

CAUSES = (
    "auth",             # the API refused the key (HTTP 401/403, invalid_api_key)
    "key_unavailable",  # no key to try: key file unreadable, api.key_command failed
    "rate_limited",     # HTTP 429 or a rate-limit error from the server
    "server_error",     # any other HTTP status at the handshake, or a server error event
    "network",          # DNS, refused, unreachable, reset: the network or the endpoint is down
    "tls",              # certificate or TLS failure
    "clock",            # the certificate is not valid yet by our clock: waiting for the time sync
    "timeout",          # the connect or the session setup took too long
    "connection_lost",  # a live session's connection broke (Wi-Fi drop, half-open, server close)
    "session_ended",    # the server ended a healthy session (e.g. the 60-minute limit)
    "rollover",         # we ended it ourselves: rollover while quiet, a mode switch
    "other",
)


def classify(outcome: Outcome) -> str:
    text = outcome.cause.lower()
    if outcome.auth:
        unavailable = text.startswith(("no api key", "cannot read", "api.key_command")) or "is empty" in text
        return "key_unavailable" if unavailable else "auth"
    if outcome.immediate:
        return "rollover" if ("rollover" in text or "mode" in text or "reload" in text) else "session_ended"
    if outcome.clock:
        return "clock"
    if "429" in text or "rate limit" in text:
        return "rate_limited"
    if "tls" in text or "certificate" in text or "ssl" in text:
        return "tls"
    if "timed out" in text or "did not confirm" in text or "timeout" in text:
        return "timeout"
    if "network error" in text:
        return "network"
    if "http " in text or "server error" in text or "server refused" in text:
        return "server_error"
    if outcome.went_live or "connection closed" in text:
        return "connection_lost"
    return "other"


def is_fault(outcome: Outcome) -> bool:
    """An ending people should hear about (not a planned rollover or a server's routine expiry)."""
    return not outcome.immediate

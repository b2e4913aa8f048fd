"""Opening the WebSocket: the URL, the key's header, the limits, and where redirects may lead.

websockets follows up to 10 HTTP redirects (``websockets.asyncio.client.connect.process_redirect``)
and, on a cross-origin one, strips only ``Authorization``, ``Cookie`` and ``Proxy-Authorization``.
Azure's ``api-key`` header would follow a redirect to any host. With ``auth_header: api-key`` no
redirect is followed at all: the 30x is a refused connection like any other status (the Realtime
API does not redirect). With the Bearer header the library's rule stands: same-origin redirects are
followed, and the key is not sent across origins.
"""

from __future__ import annotations

import ssl

from websockets.asyncio.client import ClientConnection, connect

from ..apikey import ApiKey
from ..config import ApiConfig, session_uri, uses_tls
from .session import SessionKind

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Largest server frame we accept. Audio deltas are a few KiB; a bigger frame is a fault, and
websockets closes the connection (1009) rather than buffer it: we then reconnect."""


class _NoRedirects(connect):
    """connect() that treats every redirect as the refusal it ends in (an InvalidStatus)."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


async def dial(api: ApiConfig, kind: SessionKind, key: ApiKey) -> ClientConnection:
    """The open connection; raises what websockets raises (InvalidStatus for a refused handshake,
    a redirect included when redirects are refused)."""
    opener = _NoRedirects if api.auth_header == "api-key" else connect
    return await opener(
        uri(api, kind),
        additional_headers=auth_header(api, key),
        open_timeout=api.connect_timeout_s,
        ping_interval=None,  # our own keepalive: see keepalive.py
        ping_timeout=None,
        close_timeout=0.5,
        max_size=MAX_FRAME_BYTES,
        compression=None,  # deflating base64 audio costs CPU a Pi Zero does not have
        ssl=ssl.create_default_context() if uses_tls(api.url) else None,
        user_agent_header="polybot-device",
    )


def uri(api: ApiConfig, kind: SessionKind) -> str:
    """The session URL: the path goes onto api.url's path, the model into its query (an Azure
    URL's own query is kept)."""
    return session_uri(api.url, kind.path, kind.model)


def auth_header(api: ApiConfig, key: ApiKey) -> dict[str, str]:
    if api.auth_header == "api-key":
        return {"api-key": key.value}
    return {"Authorization": f"Bearer {key.value}"}

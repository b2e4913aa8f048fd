"""The WebSocket URL of a session, built from ``api.url``: one place, used by validation and the link.

``api.url`` may carry a query of its own (Azure OpenAI: ``?api-version=...&deployment=...``) and
any letter case in its scheme (``WSS://``). The session path (``/translations``) goes onto the
URL's path, never after its query; ``model`` is set in the query beside what is there (replacing a
``model`` the URL already names: the config's model keys are the one place for model names); the
scheme is lower-cased, so "is this TLS" is one comparison everywhere. Validation builds the same
URLs and hands them to websockets' own parser, so a URL the link could not open is refused by
``check-config`` (exit 78) rather than found by the daemon on every reconnect.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def session_uri(api_url: str, path: str, model: str) -> str:
    """``api_url`` with ``path`` appended to its path and ``model=`` set in its query."""
    parts = urlsplit(api_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "model"]
    query.append(("model", model))
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/") + path if path else parts.path,
                       urlencode(query), parts.fragment))


def uses_tls(api_url: str) -> bool:
    return urlsplit(api_url).scheme.lower() == "wss"

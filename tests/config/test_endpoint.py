"""The session URL built from api.url: an Azure query survives, the scheme's case does not matter,
and what websockets could not open is refused by check-config, not by a crash loop."""

from __future__ import annotations

import asyncio
import socket

import pytest

from polybot_device.apikey import KeySource
from polybot_device.config import ConfigError, parse_config, session_uri
from polybot_device.realtime.connection import RealtimeLink
from polybot_device.realtime.events import EventIds, session_update
from polybot_device.realtime.outbox import Outbox
from polybot_device.realtime.protocol import ConversationProtocol
from polybot_device.realtime.session import SessionKind, SessionType
from polybot_device.simulator import RealtimeSimulator
from polybot_device.state import Link, StatusModel
from tests.rig.timing import scaled

AZURE = "wss://my-res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-rt"


def test_an_azure_query_is_kept_when_the_model_and_path_are_added():
    assert session_uri(AZURE, "", "m") == AZURE + "&model=m"
    assert session_uri(AZURE, "/translations", "t") == (
        "wss://my-res.openai.azure.com/openai/realtime/translations"
        "?api-version=2025-04-01-preview&deployment=gpt-rt&model=t")
    assert session_uri("WSS://api.openai.com/v1/realtime/?model=old", "/translations", "new") == (
        "wss://api.openai.com/v1/realtime/translations?model=new")


@pytest.mark.parametrize("url", ["WSS://api.openai.com/v1/realtime", AZURE, "Wss://[::1]:8443/v1/realtime"])
def test_urls_the_link_can_open_pass(url):
    assert parse_config({"api": {"url": url}}).api.url == url


@pytest.mark.parametrize("url", ["wss://api.openai.com:99999/v1/realtime", "wss://api.openai.com/v1#frag",
                                 "wss://user@api.openai.com/v1/realtime", "https://api.openai.com/v1/realtime"])
def test_urls_websockets_would_refuse_are_config_errors(url):
    with pytest.raises(ConfigError, match=r"^api\.url: "):
        parse_config({"api": {"url": url}})


def run_link(url: str, until, timeout_s: float = 10.0) -> StatusModel:
    """Run a link against ``url`` until ``until(status)``; the link must neither crash nor stop."""
    async def main() -> StatusModel:
        config = parse_config({"api": {"url": url}})
        kind = SessionKind(SessionType.REALTIME, "gpt-test",
                           lambda: ConversationProtocol(session_update(config, "x", "e"), EventIds()))
        keys = KeySource(None, environ={"OPENAI_API_KEY": "sk-test-000000000000000000"})
        status = StatusModel()
        task = asyncio.create_task(RealtimeLink(config.api, keys, status, Outbox(1000), lambda: kind,
                                                lambda a: None).run())
        deadline = asyncio.get_running_loop().time() + scaled(timeout_s)
        while not until(status) and asyncio.get_running_loop().time() < deadline:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.02)
        assert not task.done(), task.exception()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return status
    return asyncio.run(main())


def test_an_upper_case_wss_url_is_a_tls_connection_not_a_crash():
    with socket.socket() as s:  # a port nobody listens on: the attempt fails, the link carries on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = run_link(f"WSS://127.0.0.1:{port}/v1/realtime", lambda st: st.facts.link is Link.OFFLINE)
    assert status.facts.link is Link.OFFLINE and "refused" in status.facts.detail, status.facts


def test_the_query_of_api_url_reaches_the_server_with_the_model():
    async def serve() -> list[str]:
        async with RealtimeSimulator() as sim:
            url = sim.url.replace("ws://", "WS://") + "?api-version=2025-04-01-preview"
            await asyncio.to_thread(run_link, url, lambda st: bool(sim.handshakes))
            return [h.path for h in sim.handshakes]
    paths = asyncio.run(serve())
    assert paths and paths[0].endswith("?api-version=2025-04-01-preview&model=gpt-test"), paths

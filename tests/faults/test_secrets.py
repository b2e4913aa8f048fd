"""Keys as people really deliver them (saved by a Windows editor, pasted from a web page or a word
processor) and servers that try to get a key sent where it must not go. The key is used when it
can be, is its own state when it cannot, and never appears in STATUS=, state.json, `health` or
the log, nor in any request to another address."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator

import pytest

from tests.rig.fleet import run_cli

pytestmark = pytest.mark.faults

GOOD_KEY = "sk-proj-clean-key-0123456789abcdef"


def test_a_key_file_with_a_bom_and_pasted_invisible_spaces_is_used_clean(start_gadget, sim, tmp_path):
    key_file = tmp_path / "openai.key"
    # A Windows editor's BOM, a zero-width space from a web page, a non-breaking space, CRLF.
    key_file.write_bytes(("\ufeff" + GOOD_KEY[:8] + "\u200b" + GOOD_KEY[8:] + "\u00a0\r\n").encode())
    sim.options.expected_key = GOOD_KEY
    g = start_gadget(key=None, api={"key_file": str(key_file)})
    g.live()
    assert sim.sim.sessions[-1].key == GOOD_KEY


def test_an_unusable_key_is_its_own_state_and_is_never_shown(start_gadget, sim, tmp_path, report):
    key_file = tmp_path / "openai.key"
    bad_key = "sk-proj\u2013pasted-from-a-word-processor-0123456789"  # an en dash, not a hyphen
    key_file.write_text(bad_key + "\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    sim.options.expected_key = GOOD_KEY
    g = start_gadget(key=None, api={"key_file": str(key_file)}, env={"POLYBOT_RUNTIME_DIR": str(run_dir)})
    g.daemon.wait_ready()
    g.wait_status("STATUS=API key unusable", timeout=10)
    state_json = (run_dir / "state.json").read_text()
    health = run_cli("health", env={"POLYBOT_RUNTIME_DIR": str(run_dir)})
    assert health.returncode == 1
    assert "API key unusable" in health.stdout and "U+2013" in health.stdout
    shown = [line for _, line in g.statuses()] + [state_json, health.stdout, health.stderr, g.log()]
    secret_parts = ("pasted-from-a-word-processor", "sk-proj\u2013", "sk-proj\\u2013")
    assert not [text for text in shown if any(part in text for part in secret_parts)]
    assert not [line for _, line in g.statuses() if line.startswith("STATUS=Offline")]
    assert not sim.sim.handshakes  # a key that cannot be a header value is never sent
    new = key_file.with_suffix(".new")
    new.write_text(GOOD_KEY + "\n")
    os.replace(new, key_file)
    fixed_at = time.monotonic()
    recovered_s = g.wait_live(0, timeout=5) - fixed_at  # fixed: tried at once, not after auth_retry_s
    report(fault="key file with an en dash, then fixed", recovery_s=round(recovered_s, 2))
    assert recovered_s < 1.5


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with ``status`` (a redirect to ``location``) and keeps its headers."""

    protocol_version = "HTTP/1.1"  # websockets reads nothing older
    status = 404
    location = ""
    seen: list[dict[str, str]]

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.seen.append(dict(self.headers.items()))
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _http_server(status: int, location: str = "") -> tuple[http.server.ThreadingHTTPServer, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_Recorder,), {"status": status, "location": location, "seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[dict[str, str]], list[dict[str, str]]]]:
    """A server that redirects every handshake to another origin (another port), which records
    what it is sent: (url to configure, requests to the first, requests to the elsewhere)."""
    elsewhere, elsewhere_seen = _http_server(404)
    target = f"ws://127.0.0.1:{elsewhere.server_address[1]}/collect"
    first, first_seen = _http_server(302, target)
    yield f"ws://127.0.0.1:{first.server_address[1]}/v1/realtime", first_seen, elsewhere_seen
    for server in (first, elsewhere):
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("auth_header", ["api-key", "bearer"])
def test_a_redirect_never_carries_the_key_to_another_address(start_gadget, redirecting, auth_header):
    url, first_seen, elsewhere_seen = redirecting
    g = start_gadget(api={"url": url, "auth_header": auth_header})
    g.daemon.wait_ready()
    g.wait_status("STATUS=Offline", timeout=10)
    assert first_seen  # the key went where it was configured to go, and no further
    carried = [h for h in elsewhere_seen for name in h if name.lower() in ("api-key", "authorization")]
    assert not carried, carried
    if auth_header == "api-key":
        assert not elsewhere_seen  # no redirect followed at all
        assert "server refused the connection (HTTP 302)" in g.status()
    assert g.daemon.proc.poll() is None


"""Fixtures for the fault-injection suite: the e2e rig (FIFO mic, simulator, daemon subprocess)
plus a fault proxy between daemon and simulator, and a report of what each fault cost.

Timing settings the suite runs with (``FAULT_API``): the shipped backoff (0.5 s first delay,
10 s cap), so measured recovery times are what a gadget sees; ping every 2 s with a 2 s timeout,
so a half-open link is noticed within 4 s (shipped: 5 s + 5 s = 10 s) and the tests stay short.

Set ``POLYBOT_FAULTS_REPORT=path`` to append one JSON line per measured fault (the table in
docs/reliability.md is written from such a run).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from polybot_device.audio.filerig import FileRig
from tests.faults.gadget import Gadget
from tests.rig.daemon import DaemonProcess, SimulatorThread
from tests.rig.loopback import daemon_config
from tests.rig.netshim import uplink_env  # noqa: F401 - fixture
from tests.rig.proxy import FaultProxy
from tests.rig.unplug import unplug_shim  # noqa: F401 - fixture

FAULT_API = {"backoff_initial_s": 0.5, "backoff_max_s": 10.0, "ping_interval_s": 2.0, "ping_timeout_s": 2.0,
             "auth_retry_s": 3.0, "connect_timeout_s": 3.0}
KEY = "sk-test-key-0123456789abcdef"


@pytest.fixture
def proxy(sim: SimulatorThread) -> Iterator[FaultProxy]:
    p = FaultProxy("127.0.0.1", sim.sim.port)
    yield p
    p.close()


@pytest.fixture
def start_gadget(tmp_path: Path, rig: FileRig, sim: SimulatorThread, feeder) -> Iterator:  # noqa: F811
    """start_gadget(env=..., key=..., watchdog_usec=..., **config sections) -> Gadget; the API
    settings are FAULT_API merged with ``api=``."""
    started: list[DaemonProcess] = []

    def start(*, env: dict[str, str] | None = None, key: str | None = KEY, watchdog_usec: int | None = None,
              api: dict | None = None, **overrides) -> Gadget:
        config = daemon_config(sim, rig, api={**FAULT_API, **(api or {})}, **overrides)
        directory = tmp_path / f"daemon{len(started)}"
        directory.mkdir()
        daemon = DaemonProcess(directory, config, {**rig.env(), **(env or {})}, key=key, watchdog_usec=watchdog_usec)
        started.append(daemon)
        return Gadget(daemon, sim, feeder)

    yield start
    for daemon in started:
        daemon.close()


@pytest.fixture
def report(request: pytest.FixtureRequest):
    """report(fault=..., recovery_s=..., fed=..., translated=..., **more): one row of the
    reliability table (also printed, so `pytest -s` shows the figures)."""
    rows: list[dict] = []

    def record(**row) -> None:
        row = {"test": request.node.name, **row}
        rows.append(row)
        print("RELIABILITY", json.dumps(row))

    yield record
    path = os.environ.get("POLYBOT_FAULTS_REPORT")
    if path and rows:
        with open(path, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


@dataclass
class TlsContexts:
    ca_file: Path
    """The test CA: give it to the daemon as SSL_CERT_FILE and ``trusted`` verifies."""
    trusted: ssl.SSLContext
    """Server context with a certificate for 127.0.0.1 signed by the test CA."""
    rogue: ssl.SSLContext
    """Server context with a self-signed certificate for 127.0.0.1: not trusted."""
    future: ssl.SSLContext
    """Server context with a certificate signed by the test CA whose validity starts tomorrow: what
    a Pi whose clock is behind (no RTC, no time sync yet) sees of a freshly issued certificate."""


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsContexts:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make test certificates")
    d = tmp_path_factory.mktemp("tls")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    san = ["-addext", "subjectAltName=IP:127.0.0.1"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=polybot test CA")
    run("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    run("req", "-x509", *key, *san, "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=127.0.0.1")
    # `openssl x509 -req` (3.0) cannot set notBefore; `openssl ca -startdate` can.
    run("req", *key, "-keyout", "future.key", "-out", "future.csr", "-subj", "/CN=127.0.0.1")
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1000\n")
    (d / "ca.cnf").write_text("[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\n"
                              "serial = serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                              "[any]\ncommonName = supplied\n")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    run("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "future.csr",
        "-out", "future.pem", "-notext", "-extfile", "san.ext",
        "-startdate", tomorrow.strftime("%y%m%d%H%M%SZ"),
        "-enddate", (tomorrow + timedelta(days=2)).strftime("%y%m%d%H%M%SZ"))

    def context(cert: str, keyfile: str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(d / cert, d / keyfile)
        return ctx

    return TlsContexts(d / "ca.pem", context("server.pem", "server.key"), context("rogue.pem", "rogue.key"),
                       context("future.pem", "future.key"))

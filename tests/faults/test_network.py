"""Network faults between the gadget and the API, injected by the fault proxy on the real sockets:
drops, outages, refused connects, half-open links, slow links, DNS and TLS failures.

Each test says how long the gadget took to recover and how many utterances it lost; bounds are
generous for a loaded 2-core machine but far below what a person would call "stuck".
"""

from __future__ import annotations

import itertools
import re
import time

import pytest

from polybot_device.realtime.backoff import CLOCK_RETRY_S
from tests.faults.conftest import FAULT_API
from tests.rig.timing import scaled

pytestmark = pytest.mark.faults

HALF_OPEN_BOUND_S = FAULT_API["ping_interval_s"] + FAULT_API["ping_timeout_s"]
HALF_OPEN_HOLD_S = 6.0
"""The issue's half-open hold is 30 s; 6 s is enough here: it is 1.5 times the detection bound
the suite configures (ping every 2 s, pong due within 2 s)."""
assert HALF_OPEN_HOLD_S > HALF_OPEN_BOUND_S



def test_connection_dropped_mid_utterance_comes_back_and_the_whole_utterance_is_translated(start_gadget, proxy, report):
    g = start_gadget(api={"url": proxy.url()})
    g.healthy()
    live = g.live_sessions()
    started = g.speech_started()
    g.say(2.0)
    g.wait_speaking(started)
    dropped_at = time.monotonic()
    assert proxy.drop() == 1
    recovered_s = g.wait_live(live, timeout=15) - dropped_at
    tally = g.wait_translated(30)
    report(fault="connection dropped mid-utterance (RST, no close frame)", recovery_s=round(recovered_s, 2),
           fed=len(tally.fed), translated=tally.translated, duplicates=tally.duplicates)
    assert tally.lost == 0, tally
    assert recovered_s < 3.0  # backoff restarts after a healthy session: first delay <= 0.5 s
    assert "connection lost" in g.log()


def test_utterance_spoken_during_a_short_outage_is_translated_after_reconnect(start_gadget, proxy, report):
    g = start_gadget(api={"url": proxy.url()})
    g.healthy()
    live = g.live_sessions()
    cut_at = time.monotonic()
    proxy.set_mode("refuse")  # the network is gone: the open connection is cut, new ones refused
    proxy.drop()
    g.wait_status("STATUS=Offline", timeout=5, since=cut_at)
    g.say(1.5)  # spoken while offline
    assert g.feeder.wait_idle(scaled(10))
    restored_at = time.monotonic()
    proxy.set_mode("pass")
    recovered_s = g.wait_live(live, timeout=15) - restored_at
    tally = g.wait_translated(30)
    report(fault=f"outage of {restored_at - cut_at:.1f} s, utterance spoken during it",
           recovery_s=round(recovered_s, 2), fed=len(tally.fed), translated=tally.translated,
           duplicates=tally.duplicates)
    assert tally.lost == 0, tally
    assert recovered_s < FAULT_API["backoff_max_s"] + 2  # at worst one capped backoff delay


def test_outage_longer_than_the_buffer_keeps_the_newest_audio_and_says_once_how_much_went(start_gadget, proxy, report):
    # The buffer holds the last 4 s before the reconnect; a 1 s backoff cap keeps the reconnect
    # within ~1 s of the network's return, so which utterance fits is known in advance. Cues off:
    # after 5 s offline the gadget announces it (in a pause), and the echo gate shuts the mic while
    # it plays, which would move the audio this test times. The voice gate off: the bound below
    # counts every second captured during the outage, silence included.
    buffer_s = 4.0
    g = start_gadget(api={"url": proxy.url(), "backoff_max_s": 1.0},
                     audio={"outage_buffer_s": buffer_s, "voice_gate": {"enabled": False}}, cues={"enabled": False})
    g.healthy()
    live = g.live_sessions()
    cut_at = time.monotonic()
    proxy.set_mode("refuse")
    proxy.drop()
    g.say(1.0, tail_s=2.5)              # speech 1.0-2.0 s into the outage: beyond the buffer, must go
    g.say(1.3, lead_s=0.3, tail_s=0.7)  # speech 4.8-6.1 s; the link is back at ~6.8 s: kept
    assert g.feeder.wait_idle(scaled(15))
    restored_at = time.monotonic()
    proxy.set_mode("pass")
    live_at = g.wait_live(live, timeout=15)
    g.sim.wait_for(lambda: g.tally().translated >= 2, timeout=30)
    tally = g.tally()
    report(fault=f"outage of {live_at - cut_at:.1f} s with a {buffer_s:g} s outage buffer", fed=len(tally.fed),
           translated=tally.translated, note="the utterance older than the buffer is dropped, by design")
    assert [a for a in tally.answered if abs(a - 13) <= 1.5], f"the newest utterance was not translated: {tally}"
    assert not [a for a in tally.answered if abs(a - 10) <= 1.5], f"audio older than the buffer was sent: {tally}"
    lines = re.findall(r"outage buffer was full: the oldest ([\d.]+) s of audio were dropped", g.log())
    assert len(lines) == 1, lines
    # Everything captured between the cut and the reconnect, less what the buffer kept (and up to
    # ~1 s of unconfirmed audio from before the cut that went back into the buffer).
    assert restored_at - cut_at - buffer_s - 0.5 <= float(lines[0]) <= live_at - cut_at - buffer_s + 1.5


def test_refused_connects_at_boot_do_not_delay_ready_and_recover_within_the_backoff_cap(start_gadget, proxy, report):
    proxy.set_mode("refuse")
    g = start_gadget(api={"url": proxy.url()})
    g.daemon.wait_ready(timeout=15)
    g.wait_status("STATUS=Offline: reconnecting (network error: Connection refused)", timeout=10)
    assert proxy.connections == 0
    refused_for = 2.0
    time.sleep(refused_for)  # the fault's duration, not a wait for something
    restored_at = time.monotonic()
    proxy.set_mode("pass")
    recovered_s = g.wait_live(0, timeout=20) - restored_at
    g.say(1.0)
    tally = g.wait_translated(30)
    report(fault=f"connection refused (ECONNREFUSED) for the first {refused_for:.0f} s after boot",
           recovery_s=round(recovered_s, 2), fed=len(tally.fed), translated=tally.translated)
    assert recovered_s < FAULT_API["backoff_max_s"] + 2
    assert g.log().count("cannot connect: network error: Connection refused") == 1  # once, not per retry
    assert g.statuses()[0][1] == "STATUS=Connecting to the translation service"  # the first attempt


def test_server_5xx_handshakes_back_off_exponentially_with_jitter(start_gadget, sim, report):
    sim.options.refuse_next = 3  # HTTP 503
    g = start_gadget()
    g.daemon.wait_ready()
    g.wait_live(0, timeout=30)
    attempts = [h.at for h in sim.sim.handshakes]
    statuses = [h.status for h in sim.sim.handshakes]
    assert statuses == [503, 503, 503, 101], statuses
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    # Full jitter: the k-th delay is uniform in [0, 0.5 * 2**k] (capped at 10 s); allow 0.5 s of work.
    for k, gap in enumerate(gaps):
        assert gap <= min(FAULT_API["backoff_max_s"], FAULT_API["backoff_initial_s"] * 2 ** k) + 0.5, gaps
    g.say(1.0)
    tally = g.wait_translated(30)
    report(fault="3 handshakes refused with HTTP 503", recovery_s=round(attempts[-1] - attempts[0], 2),
           fed=len(tally.fed), translated=tally.translated, gaps=[round(x, 2) for x in gaps])


def test_half_open_link_is_noticed_within_the_ping_bound_and_speech_during_it_is_not_lost(
        start_gadget, proxy, uplink_env, report):
    # A Wi-Fi-sized send buffer: the dead link pushes back on the daemon's audio within ~2 s, so
    # the pings queue behind it, as they do on the gadget.
    g = start_gadget(api={"url": proxy.url()}, env=uplink_env)
    g.healthy()
    live, connections = g.live_sessions(), proxy.connections
    holed_at = time.monotonic()
    proxy.set_mode("blackhole")  # Wi-Fi gone: no RST, no FIN, nothing in either direction
    g.say(1.5)
    detected_s = g.wait_status("STATUS=Offline", timeout=HALF_OPEN_HOLD_S, since=holed_at) - holed_at
    proxy.wait_connections(connections, timeout=HALF_OPEN_HOLD_S)  # it tries a new connection
    time.sleep(max(0.0, HALF_OPEN_HOLD_S - (time.monotonic() - holed_at)))  # the rest of the fault
    restored_at = time.monotonic()
    proxy.set_mode("pass")
    recovered_s = g.wait_live(live, timeout=20) - restored_at
    tally = g.wait_translated(30)
    report(fault=f"half-open link (black hole) for {HALF_OPEN_HOLD_S:.0f} s, utterance spoken during it",
           detection_s=round(detected_s, 2), recovery_s=round(recovered_s, 2),
           fed=len(tally.fed), translated=tally.translated, duplicates=tally.duplicates)
    assert detected_s <= HALF_OPEN_BOUND_S + 1.0
    assert tally.lost == 0, tally
    assert recovered_s < FAULT_API["backoff_max_s"] + FAULT_API["connect_timeout_s"] + 2


def test_slow_link_still_translates_without_spurious_reconnects(start_gadget, proxy, report):
    proxy.set_mode("delay", delay_s=0.4)  # 0.8 s round trip: a congested mobile link
    g = start_gadget(api={"url": proxy.url()})
    g.daemon.wait_ready()
    g.wait_live(0, timeout=15)
    g.say(1.3, lead_s=0.3)
    tally = g.wait_translated(30)
    report(fault="slow link, 400 ms each way", fed=len(tally.fed), translated=tally.translated)
    assert tally.lost == 0, tally
    assert proxy.connections == 1 and "connection lost" not in g.log()


def test_a_clock_behind_the_certificate_says_so_and_connects_as_soon_as_the_time_is_right(start_gadget, sim, tls,
                                                                                        report):
    """A Pi has no RTC: until NTP runs, a fresh certificate is 'not yet valid'. That is its own state
    (not a generic TLS failure behind a growing backoff), logged once, retried every couple of seconds,
    and the session comes up as soon as the time is right (here: the server's certificate becomes
    valid by our clock, through a real TLS handshake on loopback)."""
    from tests.rig.proxy import FaultProxy

    proxy = FaultProxy("127.0.0.1", sim.sim.port, tls=tls.future)
    try:
        # A backoff this long would leave the gadget offline for tens of seconds after the fix.
        g = start_gadget(api={"url": proxy.url(), "backoff_initial_s": 20.0, "backoff_max_s": 60.0},
                         env={"SSL_CERT_FILE": str(tls.ca_file)})
        g.daemon.wait_ready(timeout=15)
        g.wait_status("STATUS=Clock not set: waiting for time sync", timeout=10)
        time.sleep(3 * CLOCK_RETRY_S)  # several failed attempts: a backoff would have grown by now
        assert g.live_sessions() == 0
        fixed_at = time.monotonic()
        proxy.set_tls(tls.trusted)  # the time sync caught up: the same server's certificate is valid now
        recovered_s = g.wait_live(0, timeout=15) - fixed_at
        g.wait_status_now("STATUS=Ready: listening", timeout=10)
        shown = [line for _, line in g.statuses()]
        code, _ = g.daemon.terminate()  # before the proxy goes: that drop is not this test's
        assert code == 0
    finally:
        proxy.close()
    report(fault="clock behind the certificate (no time sync yet), then set", recovery_s=round(recovered_s, 2))
    log = g.log()
    assert log.count("cannot connect: clock not set") == 1, log  # one journal line, however many retries
    assert not [line for line in shown if "Offline" in line], shown
    assert recovered_s < CLOCK_RETRY_S + scaled(3), f"connected {recovered_s:.1f} s after the clock was right"
    g.assert_status_follows_state()


def test_dns_failure_is_retried_with_backoff_and_named_in_status(start_gadget):
    g = start_gadget(api={"url": "wss://realtime.polybot-test.invalid/v1/realtime"})
    g.daemon.wait_ready(timeout=15)
    g.wait_status("STATUS=Offline: reconnecting (DNS lookup failed", timeout=10)
    code, seconds = g.daemon.terminate()
    assert code == 0 and seconds < 2.0
    log = g.log()
    assert log.count("cannot connect: DNS lookup failed") == 1, log  # once, however many retries
    g.assert_status_follows_state()


def test_untrusted_tls_certificate_is_retried_and_a_trusted_one_connects(start_gadget, sim, tls, report):
    from tests.rig.proxy import FaultProxy

    proxy = FaultProxy("127.0.0.1", sim.sim.port, tls=tls.rogue)
    try:
        g = start_gadget(api={"url": proxy.url()}, env={"SSL_CERT_FILE": str(tls.ca_file)})
        g.daemon.wait_ready(timeout=15)
        g.wait_status("STATUS=Offline: reconnecting (TLS certificate not trusted", timeout=10)
        assert g.live_sessions() == 0
        fixed_at = time.monotonic()
        proxy.set_tls(tls.trusted)
        recovered_s = g.wait_live(0, timeout=20) - fixed_at
        g.say(1.0)
        tally = g.wait_translated(30)
    finally:
        proxy.close()
    report(fault="TLS certificate not trusted, then fixed", recovery_s=round(recovered_s, 2),
           fed=len(tally.fed), translated=tally.translated)
    assert recovered_s < FAULT_API["backoff_max_s"] + 2

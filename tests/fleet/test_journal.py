"""Structured journal: every state change, utterance and fault is an entry with POLYBOT_* fields.

No journald on these machines: the daemon runs as under systemd (JOURNAL_STREAM names its stderr,
so it picks the JournalHandler) and the test stands in for /run/systemd/journal/socket, reading
the native-protocol datagrams journald would have received."""

from __future__ import annotations

import logging

from polybot_device.fleet import journal as fleet_journal
from polybot_device.fleet.journal import NativeSender, parse_native
from tests.rig.fleet import JournalSocket, one_utterance
from tests.rig.timing import eventually


def test_state_utterance_and_fault_entries_carry_queryable_fields(sim, rig, feeder, start_fleet_daemon, journal):
    sim.options.refuse_next = 1
    daemon = start_fleet_daemon(journal=journal, languages=["es", "en"])
    daemon.wait_ready()
    eventually(lambda: any(e["POLYBOT_STATE"] == "listening" for e in journal.events("state")), 10, "listening")
    feeder.feed(one_utterance())
    eventually(lambda: journal.events("utterance"), 30, "an utterance entry")
    sim.options.drop_after_deltas = 2  # the next reply breaks off: a lost connection
    feeder.feed(one_utterance())
    eventually(lambda: any(e["POLYBOT_CAUSE"] == "connection_lost" for e in journal.events("fault")), 30,
               "the connection_lost fault")
    code, _ = daemon.terminate()
    assert code == 0

    states = [e["POLYBOT_STATE"] for e in journal.events("state")]
    assert states[0] in ("starting", "connecting") and "listening" in states and "speaking" in states
    (utterance, *_) = journal.events("utterance")
    assert utterance["POLYBOT_LANGUAGE"] == "en" and utterance["POLYBOT_MODE"] == "conversation"
    assert 0 < float(utterance["POLYBOT_LATENCY_S"]) < 10
    assert utterance["SYSLOG_IDENTIFIER"] == "polybot-device" and utterance["PRIORITY"] == "6"
    faults = journal.events("fault")
    assert [f["POLYBOT_CAUSE"] for f in faults][:1] == ["server_error"]  # the HTTP 503, once
    assert all(f["PRIORITY"] == "4" and f["POLYBOT_STATE"] for f in faults)
    # Transcripts are logged (privacy.log_transcripts defaults to true), but never as fields.
    assert any("translation 1" in e.get("MESSAGE", "") for e in journal.entries)
    assert not any("translation 1" in v for e in journal.events() for k, v in e.items() if k.startswith("POLYBOT_"))
    assert "state:" not in daemon.log()  # stderr is "the journal" here: everything went to the socket


def test_native_protocol_keeps_multiline_values_whole(short_tmp):
    sock = JournalSocket(short_tmp / "j.sock")
    try:
        handler_send = NativeSender(str(sock.path))
        handler_send("two\nlines", POLYBOT_EVENT="fault", PRIORITY="4", CODE_LINE=12)
        eventually(lambda: sock.entries, 5, "the datagram")
        (entry,) = sock.entries
        assert entry == {"MESSAGE": "two\nlines", "POLYBOT_EVENT": "fault", "PRIORITY": "4", "CODE_LINE": "12"}
    finally:
        sock.close()
    assert parse_native(b"A=1\nB\n\x03\x00\x00\x00\x00\x00\x00\x00x\nz\n") == {"A": "1", "B": "x\nz"}


def test_event_helpers_put_fields_on_the_record(caplog):
    with caplog.at_level(logging.INFO, logger="polybot_device.fleet"):
        fleet_journal.utterance("one-way", "de", 0.8421)
        fleet_journal.fault("network", "offline", "network error: No route to host")
    utterance, fault = caplog.records
    fields = (utterance.POLYBOT_EVENT, utterance.POLYBOT_LANGUAGE, utterance.POLYBOT_LATENCY_S)
    assert fields == ("utterance", "de", "0.842")
    assert (fault.POLYBOT_EVENT, fault.POLYBOT_CAUSE, fault.POLYBOT_STATE) == ("fault", "network", "offline")
    assert fault.levelno == logging.WARNING

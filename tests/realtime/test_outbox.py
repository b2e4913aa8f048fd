"""What the gadget keeps of the mic while offline, and re-sends when a session dies."""

from polybot_device.realtime.outbox import Outbox

CHUNK = b"\x00\x01" * 480  # 20 ms at 24 kHz


def test_outage_buffer_keeps_the_newest_audio_and_counts_what_it_dropped():
    box = Outbox(capacity_ms=1000)
    for i in range(75):  # 1.5 s captured while offline
        box.append(bytes([i % 256]) * len(CHUNK))
    assert box.pending_ms == 1000
    assert box.take_dropped_ms() == 500
    chunks = box.take()
    assert chunks[0][0] == 25 and chunks[-1][0] == 74  # the oldest half second went


def test_utterance_in_flight_when_the_session_dies_is_sent_again():
    box = Outbox(capacity_ms=15000, lead_ms=300)
    for _ in range(100):  # 2 s of silence, sent
        box.append(CHUNK)
    box.take()
    box.utterance_started(2000)
    for _ in range(50):  # 1 s of speech, sent
        box.append(CHUNK)
    box.take()
    box.session_lost()
    # The utterance plus its 300 ms lead come back; the older silence does not.
    assert 1300 <= box.pending_ms <= 1340


def test_answered_utterances_are_not_sent_again():
    box = Outbox(capacity_ms=15000, lead_ms=300)
    box.utterance_started(0)
    for _ in range(50):
        box.append(CHUNK)
    box.take()
    box.utterance_answered()
    box.session_lost()
    assert box.pending_ms <= 320

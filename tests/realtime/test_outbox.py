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
    box.utterance_ended(1000)
    box.utterance_answered()
    box.session_lost()
    assert box.pending_ms == 0


def send(box, ms):
    for _ in range(ms // 20):
        box.append(CHUNK)
    box.take()


def test_audio_the_server_never_confirmed_is_sent_again():
    # A half-open link: audio goes into the socket for seconds before the pings notice.
    box = Outbox(capacity_ms=15000, lead_ms=300)
    send(box, 2000)
    box.server_heard(2000)  # a pong after the first 2 s
    send(box, 3000)         # swallowed by the dead link: the person spoke, the server never heard
    box.session_lost()
    assert box.pending_ms == 3300  # the unconfirmed 3 s and the lead before them


def test_the_lead_before_an_utterance_never_reaches_back_into_an_answered_one():
    box = Outbox(capacity_ms=15000, lead_ms=1000)
    box.utterance_started(0)
    send(box, 1500)
    box.utterance_ended(1500)
    box.utterance_answered()  # translated; the next utterance follows 200 ms later
    send(box, 200)
    box.utterance_started(1700)
    send(box, 500)
    box.session_lost()
    assert box.pending_ms == 700  # from the end of the answered one, not 1 s before the new one


def test_unconfirmed_audio_is_bounded_by_the_capacity():
    box = Outbox(capacity_ms=1000, lead_ms=300)
    send(box, 5000)
    box.session_lost()
    assert box.pending_ms == 1000


def test_an_outage_buffer_of_zero_still_sends_live_audio():
    # audio.outage_buffer_s: 0 (its documented minimum) means "keep nothing while offline",
    # not "send nothing": the chunks the mic delivers between two sends must get through.
    box = Outbox(capacity_ms=0)
    box.append(CHUNK)
    box.append(CHUNK)
    assert box.take() == [CHUNK, CHUNK]
    for _ in range(100):  # 2 s while offline: only the live slack is kept
        box.append(CHUNK)
    assert box.pending_ms <= 500


def test_interpreter_audio_the_server_translated_is_not_sent_again():
    box = Outbox(capacity_ms=15000, lead_ms=1000)
    send(box, 3000)
    box.server_heard(2000)       # a pong
    box.input_translated(2400)   # the deltas' elapsed_ms: translated up to 2.4 s
    box.session_lost()
    assert box.pending_ms == 600  # only what was not translated yet; no lead before it


def test_a_translated_position_past_what_was_sent_counts_only_what_was_sent():
    box = Outbox(capacity_ms=15000)
    send(box, 1000)
    box.input_translated(10**9)
    send(box, 400)
    box.session_lost()
    assert box.pending_ms == 400

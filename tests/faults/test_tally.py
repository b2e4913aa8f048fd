"""The fault tests' books, with plain values: an utterance counts as translated only when an answer
of the length the server could hear came back."""

from tests.faults.gadget import tally


def test_an_answer_shorter_than_what_was_said_means_the_daemon_lost_part_of_it():
    books = tally([2.0], [17])
    assert books.lost == 1 and books.spurious == [17]


def test_speech_the_rig_itself_could_not_deliver_is_not_counted_against_the_daemon():
    books = tally([0.8, 2.0], [8, 17], rig_lost_s=[0.0, 0.3])
    assert books.lost == 0 and books.translated == 2 and not books.spurious


def test_the_rig_losing_some_speech_does_not_excuse_a_daemon_that_lost_more():
    books = tally([2.0], [12], rig_lost_s=[0.3])
    assert books.lost == 1 and books.spurious == [12]


def test_an_utterance_answered_twice_is_a_duplicate():
    books = tally([1.4], [14, 14])
    assert books.translated == 1 and books.duplicates == 1

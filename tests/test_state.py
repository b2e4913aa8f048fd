"""The one status model, with plain values: which state the LEDs and STATUS= show for which facts,
and who is told when."""

import pytest

from polybot_device.state import Activity, Facts, Link, State, StatusModel, derive_state

UP = dict(started=True, link=Link.UP)


@pytest.mark.parametrize("facts,shown", [
    (Facts(), State.STARTING),
    # Until the daemon has started, nothing else is news (the mic and link are not known yet).
    (Facts(started=False, link=Link.AUTH_ERROR, mic_present=False), State.STARTING),
    (Facts(started=True), State.CONNECTING),  # never connected yet
    (Facts(started=True, link=Link.CONNECTING), State.CONNECTING),
    (Facts(**UP), State.LISTENING),
    (Facts(**UP, activity=Activity.HEARING), State.HEARING),
    (Facts(**UP, activity=Activity.SPEAKING), State.SPEAKING),
    (Facts(started=True, link=Link.OFFLINE), State.OFFLINE),
    # The person is still talking when the link drops: the outage is what they must know.
    (Facts(started=True, link=Link.OFFLINE, activity=Activity.HEARING), State.OFFLINE),
    # Audio already received keeps playing through a drop: show what the person hears.
    (Facts(started=True, link=Link.OFFLINE, activity=Activity.SPEAKING), State.SPEAKING),
    # Faults a person must fix outrank everything the gadget is doing.
    (Facts(**UP, mic_present=False, activity=Activity.SPEAKING), State.MIC_MISSING),
    (Facts(**UP, speaker_present=False, activity=Activity.SPEAKING), State.SPEAKER_MISSING),
    (Facts(**UP, mic_present=False, speaker_present=False), State.MIC_MISSING),
    (Facts(started=True, link=Link.OFFLINE, mic_present=False), State.MIC_MISSING),
    (Facts(started=True, link=Link.AUTH_ERROR, mic_present=False), State.AUTH_ERROR),
    (Facts(started=True, link=Link.AUTH_ERROR, activity=Activity.SPEAKING), State.AUTH_ERROR),
    # Nothing can be heard: not "Ready", whatever the link and the conversation are doing.
    (Facts(**UP, speaker_present=False), State.SPEAKER_MISSING),
    (Facts(**UP, speaker_present=False, activity=Activity.SPEAKING), State.SPEAKER_MISSING),
    (Facts(started=True, link=Link.OFFLINE, speaker_present=False), State.SPEAKER_MISSING),
    (Facts(**UP, mic_present=False, speaker_present=False), State.MIC_MISSING),
    # A key that cannot even be sent is its own state, never "Offline".
    (Facts(started=True, link=Link.KEY_UNUSABLE, mic_present=False), State.KEY_UNUSABLE),
    # The clock is behind the certificate: not an outage, its own state (and LED pattern).
    (Facts(started=True, link=Link.CLOCK_UNSET), State.CLOCK_UNSET),
    (Facts(started=True, link=Link.CLOCK_UNSET, mic_present=False), State.MIC_MISSING),
])
def test_the_shown_state_follows_one_priority_rule(facts, shown):
    assert derive_state(facts) is shown


def test_every_state_has_its_own_status_words():
    words = [state.words for state in State]
    assert all(words) and len(set(words)) == len(words)
    assert State.LISTENING.words == "Ready: listening"  # what systemctl status and the fault tests read


def test_a_listener_hears_the_state_at_once_and_then_only_its_changes():
    model = StatusModel()
    heard = []
    model.subscribe(lambda state, facts: heard.append(state))
    assert heard == [State.STARTING]
    model.update(started=True, link=Link.UP)
    model.update(detail="session 2")  # a fact changed, the shown state did not: no blink restarts
    model.update(link=Link.UP)  # nothing changed at all
    model.update(activity=Activity.HEARING)
    model.update(activity=Activity.IDLE)
    assert heard == [State.STARTING, State.LISTENING, State.HEARING, State.LISTENING]
    assert model.state is State.LISTENING and model.facts.detail == "session 2"


def test_a_listener_gets_the_facts_behind_the_state():
    model = StatusModel()
    seen = []
    model.subscribe(lambda state, facts: seen.append(facts))
    model.update(started=True, link=Link.OFFLINE, detail="network error: Connection refused")
    assert seen[-1].detail == "network error: Connection refused" and seen[-1].link is Link.OFFLINE


def test_a_broken_listener_does_not_silence_the_others_and_an_unsubscribed_one_hears_nothing(caplog):
    model = StatusModel()
    heard, gone = [], []

    def broken(state, facts):
        if state is not State.STARTING:
            raise RuntimeError("LED driver gone")

    def leaving(state, facts):
        gone.append(state)

    model.subscribe(broken)
    model.subscribe(lambda state, facts: heard.append(state))
    model.subscribe(leaving)
    model.unsubscribe(leaving)
    model.update(started=True, link=Link.UP)
    assert heard == [State.STARTING, State.LISTENING]
    assert gone == [State.STARTING]
    assert "LED driver gone" in caplog.text


def test_the_missing_mics_reason_outranks_the_speakers_and_the_other_reason_stays_when_one_returns():
    status = StatusModel()
    status.update(started=True, link=Link.UP)
    status.device(False, "speaker gone", speaker=True)
    assert (status.state, status.facts.detail) == (State.SPEAKER_MISSING, "speaker gone")
    status.device(False, "mic gone", speaker=False)
    status.device(False, "speaker still gone", speaker=True)
    assert (status.state, status.facts.detail) == (State.MIC_MISSING, "mic gone")
    status.device(True, "", speaker=True)
    assert (status.state, status.facts.detail) == (State.MIC_MISSING, "mic gone")
    status.device(True, "", speaker=False)
    assert (status.state, status.facts.detail) == (State.LISTENING, "")


def test_a_detail_passes_the_redactor_on_its_way_to_every_status_output():
    model = StatusModel()
    model.update(started=True, link=Link.OFFLINE,
                 detail="InvalidHeaderValue: invalid Authorization header: Bearer sk-leaked-0123456789\nforged")
    assert "sk-leaked" not in model.facts.detail and "\n" not in model.facts.detail
    assert model.facts.detail.endswith("[redacted]\\nforged")

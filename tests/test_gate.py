"""The gate between the mic and the server, with plain values: no audio device, no clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from polybot_device.config import parse_config
from polybot_device.gate import PREROLL_CHUNKS, GateSettings, MicGate, Route


@dataclass
class Speaker:
    playing: bool = False
    quiet_s: float = float("inf")

    def is_playing(self) -> bool:
        return self.playing

    def quiet_for_s(self) -> float:
        return self.quiet_s


class NotAsked:
    """A speaker the gate must not consult (its rules do not need it)."""

    def is_playing(self) -> bool:
        raise AssertionError("the speaker was asked")

    def quiet_for_s(self) -> float:
        raise AssertionError("the speaker was asked")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def gate(echo_gate=True, tail_s=0.3, hold_to_talk=False, streaming=False, clock=None) -> MicGate:
    g = MicGate(GateSettings(echo_gate, tail_s, hold_to_talk), clock or Clock())
    g.streaming = streaming
    return g


def test_settings_come_from_the_config():
    config = parse_config({"audio": {"echo_gate": False, "echo_tail_ms": 450},
                           "controls": {"button": {"hold_to_talk": True}}})
    assert GateSettings.from_config(config) == GateSettings(echo_gate=False, echo_tail_s=0.45, hold_to_talk=True)


def test_the_mic_is_sent_while_the_speaker_is_quiet():
    assert gate().route(b"a", Speaker()) is Route.SEND


@pytest.mark.parametrize("speaker", [Speaker(playing=True, quiet_s=0.0), Speaker(quiet_s=0.29)])
def test_our_own_voice_and_its_echo_are_kept_from_the_server(speaker):
    assert gate(tail_s=0.3).route(b"a", speaker) is Route.DROP


def test_after_the_echo_tail_the_mic_is_sent_again():
    assert gate(tail_s=0.3).route(b"a", Speaker(quiet_s=0.3)) is Route.SEND


def test_without_the_echo_gate_the_mic_is_sent_over_the_speaker_and_the_speaker_is_not_asked():
    assert gate(echo_gate=False).route(b"a", NotAsked()) is Route.SEND


def test_interpreter_mode_gets_silence_instead_of_a_gap():
    assert gate(streaming=True).route(b"a", Speaker(playing=True)) is Route.SILENCE
    assert gate(streaming=True).route(b"a", Speaker()) is Route.SEND


def test_hold_to_talk_sends_nothing_until_the_button_is_held_and_does_not_ask_the_speaker():
    g = gate(hold_to_talk=True)
    assert g.waiting_for_talk
    assert [g.route(bytes([i]), NotAsked()) for i in range(3)] == [Route.DROP] * 3


def test_the_words_said_before_a_press_counted_as_talk_are_handed_over():
    clock = Clock()
    g = gate(hold_to_talk=True, clock=clock)
    for i in range(5):
        clock.now = 100.0 + i * 0.02
        g.route(bytes([i]), Speaker())
    pressed_at = 100.04  # the press began two chunks before it counted as talk
    assert g.start_talking(since=pressed_at) == [bytes([2]), bytes([3]), bytes([4])]
    assert not g.waiting_for_talk
    assert g.route(b"x", Speaker()) is Route.SEND


def test_the_pre_roll_is_bounded_and_keeps_the_newest():
    clock = Clock()
    g = gate(hold_to_talk=True, clock=clock)
    for i in range(PREROLL_CHUNKS + 10):
        g.route(i.to_bytes(2, "big"), Speaker())
    held = g.start_talking(since=0.0)
    assert len(held) == PREROLL_CHUNKS
    assert held[0] == (10).to_bytes(2, "big") and held[-1] == (PREROLL_CHUNKS + 9).to_bytes(2, "big")


def test_a_press_without_a_start_time_hands_over_nothing():
    g = gate(hold_to_talk=True)
    g.route(b"a", Speaker())
    assert g.start_talking(since=None) == []
    assert g.talking


def test_releasing_the_button_shuts_the_mic_again_and_forgets_the_pre_roll():
    g = gate(hold_to_talk=True)
    g.route(b"before the first press", Speaker())
    g.start_talking(since=None)
    assert g.route(b"said while held", Speaker()) is Route.SEND
    g.stop_talking()
    assert g.route(b"after", Speaker()) is Route.DROP
    assert g.start_talking(since=0.0) == [b"after"]  # not what came before, nor what was sent


def test_the_echo_gate_still_applies_while_the_button_is_held():
    g = gate(hold_to_talk=True)
    g.start_talking(since=None)
    assert g.route(b"a", Speaker(playing=True)) is Route.DROP


def test_hold_to_talk_does_not_apply_to_interpreter_mode():
    g = gate(hold_to_talk=True, streaming=True)
    assert not g.waiting_for_talk
    assert g.route(b"a", Speaker()) is Route.SEND

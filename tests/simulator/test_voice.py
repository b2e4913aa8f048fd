"""The simulator's voice is recognisable: one beep per utterance number, loud enough to find."""

from __future__ import annotations

import numpy as np

from polybot_device.simulator.voice import beeps, response_ms

from .helpers import rms_dbfs


def test_answers_are_audible_beeps_one_per_utterance_number() -> None:
    assert response_ms(1000) == 800 and response_ms(100) == 400 and response_ms(60_000) == 4000
    for number in (1, 3, 5):
        pcm = beeps(number, 1500)
        assert len(pcm) == 1500 * 48 and rms_dbfs(pcm) > -20
        envelope = np.abs(np.frombuffer(pcm, dtype="<i2")) > 1000
        smoothed = np.convolve(envelope, np.ones(240), mode="same") > 0
        onsets = np.count_nonzero(smoothed[1:] & ~smoothed[:-1]) + int(smoothed[0])
        assert onsets == number

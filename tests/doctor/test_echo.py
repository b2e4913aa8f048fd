"""The echo arithmetic with plain numbers: a known sentence, a known delay, chunks with known times."""

from __future__ import annotations

import numpy as np

from polybot_device.doctor.echo import Captured, Echo, measure, recommend_tail_ms, recommend_volume
from polybot_device.doctor.sound import sentence_pcm

RATE = 24000
CHUNK = 480  # 20 ms


def sentence() -> np.ndarray:
    return np.frombuffer(sentence_pcm(), "<i2").astype(np.float32) / 32768


def mic_stream(reference: np.ndarray, delay_s: float, gain: float, seconds: float = 4.0, noise: float = 1e-3,
               start: float = 100.0) -> Captured:
    """A mic that hears ``reference`` (played from t=start+0.5 on the speaker's clock) ``delay_s``
    later, in 20 ms chunks that each arrive at the time their last sample was captured."""
    rng = np.random.default_rng(3)
    samples = (noise * rng.standard_normal(int(seconds * RATE))).astype(np.float32)
    at = int((0.5 + delay_s) * RATE)
    samples[at:at + len(reference)] += gain * reference
    chunks = [(start + (i + CHUNK) / RATE, samples[i:i + CHUNK]) for i in range(0, len(samples), CHUNK)]
    return Captured.of(chunks, RATE)


def test_the_delay_and_the_tail_are_read_off_the_mic_chunks():
    reference = sentence()
    echo = measure(reference, mic_stream(reference, 0.35, 0.3), played_from=100.5, noise_rms=1e-3)
    assert echo.heard and echo.correlation > 0.9
    assert abs(echo.delay_ms - 350) <= 1
    assert 350 <= echo.tail_ms <= 350 + 20  # the last echo chunk's arrival: at most a chunk later
    assert abs(echo.coupling_db - 20 * np.log10(0.3)) < 0.5


def test_an_echo_that_rings_on_makes_the_tail_longer_than_the_delay():
    reference = sentence()
    captured = mic_stream(reference, 0.1, 0.5)
    end = int((0.5 + 0.1) * RATE) + len(reference)
    captured.samples[end:end + int(0.4 * RATE)] += 0.02 * np.sin(np.arange(int(0.4 * RATE)) * 0.3)  # reverb
    echo = measure(reference, captured, played_from=100.5, noise_rms=1e-3)
    assert abs(echo.delay_ms - 100) <= 1
    assert 480 <= echo.tail_ms <= 540


def test_noise_alone_is_not_an_echo():
    reference = sentence()
    echo = measure(reference, mic_stream(reference, 0.2, 0.0, noise=0.05), played_from=100.5, noise_rms=0.05)
    assert not echo.heard


def test_a_faint_echo_under_the_room_noise_is_not_heard():
    reference = sentence()
    echo = measure(reference, mic_stream(reference, 0.2, 0.001, noise=0.01), played_from=100.5, noise_rms=0.01)
    assert not echo.heard


def test_the_suggested_tail_is_the_measured_one_plus_a_margin_in_50_ms_steps():
    assert recommend_tail_ms(Echo(True, 0.9, delay_ms=300, tail_ms=320)) == 450
    assert recommend_tail_ms(Echo(True, 0.9, delay_ms=0, tail_ms=0)) == 100
    assert recommend_tail_ms(Echo(False, 0.05)) == 100
    assert recommend_tail_ms(Echo(True, 0.9, delay_ms=6000, tail_ms=6000)) == 5000  # the config's maximum


def test_the_volume_goes_down_when_the_echo_clips_and_up_when_it_is_faint():
    assert recommend_volume(100, Echo(True, 0.9, peak_dbfs=-0.1))[0] == 70
    assert recommend_volume(20, Echo(True, 0.9, peak_dbfs=-42.0))[0] == 70  # 22 dB louder: x3.55
    assert recommend_volume(100, Echo(True, 0.9, peak_dbfs=-50.0))[0] == 100
    assert recommend_volume(80, Echo(True, 0.9, peak_dbfs=-12.0)) == (80, "the echo peaks at -12 dBFS at the mic: "
                                                                          "the volume is fine")
    assert recommend_volume(60, Echo(False, 0.1))[0] == 60

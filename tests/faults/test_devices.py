"""Device faults through the real libasound: the USB mic pulled out mid-speech and plugged back,
the speaker pulled out mid-translation, overruns; a gadget that boots with its mic unplugged and
no network. The unplug shim (tests/rig/unplug_shim.c) makes libasound itself fail the way a
vanished USB device does, inside the daemon subprocess."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from polybot_device.audio.filerig import read_speaker
from tests.rig.timing import eventually, scaled
from tests.rig.unplug import shim_env

pytestmark = pytest.mark.faults

MIC_MISSING = "STATUS=Microphone missing"
SPEAKER_MISSING = "STATUS=Speaker not working"



def wait_log(g, text: str, seen: int, timeout: float) -> None:
    """The daemon's log is a file: look until it holds ``text`` more than ``seen`` times."""
    eventually(lambda: g.log().count(text) > seen, timeout, f"{text!r} in the daemon's log ({seen} times before)")


def test_mic_unplugged_mid_speech_is_mic_missing_and_translation_resumes_when_it_is_back(
        start_gadget, unplug_shim, rig, tmp_path, report):
    flag = tmp_path / "mic-unplugged"
    g = start_gadget(env=shim_env(unplug_shim, flag, stream="capture", base={}))
    g.feeder_fifo = rig.fifo
    g.healthy()
    started = g.speech_started()
    g.say(2.0)  # pulled out a moment after the person starts: the rest of it is never captured
    g.wait_speaking(started)
    unplugged_at = time.monotonic()
    flag.touch()
    missing_s = g.wait_status(MIC_MISSING, timeout=5, since=unplugged_at) - unplugged_at
    # What was said before the mic vanished is translated now, not when it comes back.
    g.sim.wait_for(lambda: len(g.answered()) >= 2, timeout=10)
    assert g.feeder.wait_idle(scaled(10))  # the rest of the utterance went into a mic that is not there
    drain_fifo(g.feeder_fifo)
    replugged_at = time.monotonic()
    flag.unlink()
    back_s = g.wait_status("STATUS=Ready: listening", timeout=10, since=replugged_at) - replugged_at
    g.forget(1)  # the cut utterance: its translation is of what the mic heard, shorter by design
    g.say(1.4)
    tally = g.wait_translated(30)
    report(fault="USB mic unplugged mid-speech for ~3 s, then plugged back", detection_s=round(missing_s, 2),
           recovery_s=round(back_s, 2), fed=len(tally.fed), translated=tally.translated)
    assert missing_s < 2.0
    assert back_s < 3.0  # the open is retried every second
    assert tally.lost == 0, tally
    code, _ = g.daemon.terminate()
    assert code == 0
    log = g.log()
    assert log.count("polybot_device.audio.capture: microphone 'polybot_mic' stopped working") == 1  # not per retry
    g.assert_status_follows_state()
    assert "Traceback" not in log


def test_gadget_booting_with_the_mic_unplugged_and_no_network_is_ready_and_says_so(
        start_gadget, unplug_shim, proxy, rig, tmp_path, report):
    flag = tmp_path / "mic-unplugged"
    flag.touch()
    proxy.set_mode("refuse")
    drain = rig.fifo
    started_at = time.monotonic()
    g = start_gadget(env=shim_env(unplug_shim, flag, stream="capture", base={}), api={"url": proxy.url()})
    g.daemon.wait_ready(timeout=15)
    ready_s = time.monotonic() - started_at
    g.wait_status(MIC_MISSING, timeout=5)
    drain_fifo(drain)
    plugged_at = time.monotonic()
    flag.unlink()
    g.wait_status("STATUS=Offline: reconnecting", timeout=5, since=plugged_at)  # next fault in line
    proxy.set_mode("pass")
    g.wait_live(0, timeout=15)
    g.say(1.2)
    tally = g.wait_translated(30)
    report(fault="boot with the mic unplugged and no network", ready_s=round(ready_s, 2), fed=len(tally.fed),
           translated=tally.translated)
    assert tally.lost == 0, tally


def test_speaker_unplugged_mid_translation_recovers_and_plays_the_next_one(
        start_gadget, unplug_shim, sim, rig, tmp_path, report):
    flag = tmp_path / "speaker-unplugged"
    g = start_gadget(env=shim_env(unplug_shim, flag, stream="playback", base={}))
    g.healthy()
    sim.options.pace = 1.0  # the answer streams in real time: there is a "mid-translation"
    spoken = len([1 for _, line in g.statuses() if line == "STATUS=Speaking the translation"])
    g.say(2.0)
    g.daemon.notify.wait_for(lambda lines: lines.count("STATUS=Speaking the translation") > spoken, 20)
    unplugged_at = time.monotonic()
    flag.touch()
    wait_log(g, "speaker 'polybot_speaker' stopped working", 0, timeout=5)
    # Not stuck "speaking" into a speaker that is not there: the state says the speaker is
    # missing, and the rest of the translation, with nowhere to go, neither flips STATUS again
    # nor shuts the mic.
    missing_s = g.wait_status(SPEAKER_MISSING, timeout=10, since=unplugged_at) - unplugged_at
    g.sim.wait_for(lambda: g.tally().lost == 0, timeout=30)
    after = [line for t, line in g.statuses() if t > unplugged_at]
    assert len(after) == 1 and after[0].startswith(SPEAKER_MISSING) and "No such device" in after[0], after
    g.say(1.1)  # spoken while the speaker is still missing
    g.sim.wait_for(lambda: g.tally().lost == 0, timeout=30)
    opened = g.log().count("speaker 'polybot_speaker' open")
    replugged_at = time.monotonic()
    flag.unlink()
    wait_log(g, "speaker 'polybot_speaker' open", opened, timeout=5)  # logged again when it is back
    back_s = time.monotonic() - replugged_at
    g.wait_status("STATUS=Ready: listening", timeout=5, since=replugged_at)
    before = rig.speaker_raw.stat().st_size
    g.forget(1)  # the translation that was playing when the speaker went: cut, by nature
    g.say(1.4)
    tally = g.wait_translated(30)
    code, _ = g.daemon.terminate()  # closing the PCM flushes what the rig's file plugin held back
    assert code == 0
    played = read_speaker(rig.speaker_raw, rig.speaker_rate, 1)[before // 2:, 0]
    loud_s = np.count_nonzero(np.abs(played) > 2000) / rig.speaker_rate
    report(fault="speaker unplugged mid-translation, then plugged back", shown_s=round(missing_s, 2),
           recovery_s=round(back_s, 2),
           fed=len(tally.fed), translated=tally.translated, heard_after_s=round(loud_s, 2))
    assert missing_s < 5.0
    assert back_s < 3.0
    assert tally.lost == 0, tally
    assert loud_s > 0.4, "the translation after the replug was not heard"
    assert g.log().count("polybot_device.audio.playback: speaker 'polybot_speaker' stopped working") == 1


def drain_fifo(fifo: Path) -> int:
    """Throw away what the feeder wrote into the mic FIFO while the mic was "unplugged": a real
    USB mic captures nothing then, but the pipe keeps the first periods written after the reader
    stopped, and a re-opened PCM would read them as stale speech."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    drained = 0
    try:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            drained += len(chunk)
    finally:
        os.close(fd)
    return drained


def prometheus_value(path: Path, name: str, **labels: str) -> float | None:
    if not path.exists():
        return None
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(want)}\}} (\S+)$", path.read_text(), re.M)
    return float(match.group(1)) if match else None


def test_mic_overruns_during_speech_are_counted_and_lose_no_utterance(start_gadget, unplug_shim, tmp_path, report):
    xrun = tmp_path / "xrun"
    metrics = tmp_path / "polybot.prom"
    g = start_gadget(env=shim_env(unplug_shim, tmp_path / "never", stream="capture", xrun_flag=xrun, base={}),
                     metrics={"textfile": str(metrics), "interval_s": 1.0})
    g.healthy()
    started = g.speech_started()
    g.say(2.0)
    g.wait_speaking(started)
    overruns = 5
    for n in range(overruns):  # one overrun each time the flag is consumed by a read
        xrun.touch()
        eventually(lambda: not xrun.exists(), 2, f"the daemon's mic read to consume overrun {n + 1}")
    tally = g.wait_translated(30)
    eventually(lambda: prometheus_value(metrics, "polybot_audio_xruns_total", stream="mic"), 5,
               f"{overruns} mic xruns in the metrics file", until=lambda n: (n or 0) >= overruns)
    report(fault=f"{overruns} ALSA overruns (EPIPE) mid-utterance", fed=len(tally.fed), translated=tally.translated)
    assert tally.lost == 0, tally

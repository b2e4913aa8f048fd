"""Privacy: with privacy.log_transcripts off nothing people said reaches the logs, and the daemon
never writes audio to disk (only the rig's configured speaker output receives it)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

from polybot_device.config import load_config
from tests.rig.daemon import REPO
from tests.rig.fleet import one_utterance
from tests.rig.timing import eventually, scaled


def test_kiosk_config_turns_transcripts_off():
    config = load_config(REPO / "config" / "polybot.kiosk.yaml")
    assert config.privacy.log_transcripts is False
    assert config.api.transcription_model is None


def test_no_transcript_text_in_the_logs_when_log_transcripts_is_off(sim, rig, feeder, start_fleet_daemon, journal):
    daemon = start_fleet_daemon(journal=journal, privacy={"log_transcripts": False}, logging={"level": "debug"})
    daemon.wait_ready()
    feeder.feed(one_utterance())
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    eventually(lambda: journal.events("utterance"), 10, "the utterance entry")
    code, _ = daemon.terminate()
    assert code == 0
    # What the simulator said was heard and what it answered (see simulator/voice.py):
    session = sim.sim.sessions[-1]
    said = [e.get("transcript") for e in session.events_sent
            if e["type"] in ("conversation.item.input_audio_transcription.completed",
                             "response.output_audio_transcript.done")]
    assert any("translation 1" in (t or "") for t in said)  # there was text to leak
    everything = daemon.log() + journal.text()
    for text in filter(None, said):
        assert text not in everything
    assert "translation 1" not in everything and "utterance 1 (" not in everything
    assert journal.events("utterance")  # the fact that a translation happened is still logged


def _written_files(pid: int) -> set[str]:
    """Regular files ``pid`` and its children hold open for writing right now."""
    found = set()
    for p in [pid, *_children(pid)]:
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{p}/fd/{fd}")
                info = Path(f"/proc/{p}/fdinfo/{fd}").read_text()
            except OSError:
                continue
            match = re.search(r"^flags:\s+([0-7]+)", info, re.M)
            if target.startswith("/") and match and int(match.group(1), 8) & (os.O_WRONLY | os.O_RDWR):
                found.add(target)
    return found


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def played_out(lines: list[str]) -> bool:
    """STATUS says listening again after it said speaking."""
    speaking = "STATUS=Speaking the translation"
    return speaking in lines and "STATUS=Ready: listening" in lines[lines.index(speaking):]


def test_no_audio_file_is_written_by_the_daemon(sim, rig, feeder, start_fleet_daemon, tmp_path):
    prom = tmp_path / "metrics" / "polybot.prom"
    prom.parent.mkdir()
    daemon = start_fleet_daemon(metrics={"textfile": str(prom), "interval_s": 1.0})
    before = _tree(tmp_path)
    written: set[str] = set()
    stop = threading.Event()

    def audit():  # every 10 ms while the daemon runs: a recording would be open far longer
        while not stop.is_set():
            written.update(_written_files(daemon.proc.pid))
            time.sleep(0.01)

    auditor = threading.Thread(target=audit, daemon=True)
    auditor.start()
    try:
        daemon.wait_ready()
        feeder.feed(one_utterance())
        sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
        daemon.notify.wait_for(played_out, 15)  # the reply plays out...
        eventually(prom.exists, 5, "the metrics file")  # ...and the metrics are written
        code, _ = daemon.terminate()
    finally:
        stop.set()
        auditor.join(scaled(5))
    assert code == 0
    assert rig.read_speaker().size > 0  # audio did flow, to the configured test output only
    allowed = {str(rig.speaker_raw), str(daemon.stderr_path), "/dev/null"}
    unexpected = {p for p in written - allowed
                  if not p.endswith(".pyc") and not p.startswith(str(daemon.runtime_dir) + "/")
                  and not p.startswith(str(prom.parent) + "/")}
    assert not unexpected, f"the daemon wrote to {unexpected}"
    assert str(rig.speaker_raw) in written  # the audit does see what the daemon writes
    # Every file under the test's directories that appeared or changed during the run:
    after = _tree(tmp_path)
    changed = {p for p, v in after.items() if before.get(p) != v}
    ledger = daemon.runtime_dir / "cost-today.json"  # a date and today's cost estimate, kept for a restart
    assert changed <= {str(rig.speaker_raw), str(daemon.stderr_path), str(ledger)}, changed
    assert set(json.loads(ledger.read_text())) == {"day", "today"}
    assert not any(p.endswith((".wav", ".raw", ".pcm")) for p in set(after) - {str(rig.speaker_raw)})

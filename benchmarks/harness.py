"""The rig the benchmarks run on: FIFO-paced libasound mic and file speaker, the simulator on
loopback (in this process), and the daemon under test as a subprocess.

The daemon is a subprocess so that its CPU and memory are its own: ``/proc/<pid>/stat``
utime+stime and ``/proc/<pid>/status`` VmHWM, with the mic feeder and the simulator (this
process) not counted. Latency marks come from ``polybot_device.trace`` in the daemon (the file
named by POLYBOT_TRACE_FILE, written at exit) and from this process's own clock at the points
the daemon cannot see: when the feeder wrote a mic period, when the simulator's audio delta left
its socket. Both sides use CLOCK_MONOTONIC, so the times compare directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from polybot_device.audio.filerig import FileRig, MicFeeder  # noqa: E402
from polybot_device.simulator import SimulatorOptions  # noqa: E402
from polybot_device.simulator.connection import SimConnection  # noqa: E402
from polybot_device.simulator.conversation import ConversationSession  # noqa: E402
from polybot_device.simulator.session import BaseSession  # noqa: E402
from tests.rig.daemon import NotifySocket, SimulatorThread  # noqa: E402

MIC_RATE, MIC_CHANNELS = 48000, 2
SPEAKER_RATE, SPEAKER_CHANNELS = 48000, 2
SUBJECTS = {
    "ours": [sys.executable, "-m", "polybot_device", "run", "--config"],
    "ours-ungated": [sys.executable, "-m", "polybot_device", "run", "--config"],
    "baseline": [sys.executable, str(REPO / "benchmarks" / "baseline.py"), "run", "--config"],
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- what the simulator did, on its own clock ------------------------------------------------------

class SimClock:
    """Instruments the simulator classes (this process only): the time each audio delta's frame
    was written to the socket, and the time each utterance was committed."""

    deltas: list[tuple[str, float]] = []  # (item_id, monotonic after the frame was written)
    commits: list[float] = []
    appends: list[tuple[float, int]] = []  # (monotonic on arrival, bytes) per audio append message

    @classmethod
    def install(cls) -> None:
        if getattr(SimConnection, "_bench_installed", False):
            return
        send, commit, receive = SimConnection.send, ConversationSession._commit, BaseSession._receive

        async def timed_send(self, message, text=None):  # type: ignore[no-untyped-def]
            await send(self, message, text=text)
            if isinstance(message, str) and '"type":"response.output_audio.delta"' in message[:120]:
                cls.deltas.append((json.loads(message)["item_id"], time.monotonic()))

        async def timed_commit(self, voiced_ms):  # type: ignore[no-untyped-def]
            cls.commits.append(time.monotonic())
            await commit(self, voiced_ms)

        async def counted_receive(self, message):  # type: ignore[no-untyped-def]
            if isinstance(message, str) and 'input_audio_buffer.append"' in message[:80]:
                cls.appends.append((time.monotonic(), len(message)))
            await receive(self, message)

        BaseSession._receive = counted_receive  # type: ignore[method-assign]
        SimConnection.send = timed_send  # type: ignore[method-assign]
        ConversationSession._commit = timed_commit  # type: ignore[method-assign]
        SimConnection._bench_installed = True  # type: ignore[attr-defined]

    @classmethod
    def reset(cls) -> None:
        cls.deltas.clear()
        cls.commits.clear()
        cls.appends.clear()

    @classmethod
    def upstream_bytes(cls, since: float, until: float) -> int:
        """Audio append messages received between the two times, in bytes (as on the wire, before
        WebSocket framing)."""
        return sum(n for t, n in list(cls.appends) if since <= t <= until)


def start_simulator(**options: object) -> SimulatorThread:
    SimClock.install()
    SimClock.reset()
    return SimulatorThread(SimulatorOptions(record_audio=False, **options))  # type: ignore[arg-type]


async def _keep_talking(sim: SimulatorThread, voiced_ms: int, every_s: float | None) -> None:
    """Stand in for a server that always has more to say (uses the simulator's internals: this is
    a load generator, not a test). ``every_s``: start a reply that often (a reply lasts
    0.8 x voiced_ms, so the speaker never runs dry while the socket carries bursts, and audio in
    equals audio played); None: keep one reply queued behind the one streaming."""
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        for session in list(sim.sim._open):
            if not isinstance(session, ConversationSession):
                continue
            due = loop.time() >= next_at if every_s is not None else len(session.responses) < 2
            if due:
                session.last_voiced_ms = voiced_ms
                session._start_response()
                next_at += every_s or 0.0
        await asyncio.sleep(0.01)


def keep_talking(sim: SimulatorThread, voiced_ms: int = 5000, every_s: float | None = None):  # -> Future
    """Runs until the returned concurrent future is cancelled."""
    return asyncio.run_coroutine_threadsafe(_keep_talking(sim, voiced_ms, every_s), sim.loop)


# -- the mic ------------------------------------------------------------------------------------

class TimedFeeder(MicFeeder):
    """MicFeeder that notes when each period of fed (not filler) audio was written."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.fed_times: list[float] = []
        self._fed = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _next_period(self) -> tuple[bytes, int | None]:
        with self._lock:
            self._fed = bool(self._pending)
        return super()._next_period()

    def _write_period(self, chunk: bytes, at: int | None = None) -> None:
        written = self.periods_written
        super()._write_period(chunk, at)
        if self._fed and self.periods_written > written:
            self.fed_times.append(time.monotonic())


def make_rig(directory: Path) -> tuple[FileRig, TimedFeeder]:
    rig = FileRig(directory, MIC_RATE, MIC_CHANNELS, SPEAKER_RATE, SPEAKER_CHANNELS)
    return rig, TimedFeeder(rig.fifo, MIC_RATE, MIC_CHANNELS, 20)


# -- the daemon under test ------------------------------------------------------------------------

def daemon_config(url: str, rig: FileRig, subject: str = "ours") -> dict:
    """``ours-ungated`` is ours with audio.voice_gate off: what the gate itself changes. The
    baseline ignores the key (it streams everything)."""
    return {
        "api": {"url": url},
        "audio": {"input": {"device": rig.mic_pcm, "rate": MIC_RATE, "channels": MIC_CHANNELS},
                  "output": {"device": rig.speaker_pcm, "rate": SPEAKER_RATE, "channels": SPEAKER_CHANNELS},
                  "echo_gate": False,  # full duplex: the mic streams while the speaker plays
                  "voice_gate": {"enabled": subject != "ours-ungated"}},
        "vad": {"threshold": 0.5, "silence_duration_ms": 500},
        "languages": ["es", "en"],
        # The baseline has no cues; a "ready" earcon between spaced deltas would queue ahead of them.
        "cues": {"enabled": False},
        "logging": {"level": "info"},
    }


class Daemon:
    def __init__(self, subject: str, workdir: Path, config: dict, rig: FileRig | None, trace: bool = True) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.subject = subject
        self.config_path = workdir / "polybot.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.trace_path = workdir / "trace.txt"
        self.trace_path.unlink(missing_ok=True)
        notify_path = workdir / "notify.sock"
        notify_path.unlink(missing_ok=True)
        self.notify = NotifySocket(notify_path)
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENAI_API_KEY", "CREDENTIALS_DIRECTORY", "JOURNAL_STREAM", "WATCHDOG_USEC",
                            "POLYBOT_TRACE_FILE", "PYTHONPROFILEIMPORTTIME")}
        if rig is not None:
            env.update(rig.env())
        env["NOTIFY_SOCKET"] = str(notify_path)
        env["OPENAI_API_KEY"] = "sk-bench-0123456789abcdef"
        if trace:
            env["POLYBOT_TRACE_FILE"] = str(self.trace_path)
        self.log_path = workdir / "daemon.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - the subprocess writes it until close()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(SUBJECTS[subject] + [str(self.config_path)], env=env, cwd=REPO,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 20) -> float:
        """Seconds from exec to READY=1 arriving on the notify socket."""
        self.notify.wait_for(lambda lines: "READY=1" in lines, timeout)
        with self.notify._cond:
            return next(t for t, m in self.notify.messages if "READY=1" in m.splitlines()) - self.started_at

    def cpu_s(self) -> tuple[float, float, float]:
        """(utime, stime, on-CPU time) of the whole process, all its threads, in seconds.

        utime/stime are the kernel's tick-sampled accounts (what ``ps`` and ``time`` show); the
        third is the scheduler's exact per-thread runtime (``/proc/<pid>/task/*/schedstat``),
        summed: the cross-check, since a thread that wakes 50 times a second in step with the
        tick can be over- or under-charged by tick sampling."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        exact_ns = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                exact_ns += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass  # a thread that just ended
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK, exact_ns / 1e9

    def wakeups(self) -> int:
        """Voluntary context switches of all the process's threads: how often they slept and woke."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                status = (task / "status").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            total += int(status.split("\nvoluntary_ctxt_switches:")[1].split()[0])
        return total

    def status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def stop(self) -> list[tuple[str, str, float]]:
        """SIGTERM, wait; returns the trace marks (tag, key, t)."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        finally:
            self._log.close()
            self.notify.close()
        rows = []
        if self.trace_path.exists():
            for line in self.trace_path.read_text().splitlines():
                tag, key, t = line.split(" ")
                rows.append((tag, key, float(t)))
        return rows


# -- pairing the marks ------------------------------------------------------------------------------

def capture_latencies(rows: list[tuple[str, str, float]], window: tuple[float, float]) -> list[float]:
    """For each chunk read within ``window`` and sent: seconds from its read() returning to its
    append leaving on the socket."""
    read_at: dict[str, float] = {}
    out = []
    for tag, key, t in rows:
        if tag == "read":
            read_at[key] = t
        elif tag == "sent" and key in read_at:
            t_read = read_at.pop(key)
            if window[0] <= t_read <= window[1]:
                out.append(t - t_read)
    return out


def first_handed_per_delta(rows: list[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """(item_id, time its first period reached ALSA) per audio delta, in arrival order."""
    out: list[tuple[str, float]] = []
    waiting: str | None = None
    for tag, key, t in rows:
        if tag == "pop":
            if waiting is not None:
                out.append((waiting, float("nan")))  # converted to nothing (resampler delay)
            waiting = key
        elif tag == "handed" and waiting is not None:
            out.append((waiting, t))
            waiting = None
    return out


def playback_latencies(rows: list[tuple[str, str, float]], deltas: list[tuple[str, float]],
                       window: tuple[float, float]) -> list[float]:
    """For each delta sent within ``window``: seconds from its frame leaving the simulator's
    socket to its first sample handed to ALSA. Deltas are matched in order within each item."""
    handed: dict[str, list[float]] = {}
    for item, t in first_handed_per_delta(rows):
        handed.setdefault(item, []).append(t)
    sent: dict[str, list[float]] = {}
    for item, t in deltas:
        sent.setdefault(item, []).append(t)
    out = []
    for item, times in sent.items():
        for t_sent, t_handed in zip(times, handed.get(item, []), strict=False):
            if t_handed == t_handed and window[0] <= t_sent <= window[1]:  # not NaN, in the window
                out.append(t_handed - t_sent)
    return out


def first_sample_per_item(rows: list[tuple[str, str, float]]) -> dict[str, float]:
    first: dict[str, float] = {}
    for tag, key, t in rows:
        if tag == "handed" and key not in first:
            first[key] = t
    return first


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)

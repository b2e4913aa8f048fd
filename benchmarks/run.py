"""Performance of the daemon against the obvious implementation (benchmarks/baseline.py).

    .venv/bin/python benchmarks/run.py            # ~14 min: 3 repeats, medians reported
    .venv/bin/python benchmarks/run.py --quick    # ~2.5 min: 1 repeat, short windows

Prints a table and writes benchmarks/results/<UTC time>.json (every repeat's raw figures too).
Both subjects run as subprocesses on the same rig (harness.py): real libasound with a FIFO-paced
``file`` mic (48 kHz stereo) and a ``file`` speaker (48 kHz stereo), the simulator on loopback.

Scenarios, each with a fresh daemon:

* start-up: exec to READY=1 on a NOTIFY_SOCKET (no simulator needed; READY means configured,
  devices being opened, connecting);
* duplex: the mic streams quiet room noise (no turns: echo gate off, the worst case) while the
  simulator starts a 4 s reply every 4 s, streamed in 100 ms deltas at 3x real time (bursts, as
  the service sends), so the mic and the speaker both run all the time and audio in equals audio
  played. CPU of the daemon process per second of audio, peak RSS, capture latency;
* playback: as duplex, but 40 ms deltas every 80 ms, so each delta finds the speaker idle and
  its latency is the path's, not a wait behind earlier audio;
* turn: utterances (0.5 s voiced, 1.5 s silence), the simulator answering at once
  (response_delay_s=0, pace=0): end of speech to the reply's first sample handed to ALSA, minus
  the VAD silence (500 ms);
* resampler: SNR of a 1 kHz sine through 48k -> 24k -> 48k in 20 ms chunks, and CPU per second.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gatecorpus  # noqa: E402
import harness as h  # noqa: E402
import resampling  # noqa: E402

from tests.rig import speech  # noqa: E402

SILENCE_MS = 500


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def noise(seconds: float, dbfs: float = -55.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.standard_normal(int(seconds * h.MIC_RATE)) * 10 ** (dbfs / 20)).astype(np.float32)


def nonstop_talk(seconds: float) -> np.ndarray:
    """Someone talking without pause (espeak-ng, six voices and languages, -30 dBFS, 150 ms between
    utterances) over the -55 dBFS noise, at the mic rate: the voice gate stays open all along, so
    ours does all its work (detector and streaming) as the baseline streams everything."""
    words = [speech.at_active_level(speech.espeak(*u), -30.0) for u in speech.UTTERANCES]
    gap = np.zeros(int(0.15 * speech.RATE))
    one = np.concatenate([part for u in words for part in (u, gap)])
    x = np.tile(one, int(seconds * speech.RATE / len(one)) + 1)[: int(seconds * speech.RATE)]
    return (soxr.resample(x, speech.RATE, h.MIC_RATE) + noise(seconds)[: int(seconds * h.MIC_RATE)]).astype(np.float32)


def session_started(sim: h.SimulatorThread) -> bool:
    return any(e.get("type") == "session.update" for e in sim.sim.client_events[-20:])


def speech_like(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * h.MIC_RATE)) / h.MIC_RATE
    s = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3))
    return (0.25 * s / np.max(np.abs(s))).astype(np.float32)


def startup(subject: str, work: Path, runs: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            rig, feeder = h.make_rig(Path(tmp) / "alsa")
            d = h.Daemon(subject, Path(tmp), h.daemon_config("ws://127.0.0.1:9/v1/realtime", rig), rig, trace=False)
            try:
                times.append(d.wait_ready())
            finally:
                d.stop()
                feeder.stop()
    return {"startup_s": statistics.median(times), "startup_runs_s": times}


def streaming(subject: str, work: Path, seconds: float, delta_ms: int, pace: float,
              every_s: float | None) -> tuple[h.Daemon, list, dict]:
    """Runs the daemon while the mic streams noise and the simulator keeps talking; returns the
    stopped daemon's trace and CPU/RSS figures for the steady window."""
    sim = h.start_simulator(delta_ms=delta_ms, pace=pace)
    rig, feeder = h.make_rig(work / "alsa")
    d = h.Daemon(subject, work, h.daemon_config(sim.url, rig, subject), rig)
    talking = None
    try:
        d.wait_ready()
        h.wait_until(lambda: session_started(sim), 20, "the daemon never configured a session")
        feeder.feed(nonstop_talk(seconds + 10))
        h.wait_until(lambda: len(h.SimClock.appends) > 10, 20, "the daemon never streamed the mic")
        talking = h.keep_talking(sim, every_s=every_s)
        h.wait_until(lambda: len(h.SimClock.deltas) > 10, 20, "no reply audio")
        time.sleep(2.0)  # steady state
        cpu0, t0 = d.cpu_s(), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = d.cpu_s(), time.monotonic()
        user, system, exact = ((b - a) / (t1 - t0) * 100 for a, b in zip(cpu0, cpu1, strict=True))
        figures = {"cpu_percent": user + system, "cpu_user_percent": user, "cpu_sys_percent": system,
                   "cpu_exact_percent": exact, "window": (t0, t1),
                   "peak_rss_mb": d.status_kb("VmHWM") / 1024, "rss_mb": d.status_kb("VmRSS") / 1024}
    finally:
        if talking is not None:
            talking.cancel()
        rows = d.stop()
        feeder.stop()
        sim.close()
    return d, rows, figures


def duplex(subject: str, work: Path, seconds: float) -> dict:
    _, rows, figures = streaming(subject, work, seconds, delta_ms=100, pace=3.0, every_s=4.0)
    cap = h.capture_latencies(rows, figures.pop("window"))
    figures.update({f"capture_p{q}_ms": pct(cap, q) * 1000 for q in (50, 95, 99)})
    figures["capture_samples"] = len(cap)
    return figures


def playback(subject: str, work: Path, seconds: float) -> dict:
    _, rows, figures = streaming(subject, work, seconds, delta_ms=40, pace=0.5, every_s=None)
    window = figures.pop("window")
    lat = h.playback_latencies(rows, list(h.SimClock.deltas), window)
    out = {f"playback_p{q}_ms": pct(lat, q) * 1000 for q in (50, 95, 99)}
    out["playback_samples"] = len(lat)
    cap = h.capture_latencies(rows, window)
    out.update({f"capture_under_playback_p{q}_ms": pct(cap, q) * 1000 for q in (50, 95, 99)})
    return out


def turn(subject: str, work: Path, utterances: int) -> dict:
    sim = h.start_simulator(response_delay_s=0.0, pace=0.0)
    rig, feeder = h.make_rig(work / "alsa")
    d = h.Daemon(subject, work, h.daemon_config(sim.url, rig, subject), rig)
    lead, voiced, gap = 10, 25, 75  # periods of 20 ms
    try:
        d.wait_ready()
        h.wait_until(lambda: session_started(sim), 20, "the daemon never configured a session")
        lost = feeder.periods_lost
        one = np.concatenate([speech_like(voiced * 0.02), np.zeros(int(gap * 0.02 * h.MIC_RATE), np.float32)])
        feeder.feed(np.concatenate([np.zeros(int(lead * 0.02 * h.MIC_RATE), np.float32)] + [one] * utterances))
        h.wait_until(lambda: sim.sim.responses_completed >= utterances, 20 + 3 * utterances, "replies missing")
        time.sleep(0.5)
        lost = feeder.periods_lost - lost
    finally:
        rows = d.stop()
        feeder.stop()
        sim.close()
    first = h.first_sample_per_item(rows)
    items = list(dict.fromkeys(item for item, _ in h.SimClock.deltas))
    first_delta = {}
    for item, t in h.SimClock.deltas:
        first_delta.setdefault(item, t)
    waits, sim_share, device_share = [], [], []
    for i, item in enumerate(items[:utterances]):
        end_of_speech = feeder.fed_times[lead + i * (voiced + gap) + voiced - 1]
        waits.append(first[item] - end_of_speech - SILENCE_MS / 1000)
        sim_share.append(first_delta[item] - h.SimClock.commits[i])
        device_share.append(waits[-1] - sim_share[-1])
    return {"turn_p50_ms": pct(waits, 50) * 1000, "turn_p95_ms": pct(waits, 95) * 1000,
            "turn_max_ms": max(waits) * 1000, "turn_sim_p50_ms": pct(sim_share, 50) * 1000,
            "first_delta_to_speaker_p50_ms": pct([first[i] - first_delta[i] for i in items], 50) * 1000,
            "turn_samples": len(waits), "mic_periods_lost": lost}


def idle(subject: str, work: Path, seconds: float) -> dict:
    """Nobody speaking: the issue's idle room (fan hum -45 dBFS, knocks, -50 dBFS floor) for
    ``seconds``; CPU of the daemon and the audio bytes the simulator received in that window."""
    sim = h.start_simulator()
    rig, feeder = h.make_rig(work / "alsa")
    d = h.Daemon(subject, work, h.daemon_config(sim.url, rig, subject), rig, trace=False)
    try:
        d.wait_ready()
        h.wait_until(lambda: session_started(sim), 20, "the daemon never configured a session")
        room = speech.idle_room(seconds + 8.0)
        feeder.feed(soxr.resample(room, speech.RATE, h.MIC_RATE).astype(np.float32))
        time.sleep(3.0)  # steady state
        cpu0, t0, lost0 = d.cpu_s(), time.monotonic(), feeder.periods_lost
        wakeups0 = d.wakeups()
        time.sleep(seconds)
        cpu1, t1 = d.cpu_s(), time.monotonic()
        wakeups = (d.wakeups() - wakeups0) / (t1 - t0)
        user, system, exact = ((b - a) / (t1 - t0) * 100 for a, b in zip(cpu0, cpu1, strict=True))
        sent = h.SimClock.upstream_bytes(t0, t1)
        return {"idle_cpu_percent": user + system, "idle_cpu_exact_percent": exact,
                "idle_upstream_bytes_per_s": sent / (t1 - t0), "idle_lost_periods": feeder.periods_lost - lost0,
                "idle_wakeups_per_s": wakeups}
    finally:
        d.stop()
        feeder.stop()
        sim.close()


METRICS = [  # key, label, unit, format
    ("idle_cpu_percent", "CPU, idle room 30 s (nobody speaking), user+sys, of one core", "%", "{:.2f}"),
    ("idle_cpu_exact_percent", "  same, scheduler's exact runtime (schedstat)", "%", "{:.2f}"),
    ("idle_upstream_bytes_per_s", "upstream audio, idle room, bytes per second", "B/s", "{:.0f}"),
    ("idle_wakeups_per_s", "wake-ups of the daemon's threads, idle room, per second", "/s", "{:.0f}"),
    ("startup_s", "start-up, exec -> READY=1", "s", "{:.3f}"),
    ("cpu_percent", "CPU, full-duplex streaming, user+sys, of one core", "%", "{:.2f}"),
    ("cpu_exact_percent", "  same, scheduler's exact runtime (schedstat)", "%", "{:.2f}"),
    ("peak_rss_mb", "peak RSS (VmHWM)", "MB", "{:.1f}"),
    ("capture_p50_ms", "capture read() -> socket, p50", "ms", "{:.3f}"),
    ("capture_p95_ms", "capture read() -> socket, p95", "ms", "{:.3f}"),
    ("capture_p99_ms", "capture read() -> socket, p99", "ms", "{:.3f}"),
    ("playback_p50_ms", "playback delta -> ALSA, p50", "ms", "{:.3f}"),
    ("playback_p95_ms", "playback delta -> ALSA, p95", "ms", "{:.3f}"),
    ("playback_p99_ms", "playback delta -> ALSA, p99", "ms", "{:.3f}"),
    ("turn_p50_ms", "end of speech -> first sample, minus VAD silence, p50", "ms", "{:.1f}"),
    ("turn_p95_ms", "end of speech -> first sample, minus VAD silence, p95", "ms", "{:.1f}"),
    ("first_delta_to_speaker_p50_ms", "reply's first delta sent -> first sample at ALSA, p50", "ms", "{:.3f}"),
    ("snr_db", "resampler SNR, 1 kHz sine 48k->24k->48k", "dB", "{:.1f}"),
    ("resample_cpu_percent", "resampler CPU, mic+speaker paths, of one core", "%", "{:.3f}"),
]


def one_repeat(subject: str, work: Path, quick: bool) -> dict:
    seconds = 10.0 if quick else 30.0
    figures = idle(subject, work / "idle", seconds)
    if subject == "ours-ungated":  # only what the gate changes: idle cost and the turn's latency
        figures.update(turn(subject, work / "turn", 6 if quick else 15))
        return figures
    figures.update(startup(subject, work, 3 if quick else 7))
    figures.update(duplex(subject, work / "duplex", seconds))
    figures.update(playback(subject, work / "playback", seconds))
    figures.update(turn(subject, work / "turn", 6 if quick else 15))
    figures.update(resampling.measure(subject))
    return figures


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    info = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    return {"cpu_model": info.get("Model name", "?").strip(), "cpus": info.get("CPU(s)", "?").strip(),
            "python": platform.python_version(), "kernel": platform.release()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--subjects", default="ours,ours-ungated,baseline")
    parser.add_argument("--corpus", choices=("full", "quick", "none"), default=None,
                        help="the voice gate over the speech and noise corpus (default: full, quick with --quick)")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    subjects = args.subjects.split(",")
    runs: dict[str, list[dict]] = {s: [] for s in subjects}
    with tempfile.TemporaryDirectory(prefix="polybot-bench-") as tmp:
        for r in range(repeats):
            for subject in subjects:  # interleaved, so machine noise hits both alike
                print(f"repeat {r + 1}/{repeats}: {subject} ...", file=sys.stderr, flush=True)
                runs[subject].append(one_repeat(subject, Path(tmp) / f"{subject}{r}", args.quick))
    medians = {s: {k: statistics.median(run[k] for run in runs[s]) for k in runs[s][0] if not k.endswith("runs_s")}
               for s in subjects}
    print_table(medians, runs, repeats)
    corpus = args.corpus or ("quick" if args.quick else "full")
    gate_figures = gatecorpus.measure(quick=corpus == "quick") if corpus != "none" else {}
    if gate_figures:
        gatecorpus.print_figures(gate_figures)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{stamp}.json"
    path.write_text(json.dumps({"machine": machine(), "repeats": repeats, "quick": args.quick,
                                "median": medians, "runs": runs, "voice_gate": gate_figures}, indent=1))
    print(f"\nwritten: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def print_table(medians: dict, runs: dict, repeats: int) -> None:
    ours, base = medians.get("ours", {}), medians.get("baseline", {})
    ungated = medians.get("ours-ungated", {})
    print(f"\nmedian of {repeats} repeat(s); spread = min..max of ours over the repeats; "
          "ungated = ours with audio.voice_gate off")
    print(f"{'metric':<62} {'ours':>9} {'ungated':>9} {'baseline':>9} {'ours/base':>9}  spread (ours)")
    for key, label, unit, fmt in METRICS:
        if key not in ours and key not in base:
            continue
        o, b = ours.get(key, float("nan")), base.get(key, float("nan"))
        u = ungated.get(key, float("nan"))
        ratio = o / b if b else float("nan")
        values = [run[key] for run in runs.get("ours", []) if key in run]
        spread = f"{fmt.format(min(values))}..{fmt.format(max(values))}" if values else ""
        print(f"{label + ' (' + unit + ')':<62} {fmt.format(o):>9} {fmt.format(u):>9} {fmt.format(b):>9} "
              f"{ratio:>9.3g}  {spread}")


if __name__ == "__main__":
    sys.exit(main())

"""Prometheus metrics as a text file for node_exporter's textfile collector (no listening port).

``metrics.textfile`` names the file (it must end in ``.prom``); the reporter renders a
:class:`Snapshot` every ``metrics.interval_s`` and replaces the file atomically, so node_exporter
never reads half of one. Counters count since the daemon started (Prometheus' ``rate()`` handles
the reset at a restart). node_exporter adds ``node_textfile_mtime_seconds{file=...}``: alert on
it to catch a daemon that stopped writing. Series:

    polybot_info{version,mode}                     1
    polybot_start_time_seconds                     when the daemon started (unix time)
    polybot_state{state}                           1 for the current state, 0 for the others
    polybot_utterances_translated_total            responses completed
    polybot_response_latency_seconds               histogram: end of speech -> first audio out
    polybot_reconnects_total{cause}                sessions/attempts ended, by cause (fixed set)
    polybot_outage_dropped_seconds_total           mic audio lost because an outage outlasted
                                                   audio.outage_buffer_s
    polybot_audio_xruns_total{stream}              mic overruns, speaker underruns
    polybot_session_age_seconds                    age of the live API session (0: none)
    polybot_audio_level_dbfs{stream}               RMS level over the interval (mic; speaker while
                                                   playing), -120 = digital silence, NaN = none
    polybot_upstream_audio_bytes_total             audio append messages sent to the API, bytes
    polybot_voice_gate_open_seconds_total          mic audio the voice gate let through, seconds
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..realtime.failures import Cause
from ..state import State

LATENCY_BUCKETS_S = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Response latency buckets: a good translator answers within 1 s; past 3 s people repeat
themselves."""


class Histogram:
    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS_S) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)  # per bucket, not cumulative
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break


@dataclass
class Snapshot:
    version: str
    mode: str
    start_time_s: float
    state: State
    utterances: int = 0
    latency: Histogram = field(default_factory=Histogram)
    reconnects: Mapping[Cause, int] = field(default_factory=dict)
    dropped_s: float = 0.0
    xruns: Mapping[str, int] = field(default_factory=dict)
    session_age_s: float = 0.0
    levels_dbfs: Mapping[str, float] = field(default_factory=dict)
    upstream_audio_bytes: int = 0
    voice_gate_open_s: float = 0.0


def render(s: Snapshot) -> str:
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    def sample(name: str, value: float, **labels: str) -> None:
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}")

    family("polybot_info", "gauge", "Version and mode of the translator daemon.")
    sample("polybot_info", 1, version=s.version, mode=s.mode)
    family("polybot_start_time_seconds", "gauge", "When the daemon started, in seconds since the epoch.")
    sample("polybot_start_time_seconds", s.start_time_s)
    family("polybot_state", "gauge", "The gadget's state: 1 for the current one.")
    for state in State:
        sample("polybot_state", 1 if state is s.state else 0, state=state.value)
    family("polybot_utterances_translated_total", "counter", "Translations completed.")
    sample("polybot_utterances_translated_total", s.utterances)
    family("polybot_response_latency_seconds", "histogram",
           "End of speech to the first translated audio handed to the speaker.")
    cumulative = 0
    for bound, count in zip(s.latency.buckets, s.latency.counts, strict=True):
        cumulative += count
        sample("polybot_response_latency_seconds_bucket", cumulative, le=_number(bound))
    sample("polybot_response_latency_seconds_bucket", s.latency.count, le="+Inf")
    sample("polybot_response_latency_seconds_sum", s.latency.sum)
    sample("polybot_response_latency_seconds_count", s.latency.count)
    family("polybot_reconnects_total", "counter", "API sessions or connection attempts that ended, by cause.")
    for cause in Cause:
        sample("polybot_reconnects_total", s.reconnects.get(cause, 0), cause=cause.value)
    family("polybot_outage_dropped_seconds_total", "counter",
           "Microphone audio dropped because an outage outlasted the outage buffer.")
    sample("polybot_outage_dropped_seconds_total", s.dropped_s)
    family("polybot_audio_xruns_total", "counter", "ALSA xruns: mic overruns, speaker underruns.")
    for stream in ("mic", "speaker"):
        sample("polybot_audio_xruns_total", s.xruns.get(stream, 0), stream=stream)
    family("polybot_session_age_seconds", "gauge", "Age of the live API session (0 when there is none).")
    sample("polybot_session_age_seconds", s.session_age_s)
    family("polybot_audio_level_dbfs", "gauge",
           "RMS level over the last interval in dBFS (-120: digital silence; NaN: no audio).")
    for stream in ("mic", "speaker"):
        sample("polybot_audio_level_dbfs", s.levels_dbfs.get(stream, math.nan), stream=stream)
    family("polybot_upstream_audio_bytes_total", "counter",
           "Audio append messages handed to the API's socket, in bytes (before TLS and framing).")
    sample("polybot_upstream_audio_bytes_total", s.upstream_audio_bytes)
    family("polybot_voice_gate_open_seconds_total", "counter",
           "Seconds of microphone audio the local voice gate let through (all of it when bypassed).")
    sample("polybot_voice_gate_open_seconds_total", s.voice_gate_open_s)
    return "\n".join(out) + "\n"


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(round(value, 6))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

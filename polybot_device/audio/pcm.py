"""Opening an ALSA PCM the one way both audio threads do: non-blocking, format checked.

Non-blocking, because a busy ``hw:`` device would otherwise block ``snd_pcm_open`` with the GIL
held (pyalsaaudio does not release it there) and freeze the whole daemon; the threads wait with
``poll`` instead.

The sample format is read back after opening: pyalsaaudio 0.11 calls ``set_format``,
``set_channels`` and ``set_rate_near`` without checking them (``alsapcm_setup``), and
``snd_pcm_hw_params`` then settles every refused value on one the device has (the first format in
its mask, the fewest channels). S16_LE is asked for first; a device that settles on a format
:mod:`.samples` cannot convert is reopened asking for each one it can, then refused. Rate and
channels are likewise what the device gives: :class:`OpenPcm` says so, and the caller converts.
"""

from __future__ import annotations

import select
from dataclasses import dataclass
from typing import Literal

import alsaaudio

from .devices import card_absent
from .samples import S16_LE, SUPPORTED, SampleFormat, by_alsa


@dataclass(frozen=True)
class OpenPcm:
    pcm: alsaaudio.PCM
    rate: int
    channels: int
    period_frames: int
    buffer_frames: int
    sample_format: SampleFormat = S16_LE

    @property
    def frame_bytes(self) -> int:
        return self.sample_format.width * self.channels

    def poller(self) -> select.poll:
        """A poll object on the PCM's descriptors (for waits that ``stop`` can cut short)."""
        poller = select.poll()
        for fd, mask in self.pcm.polldescriptors():
            poller.register(fd, mask)
        return poller

    def differs(self, rate: int, channels: int) -> str:
        """'' when the device gives what was asked, else a note for the log."""
        return "" if (self.rate, self.channels) == (rate, channels) else f" (asked for {rate} Hz x{channels})"

    def describe(self) -> str:
        """'48000 Hz x2 S32_LE' for the log and the status."""
        return f"{self.rate} Hz x{self.channels} {self.sample_format.name}"


def open_pcm(direction: Literal["capture", "playback"], device: str, rate: int, channels: int, period_ms: int,
             periods: int, *, _rate_retry: bool = True) -> OpenPcm:
    """Raises alsaaudio.ALSAAudioError when the device is absent, busy or offers no format we convert."""
    if card_absent(device):  # no libasound error line per retry while a USB device is unplugged
        raise alsaaudio.ALSAAudioError(f"No such device (its card is not plugged in) [{device}]")
    got = ""
    for wanted in SUPPORTED:
        pcm = alsaaudio.PCM(
            alsaaudio.PCM_CAPTURE if direction == "capture" else alsaaudio.PCM_PLAYBACK,
            alsaaudio.PCM_NONBLOCK,
            device=device, channels=channels, rate=rate, format=wanted.alsa,
            periodsize=rate * period_ms // 1000, periods=periods,
        )
        try:
            info = pcm.info()
        except BaseException:
            pcm.close()
            raise
        fmt = by_alsa(int(info.get("format", -1)))
        if fmt is not None and int(info["rate"]) != rate and _rate_retry:
            # Another rate than asked: reopen at it, so the period is period_ms at that rate
            # (a 960-frame period at 44.1 kHz would be 21.8 ms, not the 20 ms asked for).
            pcm.close()
            return open_pcm(direction, device, int(info["rate"]), channels, period_ms, periods, _rate_retry=False)
        if fmt is not None:
            return OpenPcm(pcm, int(info["rate"]), int(info["channels"]), int(info["period_size"]),
                           int(info["buffer_size"]), fmt)
        got = str(info.get("format_name"))
        pcm.close()
    names = ", ".join(f.name for f in SUPPORTED)
    raise alsaaudio.ALSAAudioError(f"offers no sample format we can use (gave {got}; we convert {names}) [{device}]")

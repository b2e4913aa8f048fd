"""Opening an ALSA PCM the one way both audio threads do: non-blocking, S16_LE, checked.

Non-blocking, because a busy ``hw:`` device would otherwise block ``snd_pcm_open`` with the GIL
held (pyalsaaudio does not release it there) and freeze the whole daemon; the threads wait with
``poll`` instead. The format is checked after opening because pyalsaaudio ignores a failed
``set_format`` and ALSA then picks another one. Rate and channels are negotiated "near" what was
asked: :class:`OpenPcm` says what the device really gives, and the caller converts from that.
"""

from __future__ import annotations

import select
from dataclasses import dataclass
from typing import Literal

import alsaaudio

from .devices import card_absent


@dataclass(frozen=True)
class OpenPcm:
    pcm: alsaaudio.PCM
    rate: int
    channels: int
    period_frames: int
    buffer_frames: int

    def poller(self) -> select.poll:
        """A poll object on the PCM's descriptors (for waits that ``stop`` can cut short)."""
        poller = select.poll()
        for fd, mask in self.pcm.polldescriptors():
            poller.register(fd, mask)
        return poller

    def differs(self, rate: int, channels: int) -> str:
        """'' when the device gives what was asked, else a note for the log."""
        return "" if (self.rate, self.channels) == (rate, channels) else f" (asked for {rate} Hz x{channels})"


def open_pcm(direction: Literal["capture", "playback"], device: str, rate: int, channels: int, period_ms: int,
             periods: int) -> OpenPcm:
    """Raises alsaaudio.ALSAAudioError when the device is absent, busy or cannot do S16_LE."""
    if card_absent(device):  # no libasound error line per retry while a USB device is unplugged
        raise alsaaudio.ALSAAudioError(f"No such device (its card is not plugged in) [{device}]")
    pcm = alsaaudio.PCM(
        alsaaudio.PCM_CAPTURE if direction == "capture" else alsaaudio.PCM_PLAYBACK,
        alsaaudio.PCM_NONBLOCK,
        device=device, channels=channels, rate=rate, format=alsaaudio.PCM_FORMAT_S16_LE,
        periodsize=rate * period_ms // 1000, periods=periods,
    )
    try:
        info = pcm.info()
        if info.get("format") != alsaaudio.PCM_FORMAT_S16_LE:
            raise alsaaudio.ALSAAudioError(f"does not deliver S16_LE (gave {info.get('format_name')})")
    except BaseException:
        pcm.close()
        raise
    return OpenPcm(pcm, int(info["rate"]), int(info["channels"]), int(info["period_size"]),
                   int(info["buffer_size"]))

"""When the audio written to the speaker is heard: the real-time model behind the playback API.

On a real DAC the device paces the writes and this model follows it; on the test rig's ``null``
slave, which swallows audio at once, the model is what makes playback real-time. It answers:
is anything still playing (``until``), how much of an item has left the speaker (a truncate's
``audio_end_ms``), and when to write next. Per item it keeps the frames written, for the last
``KEEP_ITEMS`` items.

No I/O and no lock of its own: :class:`.playback.SpeakerPlayback` holds its lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict

KEEP_ITEMS = 64


class Playout:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        """Frames per second of the opened device (a reopen may change it)."""
        self.until = float("-inf")
        """time.monotonic() when the last sample of audio written leaves the speaker."""
        self.device_until = float("-inf")
        """The same for everything written, keep-alive silence included (the device's own clock)."""
        self.current: str | None = None
        """The item written last (the one playing, or the last one played)."""
        self._written: OrderedDict[str, int] = OrderedDict()

    def wrote(self, item_id: str, frames: int, now: float) -> None:
        """``frames`` of ``item_id`` went to the device at ``now`` (behind whatever silence is in it)."""
        self.until = self.device_until = max(now, self.until, self.device_until) + frames / self.rate
        self._written[item_id] = self._written.get(item_id, 0) + frames
        if item_id != self.current:
            self.current = item_id
            self._written.move_to_end(item_id)
            if len(self._written) > KEEP_ITEMS:
                self._written.popitem(last=False)

    def silence(self, frames: int, now: float) -> None:
        """``frames`` of silence went to the device at ``now``: not audio, but it plays before what comes next."""
        self.device_until = max(now, self.device_until) + frames / self.rate

    def ahead_frames(self, now: float) -> int:
        """Frames written but, by the model, not yet heard."""
        return int(max(0.0, self.until - now) * self.rate)

    def played_ms(self, item_id: str, in_device: int) -> int:
        """Milliseconds of ``item_id`` heard, ``in_device`` frames of the current item still queued."""
        frames = self._written.get(item_id, 0)
        if item_id == self.current:
            frames -= min(frames, in_device)
        return frames * 1000 // self.rate

    def stopped(self, now: float, in_device: int) -> int:
        """Playback was cut at ``now`` with ``in_device`` frames unheard: returns the milliseconds
        of the current item that were heard, which is all of it that counts from now on."""
        played = 0
        if self.current is not None:
            written = self._written.get(self.current, 0)
            played = written - min(written, in_device)
            self._written[self.current] = played
        self.current = None
        self.until = min(self.until, now)
        self.device_until = min(self.device_until, now)
        return played * 1000 // self.rate

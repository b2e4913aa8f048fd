"""Which sound devices are there, and what do they accept? (the ``devices`` subcommand)

Cards come from libasound (``alsaaudio.cards()`` / ``card_indexes()`` / ``card_name()``) and their
PCM devices from the name hints (``hw:CARD=<id>,DEV=<n>``): names built on the card *id* stay the
same whichever USB port the mic is in, unlike ``hw:1,0``.

Only ``hw:`` PCMs are probed, each opened with PCM_NONBLOCK (a busy device fails at once with
EBUSY instead of waiting for its owner) and in its own thread with a timeout. Be aware that the
timeout only helps with calls that release the GIL: pyalsaaudio holds it during ``PCM()``,
``getrates()`` and ``getchannels()``, so a PCM that blocks there would still stall the process.
That is why named PCMs from ``alsaaudio.pcms()`` (``default``, plugins, the test rig's ``file``
PCMs, whose open blocks on a FIFO without a writer) are listed by name only, never opened.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal

import alsaaudio

Direction = Literal["capture", "playback"]

PROBE_TIMEOUT_S = 2.0
_PREFERRED_RATES = (48000, 44100, 24000, 16000)


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    """The PCM name to put in the config: 'hw:CARD=Device,DEV=0' or a named PCM like 'default'."""
    direction: Direction
    kind: Literal["hw", "named"]
    """'hw': a card's device, probed; 'named': from the ALSA configuration, not probed."""
    card_id: str = ""
    card_name: str = ""
    device: int = -1
    plug_name: str = ""
    """The same device through ALSA's converting 'plug' layer (not used by the daemon)."""
    rates: tuple[int, ...] = ()
    """Rates the hw PCM accepts (from getrates(); a continuous range is rate_range instead)."""
    rate_range: tuple[int, int] | None = None
    channels: tuple[int, ...] = ()
    status: str = "ok"
    """'ok', 'busy' (another program has it open), 'not probed', or the error text."""

    def accepts_rate(self, rate: int) -> bool:
        if self.rate_range is not None:
            return self.rate_range[0] <= rate <= self.rate_range[1]
        return rate in self.rates


def _pcm_hints(direction: Direction) -> list[str]:
    pcm_type = alsaaudio.PCM_CAPTURE if direction == "capture" else alsaaudio.PCM_PLAYBACK
    try:
        return [n for n in alsaaudio.pcms(pcm_type) if n]
    except alsaaudio.ALSAAudioError:
        return []


def _cards() -> dict[str, str]:
    """card id -> human card name."""
    out: dict[str, str] = {}
    try:
        for card_id, index in zip(alsaaudio.cards(), alsaaudio.card_indexes(), strict=False):
            try:
                out[card_id] = alsaaudio.card_name(index)[0]
            except alsaaudio.ALSAAudioError:
                out[card_id] = card_id
    except alsaaudio.ALSAAudioError:
        pass
    return out


def _parse_hw(name: str) -> tuple[str, int] | None:
    """'hw:CARD=Device,DEV=0' -> ('Device', 0)."""
    if not name.startswith("hw:CARD="):
        return None
    parts = dict(p.split("=", 1) for p in name[3:].split(",") if "=" in p)
    try:
        return parts["CARD"], int(parts.get("DEV", "0"))
    except ValueError:
        return None


def _probe(name: str, direction: Direction) -> dict:
    pcm_type = alsaaudio.PCM_CAPTURE if direction == "capture" else alsaaudio.PCM_PLAYBACK
    pcm = None
    try:
        pcm = alsaaudio.PCM(pcm_type, alsaaudio.PCM_NONBLOCK, device=name)
        rates = pcm.getrates()
        channels = pcm.getchannels()
    except alsaaudio.ALSAAudioError as exc:
        text = str(exc)
        return {"status": "busy" if "busy" in text.lower() else text}
    finally:
        if pcm is not None:
            try:
                pcm.close()
            except alsaaudio.ALSAAudioError:
                pass
    result: dict = {"status": "ok", "channels": tuple(channels)}
    if isinstance(rates, int):
        result["rates"] = (rates,)
    elif isinstance(rates, tuple):
        result["rate_range"] = (int(rates[0]), int(rates[1]))
    else:
        result["rates"] = tuple(rates)
    return result


def _probe_with_timeout(name: str, direction: Direction, timeout_s: float) -> dict:
    box: dict = {}

    def run() -> None:
        box.update(_probe(name, direction))

    thread = threading.Thread(target=run, name=f"probe {name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return {"status": f"no answer within {timeout_s:g} s"}
    return box or {"status": "probe failed"}


def list_devices(probe_timeout_s: float = PROBE_TIMEOUT_S) -> list[DeviceInfo]:
    """Every card's hw capture and playback PCMs (probed), then the named PCMs (not probed)."""
    cards = _cards()
    devices: list[DeviceInfo] = []
    for direction in ("capture", "playback"):
        named: list[str] = []
        for name in _pcm_hints(direction):
            hw = _parse_hw(name)
            if hw is None:
                if ":" not in name and name != "null":
                    named.append(name)
                continue
            card_id, dev = hw
            probed = _probe_with_timeout(name, direction, probe_timeout_s)
            devices.append(
                DeviceInfo(
                    name=name,
                    direction=direction,
                    kind="hw",
                    card_id=card_id,
                    card_name=cards.get(card_id, card_id),
                    device=dev,
                    plug_name="plug" + name,
                    rates=probed.get("rates", ()),
                    rate_range=probed.get("rate_range"),
                    channels=probed.get("channels", ()),
                    status=probed["status"],
                )
            )
        devices.extend(DeviceInfo(name=n, direction=direction, kind="named", status="not probed") for n in named)
    return devices


def available_capture_names() -> list[str]:
    """Capture PCM names libasound knows right now (no device is opened): for the log line
    that says the configured microphone is missing."""
    return available_names("capture")


def available_names(direction: Direction) -> list[str]:
    """hw:CARD=... names first, then named PCMs (not 'null'); nothing is opened."""
    names = _pcm_hints(direction)
    hw = [n for n in names if n.startswith("hw:")]
    named = [n for n in names if ":" not in n and n != "null"]
    return hw + named


def _describe_rates(d: DeviceInfo) -> str:
    if d.rate_range is not None:
        return f"{d.rate_range[0]}-{d.rate_range[1]}"
    return ",".join(str(r) for r in d.rates) or "-"


def _suggest_rate(d: DeviceInfo) -> int | None:
    for rate in _PREFERRED_RATES:
        if d.accepts_rate(rate):
            return rate
    return max(d.rates) if d.rates else None


def format_devices(devices: list[DeviceInfo]) -> str:
    """A table for people, and which config keys to fill in with what."""
    lines = []
    for direction, section in (("capture", "audio.input"), ("playback", "audio.output")):
        title = "Microphones (capture)" if direction == "capture" else "Speakers (playback)"
        lines.append(title + ":")
        rows = [d for d in devices if d.direction == direction]
        if not rows:
            lines.append("  (none found)")
        for d in rows:
            if d.kind == "hw":
                chans = ",".join(map(str, d.channels)) or "-"
                lines.append(
                    f"  {d.name:<28} {d.card_name[:24]:<24} rates {_describe_rates(d):<22} "
                    f"channels {chans:<6} {d.status}"
                )
            else:
                lines.append(f"  {d.name:<28} (named PCM, not probed)")
        usable = [d for d in rows if d.kind == "hw" and d.status == "ok"]
        if usable:
            d = usable[0]
            rate = _suggest_rate(d)
            fewest = min(d.channels) if d.channels else 1
            lines.append(
                f"  -> config: {section}.device: '{d.name}'"
                + (f"  {section}.rate: {rate}" if rate else "")
                + f"  {section}.channels: {fewest}"
            )
        lines.append("")
    lines.append(
        "Use the hw:CARD=... names: they survive moving the USB device to another port, and the "
        "daemon converts to 24 kHz mono itself. rate and channels must be values listed for that device."
    )
    return "\n".join(lines)


_CARD_IN_NAME = re.compile(r"^(?:plug)?hw:(?:CARD=)?([^,]+)")


def card_index(device: str) -> int | None:
    """'hw:CARD=Speaker,DEV=0', 'plughw:1,0', 'hw:1' -> that card's index now; None when the
    name does not name a card, or names one that is not plugged in."""
    match = _CARD_IN_NAME.match(device)
    if not match:
        return None
    card = match.group(1)
    if card.isdigit():
        return int(card) if int(card) in alsaaudio.card_indexes() else None
    try:
        index: int = alsaaudio.cards().index(card)
    except ValueError:
        return None
    return index


def card_absent(device: str) -> bool:
    """True when ``device`` names a card (hw:/plughw:) that is not there. Checked before opening,
    because libasound prints its own error line for every failed open of such a name: a mic
    unplugged for a night would otherwise write one to the journal every second."""
    return _CARD_IN_NAME.match(device) is not None and card_index(device) is None

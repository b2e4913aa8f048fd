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

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
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
    formats: tuple[str, ...] = ()
    """Sample formats the hw PCM accepts ('S16_LE', 'S32_LE', ...; from getformats())."""
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


@dataclass(frozen=True)
class Card:
    index: int
    """The kernel's card number (hw:N): numbers can have gaps (a card unplugged, an index= option)."""
    name: str
    long_name: str
    """e.g. 'C-Media USB Audio Device at usb-3f980000.usb-1.2, full speed' (USB cards name their bus)."""


def card_table() -> dict[str, Card]:
    """card id -> its :class:`Card`. ``cards()`` and ``card_indexes()`` both walk ``snd_card_next``,
    so zipping them pairs each id with its real index (a position in the list is not an index)."""
    out: dict[str, Card] = {}
    try:
        for card_id, index in zip(alsaaudio.cards(), alsaaudio.card_indexes(), strict=False):
            try:
                name, long_name = alsaaudio.card_name(index)
            except alsaaudio.ALSAAudioError:
                name, long_name = card_id, ""
            out[card_id] = Card(int(index), name, long_name)
    except alsaaudio.ALSAAudioError:
        pass
    return out


def _cards() -> dict[str, str]:
    """card id -> human card name."""
    return {card_id: card.name for card_id, card in card_table().items()}


def hw_names(direction: Direction) -> list[tuple[str, str]]:
    """('hw:CARD=<id>,DEV=<n>', card id) for every hw PCM libasound hints at; nothing is opened."""
    out = []
    for name in _pcm_hints(direction):
        hw = _parse_hw(name)
        if hw is not None:
            out.append((name, hw[0]))
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
        formats = tuple(pcm.getformats())
    except alsaaudio.ALSAAudioError as exc:
        text = str(exc)
        return {"status": "busy" if "busy" in text.lower() else text}
    finally:
        if pcm is not None:
            try:
                pcm.close()
            except alsaaudio.ALSAAudioError:
                pass
    result: dict = {"status": "ok", "channels": tuple(channels), "formats": formats}
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
                    formats=probed.get("formats", ()),
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
                formats = ",".join(d.formats) or "-"
                lines.append(
                    f"  {d.name:<28} {d.card_name[:24]:<24} rates {_describe_rates(d):<22} "
                    f"channels {chans:<6} formats {formats:<16} {d.status}"
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
        "daemon converts to 24 kHz mono itself. rate and channels must be values listed for that device; "
        "S16_LE, S24_3LE, S24_LE and S32_LE are converted. Or leave device: auto (USB or I2S, never HDMI)."
    )
    return "\n".join(lines)


def write_device_list(path: Path, table: str) -> None:
    """The device table as a file a person reads on a PC (the image writes it to the FAT boot
    partition next to polybot.yaml): written to a temporary file and renamed, so a power cut
    leaves the old list or the new one. Raises OSError."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    text = (f"Sound devices of this polybot, listed {stamp}.\n"
            "Put a name from here into polybot.yaml (audio.input.device / audio.output.device), or leave 'auto'.\n\n"
            f"{table}\n")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text.replace("\n", "\r\n"))  # the reader is probably Notepad
    os.replace(tmp, path)


_CARD_IN_NAME = re.compile(r"^(?:plug)?hw:(?:CARD=)?([^,]+)")


def card_index(device: str, cards: dict[str, Card] | None = None) -> int | None:
    """'hw:CARD=Speaker,DEV=0', 'plughw:1,0', 'hw:1' -> that card's index now; None when the
    name does not name a card, or names one that is not plugged in. ``cards``: the
    :func:`card_table` to look in (read from libasound when not given)."""
    match = _CARD_IN_NAME.match(device)
    if not match:
        return None
    table = card_table() if cards is None else cards
    card = match.group(1)
    if card.isdigit():
        return int(card) if any(c.index == int(card) for c in table.values()) else None
    found = table.get(card)
    return found.index if found is not None else None


def card_absent(device: str) -> bool:
    """True when ``device`` names a card (hw:/plughw:) that is not there. Checked before opening,
    because libasound prints its own error line for every failed open of such a name: a mic
    unplugged for a night would otherwise write one to the journal every second."""
    return _CARD_IN_NAME.match(device) is not None and card_index(device) is None

"""``device: auto``: which sound device a gadget without a screen should use.

On Raspberry Pi OS Lite ``default`` is usually HDMI, which has no mic and often no speaker. The
gadget's own mic and speaker are a USB device or an I2S board (a HAT), so ``auto`` takes, in order:

1. a device whose name contains ``device_match`` (any case): card id, card name, long name or PCM name;
2. a USB audio device (the card's long name says ``usb-...``: snd-usb-audio names its bus there);
3. any other card (an I2S board: sndrpihifiberry, seeed2micvoicec, ...);
4. the Pi's headphone jack (playback only);
never HDMI. Nothing found: ``default``, said so.

Resolution happens at every open (the threads call it before each attempt), so a USB device
that moves to another port, and therefore to another card number, is found again: the chosen name
is built on the card *id* (``hw:CARD=Device,DEV=0``), which does not depend on the port.
Nothing is opened here; the card list comes from libasound's name hints and card info.
"""

from __future__ import annotations

from dataclasses import dataclass

import alsaaudio

from .devices import Direction, card_table, hw_names

AUTO = "auto"


@dataclass(frozen=True)
class Candidate:
    name: str
    """The PCM name: 'hw:CARD=Device,DEV=0' or a named PCM."""
    card_id: str = ""
    card_name: str = ""
    long_name: str = ""


@dataclass(frozen=True)
class Choice:
    name: str
    """The PCM to open."""
    why: str
    """For the journal: 'configured', 'USB audio device ...', ..."""


def _rank(c: Candidate, direction: Direction, match: str | None) -> tuple[int, str] | None:
    """Lower is better; None: never choose it."""
    text = f"{c.name} {c.card_id} {c.card_name} {c.long_name}".lower()
    if match and match.lower() in text:
        return 0, f"its name matches device_match {match!r}"
    if not c.card_id:
        return None  # a named PCM is only taken when it matches
    if "hdmi" in text:
        return None
    if "usb" in c.long_name.lower():
        return 1, "USB audio device"
    if "headphones" in text or "bcm2835" in text:
        return (3, "the Pi's headphone jack") if direction == "playback" else None
    return 2, "sound card that is not HDMI or USB (I2S board)"


def choose(direction: Direction, candidates: list[Candidate], match: str | None) -> Choice:
    """The best candidate, or 'default' when none qualifies. Ties keep the listing's order
    (card index order), so the choice is stable."""
    ranked = []
    for order, c in enumerate(candidates):
        rank = _rank(c, direction, match)
        if rank is not None:
            ranked.append((rank[0], order, rank[1], c))
    if not ranked:
        names = ", ".join(c.name for c in candidates) or "none"
        return Choice("default", f"auto: no USB or I2S {direction} device (seen: {names}); using 'default'")
    _, _, why, best = min(ranked, key=lambda r: (r[0], r[1]))
    label = best.card_name or best.name
    return Choice(best.name, f"auto: {label!r}: {why}")


def candidates(direction: Direction) -> list[Candidate]:
    """Every card's first hw PCM for ``direction`` plus the named PCMs, from libasound (nothing opened)."""
    cards = card_table()
    out: list[Candidate] = []
    seen: set[str] = set()
    for name, card_id in hw_names(direction):
        if card_id in seen:
            continue  # DEV=0 comes first in the hints; later devices of a card are HDMI/IEC958 outputs
        seen.add(card_id)
        card = cards.get(card_id)
        out.append(Candidate(name, card_id, card.name if card else card_id, card.long_name if card else ""))
    try:
        named = alsaaudio.pcms(alsaaudio.PCM_CAPTURE if direction == "capture" else alsaaudio.PCM_PLAYBACK)
    except alsaaudio.ALSAAudioError:
        named = []
    out.extend(Candidate(n) for n in named if n and ":" not in n and n not in ("null", "default"))
    return out


def resolve(direction: Direction, device: str, match: str | None) -> Choice:
    """The PCM name to open for the configured ``device`` ('auto' chooses now)."""
    if device != AUTO:
        return Choice(device, "configured")
    return choose(direction, candidates(direction), match)

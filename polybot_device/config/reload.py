"""What a reload (SIGHUP) may change in the running daemon.

Languages, mode, VAD, glossary, gestures, volume, cues, privacy, metrics and fleet settings apply
at once; the audio devices and the API endpoint are opened once and need a restart, so a reload
that changes them keeps the running values (and says so).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from .schema import Config

log = logging.getLogger(__name__)


def reloadable(old: Config, new: Config) -> Config:
    """``new`` with the settings that need a restart taken from ``old``."""
    volume = new.audio.output.volume_percent
    new_audio = replace(new.audio, output=replace(new.audio.output, volume_percent=old.audio.output.volume_percent))
    if new_audio == old.audio and new.api == old.api:
        return new
    log.warning("reload: audio device and api settings take effect after a restart; the rest applies now")
    return replace(new, api=old.api, audio=replace(old.audio, output=replace(old.audio.output, volume_percent=volume)))

"""Which translation the gadget does right now: the mode and the languages the button selected.

The config says where to start; the button moves through the choices at run time. Kept apart
from the I/O so the rules are plain to read and test:

* conversation: the home language (first) stays; a short press cycles the other one.
* one-way and interpreter: a short press cycles the target through all languages.
* a long press (triple with hold-to-talk) cycles conversation -> one-way -> interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from .config import Config, Mode

MODES = tuple(Mode)
"""The order a long press cycles through."""
T = TypeVar("T")


@dataclass
class Selection:
    mode: Mode
    languages: tuple[str, ...]
    other: str
    """conversation: the language spoken with the home language."""
    target: str
    """one-way and interpreter: the language everything is translated into."""

    @classmethod
    def from_config(cls, config: Config) -> Selection:
        langs = config.languages
        return cls(config.mode, langs, langs[1] if len(langs) > 1 else langs[0], langs[0])

    @property
    def home(self) -> str:
        return self.languages[0]

    @property
    def announced_language(self) -> str:
        """The language a short press just chose (what the earcon and LED confirm)."""
        return self.other if self.mode is Mode.CONVERSATION else self.target

    @property
    def uses_translation_endpoint(self) -> bool:
        return self.mode is Mode.INTERPRETER

    def next_language(self) -> str:
        if self.mode is Mode.CONVERSATION:
            choices = self.languages[1:] or self.languages
            self.other = _after(choices, self.other)
        else:
            self.target = _after(self.languages, self.target)
        return self.announced_language

    def next_mode(self) -> Mode:
        self.mode = _after(MODES, self.mode)
        if self.mode is Mode.CONVERSATION and len(self.languages) < 2:
            self.mode = _after(MODES, self.mode)  # a conversation needs two languages
        return self.mode

    def reload(self, config: Config) -> None:
        """SIGHUP: the config's languages and mode win; a choice still on the list is kept."""
        keep_other, keep_target = self.other, self.target
        fresh = Selection.from_config(config)
        self.mode, self.languages = fresh.mode, fresh.languages
        self.other = keep_other if keep_other in fresh.languages[1:] else fresh.other
        self.target = keep_target if keep_target in fresh.languages else fresh.target


def _after(choices: tuple[T, ...], current: T) -> T:
    if current not in choices:
        return choices[0]
    return choices[(choices.index(current) + 1) % len(choices)]

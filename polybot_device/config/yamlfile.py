"""Reading one YAML config file, treating it as hostile: bounded in size, depth and expansion.

A config file can come from a boot partition anyone with the card can write, or from a fleet tool
gone wrong. PyYAML alone would let it hang or crash the daemon (and ``check-config``, and
``show-config-error``), so every limit here turns into a :class:`ConfigError` (exit 78) instead:

* only a regular file is read (opened with ``O_NONBLOCK``, so a FIFO or a device such as
  ``/dev/zero`` dropped into ``conf.d/`` is refused at once instead of blocking or streaming
  for ever), and at most :data:`MAX_FILE_BYTES` of it;
* nesting deeper than :data:`MAX_DEPTH` is refused before PyYAML's recursive composer can hit
  the interpreter's recursion limit (``[[[[...]]]]``);
* aliases are counted at their expanded size: the document may describe at most
  :data:`MAX_NODES` values once every alias is expanded. PyYAML shares one object per anchor,
  but everything downstream (merging drop-ins, validation) walks the document as a tree, so a
  900-byte "billion laughs" file would otherwise expand into gigabytes. An alias to an anchor
  that is still open (a document containing itself) is refused too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from ..redact import mask_secretish
from .base import ConfigError

MAX_FILE_BYTES = 256 * 1024
"""The largest config file or drop-in read (the shipped example, every key commented, is ~8 KiB)."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (the schema itself needs 4)."""
MAX_NODES = 50_000
"""Most values a document may hold once its aliases are expanded (a 1,000-name glossary is ~1,000)."""


def read_text(path: Path, kind: str) -> str:
    """The text of the regular file ``path`` (``kind`` names it in errors). Raises ConfigError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {kind} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {kind}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "a pipe or device"
            raise ConfigError(f"{path}: cannot read {kind}: it is {what}, not a regular file")
        data = _read_at_most(fd, MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {kind}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: {kind} is larger than {MAX_FILE_BYTES // 1024} KiB; not read")
    try:
        return data.decode("utf-8-sig")  # a BOM from a Windows editor is not part of the YAML
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read {kind}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _read_at_most(fd: int, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < limit:
        part = os.read(fd, limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def parse_yaml(text: str, where: str) -> Any:
    """One YAML document from ``text`` within the bounds above; ``where`` names it in errors.
    Raises ConfigError for a syntax error and for every bound."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        # PyYAML quotes the offending line: a key pasted there must not reach the error file.
        raise ConfigError(f"{where}: YAML syntax error: {mask_secretish(str(exc))}") from None
    finally:
        loader.dispose()


class _Refused(yaml.YAMLError):
    """A document past one of the bounds (reported like a syntax error, with what was refused)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with the composer counting: depth, expanded size, open anchors."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._open_anchors: set[str] = set()
        self._expanded: dict[str, int] = {}  # anchor -> values it stands for, aliases expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            if anchor in self._open_anchors:
                raise _Refused(f"alias *{anchor} refers to the value it is part of (a loop)")
            self._count(self._expanded.get(anchor, 1))
            return super().compose_node(parent, index)
        anchor = self.peek_event().anchor
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
        before = self._nodes
        self._count(1)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)
        if anchor is not None:
            self._expanded[anchor] = self._nodes - before
        return node

    def _count(self, nodes: int) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} values once its aliases are expanded (an alias bomb?)")

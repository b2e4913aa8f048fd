"""Loading: the config file plus its drop-ins (``conf.d/*.yaml`` beside it), merged in name order.

Fleet tools (Ansible, Mender, balena, a first-boot script) each own one concern and write one
drop-in for it (``conf.d/10-site.yaml`` for languages, ``conf.d/50-metrics.yaml`` for metrics),
never the main file. The merge is YAML-level, before validation:

* files are read in this order: the main file, then ``conf.d/*.yaml`` sorted by file name
  (byte order, so ``10-`` before ``20-``); names starting with a dot are skipped (editor and
  package-manager leftovers), and so is anything not ending in ``.yaml``;
* mappings merge key by key, the later file winning; any other value (a list included)
  replaces the earlier one whole; a section written as nothing (``api:`` with every line below
  commented out) changes nothing;
* the merged document is validated once, like a single file; every error names the key path
  and the file that set it (``/etc/polybot/conf.d/10-site.yaml: languages[1]: ...``).

Each leaf remembers which file set it, for ``check-config``. Every problem raises
:class:`ConfigError`, so the daemon exits 78 on any of them, the drop-ins' own included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..redact import mask_secretish
from .base import ConfigError
from .schema import Config
from .validate import parse_config

DROPIN_DIR = "conf.d"
DEFAULT = "default"


@dataclass(frozen=True)
class Layer:
    path: Path
    name: str
    """How check-config names it: the main file's name, or ``conf.d/NAME.yaml``."""
    data: dict[str, Any]


@dataclass(frozen=True)
class LayeredConfig:
    config: Config
    layers: tuple[Layer, ...]
    sources: dict[str, str] = field(default_factory=dict)
    """Leaf key path -> name of the layer that set it (absent: the default)."""

    def source_of(self, key_path: str) -> str:
        """Which layer set ``key_path`` (a leaf or a whole mapping below it), or 'default'."""
        if key_path in self.sources:
            return self.sources[key_path]
        below = [name for path, name in self.sources.items() if path.startswith(key_path + ".")]
        ordered = [layer.name for layer in self.layers if layer.name in below]
        return ", ".join(ordered) if ordered else DEFAULT


def dropin_dir(path: str | Path) -> Path:
    return Path(path).parent / DROPIN_DIR


def load_config(path: str | Path) -> Config:
    """Read and validate ``path`` merged with its ``conf.d/*.yaml`` drop-ins. Raises ConfigError
    for every problem, naming the file and key path."""
    return load_layered(path).config


def load_layered(path: str | Path) -> LayeredConfig:
    """Read the main file and its drop-ins, merge and validate. Raises ConfigError."""
    layers = read_layers(Path(path))
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        _merge(merged, layer.data, "", layer.name, sources)
    try:
        config = parse_config(merged)
    except ConfigError as exc:
        raise ConfigError(f"{_blame(str(exc), layers, sources)}: {exc}") from None
    return LayeredConfig(config, tuple(layers), sources)


def read_layers(path: Path) -> list[Layer]:
    layers = [_read(path, path.name)]
    directory = dropin_dir(path)
    if not directory.exists():
        return layers
    if not directory.is_dir():
        raise ConfigError(f"{directory}: expected a directory of *.yaml drop-ins, found a file")
    try:
        names = sorted(p.name for p in directory.iterdir())
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot list the drop-in directory: {exc.strerror or exc}") from None
    for name in names:
        if name.startswith(".") or not name.endswith(".yaml"):
            continue
        layers.append(_read(directory / name, f"{DROPIN_DIR}/{name}"))
    return layers


def _read(path: Path, name: str) -> Layer:
    kind = "config file" if "/" not in name else "drop-in"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {kind} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {kind}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # PyYAML quotes the offending line: a key pasted there must not reach the error file.
        raise ConfigError(f"{path}: YAML syntax error: {mask_secretish(str(exc))}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top, got a {type(data).__name__}")
    return Layer(path, name, data)


def _merge(into: dict[str, Any], new: dict[str, Any], prefix: str, name: str, sources: dict[str, str]) -> None:
    for key, value in new.items():
        path = f"{prefix}{key}"
        old = into.get(key)
        if isinstance(old, dict) and value is None:
            continue  # an emptied section: nothing to change
        if isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value, path + ".", name, sources)
            continue
        for stale in [p for p in sources if p == path or p.startswith(path + ".")]:
            del sources[stale]
        into[key] = _copy(value)
        _record(value, path, name, sources)


def _record(value: Any, path: str, name: str, sources: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _record(item, f"{path}.{key}", name, sources)
    else:
        sources[path] = name


def _copy(value: Any) -> Any:
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


_KEY_PATH = re.compile(r"^([^\s:\[]+)(?:\[\d+\])?: ")
_KEY_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+")


def _blame(message: str, layers: list[Layer], sources: dict[str, str]) -> str:
    """The file(s) to name for a validation error whose message starts with a key path."""
    match = _KEY_PATH.match(message)
    names: list[str] = []
    if match:
        key = match.group(1)
        if key in sources:
            names = [sources[key]]
        else:
            below = {n for p, n in sources.items() if p.startswith(key + ".")}
            above = [p for p in sources if key.startswith(p + ".")]
            if below:
                names = [layer.name for layer in layers if layer.name in below]
            elif above:
                names = [sources[max(above, key=len)]]
    if not names:  # the key named first is a default: a cross-field check; blame the other keys named
        mentioned = {sources[token] for token in _KEY_TOKEN.findall(message) if token in sources}
        names = [layer.name for layer in layers if layer.name in mentioned]
    by_name = {layer.name: layer for layer in layers}
    if not names:  # nothing to go on: name every file read
        names = [layer.name for layer in layers]
    return " + ".join(str(by_name[n].path) for n in names)

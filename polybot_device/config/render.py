"""Showing the configuration to people: check-config's annotated YAML, per-field docs, key paths.

``annotated_yaml`` prints the effective values, secrets masked, each with the file that set it;
``field_docs`` and ``all_key_paths`` feed the generated configuration reference and its test.
"""

from __future__ import annotations

import ast
import enum
import inspect
import json
import typing
from dataclasses import fields, is_dataclass
from typing import Any

import yaml

from ..redact import mask_values
from .layers import DEFAULT, LayeredConfig
from .schema import Config

COMMENT_COLUMN = 44


def annotated_yaml(layered: LayeredConfig) -> str:
    """The effective config as YAML, secrets masked, each leaf with ``# from FILE`` or
    ``# default``. Loading the output back gives the effective (masked) values."""
    lines: list[str] = []
    _emit(layered.config, "", 0, layered, lines)
    return "\n".join(lines)


def _emit(obj: Any, prefix: str, indent: int, layered: LayeredConfig, lines: list[str]) -> None:
    pad = "  " * indent
    for f in fields(obj):
        value = getattr(obj, f.name)
        path = prefix + f.name
        if is_dataclass(value) and not isinstance(value, type):
            lines.append(f"{pad}{f.name}:")
            _emit(value, path + ".", indent + 1, layered, lines)
            continue
        plain = mask_values(_plain(value))  # a key command's arguments may carry a device token
        source = layered.source_of(path)
        comment = "# default" if source == DEFAULT else f"# from {source}"
        if isinstance(plain, str) and "\n" in plain:  # keep it on one line, before the comment
            dumped = [f"{f.name}: {json.dumps(plain)}"]
        else:
            dumped = yaml.safe_dump({f.name: plain}, default_flow_style=False, sort_keys=False,
                                    allow_unicode=True, width=10_000).rstrip("\n").split("\n")
        head = pad + dumped[0]
        lines.append(f"{head.ljust(COMMENT_COLUMN)} {comment}")
        lines.extend(pad + rest for rest in dumped[1:])


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def field_docs(cls: type) -> dict[str, str]:
    """Per-field docstrings (the string under each field), for check-config and the docs test."""
    tree = ast.parse(inspect.getsource(cls))
    definition = tree.body[0]
    assert isinstance(definition, ast.ClassDef)
    body = definition.body
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def all_key_paths(cls: type = Config, prefix: str = "") -> list[str]:
    """Every leaf key path ("audio.input.rate", ...), for the docs test and the example config."""
    paths = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        p = f"{prefix}{f.name}"
        if isinstance(hints[f.name], type) and is_dataclass(hints[f.name]):
            paths.extend(all_key_paths(hints[f.name], p + "."))
        else:
            paths.append(p)
    return paths

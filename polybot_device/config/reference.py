"""The config reference in docs/configuration.md, generated from the dataclasses so it cannot drift.

Not imported by the package's ``__init__``, so that ``python -m`` runs it cleanly.

    python -m polybot_device.config.reference docs/configuration.md    # rewrite the table in place

tests/test_docs.py fails while the table in that file differs from :func:`markdown_table`.
"""

from __future__ import annotations

import sys
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

from .render import field_docs
from .schema import Config

BEGIN = "<!-- config-table:begin -->"
END = "<!-- config-table:end -->"
DEFAULT_DOC = "docs/configuration.md"
"""Where the table lives, relative to the repository root."""


def markdown_table() -> str:
    lines = ["| key | default | range | meaning |", "|---|---|---|---|"]
    lines.extend(_rows(Config, ""))
    return "\n".join(lines)


def _rows(cls: type, prefix: str) -> typing.Iterator[str]:
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    instance = cls()
    for f in fields(cls):
        path = prefix + f.name
        if is_dataclass(hints[f.name]):
            yield from _rows(hints[f.name], path + ".")
            continue
        meaning = docs.get(f.name, "").replace("|", "/")
        yield f"| `{path}` | `{_yaml(getattr(instance, f.name))}` | {_range(f.metadata)} | {meaning} |"


def _range(meta: typing.Mapping[str, typing.Any]) -> str:
    """The bounds validation enforces (every number has both: see config.base.bounded)."""
    low, high = meta.get("min"), meta.get("max")
    if low is None and high is None:
        return ""
    return f"{'' if low is None else f'{low:g}'} – {high:g}"


def _yaml(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def rewrite(doc: Path) -> bool:
    """Replace what lies between BEGIN and END in ``doc``; True if that changed the file. A file
    without both markers is refused rather than given a second table at its end."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{doc}: no {BEGIN} ... {END} block to rewrite")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"
    changed = new != text
    doc.write_text(new)
    return changed


if __name__ == "__main__":
    rewrite(Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DOC))

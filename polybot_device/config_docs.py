"""The README's config reference, generated from the dataclasses so it cannot drift.

    python -m polybot_device.config_docs README.md    # rewrite the table in place
"""

from __future__ import annotations

import sys
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

from .config import Config, field_docs

BEGIN = "<!-- config-table:begin -->"
END = "<!-- config-table:end -->"


def markdown_table() -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
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
        yield f"| `{path}` | `{_yaml(getattr(instance, f.name))}` | {docs.get(f.name, '').replace('|', '/')} |"


def _yaml(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def rewrite(readme: Path) -> bool:
    text = readme.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"
    changed = new != text
    readme.write_text(new)
    return changed


if __name__ == "__main__":
    rewrite(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))

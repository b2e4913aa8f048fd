"""The docs are part of the product: the config table is generated and must be current, every key
is documented, the README keeps the two commands a newcomer needs, and nothing in the repository
points at a file that is not there or outside the repository."""

import os
import re
from pathlib import Path

import pytest

from polybot_device.config import all_key_paths
from polybot_device.config.reference import BEGIN, DEFAULT_DOC, END, markdown_table, rewrite

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CONFIGURATION = REPO / DEFAULT_DOC


def test_config_table_is_current():
    text = CONFIGURATION.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown_table(), f"run: python -m polybot_device.config.reference {DEFAULT_DOC}"


def test_every_config_key_is_documented():
    text = CONFIGURATION.read_text()
    missing = [path for path in all_key_paths() if f"`{path}`" not in text]
    assert not missing, f"not in {DEFAULT_DOC}: {missing}"


def test_readme_gives_the_two_commands():
    text = README.read_text()
    assert "./scripts/demo" in text and "./scripts/test" in text


def test_the_generator_refuses_a_file_without_the_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A page with no table\n")
    with pytest.raises(ValueError, match="config-table"):
        rewrite(page)
    assert page.read_text() == "# A page with no table\n"


# -- nothing in the repository points at a file that is not there, or outside it ------------------

SKIP_DIRS = {"__pycache__", "node_modules", "build", "dist"}
SKIP_PATHS = {"image/work", "demo-output", "benchmarks/results"}
"""Generated or downloaded trees (pi-gen's clone, demo and benchmark output): not ours to check."""
OUTSIDE = ("../" + "shared", "/work/" + "shared")
"""Where helpers' notes live beside the repository; spelled in pieces so this file does not match."""

LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"`+[^`\n]*`+")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
DOCS_MENTION = re.compile(r"(?<![\w/.-])docs/[\w/.-]*?\.md\b")


def repo_text_files(root: Path) -> list[Path]:
    """Every text file of the repository that is ours: hidden trees (.git, .venv) skipped except
    .ci, generated trees skipped, binary files skipped."""
    found = []
    for directory, dirs, files in os.walk(root):
        rel = Path(directory).relative_to(root)
        dirs[:] = sorted(d for d in dirs if (not d.startswith(".") or d == ".ci") and d not in SKIP_DIRS
                         and not d.endswith(".egg-info") and (rel / d).as_posix() not in SKIP_PATHS)
        for name in sorted(files):
            path = Path(directory) / name
            head = path.read_bytes()[:8192]
            if b"\0" not in head:
                found.append(path)
    return found


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans removed: links
    there are examples, not links."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, CODE_SPAN.sub("", line)))
    return lines


def anchors(markdown: Path) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces to hyphens,
    a repeated heading numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in markdown.read_text().splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(2).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def broken_links(markdown: Path, root: Path) -> list[str]:
    """Relative links in ``markdown`` that name a missing file or heading, or leave ``root``."""
    problems = []
    for number, line in prose_lines(markdown.read_text()):
        for target in LINK.findall(line):
            if SCHEME.match(target):
                continue  # http(s), mailto: not a file of ours
            path_part, _, fragment = target.partition("#")
            resolved = (markdown.parent / path_part).resolve() if path_part else markdown.resolve()
            where = f"{markdown.relative_to(root)}:{number}: {target}"
            if not resolved.is_relative_to(root.resolve()):
                problems.append(f"{where} points outside the repository")
            elif not resolved.exists():
                problems.append(f"{where} names a file that does not exist")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                problems.append(f"{where} names a heading that does not exist")
    return problems


def missing_doc_mentions(path: Path, root: Path) -> list[str]:
    """``docs/....md`` paths mentioned in ``path`` (comments, docstrings, messages) that do not
    exist under ``root``."""
    problems = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        for mention in DOCS_MENTION.findall(line):
            if not (root / mention).exists():
                problems.append(f"{path.relative_to(root)}:{number}: {mention} does not exist")
    return problems


def outside_references(path: Path, root: Path) -> list[str]:
    problems = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        for outside in OUTSIDE:
            if outside in line:
                problems.append(f"{path.relative_to(root)}:{number}: refers to {outside}, outside the repository")
    return problems


def test_every_relative_link_in_the_docs_names_a_file_that_exists():
    pages = [path for path in repo_text_files(REPO) if path.suffix == ".md"]
    assert README in pages and CONFIGURATION in pages and REPO / "benchmarks" / "README.md" in pages
    problems = [problem for page in pages for problem in broken_links(page, REPO)]
    assert not problems, "\n".join(problems)


def test_every_docs_path_the_code_mentions_exists():
    # This file is left out: its self-test below mentions missing pages on purpose.
    files = [path for path in repo_text_files(REPO) if path != Path(__file__).resolve()]
    mentioned = [problem for path in files for problem in missing_doc_mentions(path, REPO)]
    assert not mentioned, "\n".join(mentioned)


def test_nothing_in_the_repository_points_outside_it():
    problems = [problem for path in repo_text_files(REPO) for problem in outside_references(path, REPO)]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The three checks above pass on a good tree; here each is shown failing on a bad one."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "real.md").write_text("# Real page\n\n## A section\n")
    page = tmp_path / "README.md"
    page.write_text("\n".join([
        "[ok](docs/real.md) [ok](docs/real.md#a-section) [ok](#top) [web](https://example.com)",
        "# Top",
        "[gone](docs/gone.md)",
        "[no heading](docs/real.md#no-such-section)",
        "[escape](../elsewhere.md)",
        "`[an example](not/checked.md)`",
        "```",
        "[in a code block](not/checked/either.md)",
        "```",
    ]))
    assert broken_links(page, tmp_path) == [
        "README.md:3: docs/gone.md names a file that does not exist",
        "README.md:4: docs/real.md#no-such-section names a heading that does not exist",
        "README.md:5: ../elsewhere.md points outside the repository",
    ]
    code = tmp_path / "module.py"
    code.write_text('"""See docs/real.md and docs/testing.md; not image/docs/x.md."""\n'
                    f"# from {OUTSIDE[0]}/docs/protocol.md\n")
    assert missing_doc_mentions(code, tmp_path) == ["module.py:1: docs/testing.md does not exist"]
    assert outside_references(code, tmp_path) == [
        f"module.py:2: refers to {OUTSIDE[0]}, outside the repository"]
    assert code in repo_text_files(tmp_path) and page in repo_text_files(tmp_path)

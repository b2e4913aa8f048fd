"""The docs are part of the product: the config table is generated and must be current, every key
is documented, and the README keeps the two commands a newcomer needs."""

from pathlib import Path

import pytest

from polybot_device.config import all_key_paths
from polybot_device.config_docs import BEGIN, DEFAULT_DOC, END, markdown_table, rewrite

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CONFIGURATION = REPO / DEFAULT_DOC


def test_config_table_is_current():
    text = CONFIGURATION.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown_table(), f"run: python -m polybot_device.config_docs {DEFAULT_DOC}"


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

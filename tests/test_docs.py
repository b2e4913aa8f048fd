"""The README is part of the product: its config table is generated and must be current."""

from pathlib import Path

from polybot_device.config import all_key_paths
from polybot_device.config_docs import BEGIN, END, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_table_is_current():
    text = README.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown_table(), "run: python -m polybot_device.config_docs README.md"


def test_readme_documents_every_key_and_the_two_commands():
    text = README.read_text()
    for path in all_key_paths():
        assert f"`{path}`" in text
    assert "./scripts/demo" in text and "./scripts/test" in text

"""Hostile config files: alias bombs, loops, deep nesting, pipes and devices, oversized files.
Each is a config problem (exit 78) found at once, never a hang, a traceback or gigabytes of RAM."""

from __future__ import annotations

import os
import time

import pytest

from polybot_device.config import ConfigError, load_config
from polybot_device.config.yamlfile import MAX_FILE_BYTES, parse_yaml
from polybot_device.controls.config_error import read_controls
from tests.rig.fleet import run_cli
from tests.rig.timing import scaled


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" of mappings: ~900 bytes standing for width**levels values."""
    lines = ["l0: &l0 {" + ", ".join(f"k{i}: lol" for i in range(width)) + "}"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} {{" + ", ".join(f"k{i}: *l{level - 1}" for i in range(width)) + "}")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "alias bomb": (alias_bomb(), "aliases are expanded"),
    "a mapping containing itself": ("vad: &v {x: *v}\n", "a loop"),
    "a list containing itself": ("glossary: &g [*g]\n", "a loop"),
    "deep nesting": ("glossary: " + "[" * 5000 + "]" * 5000 + "\n", "levels deep"),
    "a huge file": ("glossary:\n" + "  - Hotel Miramar\n" * (MAX_FILE_BYTES // 16), "larger than"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_dropin_is_a_config_error_found_at_once(tmp_path, name):
    text, words = HOSTILE[name]
    main = tmp_path / "polybot.yaml"
    main.write_text("languages: [es, en]\n")
    (tmp_path / "conf.d").mkdir()
    bad = tmp_path / "conf.d" / "50-bad.yaml"
    bad.write_text(text)
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        load_config(main)
    assert time.monotonic() - started < scaled(1.0), "a bounded parse takes milliseconds"
    assert str(err.value).startswith(f"{bad}: ") and words in str(err.value), err.value
    result = run_cli("check-config", str(main), timeout=20)
    assert result.returncode == 78 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_alias_bomb_is_under_a_kilobyte():
    assert len(alias_bomb()) < 1000


def test_ordinary_anchors_and_merge_keys_still_work():
    data = parse_yaml("base: &b {rate: 48000, channels: 2}\naudio:\n  input: {<<: *b, channels: 1}\n", "t")
    assert data["audio"]["input"] == {"rate": 48000, "channels": 1}


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory"])
def test_a_pipe_a_device_or_a_directory_in_conf_d_is_refused_without_blocking(tmp_path, kind):
    main = tmp_path / "polybot.yaml"
    main.write_text("languages: [es, en]\n")
    (tmp_path / "conf.d").mkdir()
    bad = tmp_path / "conf.d" / "50-odd.yaml"
    if kind == "fifo":
        os.mkfifo(bad)  # nobody ever writes to it: a blocking open or read would hang for ever
    elif kind == "directory":
        bad.mkdir()
    else:
        bad.symlink_to(kind)  # endless zeros
    result = run_cli("check-config", str(main), timeout=20)
    assert result.returncode == 78, result.stderr
    assert f"{bad}: cannot read drop-in: it is a" in result.stderr and "not a regular file" in result.stderr


def test_a_utf8_bom_from_a_windows_editor_is_not_part_of_the_yaml(tmp_path):
    main = tmp_path / "polybot.yaml"
    main.write_bytes(b"\xef\xbb\xbflanguages: [de, en]\r\n")
    assert load_config(main).languages == ("de", "en")


def test_show_config_error_keeps_blinking_on_a_bomb_with_the_default_pins(tmp_path):
    path = tmp_path / "polybot.yaml"
    path.write_text(alias_bomb() + "controls:\n  status_led:\n    pin: 5\n")
    started = time.monotonic()
    controls = read_controls(path)
    assert time.monotonic() - started < scaled(1.0)
    assert controls.status_led.pin in (5, 27)

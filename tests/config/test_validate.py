"""Validation: defaults for everything, every error names its key path and the value it got."""

from pathlib import Path

import pytest

from polybot_device.config import ConfigError, all_key_paths, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "polybot.example.yaml"


def test_defaults_fill_everything():
    config = parse_config({})
    assert config.api.url == "wss://api.openai.com/v1/realtime"
    assert config.api.model == "gpt-realtime-2.1"
    assert config.mode == "conversation" and config.audio.input.channels == 1


@pytest.mark.parametrize("data,expected", [
    ({"audio": {"input": {"rate": "fast"}}}, "audio.input.rate: expected a positive integer, got 'fast'"),
    ({"audio": {"input": {"channels": 0}}}, "audio.input.channels"),
    ({"audio": {"inptu": {}}}, "audio.inptu: unknown key (did you mean 'input'?)"),
    ({"langauges": ["es", "en"]}, "did you mean 'languages'?"),
    ({"mode": "interpreterr"}, "mode: expected one of"),
    ({"languages": ["es"]}, "conversation mode needs at least two"),
    ({"languages": ["es", "Spanish!"]}, "languages[1]"),
    ({"api": {"url": "ws://api.example.com/v1/realtime"}}, "api.url"),
    ({"audio": {"echo_gate": "yes"}}, "audio.echo_gate: expected true or false, got 'yes'"),
    ({"vad": {"threshold": 1.5}}, "vad.threshold"),
])
def test_each_bad_value_is_named_by_its_key_path(data, expected):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert expected in str(err.value)


def test_example_config_is_valid_and_documents_every_key():
    config = load_config(EXAMPLE)
    assert config is not None
    text = EXAMPLE.read_text()
    for path in all_key_paths():
        leaf = path.split(".")[-1]
        assert f"{leaf}:" in text, f"{path} is not documented in {EXAMPLE.name}"


@pytest.mark.parametrize("section,key,value", [
    ("api", "ping_timeout_s", float("inf")),   # would switch half-open detection off
    ("api", "backoff_max_s", float("nan")),    # 'retrying in nan s'
    ("api", "connect_timeout_s", float("-inf")),
    ("api", "response_stall_s", 1e300),
    ("api", "auth_retry_s", 1e9),
    ("audio", "outage_buffer_s", float("nan")),
    ("vad", "threshold", float("nan")),
])
def test_nan_infinity_and_huge_timings_are_refused_with_the_range(section, key, value):
    with pytest.raises(ConfigError) as err:
        parse_config({section: {key: value}})
    assert str(err.value).startswith(f"{section}.{key}: expected a number from "), err.value


def numeric_fields(cls, prefix=""):
    import typing
    from dataclasses import fields, is_dataclass

    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        tp = hints[f.name]
        if isinstance(tp, type) and is_dataclass(tp):
            yield from numeric_fields(tp, f"{prefix}{f.name}.")
        elif int in typing.get_args(tp) or float in typing.get_args(tp) or tp in (int, float):
            yield f"{prefix}{f.name}", f.metadata


def test_every_number_in_the_config_has_a_finite_maximum():
    import math

    from polybot_device.config import Config

    found = dict(numeric_fields(Config))
    assert "api.ping_timeout_s" in found and "controls.button.pin" in found
    unbounded = [path for path, meta in found.items()
                 if meta.get("max") is None or not math.isfinite(meta["max"])]
    assert not unbounded


KEY_IN_THE_WRONG_PLACE = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
AZURE_KEY = "0f3a9c2b7d4e41a8b6c5d9e0f1a2b3c4"


@pytest.mark.parametrize("data", [
    {"languages": ["es", KEY_IN_THE_WRONG_PLACE]},
    {"api": {"url": KEY_IN_THE_WRONG_PLACE}},
    {"api": {"auth_header": AZURE_KEY}},
    {"metrics": {"textfile": AZURE_KEY}},
    {"fleet": {"update_lock_file": KEY_IN_THE_WRONG_PLACE}},
    {"audio": {"echo_gate": AZURE_KEY}},
    {"mode": KEY_IN_THE_WRONG_PLACE},
])
def test_a_key_pasted_into_the_wrong_field_is_not_echoed_by_the_error(data):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    message = str(caught.value)
    assert "Ab12Cd34" not in message and "0f3a9c2b" not in message, message
    assert "expected" in message or "unknown key" in message  # still says what is wrong, and where


def test_a_yaml_syntax_error_does_not_quote_a_key_on_the_offending_line(tmp_path):
    path = tmp_path / "polybot.yaml"
    path.write_text(f"api:\n  url: wss://api.openai.com/v1/realtime\n  key_file: \"{KEY_IN_THE_WRONG_PLACE}\n  x: [\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "YAML syntax error" in str(caught.value)
    assert "Ab12Cd34" not in str(caught.value)


def test_ordinary_values_are_still_quoted_in_full():
    with pytest.raises(ConfigError, match=r"got 'gpt-realtime-2025-08-28-preview-x'"):
        parse_config({"mode": "gpt-realtime-2025-08-28-preview-x"})

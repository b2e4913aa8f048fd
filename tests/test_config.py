"""Config: every error names its key and value; exit 78 for every configuration problem."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from polybot_device.config import ConfigError, all_key_paths, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]
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


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "polybot_device", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("content,expected", [
    ("audio:\n  input:\n    rate: fast\n", "audio.input.rate"),
    ("languages: [es, en\n", "YAML syntax error"),
    ("api:\n  modle: x\n", "api.modle: unknown key (did you mean 'model'?)"),
    (None, "config file not found"),
])
def test_every_config_problem_exits_78_and_says_what(tmp_path, content, expected):
    path = tmp_path / "polybot.yaml"
    if content is not None:
        path.write_text(content)
    for command in (["check-config", str(path)], ["run", "--config", str(path)]):
        result = run_cli(*command)
        assert result.returncode == 78, result.stderr
        assert expected in result.stderr


def test_unreadable_config_exits_78(tmp_path):
    path = tmp_path / "polybot.yaml"
    path.mkdir()  # a directory where the file should be: unreadable as a file, even for root
    result = run_cli("check-config", str(path))
    assert result.returncode == 78 and "cannot read" in result.stderr


def test_missing_api_key_is_a_config_problem(tmp_path):
    path = tmp_path / "polybot.yaml"
    path.write_text("languages: [es, en]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CREDENTIALS_DIRECTORY")}
    result = subprocess.run([sys.executable, "-m", "polybot_device", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 78 and "no API key" in result.stderr


def test_check_config_prints_effective_config_and_never_the_key(tmp_path):
    path = tmp_path / "polybot.yaml"
    key_file = tmp_path / "key"
    key_file.write_text("sk-test-secret-value-1234567890\n")
    path.write_text(f"api:\n  key_file: {key_file}\nlanguages: [de, en]\n")
    result = run_cli("check-config", str(path), env={"OPENAI_API_KEY": "sk-env-secret-0987654321"})
    assert result.returncode == 0, result.stderr
    assert "silence_duration_ms: 500" in result.stdout and "- de" in result.stdout
    assert "secret" not in result.stdout + result.stderr


def test_bad_command_line_exits_78():
    assert run_cli("run").returncode == 78


def test_example_config_is_valid_and_documents_every_key():
    config = load_config(EXAMPLE)
    assert config is not None
    text = EXAMPLE.read_text()
    for path in all_key_paths():
        leaf = path.split(".")[-1]
        assert f"{leaf}:" in text, f"{path} is not documented in {EXAMPLE.name}"

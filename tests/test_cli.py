"""The command line's contract: exit 78 for every configuration problem (a bad command line
included), and check-config shows the effective values but never a key."""

import os
import subprocess
import sys

import pytest

from tests.rig.fleet import run_cli
from tests.rig.timing import scaled


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
                            capture_output=True, text=True, timeout=scaled(60), env=env)
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

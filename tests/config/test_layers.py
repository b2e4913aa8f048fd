"""Config drop-ins: a fleet tool writes conf.d/NN-concern.yaml; the daemon merges them in name
order, names the file and the key in every error (exit 78), and check-config shows where each
value came from."""

from __future__ import annotations

import signal

import pytest
import yaml

from polybot_device.config import ConfigError, annotated_yaml, load_config, load_layered
from tests.rig.fleet import run_cli
from tests.rig.timing import eventually


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def main_file(tmp_path):
    return write(tmp_path / "etc" / "polybot.yaml",
                 "languages: [es, en]\nvad:\n  threshold: 0.4\n  silence_duration_ms: 600\n"
                 "glossary: [Hotel Miramar, Dr. Okafor]\n")


def test_dropins_merge_in_name_order_later_keys_win_and_lists_replace(main_file):
    d = main_file.parent / "conf.d"
    write(d / "20-vad.yaml", "vad:\n  threshold: 0.8\n")
    write(d / "10-site.yaml", "languages: [de, en]\nvad:\n  threshold: 0.6\nglossary: [Lobby Bar]\n")
    write(d / "30-empty.yaml", "# every line commented out\n")
    write(d / "40-section-emptied.yaml", "vad:\n")
    write(d / ".90-editor-swap.yaml", "languages: [xx]\n")
    write(d / "50-notes.yaml.disabled", "languages: [fr, en]\n")
    layered = load_layered(main_file)
    config = layered.config
    assert config.languages == ("de", "en")
    assert config.vad.threshold == 0.8  # 20- after 10-
    assert config.vad.silence_duration_ms == 600  # kept from the main file: mappings merge
    assert config.glossary == ("Lobby Bar",)  # lists replace, never append
    assert [layer.name for layer in layered.layers] == [
        "polybot.yaml", "conf.d/10-site.yaml", "conf.d/20-vad.yaml", "conf.d/30-empty.yaml",
        "conf.d/40-section-emptied.yaml"]
    assert layered.source_of("vad.threshold") == "conf.d/20-vad.yaml"
    assert layered.source_of("vad.silence_duration_ms") == "polybot.yaml"
    assert layered.source_of("vad.type") == "default"
    assert load_config(main_file) == config  # the daemon's loader is the same merge


@pytest.mark.parametrize("dropin,expected", [
    ("audio:\n  input:\n    rate: fast\n", "audio.input.rate: expected a positive integer, got 'fast'"),
    ("audio:\n  inptu: {}\n", "audio.inptu: unknown key (did you mean 'input'?)"),
    ("languages: [es]\n", "languages: conversation mode needs at least two languages"),
    ("vad:\n  threshold: 2\n", "vad.threshold: expected a number from 0 to 1"),
    ("metrics:\n  textfile: polybot.txt\n", "metrics.textfile: expected an absolute path ending in .prom"),
    ("api:\n  key_command: []\n", "api.key_command: expected a command as a list"),
    ("languages: [es, en\n", "YAML syntax error"),
    ("- just\n- a list\n", "expected a mapping of keys at the top"),
])
def test_every_dropin_problem_names_the_file_and_key_and_exits_78(main_file, dropin, expected):
    bad = write(main_file.parent / "conf.d" / "50-bad.yaml", dropin)
    write(main_file.parent / "conf.d" / "10-fine.yaml", "vad:\n  threshold: 0.5\n")
    with pytest.raises(ConfigError) as err:
        load_config(main_file)
    assert str(err.value).startswith(f"{bad}: "), str(err.value)
    assert expected in str(err.value)
    for command in (["check-config", str(main_file)], ["run", "--config", str(main_file)]):
        result = run_cli(*command)
        assert result.returncode == 78, result.stderr
        assert f"{bad}: " in result.stderr and expected in result.stderr


def test_a_value_that_only_conflicts_with_a_default_blames_the_file_that_set_the_other_key(main_file):
    bad = write(main_file.parent / "conf.d" / "10-volume.yaml", "controls:\n  volume_up_pin: 27\n")
    with pytest.raises(ConfigError) as err:
        load_config(main_file)
    assert str(err.value).startswith(f"{bad}: ") and "volume_up_pin" in str(err.value)


def test_a_file_where_the_dropin_directory_should_be_is_a_config_error(main_file):
    write(main_file.parent / "conf.d", "oops")
    result = run_cli("check-config", str(main_file))
    assert result.returncode == 78 and "conf.d: expected a directory" in result.stderr


def test_check_config_prints_merged_values_with_their_origin_and_masks_secrets(main_file):
    write(main_file.parent / "conf.d" / "10-site.yaml", "vad:\n  threshold: 0.6\n")
    write(main_file.parent / "conf.d" / "60-key.yaml",
          "api:\n  key_command: [/bin/echo, --token=devtoken123456, sk-inline-0123456789]\n")
    result = run_cli("check-config", str(main_file))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    def shown(key: str, origin: str) -> bool:
        return any(line.strip().startswith(key) and line.endswith(origin) for line in lines)

    assert shown("threshold: 0.6", "# from conf.d/10-site.yaml")
    assert shown("silence_duration_ms: 600", "# from polybot.yaml")
    assert any(line.strip().startswith("eagerness: auto") and line.endswith("# default") for line in lines)
    assert any(line.strip().startswith("key_command:") and line.endswith("# from conf.d/60-key.yaml") for line in lines)
    assert "devtoken123456" not in result.stdout and "sk-inline-0123456789" not in result.stdout
    assert "/bin/echo" in result.stdout
    # The output is YAML that loads back to the effective configuration.
    printed = yaml.safe_load(result.stdout)
    assert printed["vad"]["threshold"] == 0.6 and printed["languages"] == ["es", "en"]
    layered = load_layered(main_file)
    assert yaml.safe_load(annotated_yaml(layered))["api"]["key_command"][0] == "/bin/echo"


def test_sighup_rereads_the_dropins_and_a_broken_one_keeps_the_running_config(sim, rig, feeder, start_fleet_daemon):
    daemon = start_fleet_daemon(languages=["es", "en"])
    daemon.wait_ready()
    site = write(daemon.config_path.parent / "conf.d" / "10-site.yaml", "languages: [de, en]\n")
    daemon.proc.send_signal(signal.SIGHUP)
    eventually(lambda: "reload: mode conversation, languages de, en" in daemon.log(), 10, "the reload")
    site.write_text("languages: [de, en\n")
    daemon.proc.send_signal(signal.SIGHUP)
    eventually(lambda: "reload refused" in daemon.log(), 10, "the refusal")
    assert f"{site}: YAML syntax error" in daemon.log()
    assert daemon.proc.poll() is None
    code, _ = daemon.terminate()
    assert code == 0

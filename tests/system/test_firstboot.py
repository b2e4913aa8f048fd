"""Headless setup: files dropped on the card's boot partition end up in /etc/polybot.

The import script runs here against temporary directories standing in for /boot/firmware,
/etc/polybot and NetworkManager's keyfile directory, and validates with the real
`polybot-device check-config`.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "image" / "firstboot" / "polybot-firstboot"
GOOD_CONFIG = "languages: [es, en]\nmode: conversation\n"
BAD_CONFIG = "audio:\n  input:\n    rate: fast\n"
KEY = "sk-test-0123456789abcdef"


class Card:
    """A boot partition, a config dir and a NetworkManager dir in tmp, and the script's run."""

    def __init__(self, tmp: Path) -> None:
        self.boot = tmp / "boot"
        self.etc = tmp / "etc" / "polybot"
        self.nm = tmp / "nm"
        self.log = tmp / "commands.log"
        self.boot.mkdir()
        (tmp / "etc").mkdir()
        self.mounts = tmp / "mounts"
        self.mounts.write_text("/dev/root / ext4 rw,noatime 0 0\n")
        self.cli = tmp / "polybot-device"
        self.cli.write_text(
            f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m polybot_device \"$@\"\n")
        self.cli.chmod(0o755)
        # Stand-ins for raspi-config, which exists only on Raspberry Pi OS: they record their call.
        self.recorder = tmp / "record"
        self.recorder.write_text(f"#!/bin/sh\necho \"$*\" >> {self.log}\n")
        self.recorder.chmod(0o755)
        self.owner = pwd.getpwuid(os.geteuid()).pw_name
        self.group = grp.getgrgid(os.getegid()).gr_name
        self.python = tmp / "python"
        self.python.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} \"$@\"\n")
        self.python.chmod(0o755)
        self.drop_ins = tmp / "polybot-device.service.d"

    def put(self, name: str, text: str) -> None:
        (self.boot / name).write_text(text)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), "--boot", str(self.boot), "--etc", str(self.etc), "--nm-dir", str(self.nm),
             "--owner", self.owner, "--group", self.group, "--polybot-device", str(self.cli),
             "--wifi-country-cmd", f"{self.recorder} wifi-country",
             "--readonly-cmd", f"{self.recorder} overlay", "--proc-mounts", str(self.mounts),
             "--writable-paths-cmd", f"{REPO / 'systemd' / 'polybot-writable-paths'} --drop-in-dir "
                                     f"{self.drop_ins} --python {self.python} --user {self.owner}"],
            capture_output=True, text=True, timeout=60,
            env={k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},
        )

    def commands(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def card(tmp_path: Path) -> Card:
    return Card(tmp_path)


def test_config_and_key_move_off_the_boot_partition_with_safe_modes(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    card.put("openai_api_key", KEY + "\r\n")  # as a Windows editor saves it

    out = card.run()

    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in card.boot.iterdir()) == []
    assert (card.etc / "polybot.yaml").read_text() == GOOD_CONFIG
    assert (card.etc / "openai_api_key").read_text() == KEY
    assert mode(card.etc) == 0o750
    assert mode(card.etc / "polybot.yaml") == 0o640
    assert mode(card.etc / "openai_api_key") == 0o600
    key_owner = card.etc.joinpath("openai_api_key").stat()
    assert (key_owner.st_uid, key_owner.st_gid) == (os.geteuid(), pwd.getpwuid(os.geteuid()).pw_gid)
    assert card.etc.joinpath("polybot.yaml").stat().st_gid == os.getegid()
    assert "configuration is valid" in out.stderr
    assert KEY not in out.stdout + out.stderr


def test_a_key_saved_with_a_bom_or_pasted_with_invisible_spaces_is_imported_clean(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    (card.boot / "openai_api_key").write_bytes(
        ("\ufeff" + KEY[:5] + "\u200b" + KEY[5:] + "\u00a0\u202f\r\n").encode())  # Notepad, a web page

    out = card.run()

    assert out.returncode == 0, out.stderr
    assert (card.etc / "openai_api_key").read_bytes() == KEY.encode()
    assert "configuration is valid" in out.stderr


def test_no_temporary_copies_are_left_next_to_the_config(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    card.put("openai_api_key", KEY)
    card.run()
    assert sorted(p.name for p in card.etc.iterdir()) == ["openai_api_key", "polybot.yaml"]


def test_a_bad_config_is_explained_on_the_boot_partition(card: Card) -> None:
    card.put("polybot.yaml", BAD_CONFIG)
    card.put("openai_api_key", KEY)

    out = card.run()

    assert out.returncode == 0, out.stderr
    # Still imported: the daemon then exits 78 and the config-error LED unit blinks.
    assert (card.etc / "polybot.yaml").read_text() == BAD_CONFIG
    assert not (card.boot / "polybot.yaml").exists()
    report = (card.boot / "polybot-config-error.txt").read_text()
    assert "audio.input.rate" in report and "fast" in report
    assert "configuration is invalid (exit 78)" in out.stderr


def test_a_fixed_config_clears_the_old_error_report(card: Card) -> None:
    card.put("polybot.yaml", BAD_CONFIG)
    card.run()
    assert (card.boot / "polybot-config-error.txt").exists()

    card.put("polybot.yaml", GOOD_CONFIG)
    card.run()

    assert not (card.boot / "polybot-config-error.txt").exists()
    assert (card.etc / "polybot.yaml").read_text() == GOOD_CONFIG


def test_a_new_key_alone_replaces_the_old_one_and_keeps_the_config(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    card.put("openai_api_key", "sk-old")
    card.run()
    card.put("openai_api_key", "sk-new\n")

    out = card.run()

    assert out.returncode == 0, out.stderr
    assert (card.etc / "openai_api_key").read_text() == "sk-new"
    assert (card.etc / "polybot.yaml").read_text() == GOOD_CONFIG
    assert mode(card.etc / "openai_api_key") == 0o600


def test_an_empty_key_file_is_reported_not_installed(card: Card) -> None:
    card.put("openai_api_key", "\n")
    card.run()
    assert not (card.etc / "openai_api_key").exists()
    assert not (card.boot / "openai_api_key").exists()
    assert "empty" in (card.boot / "polybot-config-error.txt").read_text()


def test_wifi_credentials_become_a_root_only_networkmanager_connection(card: Card) -> None:
    card.put("polybot-wifi.txt", "# home\nssid=Casa Pepe\npassword=p=a;ss word\ncountry=ES\n")

    out = card.run()

    assert out.returncode == 0, out.stderr
    conn = card.nm / "polybot-wifi.nmconnection"
    text = conn.read_text()
    assert "ssid=Casa Pepe\n" in text
    assert "psk=p=a;ss word\n" in text and "key-mgmt=wpa-psk" in text
    assert mode(conn) == 0o600
    assert not (card.boot / "polybot-wifi.txt").exists()
    assert card.commands() == ["wifi-country ES"]
    assert "p=a;ss word" not in out.stderr


def test_an_open_network_gets_no_security_section(card: Card) -> None:
    card.put("polybot-wifi.txt", "ssid=Cafe\n")
    card.run()
    assert "[wifi-security]" not in (card.nm / "polybot-wifi.nmconnection").read_text()
    assert card.commands() == []


def test_read_only_root_is_requested_after_the_import(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    card.put("polybot-readonly", "")

    out = card.run()

    assert out.returncode == 0, out.stderr
    assert card.commands() == ["overlay"]
    assert not (card.boot / "polybot-readonly").exists()
    assert (card.etc / "polybot.yaml").exists()


def test_nothing_is_imported_into_a_read_only_root(card: Card) -> None:
    card.mounts.write_text("overlayroot / overlay rw,relatime 0 0\n")
    card.put("polybot.yaml", GOOD_CONFIG)

    card.run()

    assert not card.etc.exists()
    assert (card.boot / "polybot.yaml").read_text() == GOOD_CONFIG
    assert "read-only root is on" in (card.boot / "polybot-config-error.txt").read_text()


def test_an_empty_boot_partition_changes_nothing(card: Card) -> None:
    out = card.run()
    assert out.returncode == 0
    assert not card.etc.exists() and not card.nm.exists()


def test_a_metrics_file_in_the_config_becomes_writable_for_the_daemon(card: Card, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "textfile_collector"
    card.put("polybot.yaml", f"metrics:\n  textfile: {metrics_dir}/polybot.prom\n")

    out = card.run()

    assert out.returncode == 0, out.stderr
    drop_in = (card.drop_ins / "40-writable-paths.conf").read_text()
    assert f"ReadWritePaths=-{metrics_dir}\n" in drop_in
    assert metrics_dir.is_dir()

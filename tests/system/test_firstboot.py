"""Headless setup: files dropped on the card's boot partition end up in /etc/polybot.

The import script runs here against temporary directories standing in for /boot/firmware,
/etc/polybot and NetworkManager's keyfile directory, and validates with the real
`polybot-device check-config`.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
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
        self.check_user = self.owner
        self.python = tmp / "python"
        self.python.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} \"$@\"\n")
        self.python.chmod(0o755)
        self.drop_ins = tmp / "polybot-device.service.d"
        self.nm_state = tmp / "var-lib-NetworkManager" / "NetworkManager.state"
        self.nm_state.parent.mkdir()
        # What pi-gen's stage2 (02-net-tweaks) writes when the image is built without WPA_COUNTRY.
        self.nm_state.write_text("[main]\nWirelessEnabled=false\n")
        self.cmdline = self.boot / "cmdline.txt"
        self.cmdline.write_text("console=serial0,115200 console=tty1 root=PARTUUID=abcd-02 rootfstype=ext4 "
                                "fsck.repair=yes rootwait\n")
        self.state_dir = tmp / "var-lib-polybot"
        self.overlayroot_conf = tmp / "overlayroot.conf"  # the overlayroot package ships /etc/overlayroot.conf
        self.overlayroot_conf.write_text("overlayroot=\"\"\n")
        self.rpi_swap_dir = tmp / "etc-rpi" / "swap.conf.d"

    def put(self, name: str, text: str) -> None:
        (self.boot / name).write_text(text)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), "--boot", str(self.boot), "--etc", str(self.etc), "--nm-dir", str(self.nm),
             "--owner", self.owner, "--group", self.group, "--polybot-device", str(self.cli),
             "--python", str(self.python), "--wifi-country-cmd", f"{self.recorder} wifi-country",
             "--nm-state", str(self.nm_state), "--cmdline", str(self.cmdline), "--state-dir", str(self.state_dir),
             "--overlayroot-conf", str(self.overlayroot_conf), "--rpi-swap-dir", str(self.rpi_swap_dir),
             "--proc-mounts", str(self.mounts), "--check-user", self.check_user,
             "--writable-paths-cmd", f"{REPO / 'systemd' / 'polybot-writable-paths'} --drop-in-dir "
                                     f"{self.drop_ins} --python {self.python} --user {self.owner}"],
            capture_output=True, text=True, timeout=60,
            env={**{k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},
                 "POLYBOT_SETTLE_CMD": f"{self.recorder} udev-settle"},
        )

    def commands(self, settle: bool = False) -> list[str]:
        """The recorded raspi-config calls (and the udev settle before listing devices, if asked)."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [line for line in lines if settle or line != "udev-settle"]


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
    # only what we wrote for people is left
    assert sorted(p.name for p in card.boot.iterdir()) == ["cmdline.txt", "polybot-devices.txt"]
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
    assert "powersave=2\n" in text  # brcmfmac power saving off: no 100-300 ms latency spikes
    assert mode(conn) == 0o600
    assert not (card.boot / "polybot-wifi.txt").exists()
    assert card.commands() == ["wifi-country ES"]
    assert "p=a;ss word" not in out.stderr


def test_a_wifi_country_switches_the_radio_on_before_networkmanager_starts(card: Card) -> None:
    """pi-gen's image says WirelessEnabled=false and NetworkManager makes the radio follow it at
    start; raspi-config's do_wifi_country only switches the radio on when NetworkManager runs."""
    card.nm_state.write_text("[main]\nNetworkingEnabled=true\nWirelessEnabled=false\nWWANEnabled=true\n")
    card.put("polybot-wifi.txt", "ssid=Cafe\npassword=12345678\ncountry=es\n")

    card.run()

    assert card.nm_state.read_text() == "[main]\nNetworkingEnabled=true\nWirelessEnabled=true\nWWANEnabled=true\n"
    assert card.commands() == ["wifi-country ES"]


def test_without_raspi_config_the_country_goes_on_the_kernel_command_line(card: Card, tmp_path: Path) -> None:
    card.recorder = tmp_path / "no-such-raspi-config"
    card.put("polybot-wifi.txt", "ssid=Cafe\npassword=12345678\ncountry=FR\n")
    card.run()
    assert card.cmdline.read_text().rstrip("\n").endswith(" rootwait cfg80211.ieee80211_regdom=FR")
    assert "WirelessEnabled=true" in card.nm_state.read_text()


def test_wifi_without_a_country_says_the_radio_stays_off(card: Card) -> None:
    card.put("polybot-wifi.txt", "ssid=Cafe\npassword=12345678\n")
    card.run()
    assert (card.nm / "polybot-wifi.nmconnection").exists()
    assert "country=" in (card.boot / "polybot-config-error.txt").read_text()
    assert "WirelessEnabled=false" in card.nm_state.read_text()


def test_an_unusable_wifi_file_is_explained_and_writes_no_connection(card: Card) -> None:
    card.put("polybot-wifi.txt", "ssid=Cafe\npassword=short\ncountry=ES\n")
    out = card.run()
    assert out.returncode == 0
    assert not (card.nm / "polybot-wifi.nmconnection").exists()
    assert "8 to 63" in (card.boot / "polybot-config-error.txt").read_text()
    assert not (card.boot / "polybot-wifi.txt").exists()  # wiped all the same: it holds a password


@pytest.mark.parametrize("network_config, cmdline_extra", [
    # Raspberry Pi Imager on Trixie: cloud-init's network-config with the country (and an SSID)
    ('network:\n  version: 2\n  wifis:\n    wlan0:\n      dhcp4: true\n      regulatory-domain: "GB"\n'
     '      access-points:\n        "Home":\n          password: "x"\n      optional: true\n', ""),
    # Raspberry Pi Imager on Bookworm: firstrun.sh ran raspi-config's do_wifi_country (cmdline.txt)
    (None, " cfg80211.ieee80211_regdom=GB"),
])
def test_wifi_set_up_by_raspberry_pi_imager_gets_the_radio_on_once(card: Card, network_config: str | None,
                                                                  cmdline_extra: str) -> None:
    if network_config:
        card.put("network-config", network_config)
    card.cmdline.write_text(card.cmdline.read_text().rstrip("\n") + cmdline_extra + "\n")

    card.run()
    assert "WirelessEnabled=true" in card.nm_state.read_text()

    card.nm_state.write_text("[main]\nWirelessEnabled=false\n")  # someone turned it off later
    card.run()
    assert "WirelessEnabled=false" in card.nm_state.read_text()  # and it stays off


def test_no_country_anywhere_leaves_the_radio_alone(card: Card) -> None:
    card.run()
    assert card.nm_state.read_text() == "[main]\nWirelessEnabled=false\n"


def test_an_open_network_gets_no_security_section(card: Card) -> None:
    card.put("polybot-wifi.txt", "ssid=Cafe\nsecurity=open\n")
    card.run()
    assert "[wifi-security]" not in (card.nm / "polybot-wifi.nmconnection").read_text()
    assert card.commands() == []


def test_read_only_root_is_enabled_after_the_import_and_the_boot_partition_stays_writable(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    card.put("polybot-readonly", "")

    out = card.run()

    assert out.returncode == 0, out.stderr
    assert card.cmdline.read_text().startswith("overlayroot=tmpfs console=serial0")
    assert not (card.boot / "polybot-readonly").exists()
    assert (card.etc / "polybot.yaml").exists()
    card.put("polybot-readonly", "")
    card.run()
    assert card.cmdline.read_text().count("overlayroot=tmpfs") == 1


def test_read_only_root_makes_trixie_swap_zram_only(card: Card) -> None:
    card.rpi_swap_dir.parent.mkdir()
    (card.rpi_swap_dir.parent / "swap.conf").write_text("[Main]\n#Mechanism=auto\n")  # rpi-swap's
    card.put("polybot-readonly", "")
    card.run()
    assert (card.rpi_swap_dir / "90-polybot-readonly.conf").read_text().endswith("[Main]\nMechanism=zram\n")


def test_read_only_root_needs_overlayroot(card: Card) -> None:
    card.overlayroot_conf.unlink()
    card.put("polybot-readonly", "")
    card.run()
    assert "overlayroot=tmpfs" not in card.cmdline.read_text()
    assert "overlayroot package is not installed" in (card.boot / "polybot-config-error.txt").read_text()


def test_nothing_is_imported_into_a_read_only_root(card: Card) -> None:
    card.mounts.write_text("overlayroot / overlay rw,relatime 0 0\n")
    card.put("polybot.yaml", GOOD_CONFIG)

    card.run()

    assert not card.etc.exists()
    assert (card.boot / "polybot.yaml").read_text() == GOOD_CONFIG
    assert "read-only root is on" in (card.boot / "polybot-config-error.txt").read_text()
    assert "disable_overlayfs" in (card.boot / "polybot-config-error.txt").read_text()


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


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_wifi_file_saved_by_a_windows_editor_is_imported(card: Card, encoding: str) -> None:
    # Notepad: a byte order mark, CRLF line ends; "Unicode" is UTF-16 with its own mark
    text = "ssid=Casa Pepe\r\npassword=secreto123\r\ncountry=ES\r\n"
    (card.boot / "polybot-wifi.txt").write_bytes(text.encode(encoding))

    out = card.run()

    assert out.returncode == 0, out.stderr
    conn = (card.nm / "polybot-wifi.nmconnection").read_text()
    assert "ssid=Casa Pepe\n" in conn and "psk=secreto123\n" in conn
    assert card.commands() == ["wifi-country ES"]
    assert not (card.boot / "polybot-wifi.txt").exists()


def test_an_unusable_wifi_file_is_explained_even_when_the_config_imports(card: Card) -> None:
    card.put("polybot.yaml", GOOD_CONFIG)
    card.put("polybot-wifi.txt", "SSID : Casa Pepe\npassword=secreto123\n")

    out = card.run()

    assert out.returncode == 0, out.stderr
    assert (card.etc / "polybot.yaml").read_text() == GOOD_CONFIG
    assert not (card.boot / "polybot-wifi.txt").exists()  # wiped all the same: it holds a password
    report = (card.boot / "polybot-config-error.txt").read_text()
    assert "polybot-wifi.txt" in report and "ssid=" in report
    assert "secreto123" not in report


def test_every_problem_of_one_boot_is_in_the_report(card: Card) -> None:
    card.put("polybot.yaml", BAD_CONFIG)
    card.put("polybot-wifi.txt", "password=only\n")
    card.run()
    report = (card.boot / "polybot-config-error.txt").read_text()
    assert "polybot-wifi.txt" in report and "audio.input.rate" in report


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to the service user needs root")
def test_the_config_is_checked_as_the_service_user_not_root(card: Card, tmp_path: Path) -> None:
    import tempfile

    public = Path(tempfile.mkdtemp())  # a CLI stand-in the unprivileged user may run
    public.chmod(0o755)
    stand_in = public / "polybot-device"
    stand_in.write_text("#!/bin/sh\n"
                        "echo \"checked as uid $(id -u) with caps $(grep CapEff /proc/self/status)\"\nexit 78\n")
    stand_in.chmod(0o755)
    card.cli = stand_in
    card.check_user = "nobody"
    card.put("polybot.yaml", GOOD_CONFIG)

    try:
        out = card.run()
    finally:
        shutil.rmtree(public)

    nobody = pwd.getpwnam("nobody").pw_uid
    assert f"checked as uid {nobody} with caps CapEff:\t0000000000000000" in out.stderr, out.stderr


def test_the_sound_devices_are_listed_on_the_boot_partition(card: Card, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from polybot_device.audio.filerig import FileRig

    rig = FileRig(tmp_path / "rig")  # real libasound sees the rig's PCMs
    monkeypatch.setenv("ALSA_CONFIG_PATH", rig.env()["ALSA_CONFIG_PATH"])
    card.put("polybot.yaml", GOOD_CONFIG)

    assert card.run().returncode == 0
    listing = (card.boot / "polybot-devices.txt").read_text()
    assert "Microphones (capture)" in listing and "polybot_mic" in listing and "polybot_speaker" in listing
    assert b"\r\n" in (card.boot / "polybot-devices.txt").read_bytes(), "readable in Notepad"
    assert card.commands(settle=True)[0] == "udev-settle", "USB cards are enumerated before listing"
    assert not list(card.boot.glob(".*")), "no temporary file left behind"

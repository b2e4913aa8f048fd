"""The image stage, run the way pi-gen runs it, in Debian arm64 roots (Trixie and Bookworm) under qemu.

Debian's archive stands in for Raspberry Pi OS here (stage0-2 are not built): each root is a
debootstrapped arm64 Debian of the release with what stage0-2 give a Raspberry Pi OS Lite root
and this stage relies on (systemd, NetworkManager, and on Bookworm fake-hwclock and
dphys-swapfile), plus the stage's package list. What stage1/stage2 write
and the stage depends on is written the way pi-gen writes it: /etc/fstab and cmdline.txt
(stage1's files), NetworkManager's WirelessEnabled=false (stage2's 02-net-tweaks without
WPA_COUNTRY). The stage's sub-stages then run in pi-gen's order -- each NN-packages* list
(checked installed), NN-run.sh on the host and NN-run-chroot.sh in the chroot, both with the
environment pi-gen's build.sh gives them for the config image/build.sh hands it (tests/system/
pigen.py). Afterwards the daemon must run under emulation, its units must be enabled and verify,
and the first-boot import must work with its real paths, NetworkManager's own parser and the
real overlayroot package.

Root only (skipped with the reason otherwise; deselect with -m "not image"). Timings per release
are in docs/raspberry-pi.md (the root's debootstrap under qemu is most of a cold run; pip
compiling pyalsaaudio under qemu is most of a cached one).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .pigen import build_config, stage_env
from .roots import SUITES, Chroot, cached_root, enable_foreign_arch, require_root_tools

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / "image" / "stage-polybot"
ARCH = "arm64"
# In Raspberry Pi OS's archive, not Debian's: the check goes on without it (gpiozero then has
# no lgpio pin factory, which only matters on real hardware).
NOT_IN_DEBIAN = {"python3-lgpio"}
# What stage0-2 give a Raspberry Pi OS Lite root and this stage relies on.
BASE = ["systemd", "systemd-sysv", "dbus", "ca-certificates", "python3", "network-manager", "tzdata"]
BASE_BY_SUITE = {
    # Not cloud-init (stage2/04-cloud-init): its Python stack would add minutes under qemu to the
    # root that takes longest to build, and the import never runs it; Imager's seed files are
    # what the test puts on the card.
    "trixie": [],
    # stage2/01-sys-tweaks; libpam-systemd: Bookworm's logind for NetworkManager's polkitd (debootstrap
    # does not pick a provider of a virtual package).
    "bookworm": ["fake-hwclock", "dphys-swapfile", "libpam-systemd"],
}
VENV = "/opt/polybot-device/venv"
# stage1's files (pi-gen arm64 and bookworm-arm64), with the partitions export-image puts in.
FSTAB = ("proc            /proc           proc    defaults          0       0\n"
         "PARTUUID=6c586e13-01  /boot/firmware  vfat    defaults          0       2\n"
         "PARTUUID=6c586e13-02  /               ext4    defaults,noatime  0       1\n")
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=6c586e13-02 rootfstype=ext4 fsck.repair=yes rootwait\n"


def stage_packages() -> list[str]:
    names: list[str] = []
    for listing in sorted(STAGE.glob("*/[0-9][0-9]-packages*")):
        for line in listing.read_text().splitlines():
            names += line.split("#")[0].split()
    return names


def as_stage1_and_stage2_left_it(chroot: Chroot) -> None:
    chroot.path("/etc/fstab").write_text(FSTAB)
    boot = chroot.path("/boot/firmware")
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "cmdline.txt").write_text(CMDLINE)
    (boot / "config.txt").write_text("[all]\n")
    state = chroot.path("/var/lib/NetworkManager/NetworkManager.state")
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("[main]\nWirelessEnabled=false\n")


def run_sub_stage(chroot: Chroot, sub: Path, env: dict[str, str]) -> dict[str, float]:
    """pi-gen's run_sub_stage, for the parts this stage uses; returns seconds per step."""
    timings: dict[str, float] = {}
    for i in range(100):
        n = f"{i:02d}"
        for kind in ("packages-nr", "packages"):
            listing = sub / f"{n}-{kind}"
            if listing.exists():
                wanted = [w for line in listing.read_text().splitlines() for w in line.split("#")[0].split()]
                installed = chroot.run("dpkg-query", "-W", "-f", "${Package} ${Status}\n", *wanted,
                                       check=False).stdout
                ok = {line.split()[0] for line in installed.splitlines() if line.endswith("install ok installed")}
                missing = set(wanted) - ok
                assert missing <= NOT_IN_DEBIAN, f"{listing.name}: not installed: {sorted(missing)}"
        script = sub / f"{n}-run.sh"
        if script.exists():
            started = time.monotonic()
            out = subprocess.run([str(script)], cwd=sub, env={**env, "PATH": os.environ["PATH"]},
                                 capture_output=True, text=True, timeout=600)
            assert out.returncode == 0, f"{script}:\n{out.stdout}\n{out.stderr}"
            timings[f"{sub.name}/{script.name}"] = time.monotonic() - started
        script = sub / f"{n}-run-chroot.sh"
        if script.exists():
            started = time.monotonic()
            chroot.run("/bin/bash", "-e", stdin=script.read_text(), timeout=900, env=env)
            timings[f"{sub.name}/{script.name}"] = time.monotonic() - started
    return timings


@dataclass
class Built:
    """A root after the stage ran, and what built it."""

    chroot: Chroot
    suite: str
    stage: Path
    scratch: Path


@pytest.fixture(scope="module", params=SUITES)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    suite = request.param
    require_root_tools()
    enable_foreign_arch(ARCH)
    started = time.monotonic()
    cached = cached_root(suite, ARCH, BASE + BASE_BY_SUITE[suite] +
                         [p for p in stage_packages() if p not in NOT_IN_DEBIAN])
    root_s = time.monotonic() - started
    scratch = tmp_path_factory.mktemp(f"image-{suite}")
    stage = scratch / "stage-polybot"
    shutil.copytree(STAGE, stage, symlinks=True)
    (stage / "00-polybot" / "files").mkdir(exist_ok=True)
    subprocess.run([str(REPO / "image" / "pack-source.sh"),
                    str(stage / "00-polybot" / "files" / "polybot-device.tar.gz")], check=True)
    chroot = Chroot(cached, scratch)
    with chroot:
        as_stage1_and_stage2_left_it(chroot)
        env = stage_env(build_config(suite), chroot.root, scratch)
        timings: dict[str, float] = {}
        for sub in sorted(p for p in stage.iterdir() if p.is_dir()):
            timings.update(run_sub_stage(chroot, sub, env))
        print(f"\n{suite} root: {root_s:.0f} s; " + "; ".join(f"{k}: {v:.0f} s" for k, v in timings.items()))
        yield Built(chroot, suite, stage, scratch)


@pytest.fixture
def image_root(built: Built) -> Chroot:
    return built.chroot


def owner_of(root: Path, inside: str) -> tuple[str, str, int]:
    st = (root / inside.lstrip("/")).stat()
    users = {int(e.split(":")[2]): e.split(":")[0] for e in (root / "etc/passwd").read_text().splitlines()}
    groups = {int(e.split(":")[2]): e.split(":")[0] for e in (root / "etc/group").read_text().splitlines()}
    return users[st.st_uid], groups[st.st_gid], stat.S_IMODE(st.st_mode)


def test_check_config_runs_under_emulation(image_root: Chroot) -> None:
    out = image_root.run(f"{VENV}/bin/polybot-device", "check-config", "/etc/polybot/polybot.yaml")
    assert "valid" in out.stdout
    assert image_root.run("uname", "-m").stdout.strip() == "aarch64"


def test_a_bad_config_exits_78_under_emulation(image_root: Chroot) -> None:
    image_root.path("/tmp/bad.yaml").write_text("audio:\n  input:\n    rate: fast\n")
    out = image_root.run(f"{VENV}/bin/polybot-device", "check-config", "/tmp/bad.yaml", check=False)
    assert out.returncode == 78, out.stderr


def test_heavy_dependencies_come_from_debian_and_pyalsaaudio_from_pip(image_root: Chroot) -> None:
    code = ("import alsaaudio, numpy, soxr, systemd.daemon, gpiozero, websockets, yaml\n"
            "print(numpy.__file__); print(systemd.daemon.__file__); print(alsaaudio.__file__)")
    numpy_at, systemd_at, alsa_at = image_root.run(f"{VENV}/bin/python", "-c", code).stdout.split()
    assert numpy_at.startswith("/usr/lib/python3/dist-packages/")
    assert systemd_at.startswith("/usr/lib/python3/dist-packages/")
    assert alsa_at.startswith(f"{VENV}/lib/")


def test_units_are_enabled(image_root: Chroot) -> None:
    out = image_root.run("systemctl", "is-enabled", "polybot-device.service", "polybot-firstboot.service")
    assert out.stdout.split() == ["enabled", "enabled"]
    assert image_root.path("/etc/systemd/system/multi-user.target.wants/polybot-device.service").is_symlink()


def test_units_pass_systemd_analyze_verify_where_installed(image_root: Chroot) -> None:
    units = [f"/etc/systemd/system/{u}" for u in
             ("polybot-device.service", "polybot-config-error.service", "polybot-firstboot.service")]
    out = image_root.run("systemd-analyze", "verify", "--man=no", *units, check=False)
    assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr
    score = image_root.run("systemd-analyze", "security", "--offline=true", "--no-pager", units[0]).stdout
    assert "Overall exposure level for polybot-device.service: 1." in score


def test_config_and_user_are_set_up_safely(image_root: Chroot) -> None:
    assert owner_of(image_root.root, "/etc/polybot") == ("root", "polybot", 0o750)
    assert owner_of(image_root.root, "/etc/polybot/polybot.yaml") == ("root", "polybot", 0o640)
    groups = image_root.run("id", "-Gn", "polybot").stdout.split()
    assert {"polybot", "audio", "gpio"} <= set(groups)
    shell = image_root.run("getent", "passwd", "polybot").stdout.strip().split(":")[-1]
    assert shell == "/usr/sbin/nologin"
    assert not image_root.path("/usr/src/polybot-device").exists()


def test_first_boot_import_with_its_real_paths(image_root: Chroot) -> None:
    boot = image_root.path("/boot/firmware")
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "polybot.yaml").write_text("languages: [fr, en]\n")
    (boot / "openai_api_key").write_text("sk-image-test\n")

    out = image_root.run("/opt/polybot-device/libexec/polybot-firstboot")

    assert "configuration is valid" in out.stderr
    assert not (boot / "polybot.yaml").exists() and not (boot / "openai_api_key").exists()
    assert owner_of(image_root.root, "/etc/polybot/openai_api_key") == ("root", "root", 0o600)
    assert owner_of(image_root.root, "/etc/polybot/polybot.yaml") == ("root", "polybot", 0o640)
    assert image_root.path("/etc/polybot/polybot.yaml").read_text() == "languages: [fr, en]\n"


def test_image_has_no_root_password(image_root: Chroot) -> None:
    shadow = image_root.path("/etc/shadow").read_text().splitlines()
    root_hash = next(entry.split(":")[1] for entry in shadow if entry.startswith("root:"))
    assert root_hash.startswith("!")  # locked by the stage (usermod --lock), not just unset


# -- Wi-Fi: what NetworkManager itself makes of the imported connection ---------------------------

CONNECTION = "/etc/NetworkManager/system-connections/polybot-wifi.nmconnection"
WIFI_FILES = {
    # name: (polybot-wifi.txt as written, the SSID and password NetworkManager must end up with)
    "backslash-and-quotes": (b'ssid=Casa Pepe\npassword=p\\a"s\'s\\\ncountry=ES\n', "Casa Pepe", 'p\\a"s\'s\\'),
    "leading-spaces-non-ascii": ("ssid=Café Ñ\npassword=  ñandú contraseña\ncountry=ES\n".encode(), "Café Ñ",
                                 "  ñandú contraseña"),
    "windows-bom-crlf": (b"\xef\xbb\xbfssid=Office;2\r\npassword=secret pass \r\ncountry=es\r\n", "Office;2",
                         "secret pass "),
    "wpa3-sae": (b"ssid=Home6E\npassword=short\nsecurity=wpa3\ncountry=ES\n", "Home6E", "short"),
}


def nmcli_offline(chroot: Chroot, keyfile: str, *changes: str) -> subprocess.CompletedProcess[str]:
    """NetworkManager's own keyfile parser and checks: `nmcli --offline connection modify` reads a
    connection from stdin, verifies it, applies the changes and prints the result."""
    return chroot.run("nmcli", "--offline", "connection", "modify", *(changes or ("connection.autoconnect", "yes")),
                      stdin=keyfile, check=False)


@pytest.mark.parametrize("case", sorted(WIFI_FILES))
def test_an_imported_wifi_connection_is_what_networkmanager_reads_back(built: Built, case: str) -> None:
    chroot = built.chroot
    data, ssid, password = WIFI_FILES[case]
    chroot.path("/var/lib/NetworkManager/NetworkManager.state").write_text("[main]\nWirelessEnabled=false\n")
    chroot.path(CONNECTION).unlink(missing_ok=True)  # from another case
    chroot.path("/boot/firmware/polybot-wifi.txt").write_bytes(data)

    out = chroot.run("/opt/polybot-device/libexec/polybot-firstboot")

    assert chroot.path(CONNECTION).exists(), out.stderr
    keyfile = chroot.path(CONNECTION).read_text()
    ours = nmcli_offline(chroot, keyfile)
    assert ours.returncode == 0, f"NetworkManager refuses the connection:\n{ours.stderr}\n{keyfile}"
    # Setting the expected SSID and password through nmcli changes nothing: NetworkManager read ours exactly.
    theirs = nmcli_offline(chroot, keyfile, "802-11-wireless.ssid", ssid, "802-11-wireless-security.psk", password)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout == theirs.stdout
    assert "powersave=2" in ours.stdout
    assert ("key-mgmt=sae" in ours.stdout) == (case == "wpa3-sae")
    # The radio is on for NetworkManager's start, and the country is on the kernel command line.
    state = chroot.path("/var/lib/NetworkManager/NetworkManager.state").read_text()
    assert "WirelessEnabled=true" in state and "WirelessEnabled=false" not in state
    assert "cfg80211.ieee80211_regdom=ES" in chroot.path("/boot/firmware/cmdline.txt").read_text()
    assert password.strip() not in out.stderr


def test_wifi_power_saving_is_off_for_every_connection(image_root: Chroot) -> None:
    """Also for connections polybot did not write (Raspberry Pi Imager's, nmtui's)."""
    config = image_root.run("NetworkManager", "--print-config").stdout
    section = config.split("[connection]", 1)[1].split("\n[", 1)[0]
    assert "wifi.powersave=2" in section.replace(" ", ""), config


# -- Read-only root -------------------------------------------------------------------------------

@pytest.mark.parametrize("asked", ["at-build", "on-the-card"])
def test_read_only_root_turns_on_the_overlay_and_leaves_the_boot_partition_writable(built: Built, asked: str,
                                                                                   tmp_path: Path) -> None:
    chroot = built.chroot
    cmdline = chroot.path("/boot/firmware/cmdline.txt")
    cmdline.write_text(CMDLINE)
    if built.suite == "trixie":  # rpi-swap is Raspberry Pi's, not Debian's: its config file stands in
        chroot.path("/etc/rpi").mkdir(exist_ok=True)
        chroot.path("/etc/rpi/swap.conf").write_text("[Main]\n#Mechanism=auto\n")
    if asked == "at-build":  # POLYBOT_READONLY=1 in the pi-gen config, through pi-gen's environment
        config = tmp_path / "config"
        config.write_text((REPO / "image" / "config").read_text().replace("POLYBOT_READONLY=0", "POLYBOT_READONLY=1"))
        env = stage_env(build_config(built.suite, config), chroot.root, tmp_path)
        run_sub_stage(chroot, built.stage / "01-system", env)
        assert chroot.path("/boot/firmware/polybot-readonly").exists()
    else:
        chroot.path("/boot/firmware/polybot-readonly").write_text("")

    chroot.run("/opt/polybot-device/libexec/polybot-firstboot")

    assert cmdline.read_text() == "overlayroot=tmpfs " + CMDLINE
    assert chroot.path("/etc/fstab").read_text() == FSTAB  # /boot/firmware stays "defaults", not ",ro"
    assert not chroot.path("/boot/firmware/polybot-readonly").exists()
    if built.suite == "bookworm":
        enabled = chroot.run("systemctl", "is-enabled", "dphys-swapfile.service", check=False).stdout.strip()
        assert enabled == "disabled"  # its swap file would live in RAM under the overlay
        saved = chroot.path("/etc/fake-hwclock.data").read_text().strip()  # "YYYY-MM-DD HH:MM:SS", UTC
        assert saved[:10] == time.strftime("%Y-%m-%d", time.gmtime())
    else:
        assert "Mechanism=zram" in chroot.path("/etc/rpi/swap.conf.d/90-polybot-readonly.conf").read_text()

    # The next boots run under the overlay: nothing is imported, and the report can still be written
    # to the boot partition, where someone with only a PC reads it.
    mounts = chroot.path("/tmp/mounts-overlay")
    mounts.write_text("overlayroot / overlay rw,relatime 0 0\n/dev/mmcblk0p1 /boot/firmware vfat rw 0 0\n")
    chroot.path("/boot/firmware/polybot.yaml").write_text("languages: [de, en]\n")
    chroot.run("/opt/polybot-device/libexec/polybot-firstboot", env={"POLYBOT_PROC_MOUNTS": "/tmp/mounts-overlay"})
    assert chroot.path("/boot/firmware/polybot.yaml").exists()
    assert "read-only root is on" in chroot.path("/boot/firmware/polybot-config-error.txt").read_text()
    for name in ("polybot.yaml", "polybot-config-error.txt"):
        chroot.path(f"/boot/firmware/{name}").unlink()
    cmdline.write_text(CMDLINE)


# -- Raspberry Pi Imager and cloud-init (Trixie) ---------------------------------------------------

IMAGER_USER_DATA = """#cloud-config
manage_resolv_conf: false

hostname: lobby-1
manage_etc_hosts: true
timezone: Europe/Madrid
user:
  name: admin
  shell: /bin/bash
  lock_passwd: true
  ssh_authorized_keys:
    - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq7bW1tZXN0a2V5Zm9ydGVzdGluZ29ubHk admin@pc"
  sudo: null

ssh_pwauth: false

runcmd:
  - [ systemctl, enable, --now, ssh ]
"""
IMAGER_NETWORK_CONFIG = """network:
  version: 2
  ethernets:
    eth0:
      dhcp4: true
      dhcp6: true
      optional: true
  wifis:
    wlan0:
      dhcp4: true
      regulatory-domain: "ES"
      access-points:
        "Hotel Miramar":
          password: "6f1c0e6cbd4b6a3b1b5b3f0cfb3c4a9c0a58fbd1f0c8b79e0a2a0c3f9c3b5d21"
      optional: true
"""
IMAGER_META_DATA = "instance-id: rpi-imager-1767225600000\n"


def test_polybot_files_next_to_raspberry_pi_imagers_cloud_init_files(built: Built) -> None:
    """Imager 2.x on Trixie writes user-data, network-config and meta-data (cloud-init's NoCloud
    seed) on the boot partition; the user adds polybot.yaml and the key. Both imports coexist."""
    if built.suite != "trixie":
        pytest.skip("Raspberry Pi OS Bookworm has no cloud-init (Imager writes firstrun.sh there)")
    chroot = built.chroot
    boot = chroot.path("/boot/firmware")
    imager = {"user-data": IMAGER_USER_DATA, "network-config": IMAGER_NETWORK_CONFIG, "meta-data": IMAGER_META_DATA}
    for name, text in imager.items():
        (boot / name).write_text(text)
    (boot / "polybot.yaml").write_text("languages: [es, en]\n")
    (boot / "openai_api_key").write_text("sk-imager-test\r\n")
    chroot.path("/var/lib/NetworkManager/NetworkManager.state").write_text("[main]\nWirelessEnabled=false\n")
    chroot.path("/var/lib/polybot/wifi-country").unlink(missing_ok=True)

    out = chroot.run("/opt/polybot-device/libexec/polybot-firstboot")

    assert "configuration is valid" in out.stderr
    assert not (boot / "polybot.yaml").exists() and not (boot / "openai_api_key").exists()
    assert {name: (boot / name).read_text() for name in imager} == imager  # cloud-init's seed untouched
    assert "WirelessEnabled=true" in chroot.path("/var/lib/NetworkManager/NetworkManager.state").read_text()
    # Both first-boot units run before NetworkManager (cloud-init-local.service: DefaultDependencies=no,
    # Before=network-pre.target and sysinit.target); ours must not make an ordering cycle with it.
    verify = chroot.run("systemd-analyze", "verify", "--man=no", "polybot-firstboot.service",
                        "NetworkManager.service", check=False)
    assert "cycle" not in (verify.stdout + verify.stderr).lower(), verify.stdout + verify.stderr

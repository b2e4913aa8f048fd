"""The image stage, run the way pi-gen runs it, in a Debian Bookworm arm64 root under qemu.

Debian's archive stands in for Raspberry Pi OS here (stage0-2 are not built): the root is a
debootstrapped arm64 Bookworm with the stage's package list, and the stage's sub-stages then
run in pi-gen's order — each NN-packages* list (checked installed), NN-run.sh on the host with
ROOTFS_DIR and the pi-gen config in the environment, NN-run-chroot.sh fed to bash inside the
chroot. Afterwards the daemon must run under emulation, its units must be enabled and verify,
and the first-boot import must work with its real default paths.

Root only (skipped with the reason otherwise; deselect with -m "not image"). Measured on a
2-core CI machine: about 8 minutes from nothing (6 of them debootstrap under qemu), about
1 minute with the cached root (pip compiling pyalsaaudio under qemu is most of it).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from .roots import Chroot, cached_root, enable_foreign_arch, require_root_tools

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / "image" / "stage-polybot"
ARCH = "arm64"
# In Raspberry Pi OS's archive, not Debian's: the check goes on without it (gpiozero then has
# no lgpio pin factory, which only matters on real hardware).
NOT_IN_DEBIAN = {"python3-lgpio"}
# What stage0-2 give a Raspberry Pi OS Lite root and this stage relies on.
BASE = ["systemd", "systemd-sysv", "ca-certificates", "python3"]
VENV = "/opt/polybot-device/venv"


def stage_packages() -> list[str]:
    names: list[str] = []
    for listing in sorted(STAGE.glob("*/[0-9][0-9]-packages*")):
        for line in listing.read_text().splitlines():
            names += line.split("#")[0].split()
    return names


def pi_gen_env(root: Path) -> dict[str, str]:
    """The pi-gen config's variables, as build.sh exports them to every stage script."""
    out = subprocess.run(["bash", "-c", f"set -a; . {REPO / 'image' / 'config'}; env -0"],
                         capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]})
    env = dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    env["ROOTFS_DIR"] = str(root)
    return env


def run_stage(chroot: Chroot, stage: Path) -> dict[str, float]:
    """pi-gen's run_sub_stage, for the parts this stage uses; returns seconds per step."""
    timings: dict[str, float] = {}
    host_env = {**pi_gen_env(chroot.root), "PATH": os.environ["PATH"]}
    for sub in sorted(p for p in stage.iterdir() if p.is_dir()):
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
                out = subprocess.run([str(script)], cwd=sub, env=host_env, capture_output=True,
                                     text=True, timeout=600)
                assert out.returncode == 0, f"{script}:\n{out.stdout}\n{out.stderr}"
                timings[f"{sub.name}/{script.name}"] = time.monotonic() - started
            script = sub / f"{n}-run-chroot.sh"
            if script.exists():
                started = time.monotonic()
                chroot.run("/bin/bash", "-e", stdin=script.read_text(), timeout=900,
                           env={k: v for k, v in pi_gen_env(chroot.root).items() if k != "ROOTFS_DIR"})
                timings[f"{sub.name}/{script.name}"] = time.monotonic() - started
    return timings


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory):
    require_root_tools()
    enable_foreign_arch(ARCH)
    started = time.monotonic()
    cached = cached_root(ARCH, BASE + [p for p in stage_packages() if p not in NOT_IN_DEBIAN])
    root_s = time.monotonic() - started
    scratch = tmp_path_factory.mktemp("image")
    stage = scratch / "stage-polybot"
    shutil.copytree(STAGE, stage, symlinks=True)
    (stage / "00-polybot" / "files").mkdir(exist_ok=True)
    subprocess.run([str(REPO / "image" / "pack-source.sh"),
                    str(stage / "00-polybot" / "files" / "polybot-device.tar.gz")], check=True)
    chroot = Chroot(cached, scratch)
    with chroot:
        timings = run_stage(chroot, stage)
        print(f"\nroot: {root_s:.0f} s; " + "; ".join(f"{k}: {v:.0f} s" for k, v in timings.items()))
        yield chroot


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

"""image/build.sh refuses what pi-gen would refuse, before anything is cloned or built, and hands
pi-gen a config whose settings reach the stage. Fast: `build.sh --check` needs neither root nor pi-gen.
"""

from __future__ import annotations

import json
import lzma
import os
import subprocess
from pathlib import Path

import pytest

from .pigen import REPO, build_config, stage_env

BUILD = REPO / "image" / "build.sh"


def check(config: str, tmp_path: Path, *args: str,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config"
    path.write_text(config)
    return subprocess.run([str(BUILD), "--check", *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "POLYBOT_IMAGE_CONFIG": str(path), **(env or {})})


@pytest.mark.parametrize("release", ["trixie", "bookworm"])
def test_the_shipped_config_passes_pi_gens_checks(release: str) -> None:
    assembled = build_config(release)
    assert f"\nRELEASE={release}\n" in assembled
    assert "stage-polybot" in assembled


def test_pubkey_only_ssh_without_a_key_is_refused_with_what_to_set(tmp_path: Path) -> None:
    out = check("PUBKEY_ONLY_SSH=1\n", tmp_path)
    assert out.returncode == 1
    assert "PUBKEY_SSH_FIRST_USER" in out.stderr and "nothing was built" in out.stderr
    assert check('PUBKEY_ONLY_SSH=1\nPUBKEY_SSH_FIRST_USER="ssh-ed25519 AAAAC3 me@pc"\n', tmp_path).returncode == 0


@pytest.mark.parametrize("config, says", [
    ("WPA_PASSWORD=short\n", "WPA_PASSWORD must be 8 to 63"),
    (f"WPA_PASSWORD={'x' * 64}\n", "WPA_PASSWORD must be 8 to 63"),
    ("WPA_COUNTRY=uk\n", "WPA_COUNTRY"),
    ("DISABLE_FIRST_BOOT_USER_RENAME=1\n", "FIRST_USER_PASS"),
    ("FIRST_USER_NAME=Pi\n", "FIRST_USER_NAME"),
    ("POLYBOT_READONLY=yes\n", "POLYBOT_READONLY must be 0 or 1"),
])
def test_other_configs_pi_gen_would_stop_on_are_refused_up_front(tmp_path: Path, config: str, says: str) -> None:
    out = check(config, tmp_path)
    assert out.returncode == 1 and says in out.stderr, out.stderr


def test_a_pi_gen_branch_for_the_other_release_is_refused(tmp_path: Path) -> None:
    out = check("RELEASE=bookworm\n", tmp_path, env={"PI_GEN_REF": "arm64"})
    assert out.returncode == 2 and "builds trixie, not bookworm" in out.stderr


def test_the_release_option_picks_the_release(tmp_path: Path) -> None:
    assert "\nRELEASE=bookworm\n" in check("RELEASE=trixie\n", tmp_path, "--release", "bookworm").stdout
    assert "\nRELEASE=trixie\n" in check("", tmp_path).stdout  # the current Raspberry Pi OS by default


@pytest.mark.parametrize("value", ["0", "1"])
def test_polybot_readonly_reaches_the_stage_scripts(tmp_path: Path, value: str) -> None:
    """pi-gen sources the config without `set -a`: only exported variables reach a stage script."""
    config = tmp_path / "config"
    shipped = (REPO / "image" / "config").read_text()
    config.write_text(shipped.replace("POLYBOT_READONLY=0", f"POLYBOT_READONLY={value}"))
    env = stage_env(build_config("trixie", config), tmp_path / "rootfs", tmp_path)
    assert env.get("POLYBOT_READONLY") == value


@pytest.mark.parametrize("release, init_format", [("trixie", "cloudinit-rpi"), ("bookworm", "systemd")])
def test_the_imager_manifest_names_the_image_and_how_it_is_customised(tmp_path: Path, release: str,
                                                                      init_format: str) -> None:
    image = tmp_path / "image_2026-01-01-polybot-polybot.img.xz"
    image.write_bytes(lzma.compress(b"\0" * 4096))
    subprocess.run([str(REPO / "image" / "imager-manifest.py"), "--release", release, str(image)],
                   check=True, capture_output=True, timeout=60)
    entry = json.loads(image.with_name(image.name + ".rpi-imager-manifest").read_text())["os_list"][0]
    assert entry["init_format"] == init_format
    assert entry["url"] == image.resolve().as_uri()
    assert entry["image_download_size"] == image.stat().st_size

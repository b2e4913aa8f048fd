"""How pi-gen hands its config to a stage, as the image check reproduces it.

pi-gen's build.sh (branches arm64 and bookworm-arm64) `source`s the config file without `set -a`,
then exports a fixed list of its own variables, some with defaults. A stage script (NN-run.sh on
the host, NN-run-chroot.sh in the chroot) therefore sees exactly those, plus whatever the config
itself exported: a variable the config merely sets (POLYBOT_READONLY=1) never reaches it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PI_GEN_EXPORTS = {
    # name: default, as build.sh exports it ("" = exported as it is, possibly unset)
    "PI_GEN": "pi-gen", "PI_GEN_REPO": "https://github.com/RPi-Distro/pi-gen",
    "PI_GEN_RELEASE": "Raspberry Pi reference", "ARCH": "arm64", "RELEASE": "trixie",
    "IMG_NAME": "", "USE_QEMU": "0", "IMG_DATE": "", "IMG_FILENAME": "", "ARCHIVE_FILENAME": "",
    "DEPLOY_COMPRESSION": "zip", "COMPRESSION_LEVEL": "6", "TARGET_HOSTNAME": "raspberrypi",
    "FIRST_USER_NAME": "pi", "FIRST_USER_PASS": "", "DISABLE_FIRST_BOOT_USER_RENAME": "0",
    "PASSWORDLESS_SUDO": "0", "WPA_COUNTRY": "", "ENABLE_SSH": "0", "PUBKEY_ONLY_SSH": "0",
    "LOCALE_DEFAULT": "en_GB.UTF-8", "KEYBOARD_KEYMAP": "gb", "KEYBOARD_LAYOUT": "English (UK)",
    "TIMEZONE_DEFAULT": "Europe/London", "PUBKEY_SSH_FIRST_USER": "", "CLEAN": "", "APT_PROXY": "",
    "TEMP_REPO": "", "STAGE": "", "STAGE_DIR": "", "STAGE_WORK_DIR": "", "ROOTFS_DIR": "",
    "IMG_SUFFIX": "", "ENABLE_CLOUD_INIT": "1",
}


def build_config(release: str, config: Path | None = None) -> str:
    """The config image/build.sh hands to pi-gen (`--check` prints it after checking it)."""
    env = {"PATH": os.environ["PATH"]}
    if config is not None:
        env["POLYBOT_IMAGE_CONFIG"] = str(config)
    out = subprocess.run([str(REPO / "image" / "build.sh"), "--check", "--release", release],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def stage_env(config_text: str, rootfs: Path, tmp: Path) -> dict[str, str]:
    """The environment a stage script of pi-gen gets from this config (and ROOTFS_DIR)."""
    config = tmp / "pi-gen-config"
    config.write_text(config_text)
    exports = "\n".join(f'export {name}="${{{name}:-{default}}}"' if default else f"export {name}"
                        for name, default in PI_GEN_EXPORTS.items())
    script = f"source {config}\nROOTFS_DIR={rootfs}\n{exports}\nenv -0\n"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                         env={"PATH": os.environ["PATH"]})
    env = dict(item.split("=", 1) for item in out.stdout.split("\0") if "=" in item)
    for name in ("PWD", "SHLVL", "_", "OLDPWD"):
        env.pop(name, None)
    return env

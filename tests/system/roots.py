"""Debian root file systems for the image and systemd checks, built once and cached.

`cached_root()` debootstraps a `--variant=minbase` Debian root of a suite (trixie, bookworm) with the
given packages into /var/cache/polybot-test-roots/<suite>-<arch>-<hash of suite, arch and package
list>/ (override the
directory with POLYBOT_TEST_ROOTS), so the second run copies it (seconds) instead of building
it (minutes). A half-built root is never cached: it is built next to the cache and renamed
into place when debootstrap succeeded. `Chroot` copies a cached root to a scratch directory,
mounts /proc, /sys and /dev into it, and runs commands there with a clean environment that
reaches PyPI the way this machine does (its /etc/hosts, resolv.conf and CA bundle).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

SUITES = ("trixie", "bookworm")
"""Raspberry Pi OS's current release (pi-gen branch arm64) and the previous one (bookworm-arm64):
every root check runs on both."""
MIRROR = os.environ.get("POLYBOT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("POLYBOT_TEST_ROOTS", "/var/cache/polybot-test-roots"))
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CHROOT_CA = "/etc/polybot-test-host-ca.crt"


def native_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def require_root_tools(*tools: str) -> None:
    """Skip (with the reason) where the checks cannot run: they need root and debootstrap."""
    if os.geteuid() != 0:
        pytest.skip("needs root: debootstrap, chroot, mounts and a PID namespace")
    for tool in ("debootstrap", "chroot", "mount", *tools):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def enable_foreign_arch(arch: str) -> None:
    """Make the kernel run `arch` binaries through qemu-user-static (binfmt_misc), or skip."""
    if arch == native_arch():
        return
    qemu = {"arm64": "aarch64", "armhf": "arm"}[arch]
    if shutil.which(f"qemu-{qemu}-static") is None:
        pytest.skip(f"qemu-{qemu}-static is not installed (apt-get install qemu-user-static binfmt-support)")
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt)], check=False)
    entry = binfmt / f"qemu-{qemu}"
    enabled = entry.exists() and entry.read_text().startswith("enabled")
    if not enabled and shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable", f"qemu-{qemu}"], check=False, capture_output=True)
    if not entry.exists() or not entry.read_text().startswith("enabled"):
        pytest.skip(f"no binfmt_misc handler for {arch} (apt-get install qemu-user-static binfmt-support)")
    if "F" not in next((line for line in entry.read_text().splitlines() if line.startswith("flags:")), ""):
        pytest.skip(f"qemu-{qemu} binfmt entry lacks the F flag, so it cannot run inside a chroot")


def cached_root(suite: str, arch: str, packages: Sequence[str]) -> Path:
    """A debootstrapped root of `suite` with `packages`, from the cache or built now (minutes)."""
    include = sorted(set(packages))
    key = hashlib.sha256("\n".join([suite, arch, MIRROR, "minbase", *include]).encode()).hexdigest()[:16]
    root = CACHE / f"{suite}-{arch}-{key}"
    if (root / ".complete").exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f".{root.name}.building-*"):  # left by a run that was killed
        if not Path(f"/proc/{stale.name.rsplit('-', 1)[1]}").exists():
            discard(stale)
    building = CACHE / f".{root.name}.building-{os.getpid()}"
    discard(building)
    started = time.monotonic()
    # Its own session, so a timeout stops dpkg and qemu under it too, not debootstrap alone.
    proc = subprocess.Popen(
        ["debootstrap", "--variant=minbase", f"--arch={arch}", f"--include={','.join(include)}",
         suite, str(building), MIRROR],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=2700)  # cold, under qemu, on a busy machine
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += "\n(timed out after 2700 s)"
    if proc.returncode != 0:
        log = building / "debootstrap" / "debootstrap.log"
        detail = log.read_text()[-3000:] if log.exists() else ""
        discard(building)
        raise AssertionError(f"debootstrap failed:\n{stdout[-2000:]}\n{stderr[-2000:]}\n{detail}")
    # Drop the downloaded .debs: the cache holds installed roots, not an archive mirror.
    subprocess.run(["chroot", str(building), "apt-get", "clean"], check=False, capture_output=True)
    (building / ".complete").write_text(f"{suite} {arch} {' '.join(include)}\n"
                                        f"built in {time.monotonic() - started:.0f} s\n")
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)
    return root


def discard(tree: Path) -> None:
    """Delete a half-built root: first whatever debootstrap left mounted in it (its /proc), then
    the files, never crossing into another file system."""
    prefix = str(tree) + "/"
    mounted = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
               if line.split()[4].startswith(prefix)]
    for target in sorted(mounted, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    if tree.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(tree)], check=False, capture_output=True)


class Chroot:
    """A scratch copy of a cached root with /proc, /sys and /dev mounted; unmounted and deleted
    on exit (POLYBOT_KEEP_TEST_ROOT=1 keeps it)."""

    def __init__(self, cached: Path, scratch: Path) -> None:
        self.root = scratch / "root"
        subprocess.run(["cp", "-a", "--reflink=auto", str(cached), str(self.root)], check=True)
        self.mounted: list[Path] = []

    def __enter__(self) -> Chroot:
        for name in ("proc", "sys", "dev"):
            target = self.root / name
            subprocess.run(["mount", "--bind", f"/{name}", str(target)], check=True)
            self.mounted.append(target)
        # Reach PyPI exactly as this machine does.
        for name in ("etc/hosts", "etc/resolv.conf"):
            if Path("/", name).exists():
                (self.root / name).unlink(missing_ok=True)
                shutil.copy(Path("/", name), self.root / name)
        if HOST_CA.exists():
            shutil.copy(HOST_CA, self.root / CHROOT_CA.lstrip("/"))
        return self

    def __exit__(self, *exc: object) -> None:
        if os.environ.get("POLYBOT_KEEP_TEST_ROOT") == "1":  # to look around after a failure
            self.unmount()
        else:
            self.remove()

    def unmount(self) -> None:
        for target in reversed(self.mounted):
            # Recursive and lazy: /dev may carry submounts (pts, shm) by the time we leave.
            subprocess.run(["umount", "-R", "-l", str(target)], check=False, capture_output=True)
        self.mounted.clear()

    def remove(self) -> None:
        """Delete the scratch root, never what is still mounted into it (the host's /dev!)."""
        self.unmount()
        prefix = str(self.root) + "/"
        still = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                 if line.split()[4].startswith(prefix)]
        assert not still, f"not deleting {self.root}: still mounted: {still}"
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.root)], check=False)

    def env(self) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
        }
        if HOST_CA.exists():
            env["PIP_CERT"] = CHROOT_CA
            env["SSL_CERT_FILE"] = CHROOT_CA
        return env

    def run(self, *argv: str, timeout: float = 600, check: bool = True,
            env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(["chroot", str(self.root), *argv], capture_output=True, text=True,
                             timeout=timeout, env={**self.env(), **(env or {})}, input=stdin)
        if check and out.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {out.returncode}:\n"
                                 f"{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
        return out

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

"""A real systemd to test the daemon under: the root, the install, the boot, and ways to ask it.

See test_under_systemd.py for what runs here and why some of the unit's options are off.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from polybot_device.audio.filerig import FileRig, MicFeeder
from tests.rig.timing import eventually, scaled

from .roots import Chroot, cached_root, native_arch, require_root_tools

REPO = Path(__file__).resolve().parents[2]
UNIT = "polybot-device.service"
VENV_CLI = "/opt/polybot-device/venv/bin/polybot-device"
SAMPLE = REPO / "polybot_device" / "assets" / "sample_es.wav"
# systemd + what scripts/install.sh would fetch with apt (all there already: faster, and the
# installer's "only what is missing" path is what runs).
PACKAGES = ["systemd", "systemd-sysv", "dbus", "ca-certificates", "python3", "python3-venv",
            "python3-pip", "python3-systemd", "python3-numpy", "python3-yaml", "python3-gpiozero",
            "gcc", "libc6-dev", "python3-dev", "libasound2-dev", "pkg-config"]
MIC_RATE, MIC_CHANNELS, SPEAKER_RATE = 48000, 2, 48000

TEST_DROP_IN = """\
# Test only (tests/system/test_under_systemd.py). This sandbox cannot give a service a mount
# namespace (226/NAMESPACE), so exactly the options that need one are off here, and nowhere
# else; test_unit.py checks them offline. The rest of the unit's hardening stays in force.
[Service]
ProtectSystem=no
ProtectHome=no
PrivateTmp=no
ProtectProc=default
ProtectKernelTunables=no
ProtectKernelModules=no
ProtectKernelLogs=no
ProtectControlGroups=no
PrivateMounts=no
# The FIFO sound rig instead of a sound card.
Environment=ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:/srv/rig/asound.conf
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_config(url: str) -> str:
    return f"""\
languages: [es, en]
api:
  url: {url}
  backoff_initial_s: 0.2
  backoff_max_s: 1.0
audio:
  input: {{device: polybot_mic, rate: {MIC_RATE}, channels: {MIC_CHANNELS}}}
  output: {{device: polybot_speaker, rate: {SPEAKER_RATE}, channels: 1}}
"""


class Simulator:
    """`polybot-device simulate` from the installed venv, inside the root (same network)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("chroot") or "chroot", str(self.root), VENV_CLI, "simulate", "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8"})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert f"ws://127.0.0.1:{self.port}" in line, line
        self.url = line.split()[-1]  # "Realtime simulator listening on ws://..."

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(scaled(10))
            self.proc = None


class System:
    """systemd booted as PID 1 of a new PID namespace in the root, and ways to ask it things."""

    def __init__(self, chroot: Chroot, suite: str, log: Path, rig: FileRig, feeder: MicFeeder,
                 simulator: Simulator) -> None:
        self.chroot = chroot
        self.suite = suite
        self.rig, self.feeder, self.simulator = rig, feeder, simulator
        self.log = log.open("w")
        self.unshare = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--uts", "--kill-child", "/bin/sh", "-c",
             # The root a mount point of its own, shared: systemd mounts each service's
             # credentials in a helper's mount namespace and needs them to propagate back.
             'mount --rbind "$1" "$1" && mount --make-rshared "$1" && exec chroot "$1" /bin/sh -c '
             '"mount -t proc proc /proc; exec /lib/systemd/systemd --system"', "boot", str(chroot.root)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid = 0

        def found() -> bool:
            children = Path(f"/proc/{self.unshare.pid}/task/{self.unshare.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            if pids and Path(f"/proc/{pids[0]}/comm").read_text().strip() == "systemd":
                self.pid = int(pids[0])
                return True
            return False

        eventually(found, 30, "systemd to start", interval=0.1)
        eventually(lambda: self.ctl("is-system-running", check=False).stdout.strip(), 60, "systemd to answer",
                   until=lambda answer: answer in ("running", "degraded", "starting"), interval=0.3)

    def run(self, *argv: str, check: bool = True, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(["nsenter", "-t", str(self.pid), "-p", "-m", "-r", "-w", *argv],
                             capture_output=True, text=True, timeout=timeout,
                             env=env or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        if check and out.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
        return out

    def ctl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args, check=check, timeout=timeout)

    def show(self, unit: str = UNIT, props: str = "ActiveState,SubState,Result,StatusText,NRestarts,"
             "MainPID,ExecMainStatus,ExecMainCode") -> dict[str, str]:
        out = self.ctl("show", unit, f"--property={props}").stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, unit: str = UNIT) -> str:
        return self.run("journalctl", "--no-pager", "-o", "cat", "-u", unit, check=False).stdout

    def close(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
        self.unshare.wait(scaled(30))
        self.log.close()


@contextmanager
def booted(tmp_path_factory: pytest.TempPathFactory, suite: str) -> Iterator[System]:
    """The ``suite`` root (roots.SUITES) from the cache, the daemon installed by scripts/install.sh, the rig and the
    simulator in place, systemd booted; all of it torn down on exit."""
    require_root_tools("unshare", "nsenter")
    started = time.monotonic()
    cached = cached_root(suite, native_arch(), PACKAGES)
    root_s = time.monotonic() - started
    scratch = tmp_path_factory.mktemp(f"systemd-{suite}")
    chroot = Chroot(cached, scratch)
    simulator: Simulator | None = None
    feeder: MicFeeder | None = None
    system: System | None = None
    with chroot:
        try:
            # The installer from this checkout, run inside the root as on a Pi.
            src = scratch / "src.tar.gz"
            subprocess.run([str(REPO / "image" / "pack-source.sh"), str(src)], check=True)
            with tarfile.open(src) as tar:
                tar.extractall(chroot.path("/usr/src/polybot-device"), filter="tar")
            port = free_port()
            chroot.path("/root/polybot-test.yaml").write_text(daemon_config(f"ws://127.0.0.1:{port}/v1/realtime"))
            chroot.path("/root/key").write_text("sk-systemd-test\n")
            t = time.monotonic()
            chroot.run("/usr/src/polybot-device/scripts/install.sh",
                       "--config", "/root/polybot-test.yaml", "--api-key-file", "/root/key", timeout=900)
            install_s = time.monotonic() - t

            # The config-error blinker too: its ProtectProc= mounts a /proc of its own, which would
            # hide the Raspberry Pi /proc/cpuinfo the lgpio check puts in place.
            for unit in (UNIT, "polybot-config-error.service"):
                drop_in = chroot.path(f"/etc/systemd/system/{unit}.d/50-test-sandbox.conf")
                drop_in.parent.mkdir(parents=True, exist_ok=True)
                drop_in.write_text(TEST_DROP_IN)

            rig_dir = chroot.path("/srv/rig")
            rig = FileRig(rig_dir, MIC_RATE, MIC_CHANNELS, SPEAKER_RATE, 1)
            # FileRig wrote host paths; inside the root the same files are under /srv/rig.
            rig.conf.write_text(rig.conf.read_text().replace(str(chroot.root), ""))
            rig_dir.chmod(0o777)  # the daemon's user writes speaker.raw there
            rig.fifo.chmod(0o666)
            # The feeder holds the FIFO's write end before anything opens the mic (see filerig).
            feeder = rig.feeder()

            simulator = Simulator(chroot.root, port)
            simulator.start()
            # Now that the simulator said where it listens (keeps the installer's owner and mode).
            chroot.path("/etc/polybot/polybot.yaml").write_text(daemon_config(simulator.url))
            t = time.monotonic()
            system = System(chroot, suite, scratch / "systemd-console.log", rig, feeder, simulator)
            boot_s = time.monotonic() - t
            print(f"\n{suite}: root: {root_s:.0f} s; install.sh: {install_s:.0f} s; boot: {boot_s:.0f} s")
            yield system
        finally:
            if system is not None:
                system.close()
            if feeder is not None:
                feeder.stop()
            if simulator is not None:
                simulator.stop()


def wait_state(system: System, timeout: float, **want: str) -> dict[str, str]:
    def reached(seen: dict[str, str]) -> bool:
        # StatusText may carry a detail after the state's words: "Offline: reconnecting (why)".
        return all(seen.get(k) == v or (k == "StatusText" and seen.get(k, "").startswith(v + " ("))
                   for k, v in want.items())

    try:
        return eventually(system.show, timeout, f"{want}", until=reached, interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.journal()[-3000:]}") from None

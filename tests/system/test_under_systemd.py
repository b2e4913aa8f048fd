"""The daemon under a real systemd: PID 1 of its own PID namespace over Debian Trixie and Bookworm
roots (systemd 257 and 252).

The root gets the daemon through scripts/install.sh, exactly as a Pi does; a test drop-in then
points it at the FIFO sound rig and at the simulator (`polybot-device simulate`, run inside the
same root) and switches off the options that need a mount namespace, which this sandbox cannot
create (they fail with 226/NAMESPACE here): ProtectSystem, ProtectHome, PrivateTmp, ProtectProc,
ProtectKernel*, ProtectControlGroups, PrivateMounts. Those stay checked offline by test_unit.py.
Everything else — Type=notify, WatchdogSec, RestartPreventExitStatus, LoadCredential,
SystemCallFilter, MemoryDenyWriteExecute, RestrictAddressFamilies, CapabilityBoundingSet,
NoNewPrivileges, DevicePolicy, ProtectHostname, ProtectClock, User= — is the unit's own and is
in force.

systemd mounts each service's credentials (LoadCredential=) in a helper's mount namespace and
relies on them propagating back, so the root is made a shared mount point of its own before
systemd starts; without that the daemon finds an empty /run/credentials/polybot-device.service.

Root only (skipped with the reason otherwise; deselect with -m "not systemd"). Timings per release
are in docs/raspberry-pi.md.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from polybot_device.audio.filerig import FileRig, MicFeeder

from .roots import SUITES, Chroot, cached_root, native_arch, require_root_tools

pytestmark = pytest.mark.systemd

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


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


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
            self.proc.wait(10)
            self.proc = None


class System:
    """systemd booted as PID 1 of a new PID namespace in the root, and ways to ask it things."""

    def __init__(self, chroot: Chroot, log: Path, suite: str) -> None:
        self.chroot = chroot
        self.suite = suite
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

        wait_until("systemd to start", found, 30)
        wait_until("systemd to answer", lambda: self.ctl("is-system-running", check=False).stdout.strip()
                   in ("running", "degraded", "starting"), 60, every=0.3)

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
        self.unshare.wait(30)
        self.log.close()


@pytest.fixture(scope="module", params=SUITES)
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    suite = request.param
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
            system = System(chroot, scratch / "systemd-console.log", suite)
            system.rig, system.feeder, system.simulator = rig, feeder, simulator  # type: ignore[attr-defined]
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
    seen: dict[str, str] = {}

    def check() -> bool:
        nonlocal seen
        seen = system.show()
        # StatusText may carry a detail after the state's words: "Offline: reconnecting (why)".
        return all(seen.get(k) == v or (k == "StatusText" and seen.get(k, "").startswith(v + " ("))
                   for k, v in want.items())

    try:
        wait_until(f"{want}", check, timeout, every=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen {seen}\n{system.journal()[-3000:]}") from None
    return seen


def test_unit_is_active_only_after_ready_and_status_follows_the_daemon(system: System) -> None:
    system.ctl("stop", UNIT)
    system.ctl("start", "--no-block", UNIT)
    states: list[tuple[str, str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        s = system.show()
        if not states or states[-1] != (s["ActiveState"], s["StatusText"]):
            states.append((s["ActiveState"], s["StatusText"]))
        if s["ActiveState"] in ("active", "failed"):
            break
        time.sleep(0.02)
    # Type=notify: "activating" while the daemon starts, "active" once READY=1 arrived, and
    # READY=1 comes with the first STATUS= (a systemd that made it active on its own would
    # have no StatusText yet).
    assert states[0][0] == "activating", states
    assert states[-1][0] == "active", f"{states}\n{system.journal()[-4000:]}"
    first_active = next(st for st in states if st[0] == "active")
    assert first_active[1], states
    assert all(st[0] == "activating" for st in states[: states.index(first_active)]), states
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")


def test_status_text_shows_an_outage_and_the_recovery(system: System) -> None:
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")
    system.simulator.stop()  # type: ignore[attr-defined]
    wait_state(system, 30, StatusText="Offline: reconnecting")
    system.simulator.start()  # type: ignore[attr-defined]
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")


def test_daemon_runs_under_the_units_own_sandbox(system: System) -> None:
    props = dict(line.split("=", 1) for line in system.ctl(
        "show", UNIT, "--property=SystemCallFilter,MemoryDenyWriteExecute,RestrictAddressFamilies,"
        "CapabilityBoundingSet,NoNewPrivileges,DevicePolicy,User").stdout.splitlines())
    assert props["SystemCallFilter"] and props["SystemCallFilter"] != "~"
    assert props["MemoryDenyWriteExecute"] == "yes"
    assert set(props["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert props["CapabilityBoundingSet"] == ""
    assert props["NoNewPrivileges"] == "yes"
    assert props["DevicePolicy"] == "closed"
    pid = system.show()["MainPID"]
    status = dict(line.split(":", 1) for line in system.run("cat", f"/proc/{pid}/status").stdout.splitlines())
    assert status["Seccomp"].strip() == "2"  # a filter is loaded
    assert status["NoNewPrivs"].strip() == "1"
    assert int(status["CapBnd"], 16) == 0 and int(status["CapEff"], 16) == 0
    uid = status["Uid"].split()[0]
    assert system.run("getent", "passwd", uid).stdout.startswith("polybot:")


def test_translates_under_the_units_sandbox(system: System) -> None:
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE.relative_to(REPO)} is not in the package yet")
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")
    rig: FileRig = system.rig  # type: ignore[attr-defined]
    before = len(rig.read_speaker())
    system.feeder.feed_wav(SAMPLE)  # type: ignore[attr-defined]

    def spoke() -> bool:
        played = rig.read_speaker()[before:, 0].astype(np.float64)
        return len(played) > SPEAKER_RATE // 2 and float(np.sqrt(np.mean(played ** 2))) > 100

    wait_until("translated speech in the speaker file", spoke, 90, every=0.5)
    assert "SIGSYS" not in system.journal()


def test_frozen_daemon_is_killed_by_the_watchdog_and_restarted(system: System) -> None:
    before = wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")
    frozen_at = time.monotonic()
    system.ctl("kill", "--signal=SIGSTOP", UNIT)
    after = wait_state(system, 60, ActiveState="active", NRestarts=str(int(before["NRestarts"]) + 1))
    assert after["MainPID"] != before["MainPID"]
    assert "Watchdog timeout" in system.journal()
    wait_state(system, 30, StatusText="Ready: listening")
    seconds = time.monotonic() - frozen_at
    print(f"\nwatchdog: frozen daemon serving again after {seconds:.1f} s (WatchdogSec=10s, RestartSec=3s)")
    assert seconds < 40


def test_bad_config_fails_with_78_and_does_not_restart_loop(system: System) -> None:
    config = system.chroot.path("/etc/polybot/polybot.yaml")
    good = config.read_text()
    try:
        config.write_text("audio:\n  input:\n    rate: fast\n")
        system.ctl("restart", UNIT, check=False)
        failed = wait_state(system, 30, ActiveState="failed")
        assert failed["ExecMainStatus"] == "78" and failed["Result"] == "exit-code"
        time.sleep(5)  # RestartSec=3s: a restart loop would have shown by now
        later = system.show()
        assert later["ActiveState"] == "failed" and later["NRestarts"] == failed["NRestarts"]
        assert "audio.input.rate" in system.journal()
        # OnFailure= ran the config-error LED unit, and its ExecCondition (exit status 78) let
        # its ExecStart run: `polybot-device show-config-error` (no GPIO here, so no LEDs).
        wait_until("polybot-config-error.service to run", lambda: int(system.show(
            "polybot-config-error.service", "ExecMainStartTimestampMonotonic")
            ["ExecMainStartTimestampMonotonic"]) > 0, 15)
    finally:
        config.write_text(good)
        system.ctl("reset-failed", UNIT, check=False)
        system.ctl("start", UNIT, check=False)
    wait_state(system, 30, ActiveState="active")
    assert system.show("polybot-config-error.service")["ActiveState"] in ("inactive", "failed")


def test_stop_is_a_clean_sigterm_exit(system: System) -> None:
    wait_state(system, 30, ActiveState="active")
    t = time.monotonic()
    system.ctl("stop", UNIT)
    took = time.monotonic() - t
    s = system.show()
    assert s["ActiveState"] == "inactive" and s["Result"] == "success", s
    assert s["ExecMainCode"] == "1" and s["ExecMainStatus"] == "0", s  # CLD_EXITED with 0, not killed
    assert took < 3.0, f"systemctl stop took {took:.1f} s"


def started_since(system: System, unit: str, since_monotonic_us: int) -> bool:
    started = system.show(unit, "ExecMainStartTimestampMonotonic")["ExecMainStartTimestampMonotonic"]
    return int(started or 0) > since_monotonic_us


def monotonic_us(system: System) -> int:
    """systemd's CLOCK_MONOTONIC now, in the units of its *TimestampMonotonic properties."""
    return int(float(system.run("cat", "/proc/uptime").stdout.split()[0]) * 1_000_000)


def test_a_missing_key_file_is_exit_78_with_the_reason_not_a_restart_loop(system: System) -> None:
    """LoadCredential= alone fails the unit before the daemon runs (243/CREDENTIALS) when the file is
    missing, and Restart=on-failure restarts it every 3 s forever, with the LEDs dark."""
    key = system.chroot.path("/etc/polybot/openai_api_key")
    aside = key.with_name("openai_api_key.aside")
    system.ctl("start", UNIT)
    wait_state(system, 30, ActiveState="active")
    before = monotonic_us(system)
    key.rename(aside)
    try:
        system.ctl("restart", UNIT, check=False)
        failed = wait_state(system, 30, ActiveState="failed")
        assert (failed["ExecMainStatus"], failed["Result"]) == ("78", "exit-code"), failed
        time.sleep(5)  # RestartSec=3s: a restart loop would have shown by now
        later = system.show()
        assert later["ActiveState"] == "failed" and later["NRestarts"] == failed["NRestarts"], later
        journal = system.journal()
        assert "no API key" in journal and "/etc/polybot/openai_api_key" in journal, journal[-2000:]
        wait_until("polybot-config-error.service to run",
                   lambda: started_since(system, "polybot-config-error.service", before), 15)
    finally:
        aside.rename(key)
        system.ctl("reset-failed", UNIT, check=False)
        system.ctl("start", UNIT, check=False)
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")


def test_the_key_is_never_in_the_environment_or_on_the_command_line(system: System) -> None:
    system.ctl("start", UNIT)
    pid = wait_state(system, 30, ActiveState="active")["MainPID"]
    key = system.chroot.path("/etc/polybot/openai_api_key").read_text().strip()
    for what in ("environ", "cmdline"):
        assert key not in system.run("cat", f"/proc/{pid}/{what}").stdout
    assert key not in system.ctl("show", UNIT, "--property=Environment,ExecStart").stdout


LGPIO_NO_CHIP = r"Falling back from lgpio: '?can not open gpiochip"
"""gpiozero's note when lgpio imported (its FIFO made) and only gpiochip_open() failed."""
CPUINFO_PI5 = "Revision\t: d04170\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n"


def test_the_lgpio_pin_factory_gets_past_its_fifo_under_both_units(system: System) -> None:
    """`import lgpio` makes a notification FIFO in $LG_WD or the working directory, which is / for a
    service (read-only under ProtectSystem=strict, root's in any case): then gpiozero has no lgpio
    pin factory and the gadget no button and no LEDs. Here the real lgpio from PyPI, and a
    /proc/cpuinfo that says Raspberry Pi 5 (so gpiozero goes as far as opening the chip): the only
    thing missing must be the gpiochip itself, under the daemon's unit and the config-error one."""
    if system.suite != "bookworm":
        pytest.skip("PyPI has lgpio wheels up to Python 3.11 (Bookworm); Raspberry Pi OS Trixie ships python3-lgpio")
    root = system.chroot
    venv_python = "/opt/polybot-device/venv/bin/python"
    system.run(venv_python, "-m", "pip", "install", "-q", "lgpio==0.2.2.0", env=root.env(), timeout=300)
    fake = root.path("/srv/cpuinfo-pi5")
    fake.write_text(Path("/proc/cpuinfo").read_text() + CPUINFO_PI5)
    system.run("mount", "--bind", "/srv/cpuinfo-pi5", "/proc/cpuinfo")  # in the test root's namespace only
    config = root.path("/etc/polybot/polybot.yaml")
    good = config.read_text()
    try:
        before = monotonic_us(system)
        system.ctl("restart", UNIT)
        wait_until("the daemon's GPIO verdict", lambda: "Falling back from lgpio" in system.journal(), 30)
        daemon_log = system.journal()
        assert re.search(LGPIO_NO_CHIP, daemon_log), daemon_log[-3000:]
        assert ".lgd-nfy" not in daemon_log
        # /run is systemd's tmpfs inside the test root's namespace: look from there.
        kind, owner = system.run("stat", "-c", "%F %U", "/run/polybot/.lgd-nfy0").stdout.strip().rsplit(" ", 1)
        assert (kind, owner) == ("fifo", "polybot")

        config.write_text("audio:\n  input:\n    rate: fast\n")  # exit 78: the config-error unit blinks
        system.ctl("restart", UNIT, check=False)
        wait_until("polybot-config-error.service to run",
                   lambda: started_since(system, "polybot-config-error.service", before), 30)
        try:
            wait_until("the blinker's GPIO verdict",
                       lambda: "Falling back from lgpio" in system.journal("polybot-config-error.service"), 30)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{system.journal('polybot-config-error.service')[-3000:]}") from None
        blinker_log = system.journal("polybot-config-error.service")
        assert re.search(LGPIO_NO_CHIP, blinker_log), blinker_log[-3000:]
        assert ".lgd-nfy" not in blinker_log
    finally:
        config.write_text(good)
        system.run("umount", "/proc/cpuinfo", check=False)
        system.run(venv_python, "-m", "pip", "uninstall", "-q", "-y", "lgpio", env=root.env(), check=False)
        system.ctl("reset-failed", UNIT, check=False)
        system.ctl("restart", UNIT, check=False)
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")



# Last: it uninstalls what the tests above use.
def test_installer_again_keeps_config_and_key_and_uninstall_removes_it(system: System) -> None:
    root = system.chroot
    config, key = root.path("/etc/polybot/polybot.yaml"), root.path("/etc/polybot/openai_api_key")
    before = (config.read_text(), key.read_text())

    system.run("/usr/src/polybot-device/scripts/install.sh", env=root.env(), timeout=600)

    assert (config.read_text(), key.read_text()) == before
    assert oct(key.stat().st_mode & 0o777) == "0o600" and oct(config.stat().st_mode & 0o777) == "0o640"
    # The key is there, so the installer (re)started the daemon.
    wait_state(system, 30, ActiveState="active", StatusText="Ready: listening")

    system.run("/usr/src/polybot-device/scripts/uninstall.sh")
    assert system.show(UNIT, "LoadState")["LoadState"] == "not-found"
    assert not root.path("/opt/polybot-device").exists()
    assert config.exists() and key.exists()  # kept without --purge

    system.run("/usr/src/polybot-device/scripts/uninstall.sh", "--purge")
    system.run("/usr/src/polybot-device/scripts/uninstall.sh", "--purge")  # again: nothing left to do
    assert not root.path("/etc/polybot").exists()
    assert system.run("getent", "passwd", "polybot", check=False).returncode == 2

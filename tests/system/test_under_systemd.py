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

import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.rig.timing import eventually

from .booted import REPO, SAMPLE, SPEAKER_RATE, UNIT, System, booted, wait_state
from .roots import SUITES

pytestmark = pytest.mark.systemd


@pytest.fixture(scope="module", params=SUITES)
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with booted(tmp_path_factory, request.param) as booted_system:
        yield booted_system


def test_unit_is_active_only_after_ready_and_status_follows_the_daemon(system: System) -> None:
    system.ctl("stop", UNIT)
    system.ctl("start", "--no-block", UNIT)
    states: list[tuple[str, str]] = []

    def record() -> str:
        s = system.show()
        if not states or states[-1] != (s["ActiveState"], s["StatusText"]):
            states.append((s["ActiveState"], s["StatusText"]))
        return s["ActiveState"]

    try:
        eventually(record, 60, "the unit active or failed", until=lambda state: state in ("active", "failed"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}; states {states}\n{system.journal()[-4000:]}") from None
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
    system.simulator.stop()
    wait_state(system, 30, StatusText="Offline: reconnecting")
    system.simulator.start()
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
    rig = system.rig
    before = len(rig.read_speaker())
    system.feeder.feed_wav(SAMPLE)

    def spoke() -> bool:
        played = rig.read_speaker()[before:, 0].astype(np.float64)
        return len(played) > SPEAKER_RATE // 2 and float(np.sqrt(np.mean(played ** 2))) > 100

    eventually(spoke, 90, "translated speech in the speaker file", interval=0.5)
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
        eventually(lambda: int(system.show("polybot-config-error.service", "ExecMainStartTimestampMonotonic")
                               ["ExecMainStartTimestampMonotonic"]), 15, "polybot-config-error.service to run")
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
        eventually(lambda: started_since(system, "polybot-config-error.service", before), 15,
                   "polybot-config-error.service to run")
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
    root = system.chroot
    venv_python = "/opt/polybot-device/venv/bin/python"
    if system.suite == "trixie":
        # PyPI's lgpio wheels stop at Python 3.11; on 3.13 pip builds its source, which bundles the
        # library (PYPI=1: linked in statically) and needs SWIG. Raspberry Pi OS Trixie's
        # python3-lgpio is the same 0.2.2 library.
        system.run("apt-get", "install", "-y", "-q", "--no-install-recommends", "swig", env=root.env(), timeout=300)
    system.run(venv_python, "-m", "pip", "install", "-q", "lgpio==0.2.2.0",
               env={**root.env(), "PYPI": "1"}, timeout=600)
    fake = root.path("/srv/cpuinfo-pi5")
    fake.write_text(Path("/proc/cpuinfo").read_text() + CPUINFO_PI5)
    system.run("mount", "--bind", "/srv/cpuinfo-pi5", "/proc/cpuinfo")  # in the test root's namespace only
    config = root.path("/etc/polybot/polybot.yaml")
    good = config.read_text()
    try:
        before = monotonic_us(system)
        system.ctl("restart", UNIT)
        eventually(lambda: "Falling back from lgpio" in system.journal(), 30, "the daemon's GPIO verdict")
        daemon_log = system.journal()
        assert re.search(LGPIO_NO_CHIP, daemon_log), daemon_log[-3000:]
        assert ".lgd-nfy" not in daemon_log
        # /run is systemd's tmpfs inside the test root's namespace: look from there.
        kind, owner = system.run("stat", "-c", "%F %U", "/run/polybot/.lgd-nfy0").stdout.strip().rsplit(" ", 1)
        assert (kind, owner) == ("fifo", "polybot")

        config.write_text("audio:\n  input:\n    rate: fast\n")  # exit 78: the config-error unit blinks
        system.ctl("restart", UNIT, check=False)
        eventually(lambda: started_since(system, "polybot-config-error.service", before), 30,
                   "polybot-config-error.service to run")
        try:
            eventually(lambda: "Falling back from lgpio" in system.journal("polybot-config-error.service"), 30,
                       "the blinker's GPIO verdict")
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

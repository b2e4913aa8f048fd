"""Command line: run, check-config, health, devices, simulate, demo, doctor.

Exit codes are a contract (systemd, installers and fleet tools read them): 0 clean stop,
78 any configuration problem (EX_CONFIG, also for a bad command line: the unit's ExecStart is
configuration too), 1 an unexpected crash, logged with its traceback. No other. The exception is
``health``, which reports on the running daemon: 0 healthy, 1 degraded, 2 not running or stale.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .apikey import KeySource
from .config import EX_CONFIG, Config, ConfigError, load_config

if TYPE_CHECKING:
    from .app import Translator
from .redact import SecretRedactor

log = logging.getLogger("polybot_device")

EX_OK = 0
EX_CRASH = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would exit 2
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EX_CONFIG)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="polybot-device", description="Speech translator gadget daemon.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the daemon in the foreground (systemd runs it this way)")
    run.add_argument("--config", required=True, type=Path, help="YAML config file")

    check = sub.add_parser("check-config", help="validate a config and print the effective values")
    check.add_argument("config", type=Path)

    sub.add_parser("health", help="is the running daemon healthy? one line; exit 0 healthy, 1 degraded, "
                                  "2 not running or stale (for update tools: Mender, RAUC, balena)")

    devices = sub.add_parser("devices", help="list ALSA capture/playback devices: formats, rates, channels")
    devices.add_argument("--output", type=Path, default=None, metavar="FILE",
                         help="also write the list to FILE, atomically (the image writes it to the boot partition)")

    sim = sub.add_parser("simulate", help="run the local Realtime API simulator on loopback")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--host", default="127.0.0.1", help="a loopback address (the simulator never listens elsewhere)")
    sim.add_argument("--response-delay", type=float, default=0.0, metavar="SECONDS")

    error = sub.add_parser("show-config-error",
                           help="blink the status LED in the config-error pattern until stopped (used by the unit)")
    error.add_argument("--config", required=True, type=Path)

    doctor = sub.add_parser("doctor", help="first bring-up: devices, mic level, speaker echo, button, LEDs, "
                                           "network and API key; pass/fail report, exit 0 all good, 1 something to fix")
    doctor.add_argument("--config", type=Path, default=Path("/etc/polybot/polybot.yaml"))
    doctor.add_argument("--seconds", type=float, default=3.0, help="how long the mic level meter runs")
    doctor.add_argument("--button-timeout", type=float, default=20.0, metavar="SECONDS",
                        help="how long to wait for the button press")
    doctor.add_argument("--no-button", action="store_true", help="do not wait for a button press (scripts)")
    doctor.add_argument("--report", type=Path, default=None,
                        help="save the report here (default: the boot partition, when there is one)")

    demo = sub.add_parser("demo", help="simulator + daemon, audio from a WAV file to a WAV file; no sound card needed")
    demo.add_argument("--input", type=Path, default=None,
                      help="WAV to speak into the virtual mic (default: the shipped Spanish sample)")
    demo.add_argument("--output", type=Path, default=Path("demo-output/translated.wav"))
    demo.add_argument("--mic-rate", type=int, default=48000)
    demo.add_argument("--mic-channels", type=int, default=2)
    demo.add_argument("--speaker-rate", type=int, default=48000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_daemon(args.config)
        if args.command == "check-config":
            return check_config(args.config)
        if args.command == "health":  # exit 0/1/2: this command's own codes, see fleet/health.py
            from .fleet.health import main as health

            return health()
        if args.command == "devices":
            from .audio.devices import format_devices, list_devices, write_device_list

            text = format_devices(list_devices())
            print(text)
            if args.output is not None:
                write_device_list(args.output, text)
            return EX_OK
        if args.command == "simulate":
            return simulate(args.host, args.port, args.response_delay)
        if args.command == "show-config-error":
            from .controls.config_error import show_config_error
            from .service import setup_logging

            setup_logging("info", SecretRedactor())  # the config is broken: its logging level too
            return show_config_error(args.config)
        if args.command == "doctor":
            return doctor(args)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args)
    except KeyboardInterrupt:
        return EX_OK
    raise AssertionError(args.command)  # argparse only lets known commands through


def _config_problem(exc: ConfigError) -> int:
    """Every configuration problem: one line naming the file and key, and exit 78."""
    print(f"polybot-device: {exc}", file=sys.stderr)
    return EX_CONFIG


def check_config(path: Path) -> int:
    from .config import annotated_yaml, load_layered

    try:
        layered = load_layered(path)
    except ConfigError as exc:
        return _config_problem(exc)
    config = layered.config
    print(f"# {path}: valid ({' + '.join(layer.name for layer in layered.layers)}).")
    print("# Effective configuration, key-shaped values masked; after each value the file that set it.")
    print(annotated_yaml(layered))
    source = KeySource(config.api.key_file, command=config.api.key_command).describe()
    if source is None:
        source = "none in this environment (under systemd, LoadCredential=openai_api_key provides it)"
    print(f"# api key: {source} (the key itself is never shown)")
    return EX_OK


def run_daemon(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        return _config_problem(exc)
    from .service import setup_logging

    redactor = SecretRedactor()
    setup_logging(config.logging.level, redactor)
    keys = KeySource(config.api.key_file, on_key=redactor.add, command=config.api.key_command,
                     command_timeout_s=config.api.key_command_timeout_s)
    try:
        keys.check_configured()
    except ConfigError as exc:
        log.error("%s", exc)
        return EX_CONFIG
    try:
        return asyncio.run(serve(config, keys, path))
    except Exception:
        log.exception("unexpected crash")
        return EX_CRASH


async def serve(config: Config, keys: KeySource, path: Path | None = None) -> int:
    """The daemon: returns 0 after SIGTERM/SIGINT; a crash propagates (exit 1)."""
    from .app import Translator
    from .fleet.reporter import FleetReporter
    from .service import Notifier, run_watchdog, watchdog_interval_s
    from .state import StatusModel

    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    notifier = Notifier()
    status = StatusModel()
    translator = Translator(config, keys, status)
    fleet = FleetReporter(translator, status)  # state file, metrics, update lock, journal events
    stopping = False

    def stop(signame: str) -> None:
        nonlocal stopping
        if not stopping:
            log.info("%s: stopping", signame)
            stopping = True
            notifier.stopping()
            main_task.cancel()
            loop.call_later(STOP_DEADLINE_S, _stop_overdue)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig.name)
    loop.add_signal_handler(signal.SIGHUP, _reload, path, translator)

    def started() -> None:
        status.subscribe(notifier.on_state)
        notifier.ready(status.state.words)
        log.info("polybot-device running: mode %s, languages %s", config.mode, ", ".join(config.languages))

    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(translator.run(started), name="translator")
            tasks.create_task(fleet.run(), name="fleet")
            interval = watchdog_interval_s()
            if interval is not None:
                tasks.create_task(run_watchdog(notifier, interval, translator.liveness_checks()), name="watchdog")
    except asyncio.CancelledError:
        if stopping:
            return EX_OK
        raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    return EX_OK


def _reload(path: Path | None, translator: Translator) -> None:
    """SIGHUP: the file and its drop-ins again; a broken one is refused and the running config stays."""
    if path is None:
        return
    try:
        new = load_config(path)
    except ConfigError as exc:
        log.error("reload refused, keeping the running config: %s", exc)
        return
    translator.reconfigure(new)


STOP_DEADLINE_S = 1.8
"""SIGTERM must end the process within 2 s. Shutdown is cancellation and normally takes
milliseconds; if some cleanup ever hangs, this is the safety net."""


def _stop_overdue() -> None:
    log.error("shutdown did not finish within %.1f s of the signal: exiting now", STOP_DEADLINE_S)
    logging.shutdown()
    os._exit(EX_CRASH)


def doctor(args: argparse.Namespace) -> int:
    """Exit 0 all good, 1 something to fix, 78 a bad config or command line."""
    from .doctor import DoctorOptions, run_doctor

    if not 0 < args.seconds <= 600 or not 0 < args.button_timeout <= 3600:
        print("polybot-device: doctor: --seconds and --button-timeout must be positive (at most 600 / 3600)",
              file=sys.stderr)
        return EX_CONFIG
    redactor = SecretRedactor()
    if not logging.getLogger().handlers:  # device and network warnings go to stderr, keys masked
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(redactor)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    options = DoctorOptions(args.config, args.seconds, None if args.no_button else args.button_timeout, args.report)
    return run_doctor(options, on_key=redactor.add)


def simulate(host: str, port: int, response_delay_s: float) -> int:
    from .config import is_loopback
    from .simulator import SimulatorOptions, run_simulator

    if not is_loopback(host):
        print(f"polybot-device: simulate --host: expected a loopback address, got {host!r}", file=sys.stderr)
        return EX_CONFIG
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = SimulatorOptions(response_delay_s=response_delay_s)

    def ready(url: str) -> None:
        print(f"Realtime simulator listening on {url}", flush=True)
        print(f"Point the daemon at it with:  api: {{url: {url}}}  and any OPENAI_API_KEY", flush=True)

    try:
        asyncio.run(run_simulator(host, port, options, on_ready=ready))
    except OSError as exc:
        print(f"polybot-device: simulate: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EX_CONFIG
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())

"""The daemon's Translator on an event loop thread inside the test process, so the test can drive
gpiozero's MockFactory pins the daemon's own controls are built on."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from polybot_device.apikey import KeySource
from polybot_device.app import Translator
from polybot_device.config import parse_config
from polybot_device.state import StatusModel
from tests.rig.timing import scaled


class InProcessDaemon:
    def __init__(self, config: dict, key: str = "sk-test-key-0123456789abcdef") -> None:
        self.config = parse_config(config)
        self.loop = asyncio.new_event_loop()
        self.status = StatusModel()
        self.translator = Translator(self.config, KeySource(None, environ={"OPENAI_API_KEY": key}), self.status)
        self._started = threading.Event()
        self._task: asyncio.Task[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="daemon-loop", daemon=True)
        self._thread.start()
        if not self._started.wait(scaled(20)):
            raise TimeoutError("translator did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._task = self.loop.create_task(self.translator.run(self._started.set))
        try:
            self.loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass

    def call(self, fn, *args) -> Any:
        """Run fn(*args) on the daemon's loop and return its result."""
        async def wrapper():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(scaled(10))

    def stop(self) -> None:
        if self._task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(scaled(10))

"""Fixtures every test directory shares (how the tree is organised: tests/README.md).

gpiozero's own mock pins stand in for the header: the code under test runs unchanged. The whole
gadget on loopback (tests/rig/loopback.py) and the daemon as the fleet sees it (tests/rig/fleet.py)
are fixtures here too, so a test of a module can drive the real daemon wherever it lives."""

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from tests.rig.fleet import journal, short_tmp, start_fleet_daemon  # noqa: F401 - fixtures
from tests.rig.loopback import feeder, rig, sim, start_daemon  # noqa: F401 - fixtures
from tests.rig.timing import ENV, time_factor


@pytest.fixture
def pins():
    """A mock pin factory that also does PWM (PWMLED, RGBLED); ``pins.pin(17)`` is BCM GPIO 17."""
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = None


@pytest.fixture
def plain_pins():
    """A mock pin factory without PWM, like the default GPIOZERO_PIN_FACTORY=mock."""
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = None


def pytest_configure(config):
    """A nonsense time factor stops the run before any test, with the reason."""
    try:
        time_factor()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config):
    """Say which time factor the run waits with (tests/rig/timing.py)."""
    return f"time factor {time_factor():g} (set {ENV} to choose; unset: load per core, at least 1)"

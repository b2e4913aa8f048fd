"""The clock verdict from its witnesses, with plain values (the machine's clock cannot be set here)."""

from __future__ import annotations

from polybot_device.doctor.clock import judge, server_time
from polybot_device.doctor.report import Verdict

NOW = 1_796_000_000.0  # 2026-11-30
INSTALLED = NOW - 86400


def test_a_clock_that_agrees_with_the_server_passes():
    finding = judge(NOW, INSTALLED, True, NOW - 2)
    assert finding.verdict is Verdict.PASS and "within 2 s" in finding.summary


def test_a_clock_minutes_off_the_server_fails_even_when_ntp_says_synchronized():
    finding = judge(NOW, INSTALLED, True, NOW + 600)
    assert finding.verdict is Verdict.FAIL and "-600 s off" in finding.summary


def test_a_pi_that_booted_in_1970_fails_without_any_server():
    finding = judge(0.0, INSTALLED, False, None)
    assert finding.verdict is Verdict.FAIL and "1970-01-01" in finding.summary
    assert "no time server answered yet" in finding.advice


def test_an_unsynchronized_but_plausible_clock_is_a_warning():
    assert judge(NOW, INSTALLED, False, None).verdict is Verdict.WARN
    assert judge(NOW, INSTALLED, None, None).verdict is Verdict.PASS


def test_the_http_date_header_is_read_and_nonsense_is_ignored():
    assert server_time("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0
    assert server_time("yesterday") is None
    assert server_time(None) is None

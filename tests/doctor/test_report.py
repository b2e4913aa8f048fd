"""The report a person reads on the terminal and on the boot partition."""

from __future__ import annotations

from pathlib import Path

import pytest

from polybot_device.doctor.report import REPORT_NAME, Finding, Report, Verdict, boot_report_path, save


def test_warnings_and_skips_pass_and_one_failure_fails_with_its_name():
    report = Report([Finding("echo", Verdict.WARN, "not heard"), Finding("button", Verdict.SKIP, "--no-button")])
    assert report.ok and report.text().endswith("Result: all good.\n")
    report.add(Finding("API key", Verdict.FAIL, "API key refused (HTTP 401)", "check the key"))
    text = report.text()
    assert not report.ok
    assert "FAIL  API key  API key refused (HTTP 401)\n               -> check the key" in text
    assert text.endswith("Result: 1 to fix (API key).\n")


def test_a_key_quoted_by_a_server_never_reaches_the_report():
    report = Report([Finding("API key", Verdict.FAIL, "closed (code 1008: bad key sk-live-abcdef123456)")])
    assert "sk-live-abcdef123456" not in report.text()


def test_the_report_goes_to_the_boot_partition_when_there_is_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POLYBOT_BOOT_DIR", str(tmp_path))
    assert boot_report_path(None) == tmp_path / REPORT_NAME
    monkeypatch.setenv("POLYBOT_BOOT_DIR", str(tmp_path / "absent"))
    assert boot_report_path(None) is None
    assert boot_report_path(tmp_path / "mine.txt") == tmp_path / "mine.txt"


def test_an_unwritable_boot_partition_is_said_not_raised(tmp_path: Path):
    assert save("x\n", tmp_path / "missing-dir" / REPORT_NAME) is not None
    assert save("x\n", tmp_path / REPORT_NAME) is None and (tmp_path / REPORT_NAME).read_text() == "x\n"

"""What a reload may change, with plain values: devices and the endpoint wait for a restart."""

from __future__ import annotations

from polybot_device.config import parse_config, reloadable


def test_a_reload_applies_languages_and_volume_but_not_devices_or_the_endpoint():
    old = parse_config({"languages": ["es", "en"], "audio": {"output": {"volume_percent": 50}}})
    new = parse_config({"languages": ["de", "en"], "api": {"url": "wss://elsewhere.example/v1/realtime"},
                        "audio": {"input": {"device": "hw:CARD=Other"}, "output": {"volume_percent": 80}}})
    applied = reloadable(old, new)
    assert applied.languages == ("de", "en")
    assert applied.audio.output.volume_percent == 80
    assert applied.api == old.api and applied.audio.input == old.audio.input


def test_a_reload_that_changes_nothing_that_needs_a_restart_applies_whole():
    old = parse_config({})
    new = parse_config({"mode": "one-way", "audio": {"output": {"volume_percent": 30}}})
    assert reloadable(old, new) == new

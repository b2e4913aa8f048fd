"""The estimate applies each price to its own kind of token, cached input at the cached price."""

from __future__ import annotations

import pytest

from polybot_device.config import PricesConfig
from polybot_device.cost.prices import interpreter_cost, response_cost, transcription_cost
from polybot_device.cost.usage import ResponseUsage, TranscriptionUsage


def test_a_response_is_priced_by_kind_with_the_cached_part_at_the_cached_price():
    p = PricesConfig()
    u = ResponseUsage(input_text=1_000_000, input_audio=2_000_000, cached_text=500_000, cached_audio=1_000_000,
                      output_text=1_000_000, output_audio=1_000_000)
    expected = (0.5 * 4.00 + 0.5 * 0.40) + (1 * 32.00 + 1 * 0.40) + 24.00 + 64.00
    assert response_cost(u, p) == pytest.approx(expected)


def test_defaults_are_the_published_prices_of_the_default_models():
    p = PricesConfig()
    assert (p.audio_input_per_mtok, p.audio_cached_input_per_mtok, p.audio_output_per_mtok) == (32.0, 0.4, 64.0)
    assert (p.text_input_per_mtok, p.text_cached_input_per_mtok, p.text_output_per_mtok) == (4.0, 0.4, 24.0)
    assert interpreter_cost(60, p) == pytest.approx(0.034)
    assert transcription_cost(TranscriptionUsage(seconds=120), p) == pytest.approx(0.006)

"""Usage from the server is read exactly when it is well formed, and never crashes when it is not."""

from __future__ import annotations

import pytest

from polybot_device.cost.usage import MAX_TOKENS, ResponseUsage, TranscriptionUsage, response_usage, transcription_usage

# The shape of a published usage block (cached counts are a subset of the inputs).
USAGE = {
    "total_tokens": 821, "input_tokens": 789, "output_tokens": 32,
    "input_token_details": {"text_tokens": 313, "audio_tokens": 476, "cached_tokens": 640,
                            "cached_tokens_details": {"text_tokens": 256, "audio_tokens": 384}},
    "output_token_details": {"text_tokens": 9, "audio_tokens": 23},
}


def test_a_usage_block_is_read_by_kind():
    u = response_usage(USAGE)
    assert u == ResponseUsage(input_text=313, input_audio=476, cached_text=256, cached_audio=384,
                              output_text=9, output_audio=23)
    assert (u.input_tokens, u.cached_tokens, u.output_tokens) == (789, 640, 32)
    assert u.cached_share == pytest.approx(640 / 789)


def test_without_a_cached_split_the_cached_prefix_counts_text_first():
    details = {"text_tokens": 100, "audio_tokens": 300, "cached_tokens": 256}
    u = response_usage({"input_token_details": details, "output_token_details": {}})
    assert (u.cached_text, u.cached_audio) == (100, 156)


@pytest.mark.parametrize("junk", [
    None, "lots", 7, [], {"input_token_details": "x"},
    {"input_token_details": {"text_tokens": -5, "audio_tokens": "9", "cached_tokens": True}},
    {"input_token_details": {"text_tokens": 10, "cached_tokens": 10**12}, "output_token_details": []},
    {"input_token_details": {"audio_tokens": 10**30}, "output_token_details": {"audio_tokens": 2.5}},
])
def test_hostile_usage_never_crashes_nor_goes_negative_nor_explodes(junk):
    u = response_usage(junk)
    if u is not None:
        assert all(0 <= n <= MAX_TOKENS for n in u.fields())
        assert u.cached_tokens <= u.input_tokens


def test_transcription_usage_by_duration_or_tokens():
    assert transcription_usage({"type": "duration", "seconds": 1.25}) == TranscriptionUsage(seconds=1.25)
    assert transcription_usage({"type": "tokens", "input_tokens": 40, "output_tokens": 12, "total_tokens": 52}) \
        == TranscriptionUsage(input_tokens=40, output_tokens=12)
    for junk in (None, {"type": "duration", "seconds": float("nan")}, {"type": "duration", "seconds": "1"},
                 {"type": "other"}, {"type": "duration"}):
        assert transcription_usage(junk) is None
    assert transcription_usage({"type": "duration", "seconds": 1e99}).seconds == 3600.0

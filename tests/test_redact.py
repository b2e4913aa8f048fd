"""Secrets out of every output: key-shaped text masked, and every key read masked in the logs."""

from __future__ import annotations

import logging

from polybot_device.redact import MASK, STATUS_CHARS, SecretRedactor, escape, mask_key_shaped, mask_values, status_text


def test_key_shaped_text_is_masked_wherever_it_appears():
    assert mask_key_shaped("key sk-proj-abcdef123 here") == f"key {MASK} here"
    assert mask_key_shaped("Authorization: Bearer abc.def") == f"Authorization: {MASK}"
    assert mask_key_shaped("--token=s3cr3t --x") == f"--{MASK} --x"
    assert mask_key_shaped("ek_abcdef1") == MASK
    assert mask_key_shaped("nothing secret, sk-ab") == "nothing secret, sk-ab"  # too short to be a key


def test_values_inside_plain_data_are_masked_and_the_rest_kept():
    data = {"argv": ["/bin/minter", "--api-key=sk-live-123456"], "n": 3, "ok": None}
    assert mask_values(data) == {"argv": ["/bin/minter", f"--{MASK}"], "n": 3, "ok": None}


def test_a_key_that_was_read_never_reaches_a_log_record_even_in_a_traceback():
    redactor = SecretRedactor()
    redactor.add("plain-looking-secret")
    try:
        raise RuntimeError("failed with plain-looking-secret")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "connect with %s", ("plain-looking-secret",),
                                   sys.exc_info())
    assert redactor.filter(record)
    assert "plain-looking-secret" not in record.getMessage()
    assert record.exc_text is not None and "plain-looking-secret" not in record.exc_text


def test_redactor_forgets_old_short_lived_keys_but_masks_recent_ones():
    redactor = SecretRedactor()
    for i in range(100):
        redactor.add(f"ek_short_lived_{i:04d}")
    assert len(redactor._secrets) == SecretRedactor.KEEP
    assert "ek_short_lived_0099" in redactor._secrets and "ek_short_lived_0000" not in redactor._secrets


def test_a_status_detail_is_one_line_with_keys_masked_and_short():
    text = status_text("InvalidHeaderValue: invalid Authorization header: Bearer \ufeffsk-abcdefghijkl\nSTATUS=Ready")
    assert "sk-abc" not in text and MASK in text
    assert "\n" not in text.replace("\\n", "") and text.endswith("\\nSTATUS=Ready")
    assert len(status_text("x" * 10_000)) == STATUS_CHARS


def test_escaped_text_cannot_forge_a_log_line_or_hide_what_it_says():
    assert escape("hola\n2026-12-05 ERROR forged\x1b[2K\u202egnol") == (
        "hola\\n2026-12-05 ERROR forged\\x1b[2K\\u202egnol")
    assert escape("¿Qué tal? 你好") == "¿Qué tal? 你好"  # languages are not control characters

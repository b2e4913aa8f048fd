"""Where the key comes from and what is done to it on every read: invisible characters a Windows
editor or a copy-paste adds are removed, anything else that no key has makes it unusable, and the
message says so without the key."""

import os

import pytest

from polybot_device.apikey import KeySource, KeyUnavailable, KeyUnusable, normalise_key

KEY = "sk-proj-0123456789abcdef"


@pytest.mark.parametrize("raw", [
    "\ufeff" + KEY,                     # UTF-8 BOM (Notepad)
    KEY + "\r\n",                       # CRLF
    " \u00a0" + KEY + "\u00a0\u202f",   # non-breaking spaces around it (a web page)
    KEY[:6] + "\u200b" + KEY[6:],       # a zero-width space inside (a chat app)
    KEY[:6] + "\u2060\u200d" + KEY[6:] + "\ufeff",
])
def test_invisible_characters_are_removed_wherever_they_are(raw):
    assert normalise_key(raw, "test") == KEY


@pytest.mark.parametrize("raw,code", [
    ("sk-proj\u2013" + KEY, "U+2013"),  # an en dash from a word processor
    ("sk-cl\u00e9-" + KEY, "U+00E9"),
    (KEY[:4] + " " + KEY[4:], "U+0020"),  # a space inside is not a key
    (KEY + "\x07", "U+0007"),
])
def test_anything_else_that_is_not_printable_ascii_is_unusable_and_not_quoted(raw, code):
    with pytest.raises(KeyUnusable) as caught:
        normalise_key(raw, "api.key_file /etc/polybot/openai_api_key")
    message = str(caught.value)
    assert code in message and "api.key_file /etc/polybot/openai_api_key" in message
    assert "0123456789" not in message


def test_a_key_file_of_invisible_characters_only_is_empty(tmp_path):
    path = tmp_path / "key"
    path.write_text("\ufeff\u200b\r\n")
    with pytest.raises(KeyUnavailable, match="is empty") as caught:
        KeySource(str(path), environ={}).read()
    assert not isinstance(caught.value, KeyUnusable)


def test_keys_are_normalised_on_read_and_both_forms_reach_the_log_redactor(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(("\ufeff" + KEY + "\r\n").encode())
    redacted: list[str] = []
    assert KeySource(str(path), environ={}, on_key=redacted.append).read().value == KEY
    assert KEY in redacted and any("\ufeff" in s for s in redacted)
    assert KeySource(None, environ={"OPENAI_API_KEY": "\ufeff" + KEY}).read().value == KEY


def test_an_unusable_key_is_a_state_at_start_not_a_config_error(tmp_path):
    path = tmp_path / "key"
    path.write_text("sk-\u2013" + KEY)
    KeySource(str(path), environ={}).check_configured()  # no ConfigError: the daemon shows the state


def test_the_fingerprint_changes_when_the_key_file_is_replaced_and_not_otherwise(tmp_path):
    path = tmp_path / "key"
    path.write_text("sk-old-key-000000000000")
    source = KeySource(str(path), environ={})
    before = source.fingerprint()
    assert source.fingerprint() == before
    new = tmp_path / "key.new"
    new.write_text("sk-new-key-111111111111")
    os.replace(new, path)
    assert source.fingerprint() != before
    assert KeySource(str(path), environ={"OPENAI_API_KEY": KEY}).fingerprint() is None  # cannot change
    assert KeySource(None, environ={}, command=["true"]).fingerprint() is None  # re-run on every retry

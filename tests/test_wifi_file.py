"""polybot-wifi.txt as people write it becomes a keyfile NetworkManager reads back exactly.

Here the parsing and the escaping; the image check (tests/system/test_image.py) feeds the same
keyfiles to NetworkManager's own parser (`nmcli --offline`) in the arm64 root.
"""

from __future__ import annotations

import pytest

from polybot_device.wifi_file import WifiFileError, keyfile, parse

TRICKY = [
    ("back\\slash\\", "back\\\\slash\\\\"),
    ('"quoted" and \'single\'', '"quoted" and \'single\''),
    ("  two leading spaces", "\\s\\stwo leading spaces"),
    ("trailing space ", "trailing space "),
    ("contraseña-ñandú", "contraseña-ñandú"),
    ("p=a;ss#word", "p=a;ss#word"),
]


def psk_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("psk="))[4:]


@pytest.mark.parametrize("password, written", TRICKY)
def test_passwords_are_taken_exactly_and_escaped_for_the_keyfile(password: str, written: str) -> None:
    settings = parse(f"ssid=Home\npassword={password}\ncountry=ES\n".encode())
    assert settings.password == password
    assert psk_line(keyfile(settings)) == written


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfssid=Home\r\npassword=secret pass\r\ncountry=es\r\n",  # Notepad: BOM and CRLF
    b"ssid=Home\rpassword=secret pass\rcountry=ES",  # old Mac line ends, no final newline
])
def test_files_saved_on_windows_or_a_mac_read_the_same(data: bytes) -> None:
    settings = parse(data)
    assert (settings.ssid, settings.password, settings.country) == (b"Home", "secret pass", "ES")


def test_wpa3_only_networks_get_sae_and_any_password_length() -> None:
    settings = parse(b"ssid=Home\npassword=short\nsecurity=WPA3\n")
    assert settings.key_mgmt == "sae"
    assert "key-mgmt=sae" in keyfile(settings)


def test_the_default_is_wpa_psk_which_networkmanager_also_uses_for_wpa3_transition() -> None:
    assert "key-mgmt=wpa-psk" in keyfile(parse(b"ssid=Home\npassword=12345678\n"))


@pytest.mark.parametrize("ssid, written", [
    ("Casa Pepe", "Casa Pepe"),
    ("Café", "67;97;102;195;169;"),  # non-ASCII: NetworkManager's byte list
    ("a;b", "97;59;98;"),  # ';' would be read as a list separator
    (" edge", "32;101;100;103;101;"),
    ("123", "49;50;51;"),  # digits alone look like the byte-list form
])
def test_ssids_networkmanager_could_misread_are_written_as_bytes(ssid: str, written: str) -> None:
    text = keyfile(parse(f"ssid={ssid}\npassword=12345678\n".encode()))
    assert f"\nssid={written}\n" in text


def test_power_saving_is_off_and_the_connection_starts_by_itself() -> None:
    text = keyfile(parse(b"ssid=Home\n"))  # no password: an open network
    assert "\npowersave=2\n" in text and "\nautoconnect=true\n" in text
    assert "[wifi-security]" not in text


@pytest.mark.parametrize("data, says", [
    (b"password=12345678\n", "no ssid= line"),
    (b"ssid=" + b"x" * 33 + b"\npassword=12345678\n", "at most 32"),
    (b"ssid=Home\npassword=1234567\n", "8 to 63"),
    (b"ssid=Home\npassword=" + b"x" * 64 + b"\n", "8 to 63"),
    (b"ssid=Home\nsecurity=wpa2\n", "no password= line"),
    (b"ssid=Home\npassword=12345678\ncountry=Spain\n", "two-letter"),
    (b"ssid=Home\npassword=12345678\nsecurity=wep\n", "wpa2, wpa3 or open"),
    (b"ssid=Home\npasword=12345678\n", "line 2"),
    (b"ssid=Home\npassword=\xff\xfe\n", "UTF-8"),
    (b"x" * 70000, "not a Wi-Fi settings file"),
])
def test_unusable_files_are_refused_with_the_reason(data: bytes, says: str) -> None:
    with pytest.raises(WifiFileError, match=says):
        parse(data)


def test_a_64_digit_hex_key_is_accepted() -> None:
    assert parse(b"ssid=Home\npassword=" + b"ab" * 32 + b"\n").password == "ab" * 32

"""polybot-wifi.txt (from the card's boot partition) -> a NetworkManager connection keyfile.

The file is written by a person on any PC: Windows editors add a UTF-8 byte-order mark and CRLF
line ends, passwords may hold backslashes, quotes, leading spaces and non-ASCII letters. Every
value is taken exactly as written after the first ``=`` (only the line end is dropped) and then
written in NetworkManager's keyfile syntax (GLib's key-file escapes: ``\\\\`` and a leading ``\\s``),
so NetworkManager reads back the very same bytes. What NetworkManager would refuse (a WPA password
outside 8..63 bytes, an SSID over 32 bytes) is refused here with a message instead of leaving a
connection NetworkManager silently ignores.

    ssid=My Network           (required)
    password=my passphrase    (leave it out for an open network)
    country=ES                (the Wi-Fi regulatory country: the radio stays off until it is known)
    security=wpa3             (optional: wpa2 (default: WPA2, and WPA3 where the driver can), wpa3 (SAE only), open)
    hidden=yes                (optional: the network does not broadcast its name)

Power saving is switched off in the connection (``wifi.powersave=2``): the Pi's brcmfmac power
save adds 100-300 ms latency spikes to a conversation.

``python -m polybot_device.wifi_file polybot-wifi.txt OUT.nmconnection`` writes the keyfile and
prints ``country=XX`` when the file names one; exit 78 with the problem on stderr when it is unusable.
"""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 64 * 1024
KEYS = ("ssid", "password", "country", "security", "hidden")
SECURITY = {"": "wpa-psk", "wpa2": "wpa-psk", "wpa-psk": "wpa-psk", "wpa": "wpa-psk",
            "wpa3": "sae", "sae": "sae", "open": "none", "none": "none"}


class WifiFileError(ValueError):
    """polybot-wifi.txt cannot become a working connection; the message says why."""


@dataclass(frozen=True)
class WifiSettings:
    ssid: bytes
    password: str | None
    country: str | None
    key_mgmt: str  # NetworkManager's wifi-security.key-mgmt: wpa-psk, sae, or none (open)
    hidden: bool


def parse(data: bytes) -> WifiSettings:
    if len(data) > MAX_FILE_BYTES:
        raise WifiFileError(f"polybot-wifi.txt is {len(data)} bytes: not a Wi-Fi settings file")
    if data.startswith(b"\xef\xbb\xbf"):  # Windows Notepad's UTF-8 byte-order mark
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WifiFileError("polybot-wifi.txt is not UTF-8 text: save it as UTF-8") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):  # \n, \r\n and \r line ends alike
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if not sep or key not in KEYS:
            raise WifiFileError(f"polybot-wifi.txt line {number}: expected one of "
                                f"{', '.join(k + '=' for k in KEYS)} (got {line[:20]!r})")
        values.setdefault(key, value)  # the first one counts
    ssid = values.get("ssid", "").encode()
    if not ssid:
        raise WifiFileError("polybot-wifi.txt: no ssid= line (the network's name)")
    if len(ssid) > 32:
        raise WifiFileError(f"polybot-wifi.txt: ssid= is {len(ssid)} bytes; a Wi-Fi name has at most 32")
    security = values.get("security", "").strip().lower()
    if security not in SECURITY:
        raise WifiFileError(f"polybot-wifi.txt: security={security!r}: expected wpa2, wpa3 or open")
    password = values.get("password")
    key_mgmt = SECURITY[security] if security or password else "none"
    if key_mgmt == "none":
        password = None
    elif not password:
        raise WifiFileError("polybot-wifi.txt: no password= line (leave security= out for an open network)")
    elif key_mgmt == "wpa-psk":
        size = len(password.encode())
        is_hex_key = size == 64 and re.fullmatch(r"[0-9A-Fa-f]{64}", password)
        if not 8 <= size <= 63 and not is_hex_key:
            raise WifiFileError(f"polybot-wifi.txt: a WPA2 password has 8 to 63 characters, this one {size} "
                                "(counted in bytes; check for spaces at the ends)")
    country = values.get("country", "").strip().upper() or None
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise WifiFileError(f"polybot-wifi.txt: country={country!r}: expected a two-letter country code, e.g. ES")
    hidden = values.get("hidden", "").strip().lower() in ("yes", "true", "1", "on")
    return WifiSettings(ssid, password, country, key_mgmt, hidden)


def _keyfile_string(value: str) -> str:
    """GLib key-file escaping, as NetworkManager's own writer does it: backslash doubled, leading
    blanks escaped (GLib strips them otherwise). Line breaks cannot occur (one value per line)."""
    value = value.replace("\\", "\\\\")
    stripped = value.lstrip(" \t")
    lead = value[: len(value) - len(stripped)]
    return lead.replace(" ", "\\s").replace("\t", "\\t") + stripped


def _keyfile_ssid(ssid: bytes) -> str:
    """NetworkManager reads an SSID as text unless it looks like its older byte-list form (digits
    and ';'): printable ASCII without ';', '\\' or edge blanks is written as text, anything else as
    that byte list, which NetworkManager reads back byte for byte."""
    text = ssid.decode("ascii", errors="replace")
    if (ssid.isascii() and text.isprintable() and not set(text) & {";", "\\"}
            and text == text.strip() and not re.fullmatch(r"[\d\s]+", text)):
        return text
    return ";".join(str(b) for b in ssid) + ";"


def keyfile(settings: WifiSettings, connection_uuid: str | None = None) -> str:
    lines = [
        "[connection]", "id=polybot-wifi", f"uuid={connection_uuid or uuid.uuid4()}", "type=wifi",
        "autoconnect=true", "",
        "[wifi]", "mode=infrastructure", f"ssid={_keyfile_ssid(settings.ssid)}",
        f"hidden={'true' if settings.hidden else 'false'}",
        "# 2 = off: brcmfmac power saving adds 100-300 ms latency spikes", "powersave=2", "",
    ]
    if settings.key_mgmt != "none":
        assert settings.password is not None
        lines += ["[wifi-security]", f"key-mgmt={settings.key_mgmt}", f"psk={_keyfile_string(settings.password)}", ""]
    lines += ["[ipv4]", "method=auto", "", "[ipv6]", "method=auto", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m polybot_device.wifi_file polybot-wifi.txt OUT.nmconnection", file=sys.stderr)
        return 78
    source, out = Path(args[0]), Path(args[1])
    try:
        with source.open("rb") as f:
            settings = parse(f.read(MAX_FILE_BYTES + 1))
    except OSError as exc:
        print(f"polybot-wifi.txt: cannot read it: {exc.strerror or exc}", file=sys.stderr)
        return 78
    except WifiFileError as exc:
        print(exc, file=sys.stderr)
        return 78
    out.write_text(keyfile(settings), encoding="utf-8")
    if settings.country:
        print(f"country={settings.country}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

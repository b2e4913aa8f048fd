#!/usr/bin/env python3
"""Write a Raspberry Pi Imager manifest for a polybot image, so Imager offers its OS customisation.

Raspberry Pi Imager 2.x offers no customisation (Wi-Fi, user, SSH) for an image picked with "Use
custom": it cannot know how the image wants to be customised. A manifest that names the image and
its ``init_format`` fixes that. Trixie images take Imager's settings as cloud-init files on the
boot partition (``cloudinit-rpi``); Bookworm images take a ``firstrun.sh`` (``systemd``).

    image/imager-manifest.py --release trixie deploy/image_2026-01-01-polybot-polybot.img.xz

writes ``<image>.rpi-imager-manifest`` next to the image, with the image's absolute path in it. Run it
on the computer that runs Imager (Python 3, nothing else needed), then double-click the manifest or
start ``rpi-imager --repo <manifest>``. image/build.sh runs it for the machine that built the image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import date
from pathlib import Path

INIT_FORMAT = {"trixie": "cloudinit-rpi", "bookworm": "systemd"}
"""What Raspberry Pi OS itself declares in Imager's OS list (rpi-imager's
doc/os_customisation_formats.md): Bookworm uses firstrun.sh, current Trixie images cloud-init."""


def manifest(image: Path, release: str) -> dict:
    digest = hashlib.sha256()
    with image.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"os_list": [{
        "name": f"Polybot translator (Raspberry Pi OS Lite {release.capitalize()}, 64-bit)",
        "description": "Speech translator gadget: put polybot.yaml and openai_api_key on the boot partition",
        "url": image.resolve().as_uri(),
        "image_download_size": image.stat().st_size,
        "image_download_sha256": digest.hexdigest(),
        "release_date": date.fromtimestamp(image.stat().st_mtime).isoformat(),
        "init_format": INIT_FORMAT[release],
    }]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", choices=sorted(INIT_FORMAT), required=True)
    parser.add_argument("images", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for image in args.images:
        if not image.is_file():
            print(f"imager-manifest: {image}: no such image", file=sys.stderr)
            return 1
        out = image.with_name(image.name + ".rpi-imager-manifest")
        out.write_text(json.dumps(manifest(image, args.release), indent=2) + "\n")
        print(f"imager-manifest: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/bash -e
# Inside the image: the same installer a running Pi uses. Debian packages came
# from 00-packages-nr; pip fetches the rest (pyalsaaudio is compiled here).
# Nothing is started (no systemd runs in the chroot): the units are enabled.
export PIP_NO_CACHE_DIR=1
/usr/src/polybot-device/scripts/install.sh --no-apt --no-start --image
rm -rf /usr/src/polybot-device

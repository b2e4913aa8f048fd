#!/bin/bash -e
# pi-gen's own options do most of this (ENABLE_SSH=0, PUBKEY_ONLY_SSH=1, root without a
# password); these make sure of it whatever the config says.
# SSH stays off unless the image was built with ENABLE_SSH=1 or the user puts an empty
# "ssh" file on the boot partition (Raspberry Pi OS's own switch).
if [ "${ENABLE_SSH:-0}" != 1 ]; then
	systemctl disable ssh.service 2>/dev/null || true
fi
# Root can never log in with a password.
usermod --lock root

#!/bin/bash -e
# Host side. POLYBOT_READONLY=1 in the pi-gen config: the first boot turns on the
# read-only root overlay once it has imported the config (see polybot-firstboot).
if [ "${POLYBOT_READONLY:-0}" = 1 ]; then
	touch "${ROOTFS_DIR}/boot/firmware/polybot-readonly"
fi

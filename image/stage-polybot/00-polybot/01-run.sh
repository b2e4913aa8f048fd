#!/bin/bash -e
# Host side: put the polybot-device source (packed by image/build.sh with
# image/pack-source.sh) where the chroot step can install it from.
install -d -m 0755 "${ROOTFS_DIR}/usr/src/polybot-device"
tar -C "${ROOTFS_DIR}/usr/src/polybot-device" -xzf files/polybot-device.tar.gz

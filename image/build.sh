#!/bin/bash
# Build the polybot SD-card image: Raspberry Pi OS Lite (Bookworm, arm64) with
# polybot-device baked in by the pi-gen stage in image/stage-polybot.
#
#   sudo image/build.sh                 # native pi-gen build (Debian/Ubuntu host)
#   sudo image/build.sh --docker        # pi-gen's Docker build (any Linux with Docker)
#
# Needs internet (pi-gen from GitHub, Raspberry Pi OS and PyPI packages), about
# 20 GB of disk and, on x86-64, qemu-user-static + binfmt-support. The image
# lands in image/work/pi-gen/deploy/. Environment:
#   PI_GEN_REPO  (https://github.com/RPi-Distro/pi-gen.git)
#   PI_GEN_REF   (bookworm-arm64: pi-gen's branch for 64-bit Raspberry Pi OS Bookworm)
#   POLYBOT_IMAGE_CONFIG  a pi-gen config to use instead of image/config
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$here/work
pi_gen=$work/pi-gen
repo_url=${PI_GEN_REPO:-https://github.com/RPi-Distro/pi-gen.git}
ref=${PI_GEN_REF:-bookworm-arm64}
config=${POLYBOT_IMAGE_CONFIG:-$here/config}
docker=0

case ${1:-} in
    --docker) docker=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--docker]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || [ "$docker" = 1 ] || { echo "build: run as root" >&2; exit 1; }

mkdir -p "$work"
if [ ! -d "$pi_gen/.git" ]; then
    git clone --depth 1 --branch "$ref" "$repo_url" "$pi_gen"
fi

# The stage installs the daemon from this checkout, as scripts/install.sh does on a Pi.
install -d "$here/stage-polybot/00-polybot/files"
"$here/pack-source.sh" "$here/stage-polybot/00-polybot/files/polybot-device.tar.gz"

# Lite only: stage2's plain image is not exported, ours is.
touch "$pi_gen/stage2/SKIP_IMAGES"
build_config=$work/config
{
    cat "$config"
    if [ "$docker" = 1 ]; then
        # build-docker.sh mounts pi-gen at /pi-gen; the stage is copied in.
        echo 'STAGE_LIST="stage0 stage1 stage2 stage-polybot"'
    else
        echo "STAGE_LIST=\"stage0 stage1 stage2 $here/stage-polybot\""
    fi
} >"$build_config"

cd "$pi_gen"
if [ "$docker" = 1 ]; then
    rm -rf "$pi_gen/stage-polybot"
    cp -a "$here/stage-polybot" "$pi_gen/stage-polybot"
    cp "$build_config" "$pi_gen/config"
    ./build-docker.sh -c config
else
    ./build.sh -c "$build_config"
fi
ls -l "$pi_gen/deploy/"

#!/bin/bash
# Build the polybot SD-card image: Raspberry Pi OS Lite, 64-bit, with polybot-device baked in by
# the pi-gen stage in image/stage-polybot. Trixie (the current Raspberry Pi OS) or Bookworm.
#
#   sudo image/build.sh                     # Trixie, native pi-gen build (Debian/Ubuntu host)
#   sudo image/build.sh --release bookworm  # Bookworm
#   sudo image/build.sh --docker            # pi-gen's Docker build (any Linux with Docker)
#   image/build.sh --check [--release R]    # only check the config; print what pi-gen would get
#
# Needs internet (pi-gen from GitHub, Raspberry Pi OS and PyPI packages), about 20 GB of disk and,
# on x86-64, qemu-user-static + binfmt-support. The image lands in image/work/pi-gen-<branch>/deploy/,
# with a Raspberry Pi Imager manifest next to it (see docs/raspberry-pi.md). Environment:
#   PI_GEN_REPO  (https://github.com/RPi-Distro/pi-gen.git)
#   PI_GEN_REF   pi-gen's branch: arm64 for Trixie, bookworm-arm64 for Bookworm (the default follows
#                the release; another branch must be for the same release)
#   POLYBOT_IMAGE_CONFIG  a pi-gen config to use instead of image/config
#
# pi-gen refuses some configs only after it has started (PUBKEY_ONLY_SSH=1 without
# PUBKEY_SSH_FIRST_USER, a WPA_PASSWORD outside 8-63 characters, ...): this script checks the
# same rules first and says what to set. It also exports POLYBOT_READONLY, which pi-gen would not
# pass on to the stage (it sources the config without `set -a`).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$here/work
repo_url=${PI_GEN_REPO:-https://github.com/RPi-Distro/pi-gen.git}
config=${POLYBOT_IMAGE_CONFIG:-$here/config}
docker=0
check_only=0
release=

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --docker) docker=1; shift ;;
        --check) check_only=1; shift ;;
        --release) release=${2:-}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "usage: $0 [--release trixie|bookworm] [--docker|--check]" >&2; exit 2 ;;
    esac
done
[ -r "$config" ] || { echo "build: cannot read the config $config" >&2; exit 2; }

# The release: --release, else the config's RELEASE=, else trixie.
if [ -z "$release" ]; then
    # shellcheck disable=SC1090  # the config is the user's
    release=$(set +u; RELEASE=; . "$config" >/dev/null 2>&1; echo "${RELEASE:-trixie}")
fi
case $release in
    trixie) default_ref=arm64 ;;
    bookworm) default_ref=bookworm-arm64 ;;
    *) echo "build: release '$release' is not supported: trixie or bookworm" >&2; exit 2 ;;
esac
ref=${PI_GEN_REF:-$default_ref}
case $ref in
    *bookworm*) ref_release=bookworm ;;
    *) ref_release=trixie ;;
esac
if [ "$ref_release" != "$release" ]; then
    echo "build: pi-gen branch '$ref' builds $ref_release, not $release (unset PI_GEN_REF or pick a $release branch)" >&2
    exit 2
fi
pi_gen=$work/pi-gen-$ref

# The config pi-gen gets: ours, the release, and what pi-gen would not pass on by itself.
assemble_config() {
    cat "$config"
    echo
    echo "# Added by image/build.sh"
    echo "RELEASE=$release"
    # pi-gen sources this file without `set -a`: only what it exports itself reaches the stages.
    echo "POLYBOT_READONLY=\${POLYBOT_READONLY:-0}"
    echo "export POLYBOT_READONLY"
    if [ "$docker" = 1 ]; then
        # build-docker.sh mounts pi-gen at /pi-gen; the stage is copied in.
        echo 'STAGE_LIST="stage0 stage1 stage2 stage-polybot"'
    else
        echo "STAGE_LIST=\"stage0 stage1 stage2 $here/stage-polybot\""
    fi
}

# pi-gen's own refusals (build.sh of the arm64 and bookworm-arm64 branches), checked up front,
# plus ours. Prints one line per problem; returns 1 when there is any.
check_config() {
    local assembled=$1
    (
        set +eu
        # shellcheck disable=SC1090  # the config is the user's
        . "$assembled"
        problems=0
        problem() { echo "build: $*" >&2; problems=$((problems + 1)); }
        if [ "${PUBKEY_ONLY_SSH:-0}" = 1 ] && [ -z "${PUBKEY_SSH_FIRST_USER:-}" ]; then
            problem "PUBKEY_ONLY_SSH=1 needs PUBKEY_SSH_FIRST_USER=\"ssh-ed25519 AAAA... you@laptop\" (your public key), or set PUBKEY_ONLY_SSH=0"
        fi
        if [ -n "${WPA_PASSWORD:-}" ] && { [ ${#WPA_PASSWORD} -lt 8 ] || [ ${#WPA_PASSWORD} -gt 63 ]; }; then
            problem "WPA_PASSWORD must be 8 to 63 characters (it is ${#WPA_PASSWORD}); or leave it out and use polybot-wifi.txt on the card"
        fi
        if [ -n "${WPA_COUNTRY:-}" ] && ! [[ $WPA_COUNTRY =~ ^[A-Z][A-Z]$ ]]; then
            problem "WPA_COUNTRY must be a two-letter country code in capitals, e.g. GB (it is '$WPA_COUNTRY')"
        fi
        if [ "${DISABLE_FIRST_BOOT_USER_RENAME:-0}" = 1 ] && [ -z "${FIRST_USER_PASS:-}" ]; then
            problem "DISABLE_FIRST_BOOT_USER_RENAME=1 needs FIRST_USER_PASS; or set DISABLE_FIRST_BOOT_USER_RENAME=0"
        fi
        if ! [[ ${FIRST_USER_NAME:-pi} =~ ^[a-z][-a-z0-9_]*$ ]]; then
            problem "FIRST_USER_NAME '$FIRST_USER_NAME' is not a valid user name (lower case letters, digits, - and _)"
        fi
        case ${POLYBOT_READONLY:-0} in
            0|1) ;;
            *) problem "POLYBOT_READONLY must be 0 or 1 (it is '$POLYBOT_READONLY')" ;;
        esac
        [ "$problems" = 0 ]
    )
}

if [ "$check_only" = 1 ]; then
    build_config=$(mktemp)
    trap 'rm -f "$build_config"' EXIT
else
    mkdir -p "$work"
    build_config=$work/config-$release
fi
assemble_config >"$build_config"
if ! check_config "$build_config"; then
    echo "build: fix $config and run again (nothing was built)" >&2
    exit 1
fi
if [ "$check_only" = 1 ]; then
    cat "$build_config"
    exit 0
fi
[ "$(id -u)" = 0 ] || [ "$docker" = 1 ] || { echo "build: run as root" >&2; exit 1; }

if [ ! -d "$pi_gen/.git" ]; then
    git clone --depth 1 --branch "$ref" "$repo_url" "$pi_gen"
fi

# The stage installs the daemon from this checkout, as scripts/install.sh does on a Pi.
install -d "$here/stage-polybot/00-polybot/files"
"$here/pack-source.sh" "$here/stage-polybot/00-polybot/files/polybot-device.tar.gz"

# Lite only: stage2's plain image is not exported, ours is.
touch "$pi_gen/stage2/SKIP_IMAGES"

cd "$pi_gen"
if [ "$docker" = 1 ]; then
    rm -rf "$pi_gen/stage-polybot"
    cp -a "$here/stage-polybot" "$pi_gen/stage-polybot"
    cp "$build_config" "$pi_gen/config"
    ./build-docker.sh -c config
else
    ./build.sh -c "$build_config"
fi
"$here/imager-manifest.py" --release "$release" "$pi_gen"/deploy/*-polybot.img.xz
ls -l "$pi_gen/deploy/"

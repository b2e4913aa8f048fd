#!/bin/bash
# Install polybot-device on a Raspberry Pi (Raspberry Pi OS / Debian Bookworm) from
# the checkout this script sits in:
#
#   sudo ./scripts/install.sh [--api-key-file FILE] [--config FILE]
#
# Safe to run again (upgrades the code, keeps the config and key). What it does:
#   - apt: python3-venv, and Debian's python3-systemd, python3-numpy, python3-yaml,
#     python3-gpiozero, python3-lgpio (where the archive has them) so nothing big
#     compiles on the Pi; gcc, python3-dev, libasound2-dev and pkg-config for
#     pyalsaaudio, which comes from pip (Bookworm's python3-alsaaudio is too old).
#   - a system user "polybot" in the audio and gpio groups, no login, no home.
#   - a venv at /opt/polybot-device/venv with --system-site-packages, into which
#     this checkout is pip-installed.
#   - /etc/polybot (root:polybot 0750): polybot.yaml (0640; from --config, else the
#     example config when none is there yet) and openai_api_key (root 0600; from
#     --api-key-file, else asked for on a terminal; never on the command line).
#   - the systemd units, enabled, and the daemon (re)started when systemd runs.
#
# Options:
#   --api-key-file FILE  copy the API key from FILE (one line)
#   --config FILE        install FILE as /etc/polybot/polybot.yaml (replaces it)
#   --wheelhouse DIR     pip installs only from DIR (pip wheel ... -w DIR on a
#                        machine with internet): a fully offline install
#   --no-apt             do not install Debian packages (they are there already)
#   --no-start           enable the units but do not start anything (image builds)
#   --image              also install the first-boot import from the boot partition
#   -h, --help           this text
#
# Environment: POLYBOT_PREFIX (/opt/polybot-device), POLYBOT_ETC (/etc/polybot),
# PIP_* as pip reads them.
set -euo pipefail

prefix=${POLYBOT_PREFIX:-/opt/polybot-device}
etc_dir=${POLYBOT_ETC:-/etc/polybot}
unit_dir=/etc/systemd/system
user=polybot
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

api_key_file=
config_file=
wheelhouse=
do_apt=1
do_start=1
image=0

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}
log() { echo "install: $*" >&2; }
die() { echo "install: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --api-key-file) api_key_file=$2; shift 2 ;;
        --config) config_file=$2; shift 2 ;;
        --wheelhouse) wheelhouse=$2; shift 2 ;;
        --no-apt) do_apt=0; shift ;;
        --no-start) do_start=0; shift ;;
        --image) image=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"
if [ ! -f "$src/pyproject.toml" ] || [ ! -d "$src/polybot_device" ]; then
    die "$src does not look like a polybot-device checkout"
fi
[ -z "$api_key_file" ] || [ -r "$api_key_file" ] || die "cannot read $api_key_file"
[ -z "$config_file" ] || [ -r "$config_file" ] || die "cannot read $config_file"
[ -z "$wheelhouse" ] || [ -d "$wheelhouse" ] || die "no such directory: $wheelhouse"

# The key as editors and copy-paste leave it: without a UTF-8 byte-order mark, zero-width
# and non-breaking spaces (wherever they are), CR/LF and blanks. The daemon does the same on
# every read, and shows "API key unusable" for anything else that is not printable ASCII.
clean_key() {
    LC_ALL=C sed -e 's/\xef\xbb\xbf//g' -e 's/\xe2\x80[\x8b\x8c\x8d\xaf\x87]//g' \
        -e 's/\xe2\x81\xa0//g' -e 's/\xc2\xa0//g' | LC_ALL=C tr -d '\r\n[:blank:]'
}

systemd_running() { [ -d /run/systemd/system ]; }

install_debian_packages() {
    # Debian's builds of the heavy parts, so pip compiles only pyalsaaudio.
    local wanted=(python3 python3-venv python3-pip python3-systemd python3-numpy python3-yaml
                  python3-gpiozero python3-lgpio
                  gcc libc6-dev python3-dev libasound2-dev pkg-config
                  procps)  # /bin/kill, for the unit's ExecReload= (systemctl reload)
    local optional=" python3-gpiozero python3-lgpio " missing=() pkg
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f '${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    if ! apt-cache show python3-venv >/dev/null 2>&1; then
        apt-get update
    fi
    local available=()
    for pkg in "${missing[@]}"; do
        if apt-cache show "$pkg" >/dev/null 2>&1; then
            available+=("$pkg")
        elif [[ $optional == *" $pkg "* ]]; then
            # Plain Debian has no python3-lgpio (Raspberry Pi OS has): pip takes over.
            log "$pkg is not in this system's archive; pip will provide what is needed"
        else
            die "package $pkg is not available from apt"
        fi
    done
    [ ${#available[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${available[@]}"
}

ensure_user() {
    local g
    for g in audio gpio; do
        # Raspberry Pi OS has both; plain Debian has no gpio group.
        getent group "$g" >/dev/null || groupadd --system "$g"
    done
    if ! getent group "$user" >/dev/null; then
        groupadd --system "$user"
    fi
    if ! id -u "$user" >/dev/null 2>&1; then
        useradd --system --gid "$user" --groups audio,gpio --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin \
            --comment "polybot translator daemon" "$user"
        log "created system user $user"
    else
        usermod --append --groups audio,gpio "$user"
    fi
}

install_venv() {
    local venv=$prefix/venv pip_args=()
    install -d -m 0755 "$prefix"
    if [ -x "$venv/bin/python" ] &&
       [ "$("$venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" != \
         "$(python3 -c 'import sys; print(sys.version_info[:2])')" ]; then
        log "system Python changed; rebuilding the venv"
        rm -rf "$venv"
    fi
    [ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv"
    if [ -n "$wheelhouse" ]; then
        pip_args+=(--no-index --find-links "$wheelhouse")
    fi
    # Copy the checkout first: pip builds in place and must not leave build/ or
    # *.egg-info in the user's tree (nor fail on a read-only one).
    local build
    build=$(mktemp -d)
    tar -C "$src" --exclude=.git --exclude=build --exclude='*.egg-info' \
        --exclude=.venv --exclude=__pycache__ -cf - . | tar -C "$build" -xf -
    # Dependencies already provided by Debian (numpy, systemd-python, PyYAML) are
    # found through --system-site-packages and left alone.
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-warn-script-location \
        --upgrade-strategy only-if-needed "${pip_args[@]}" "$build"
    rm -rf "$build"
    "$venv/bin/polybot-device" --help >/dev/null
}

install_config() {
    install -d -m 0750 -o root -g "$user" "$etc_dir"
    chown root:"$user" "$etc_dir"
    chmod 0750 "$etc_dir"
    install -d -m 0750 -o root -g "$user" "$etc_dir/conf.d"
    if [ -n "$config_file" ]; then
        install -m 0640 -o root -g "$user" "$config_file" "$etc_dir/polybot.yaml"
        log "installed $config_file as $etc_dir/polybot.yaml"
    elif [ ! -e "$etc_dir/polybot.yaml" ]; then
        install -m 0640 -o root -g "$user" "$src/config/polybot.example.yaml" "$etc_dir/polybot.yaml"
        log "installed the example config as $etc_dir/polybot.yaml: edit it"
    fi
    chown root:"$user" "$etc_dir/polybot.yaml"
    chmod 0640 "$etc_dir/polybot.yaml"

    local key=$etc_dir/openai_api_key
    if [ -n "$api_key_file" ]; then
        (umask 077; clean_key <"$api_key_file" >"$key.tmp")
        mv -f "$key.tmp" "$key"
        log "API key installed"
    elif [ ! -s "$key" ] && [ -t 0 ] && [ "$do_start" = 1 ]; then
        local answer
        read -r -s -p "OpenAI API key (input hidden, empty to skip): " answer
        echo >&2
        if [ -n "$answer" ]; then
            (umask 077; printf '%s\n' "$answer" | clean_key >"$key.tmp")
            mv -f "$key.tmp" "$key"
        fi
    fi
    if [ -e "$key" ]; then
        # Read by systemd (LoadCredential=) as root, never by the daemon's user.
        chown root:root "$key"
        chmod 0600 "$key"
    fi
}

install_units() {
    install -m 0644 "$src/systemd/polybot-device.service" "$unit_dir/polybot-device.service"
    install -m 0644 "$src/systemd/polybot-config-error.service" "$unit_dir/polybot-config-error.service"
    install -D -m 0644 "$src/systemd/60-polybot-gpiochip.rules" /etc/udev/rules.d/60-polybot-gpiochip.rules
    install -d -m 0755 "$prefix/libexec"
    install -m 0755 "$src/systemd/polybot-writable-paths" "$prefix/libexec/polybot-writable-paths"
    # ReadWritePaths= for what polybot.yaml names outside /run/polybot (metrics, update lock).
    "$prefix/libexec/polybot-writable-paths" --config "$etc_dir/polybot.yaml" \
        --python "$prefix/venv/bin/python" --user "$user"
    if [ "$image" = 1 ]; then
        install -m 0755 "$src/image/firstboot/polybot-firstboot" "$prefix/libexec/polybot-firstboot"
        install -m 0644 "$src/image/firstboot/polybot-firstboot-system.sh" "$prefix/libexec/polybot-firstboot-system.sh"
        install -m 0644 "$src/systemd/polybot-firstboot.service" "$unit_dir/polybot-firstboot.service"
    fi
    if [ -d /etc/NetworkManager/conf.d ]; then
        # Wi-Fi power saving off for every connection (ours, Raspberry Pi Imager's, nmtui's): the
        # Pi's brcmfmac power save adds 100-300 ms latency spikes. NetworkManager reads it at start.
        install -m 0644 "$src/systemd/polybot-wifi-powersave.conf" /etc/NetworkManager/conf.d/polybot-wifi-powersave.conf
    fi
    if systemd_running; then
        systemctl daemon-reload
        udevadm control --reload 2>/dev/null || true
        udevadm trigger --subsystem-match=gpio 2>/dev/null || true
    fi
    # `systemctl enable` works without a running systemd (chroot, image build).
    systemctl enable polybot-device.service
    [ "$image" = 0 ] || systemctl enable polybot-firstboot.service
}

start_daemon() {
    if [ "$do_start" = 0 ] || ! systemd_running; then
        log "installed; start with: systemctl start polybot-device"
        return 0
    fi
    if [ ! -s "$etc_dir/openai_api_key" ]; then
        log "no API key yet: put it in $etc_dir/openai_api_key (mode 0600), then: systemctl start polybot-device"
        return 0
    fi
    systemctl reset-failed polybot-device.service 2>/dev/null || true
    systemctl restart polybot-device.service
    log "started; follow it with: journalctl -fu polybot-device"
}

[ "$do_apt" = 0 ] || install_debian_packages
ensure_user
install_venv
install_config
install_units
start_daemon

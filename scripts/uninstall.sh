#!/bin/bash
# Remove polybot-device as scripts/install.sh put it on this machine:
#
#   sudo ./scripts/uninstall.sh           keeps /etc/polybot (config and API key) and the user
#   sudo ./scripts/uninstall.sh --purge   removes those as well
#
# Safe to run again, and on a machine where only part of it is installed.
set -euo pipefail

prefix=${POLYBOT_PREFIX:-/opt/polybot-device}
etc_dir=${POLYBOT_ETC:-/etc/polybot}
unit_dir=/etc/systemd/system
user=polybot
purge=0

while [ $# -gt 0 ]; do
    case $1 in
        --purge) purge=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "uninstall: unknown option: $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "uninstall: run as root (sudo $0)" >&2; exit 1; }

units=(polybot-device.service polybot-config-error.service polybot-firstboot.service)
for unit in "${units[@]}"; do
    if [ -d /run/systemd/system ]; then
        systemctl stop "$unit" 2>/dev/null || true
    fi
    systemctl disable "$unit" 2>/dev/null || true
    rm -f "$unit_dir/$unit"
    rm -rf "$unit_dir/$unit.d"
done
rm -f /etc/udev/rules.d/60-polybot-gpiochip.rules /etc/NetworkManager/conf.d/polybot-wifi-powersave.conf
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl reset-failed "${units[@]}" 2>/dev/null || true
fi
rm -rf "$prefix"

if [ "$purge" = 1 ]; then
    if [ -e "$etc_dir/openai_api_key" ] && command -v shred >/dev/null; then
        shred --iterations=1 --zero --remove "$etc_dir/openai_api_key"
    fi
    rm -rf "$etc_dir"
    if id -u "$user" >/dev/null 2>&1; then
        userdel "$user"
    fi
    if getent group "$user" >/dev/null; then
        groupdel "$user"
    fi
    echo "uninstall: removed polybot-device, its config, its API key and its user" >&2
else
    echo "uninstall: removed polybot-device; kept $etc_dir and the $user user (--purge removes them)" >&2
fi

# shellcheck shell=bash
# shellcheck disable=SC2154  # the variables are polybot-firstboot's, which sources this file
# Sourced by polybot-firstboot: the parts of a headless setup that change the system rather than
# polybot's own files. Uses polybot-firstboot's variables and its log, write_error and put_file.
#
# Wi-Fi radio. Without WPA_COUNTRY, pi-gen writes WirelessEnabled=false to NetworkManager's state
# file, and NetworkManager forces the kernel's rfkill switch to follow that file when it starts.
# raspi-config's do_wifi_country only turns the radio on (nmcli radio wifi on) when NetworkManager
# is already running, which it is not before it starts (our unit runs Before=NetworkManager), so
# once the country is known the state file itself is switched to WirelessEnabled=true.
#
# Read-only root. raspi-config's `do_overlayfs 0` answers both of its questions with "yes": overlay
# root *and* a read-only boot partition (defaults,ro in /etc/fstab, for good: it cannot be changed
# while the overlay is on). Then the card's key file can no longer be wiped and the config-error
# report cannot be written. So only the overlay is enabled, the way raspi-config's enable_overlayfs
# does it (overlayroot=tmpfs at the front of cmdline.txt, the overlayroot package's initramfs hook
# does the rest), and the boot partition stays writable. Under the overlay a swap file would live
# in RAM (dphys-swapfile on Bookworm, rpi-swap's zram writeback file on Trixie): swap becomes
# zram-only or off. fake-hwclock saves the time now, so every boot under the overlay starts from
# today rather than from the day the image was built (the daemon still waits for the time sync
# before TLS: see docs/raspberry-pi.md).

nm_radio_on() {
    # WirelessEnabled=true in [main] of NetworkManager's state file (created when missing).
    local state=$nm_state tmp
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] &&
       systemctl is-active --quiet NetworkManager 2>/dev/null; then
        nmcli radio wifi on && return 0
    fi
    install -d -m 0755 "$(dirname "$state")"
    tmp=$(mktemp "$(dirname "$state")/.NetworkManager.state.XXXXXX")
    if [ -f "$state" ]; then
        awk 'BEGIN { done = 0; inmain = 0 }
             /^\[/ { if (inmain && !done) { print "WirelessEnabled=true"; done = 1 } inmain = ($0 == "[main]") }
             inmain && /^[[:space:]]*WirelessEnabled[[:space:]]*=/ { if (!done) print "WirelessEnabled=true"; done = 1; next }
             { print }
             END { if (!done) { if (!inmain) print "[main]"; print "WirelessEnabled=true" } }' "$state" >"$tmp"
    else
        printf '[main]\nWirelessEnabled=true\n' >"$tmp"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$state"
}

radio_is_off() {
    [ -f "$nm_state" ] && grep -Eq '^[[:space:]]*WirelessEnabled[[:space:]]*=[[:space:]]*(false|0)[[:space:]]*$' "$nm_state"
}

set_wifi_country() {
    # The regulatory country: raspi-config where there is one (cmdline.txt's
    # cfg80211.ieee80211_regdom=, rfkill), the same cmdline.txt edit here otherwise; then the radio.
    local country=$1
    # shellcheck disable=SC2086  # the command is a word list on purpose
    if command -v ${wifi_country_cmd%% *} >/dev/null 2>&1; then
        $wifi_country_cmd "$country" || log "$wifi_country_cmd $country failed"
    elif [ -f "$cmdline" ]; then
        sed -i -e "s/[[:space:]]*cfg80211.ieee80211_regdom=[^[:space:]]*//" \
               -e "1 s/\$/ cfg80211.ieee80211_regdom=$country/" "$cmdline"
    fi
    nm_radio_on
    install -d -m 0755 "$state_dir"
    echo "$country" >"$state_dir/wifi-country"
    log "Wi-Fi country $country set; the Wi-Fi radio is on"
}

known_wifi_country() {
    # A country someone else set on this card: Raspberry Pi Imager's cloud-init network-config
    # (regulatory-domain:, with an SSID) or cmdline.txt (raspi-config / Imager's firstrun.sh).
    local c=
    if [ -f "$boot_dir/network-config" ]; then
        c=$(sed -n -e 's/\r$//' -e 's/^[[:space:]]*regulatory-domain:[[:space:]]*["'\'']\{0,1\}\([A-Za-z][A-Za-z]\)["'\'']\{0,1\}[[:space:]]*$/\1/p' \
            "$boot_dir/network-config" | head -n 1)
    fi
    if [ -z "$c" ] && [ -f "$cmdline" ]; then
        c=$(grep -o 'cfg80211.ieee80211_regdom=[A-Za-z][A-Za-z]' "$cmdline" | head -n 1 | cut -d= -f2)
    fi
    echo "$c" | tr '[:lower:]' '[:upper:]'
}

radio_for_known_country() {
    # Once per card: Wi-Fi set up by Raspberry Pi Imager (cloud-init on Trixie, firstrun.sh on
    # Bookworm) names the country but leaves pi-gen's WirelessEnabled=false. Switch the radio on
    # the first time a country is seen; after that a radio someone turned off stays off.
    local country
    [ ! -e "$state_dir/wifi-country" ] || return 0
    country=$(known_wifi_country)
    [ -n "$country" ] || return 0
    if radio_is_off; then
        nm_radio_on
        log "Wi-Fi country $country is set (Raspberry Pi Imager or raspi-config): the Wi-Fi radio is on"
    fi
    install -d -m 0755 "$state_dir"
    echo "$country" >"$state_dir/wifi-country"
}

import_wifi() {
    local src=$1 tmp errors country
    tmp=$(mktemp)
    errors=$(mktemp)
    if ! country=$("$python" -m polybot_device.wifi_file "$src" "$tmp" 2>"$errors"); then
        log "$(cat "$errors")"
        write_error <"$errors"
        rm -f "$tmp" "$errors"
        return 0
    fi
    rm -f "$errors"
    install -d -m 0755 "$nm_dir"
    put_file "$tmp" "$nm_dir/polybot-wifi.nmconnection" 0600 "$owner" "$(id -gn "$owner")"
    rm -f "$tmp"
    log "Wi-Fi connection imported"
    country=${country#country=}
    if [ -n "$country" ]; then
        set_wifi_country "$country"
    elif radio_is_off && [ -z "$(known_wifi_country)" ]; then
        log "polybot-wifi.txt has no country= line: the Wi-Fi radio stays off"
        echo "polybot-wifi.txt has no country= line (e.g. country=ES): Raspberry Pi OS keeps the Wi-Fi radio off until the country is known." | write_error
    fi
}

swap_off_the_card() {
    # Bookworm: dphys-swapfile keeps /var/swap on the root file system.
    if [ -e /etc/dphys-swapfile ] && command -v dphys-swapfile >/dev/null 2>&1; then
        dphys-swapfile swapoff 2>/dev/null || true
        dphys-swapfile uninstall 2>/dev/null || true
        systemctl disable dphys-swapfile.service 2>/dev/null || true
        log "swap file switched off (it would live in RAM under the overlay)"
    fi
    # Trixie: rpi-swap's default (zram + a writeback file) becomes zram only.
    if [ -e "$(dirname "$rpi_swap_dir")/swap.conf" ]; then
        install -d -m 0755 "$rpi_swap_dir"
        printf '# Written by polybot-firstboot: under the read-only overlay a swap file would live in RAM.\n[Main]\nMechanism=zram\n' \
            >"$rpi_swap_dir/90-polybot-readonly.conf"
        log "swap: zram only (no swap file under the overlay)"
    fi
}

enable_readonly() {
    if [ ! -f "$cmdline" ]; then
        log "no $cmdline: cannot enable the read-only root"
        echo "The read-only root was asked for, but $cmdline is missing." | write_error
        return 0
    fi
    if [ ! -e "$overlayroot_conf" ]; then
        log "the overlayroot package is not installed: cannot enable the read-only root"
        echo "The read-only root was asked for, but the overlayroot package is not installed." | write_error
        return 0
    fi
    swap_off_the_card
    if command -v fake-hwclock >/dev/null 2>&1; then
        fake-hwclock save || true
    fi
    if ! grep -q "overlayroot=tmpfs" "$cmdline"; then
        sed -i "1 s/^/overlayroot=tmpfs /" "$cmdline"
    fi
    log "read-only root enabled; it takes effect at the next boot (the boot partition stays writable)"
}

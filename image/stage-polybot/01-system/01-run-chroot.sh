#!/bin/bash -e
# SSH stays off unless the image was built with ENABLE_SSH=1 or the user puts an
# empty "ssh" file on the boot partition (Raspberry Pi OS's own switch).
if [ "${ENABLE_SSH:-0}" != 1 ]; then
	systemctl disable ssh.service 2>/dev/null || true
fi
# No password logins over the network, whatever the first user's password is.
if [ -d /etc/ssh/sshd_config.d ]; then
	printf 'PasswordAuthentication no\nPermitRootLogin no\n' >/etc/ssh/sshd_config.d/50-polybot.conf
fi
# Root has no password.
usermod --lock root

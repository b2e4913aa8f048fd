#!/usr/bin/env bash
# Sets up a development checkout from nothing on Debian/Ubuntu: the apt packages it lacks (sudo
# when not root), a venv in .venv, the package with its test extras. Idempotent and quiet when
# everything is already there. Sourced by scripts/demo and scripts/test.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo_root/.venv"

# Runtime build deps (pyalsaaudio and systemd-python compile against these), the ALSA tools,
# and what the test suite drives: systemd-analyze, shellcheck, debootstrap + qemu for the
# image check, sox/espeak-ng for speech fixtures.
apt_packages=(
  gcc pkg-config python3-dev python3-venv libasound2-dev alsa-utils libsystemd-dev
  systemd shellcheck sox espeak-ng debootstrap qemu-user-static binfmt-support
)
if [[ "${POLYBOT_SETUP_MINIMAL:-}" == 1 ]]; then
  apt_packages=(gcc pkg-config python3-dev python3-venv libasound2-dev alsa-utils libsystemd-dev)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  echo "setup: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: polybot-device needs Python 3.11 or newer; $python is $("$python" --version 2>&1)." >&2
  echo "setup: set PYTHON=/path/to/python3.11 and run again." >&2
  exit 1
fi

stamp="$venv/.installed-$(sha256sum "$repo_root/pyproject.toml" | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
  echo "setup: creating $venv and installing polybot-device with its test dependencies" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e "${repo_root}[test]"
  touch "$stamp"
fi

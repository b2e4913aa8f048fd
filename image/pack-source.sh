#!/bin/bash
# Pack the polybot-device checkout this script sits in (working tree, without
# .git, caches and build output) into a .tar.gz for the image stage:
#
#   image/pack-source.sh OUT.tar.gz
set -euo pipefail
[ $# = 1 ] || { echo "usage: $0 OUT.tar.gz" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
tmp=$(mktemp "$(dirname "$out")/.polybot-src.XXXXXX")
tar -C "$repo" -czf "$tmp" \
    --exclude=./.git --exclude=./image/work --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude=.venv --exclude=__pycache__ --exclude=.pytest_cache \
    --exclude=./image/stage-polybot/00-polybot/files \
    --exclude=./demo-output --exclude=./benchmarks/results \
    .
mv -f "$tmp" "$out"

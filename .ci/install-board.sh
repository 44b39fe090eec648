#!/bin/sh
# Installs what scripts/board.sh needs to build and run the emulated arm64 board: qemu-user-static (its
# binfmt entry is registered by board.sh itself, not by a service) and mmdebstrap with arch-test.
# Nothing is enabled or started as a system service (binfmt-support, which would be one, is not installed).
set -eu
if command -v mmdebstrap >/dev/null 2>&1 && command -v arch-test >/dev/null 2>&1 \
        && [ -e /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends qemu-user-static mmdebstrap arch-test

#!/usr/bin/env bash
# Create .venv and install edge-bench with the host stack (idempotent).
#   scripts/setup.sh          host: build, measure, report
#   scripts/setup.sh --test   also the test tools, and the loopback OpenSSH server the SSH tests use
set -euo pipefail
cd "$(dirname "$0")/.."

extras="host"
if [[ "${1:-}" == "--test" ]]; then
    extras="host,test"
    if ! command -v /usr/sbin/sshd >/dev/null || ! command -v ssh >/dev/null; then
        bash .ci/install-sshd.sh
    fi
fi

python3 -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-$extras"
if [[ ! -f "$stamp" ]]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    # ExecuTorch's Cortex-M (CMSIS-NN) backend imports tosa_serializer. Its own pins (numpy<2.2,
    # flatbuffers==25.2.10) would downgrade the host stack, hence --no-deps: what it needs is installed.
    .venv/bin/python -m pip install --quiet --no-deps tosa-tools==2026.5.0
    touch "$stamp"
fi

#!/usr/bin/env bash
# Create .venv and install edge-bench with the host stack (idempotent).
#   scripts/setup.sh          host: build, measure, report (all of it inside .venv)
#   scripts/setup.sh --test   also the test tools, and, system-wide, Debian's OpenSSH server and client
#                             (apt) for the SSH tests; the ssh system service is left disabled and stopped
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "scripts/setup.sh: edge-bench needs Python >= 3.10 as python3 (found: $(python3 -V 2>&1))" >&2
    exit 2
fi

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
echo "edge-bench is installed in .venv: run .venv/bin/edge-bench, or 'source .venv/bin/activate' first"

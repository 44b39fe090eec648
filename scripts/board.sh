#!/usr/bin/env bash
# An emulated arm64 board on this machine, reached over SSH like a Raspberry Pi.
#
#   scripts/board.sh up [--with-torch] [--name NAME]   build (once) and start it; prints its target file
#   scripts/board.sh down [--purge] [--name NAME]      stop its sshd, unmount; --purge also deletes its root fs
#   scripts/board.sh status [--name NAME]              what is built, mounted and running (exit 0: up)
#
# The board is an arm64 Debian root filesystem run through qemu-user (binfmt_misc) in a chroot, with its
# own sshd on 127.0.0.1 and a generated key. Its timings are an emulator's: the target file it writes says
# `emulated = true`, and reports keep such timings out of fits, fronts and recommendations. Everything else
# is the board-side code path on a real aarch64 userland (the agent, both runtimes' aarch64 builds, doctor).
#
# Needs root (chroot, mounts, binfmt_misc) and Debian's qemu-user-static and mmdebstrap. What is slow to
# rebuild is cached under $EDGE_BENCH_CACHE (default ~/.cache/edge-bench)/board: the base root fs as a
# tarball, the aarch64 wheels (downloaded on the host for the board's platform tags), the resolved pins.
# Nothing is installed or enabled as a system service; `down` leaves nothing running.
set -euo pipefail

SUITE=bookworm                       # Python 3.11, as Raspberry Pi OS bookworm
MIRROR="${EDGE_BENCH_BOARD_MIRROR:-http://deb.debian.org/debian}"
CPU="${EDGE_BENCH_BOARD_CPU:-cortex-a76}"   # qemu's CPU model: a Pi 5's core (qemu's default adds SVE)
DEBS="python3,python3-venv,openssh-server,ca-certificates,g++"  # g++: the native ExecuTorch runner
BOARD_USER=board
VENV=/opt/edge-bench/venv
BOARD_PACKAGES=(numpy "ai-edge-litert==2.3.0")
NO_DEPS_PACKAGES=("executorch==1.5.1")  # its runtime files only; its Python runtime would need torch
TORCH_PACKAGES=("torch==2.14.1")
BASE_LAYOUT=1  # bump when the customize hooks below change: a new base tarball is built

die() { echo "board: $*" >&2; exit 2; }
say() { echo "board: $*" >&2; }

cmd="${1:-}"; shift || true
NAME=emulated-arm64; WITH_TORCH=0; PURGE=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --name) NAME="${2:?--name needs a value}"; shift 2 ;;
        --with-torch) WITH_TORCH=1; shift ;;
        --purge) PURGE=1; shift ;;
        *) die "unknown option '$1' (see the usage at the top of $0)" ;;
    esac
done
[[ "$NAME" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "--name '$NAME': use letters, digits, '-' and '_'"

# Under sudo, the board belongs to the user who asked: their cache, and a key and target file they can read.
OWNER="${SUDO_USER:-}"
[[ "$OWNER" == root ]] && OWNER=""
USER_HOME="$HOME"
[[ -n "$OWNER" ]] && USER_HOME="$(getent passwd "$OWNER" | cut -d: -f6)"
CACHE="$(realpath -m "${EDGE_BENCH_CACHE:-$USER_HOME/.cache/edge-bench}")"  # absolute: compared with /proc/*/root
SHARED="$CACHE/board"                 # caches every board instance shares
HERE="$SHARED/$NAME"                  # this instance: root fs, keys, state, target file
ROOT="$HERE/root"
TARGET_FILE="$HERE/$NAME.toml"
REPO="$(cd "$(dirname "$0")/.." && pwd)"

# ---------------------------------------------------------------- helpers

need_root() {
    [[ "$(id -u)" -eq 0 ]] || die "needs root (chroot, mounts, binfmt_misc): run it with sudo"
}

need_tools() {
    local missing=()
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    [[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P || -x /usr/bin/qemu-aarch64-static ]] || missing+=(qemu-user-static)
    command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
    [[ ${#missing[@]} -eq 0 ]] || die "missing ${missing[*]}: apt-get install --no-install-recommends ${missing[*]} (or run .ci/install-board.sh)"
}

host_python() {
    # pip on the host downloads the board's wheels: the repository's .venv, else python3 with pip.
    local py
    for py in "${EDGE_BENCH_HOST_PYTHON:-}" "$REPO/.venv/bin/python" python3; do
        [[ -n "$py" ]] && "$py" -m pip --version >/dev/null 2>&1 && { echo "$py"; return; }
    done
    die "no Python with pip on this host: run scripts/setup.sh, or set EDGE_BENCH_HOST_PYTHON"
}

hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# In the board: a clean environment (the host's pip settings and paths mean nothing there).
in_board() {
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        QEMU_CPU="$CPU" PIP_DISABLE_PIP_VERSION_CHECK=1 chroot "$ROOT" "$@"
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

sshd_pid() {
    local pid
    pid="$(cat "$ROOT/run/edge-bench-sshd.pid" 2>/dev/null)" || return 1
    [[ -n "$pid" && "$(readlink "/proc/$pid/root" 2>/dev/null)" == "$ROOT" ]] || return 1
    echo "$pid"
}

board_processes() {
    # Every process whose root directory is this board's: its sshd, sessions and what they started.
    local p
    for p in /proc/[0-9]*; do
        [[ "$(readlink "$p/root" 2>/dev/null)" == "$ROOT" ]] && echo "${p#/proc/}"
    done
    return 0
}

other_boards_up() {
    local dir pid
    for dir in "$SHARED"/*/; do
        [[ "${dir%/}" == "$HERE" ]] && continue
        pid="$(cat "$dir/root/run/edge-bench-sshd.pid" 2>/dev/null)" || continue
        [[ "$(readlink "/proc/$pid/root" 2>/dev/null)" == "${dir%/}/root" ]] && return 0
    done
    return 1
}

# ---------------------------------------------------------------- steps of `up`

enable_binfmt() {
    # The kernel runs aarch64 ELF files through qemu. Registered with the F flag (qemu opened now), so
    # qemu need not exist inside the chroot. Done here rather than by a service, and undone by `down`.
    if ! is_mounted /proc/sys/fs/binfmt_misc; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (a container without it?)"
        touch "$SHARED/.binfmt-mounted"
    fi
    if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
        local conf=/usr/lib/binfmt.d/qemu-aarch64.conf
        [[ -f "$conf" ]] || die "$conf is missing: apt-get install qemu-user-static"
        cat "$conf" > /proc/sys/fs/binfmt_misc/register || die "cannot register qemu-aarch64 with binfmt_misc"
        touch "$SHARED/.binfmt-registered"
    fi
    grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "binfmt_misc has qemu-aarch64 disabled: echo 1 > /proc/sys/fs/binfmt_misc/qemu-aarch64"
}

base_tarball() {
    local key tarball
    key="$(hash_of "$SUITE" "$DEBS" "$BOARD_USER" "$VENV" "$BASE_LAYOUT")"
    tarball="$SHARED/base-$SUITE-arm64-$key.tar"
    if [[ ! -f "$tarball" ]]; then
        say "building the base root fs ($SUITE arm64: $DEBS); a few minutes under emulation"
        local started=$SECONDS
        mmdebstrap --quiet --arch=arm64 --variant=apt --format=tar --include="$DEBS" \
            --customize-hook="chroot \"\$1\" python3 -m venv $VENV" \
            --customize-hook="chroot \"\$1\" useradd --create-home --shell /bin/sh $BOARD_USER" \
            --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
            "$SUITE" "$tarball.$$.part" "$MIRROR" >&2
        mv "$tarball.$$.part" "$tarball"
        say "base root fs built in $((SECONDS - started)) s: $tarball"
    fi
    echo "$tarball"
}

extract_root() {
    local tarball="$1" want="$2"
    if [[ -f "$ROOT/.edge-bench-board" && "$(cat "$ROOT/.edge-bench-board")" == "$want" ]]; then
        return
    fi
    [[ -z "$(board_processes)" ]] || die "$ROOT is in use: scripts/board.sh down --name $NAME first"
    unmount_all
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    tar --numeric-owner -xpf "$tarball" -C "$ROOT"
    echo "$want" > "$ROOT/.edge-bench-board"
}

host_files() {
    # Name resolution and the CA certificates this host trusts (its egress may add its own), for pip.
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    cp /etc/hosts "$ROOT/etc/hosts"
    mkdir -p "$ROOT/etc/edge-bench"
    local bundle="${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
    [[ -f "$bundle" ]] || bundle="$ROOT/etc/ssl/certs/ca-certificates.crt"
    cp "$bundle" "$ROOT/etc/edge-bench/host-ca.crt"
    printf '[global]\ncert = /etc/edge-bench/host-ca.crt\n' > "$ROOT/etc/pip.conf"
}

write_cpuinfo() {
    # qemu 7.2 passes the host's x86 /proc/cpuinfo through, and CPU detection in aarch64 libraries
    # (torch's xbyak_aarch64) crashes on it. The board gets an aarch64 one: one entry per CPU the board
    # sees, the MIDR fields of qemu's model and the features the emulated CPU reports in its auxv.
    local midr
    case "$CPU" in
        cortex-a76) midr="0x41 0x4 0xd0b 1" ;;
        cortex-a72) midr="0x41 0x0 0xd08 3" ;;
        cortex-a53) midr="0x41 0x0 0xd03 4" ;;
        *) die "EDGE_BENCH_BOARD_CPU=$CPU: choose cortex-a76 (Pi 5), cortex-a72 (Pi 4) or cortex-a53" ;;
    esac
    in_board /usr/bin/python3 - "$(nproc)" $midr > "$HERE/cpuinfo" <<'EOF'
import struct, sys
cpus, implementer, variant, part, revision = sys.argv[1:]
# arch/arm64/include/uapi/asm/hwcap.h: bit i of AT_HWCAP / AT_HWCAP2, in the kernel's cpuinfo names.
HWCAP = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc "
         "dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg").split()
HWCAP2 = ("dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm "
          "svebf16 i8mm bf16 dgh rng bti mte").split()
auxv = open("/proc/self/auxv", "rb").read()
values = dict(struct.iter_unpack("<QQ", auxv[: len(auxv) // 16 * 16]))
features = [n for i, n in enumerate(HWCAP) if values.get(16, 0) >> i & 1]
features += [n for i, n in enumerate(HWCAP2) if values.get(26, 0) >> i & 1]
for n in range(int(cpus)):
    print(f"processor\t: {n}\nBogoMIPS\t: 100.00\nFeatures\t: {' '.join(features)}\n"
          f"CPU implementer\t: {implementer}\nCPU architecture: 8\nCPU variant\t: {variant}\n"
          f"CPU part\t: {part}\nCPU revision\t: {revision}\n")
EOF
}

mount_all() {
    mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/run/sshd"
    is_mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    is_mounted "$ROOT/sys" || mount --bind /sys "$ROOT/sys"
    is_mounted "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
    if [[ -d /dev/pts ]] && ! is_mounted "$ROOT/dev/pts"; then mount --bind /dev/pts "$ROOT/dev/pts"; fi
    if [[ ! -f "$HERE/cpuinfo" ]] || ! grep -q "^CPU part" "$ROOT/proc/cpuinfo"; then
        write_cpuinfo
        mount --bind "$HERE/cpuinfo" "$ROOT/proc/cpuinfo"
    fi
}

unmount_all() {
    local m
    for m in "$ROOT/opt/edge-bench/wheels" "$ROOT/proc/cpuinfo" "$ROOT/dev/pts" "$ROOT/dev" "$ROOT/sys" "$ROOT/proc"; do
        if is_mounted "$m" || { [[ "$m" == */cpuinfo ]] && grep -q " $m " /proc/mounts; }; then
            umount "$m" || umount --lazy "$m"
        fi
    done
}

wanted_requirements() {
    printf '%s\n' "${BOARD_PACKAGES[@]}"
    [[ "$WITH_TORCH" -eq 1 ]] && printf '%s\n' "${TORCH_PACKAGES[@]}"
    return 0
}

no_deps_requirements() {
    # With their dependencies ExecuTorch's wheels do not resolve here: hydra-core pins
    # antlr4-python3-runtime 4.9, which PyPI has as a source archive only.
    printf '%s\n' "${NO_DEPS_PACKAGES[@]}"
}

resolve_pins() {
    # Resolved once inside the board, where pip evaluates the markers for aarch64 (on the host it would
    # evaluate them for x86); the packages installed without their dependencies are added pinned as given.
    local pyver="$1" key pins
    key="$(hash_of "$pyver" "$(wanted_requirements)" "$(no_deps_requirements)")"
    pins="$SHARED/pins-$key.txt"
    if [[ ! -f "$pins" ]]; then
        rm -f "$ROOT/tmp/edge-bench-resolved.json"
        say "resolving $(wanted_requirements | tr '\n' ' ')in the board (pip, under emulation)"
        wanted_requirements > "$ROOT/tmp/edge-bench-requirements.txt"
        # fast-deps: each wheel's metadata is read by HTTP range requests where the index serves no
        # metadata files, instead of downloading whole wheels (torch's come to gigabytes) under emulation.
        in_board "$VENV/bin/pip" install --quiet --dry-run --ignore-installed --only-binary=:all: \
            --use-feature=fast-deps --report /tmp/edge-bench-resolved.json \
            -r /tmp/edge-bench-requirements.txt 2>&1 | grep -v "lazily downloaded wheels" >&2 || true
        [[ -s "$ROOT/tmp/edge-bench-resolved.json" ]] || die "pip could not resolve the board's packages (see above)"
        python3 - "$ROOT/tmp/edge-bench-resolved.json" > "$pins.$$.part" <<'EOF'
import json, sys
for item in json.load(open(sys.argv[1]))["install"]:
    print(f"{item['metadata']['name']}=={item['metadata']['version']}")
EOF
        no_deps_requirements >> "$pins.$$.part"
        mv "$pins.$$.part" "$pins"
    fi
    echo "$pins"
}

install_packages() {
    local pyver pins wheels="$SHARED/wheels"
    local glibc platforms=()
    read -r pyver glibc < <(in_board /usr/bin/python3 -c \
        'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.libc_ver()[1])')
    pins="$(resolve_pins "$pyver")"
    local installed="$ROOT/opt/edge-bench/installed.txt"
    if [[ -f "$installed" ]] && cmp -s "$installed" "$pins"; then
        compile_packages "$pyver"
        return
    fi
    # Downloaded natively on the host for the board's platform tags, given explicitly: every manylinux
    # glibc level up to the board's (2.36 on bookworm; pip matches each tag as given, e.g. NCCL's 2_18).
    local minor
    for ((minor = ${glibc#*.}; minor >= 17; minor--)); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
    platforms+=(--platform manylinux2014_aarch64)
    mkdir -p "$wheels"
    say "downloading $(wc -l < "$pins") aarch64 wheels on the host (cached in $wheels)"
    "$(host_python)" -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheels" \
        "${platforms[@]}" --python-version "$pyver" --implementation cp -r "$pins" >&2
    say "installing them in the board"
    mkdir -p "$ROOT/opt/edge-bench/wheels"
    mount --bind -o ro "$wheels" "$ROOT/opt/edge-bench/wheels"
    cp "$pins" "$ROOT/opt/edge-bench/pins.txt"
    local status=0
    in_board "$VENV/bin/pip" install --quiet --no-index --no-deps --no-compile \
        --find-links /opt/edge-bench/wheels -r /opt/edge-bench/pins.txt >&2 || status=$?
    umount "$ROOT/opt/edge-bench/wheels"
    [[ $status -eq 0 ]] || die "pip install in the board failed (exit $status)"
    cp "$pins" "$installed"
    rm -f "$ROOT/opt/edge-bench/compiled.txt"
    compile_packages "$pyver"
}

compile_packages() {
    # Byte-compiled natively: .pyc files depend on the Python version, not the CPU, and compiling torch
    # under emulation takes long. Without them every import compiles again (the board's user cannot
    # write into the venv), which makes importing torch outlast doctor's time limit.
    local pyver="$1" py stamp="$ROOT/opt/edge-bench/compiled.txt" site="$ROOT$VENV/lib/python$1/site-packages"
    [[ -f "$stamp" ]] && cmp -s "$stamp" "$ROOT/opt/edge-bench/installed.txt" && return
    py="$(host_python)"
    if [[ "$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" == "$pyver" ]]; then
        say "byte-compiling the board's packages on the host (Python $pyver)"
        "$py" -m compileall -q -j 0 -s "$ROOT" -p / "$site" >/dev/null || true
    else
        say "byte-compiling the board's packages in the board (the host's Python is not $pyver)"
        in_board "$VENV/bin/python" -m compileall -q "${site#"$ROOT"}" >/dev/null || true
    fi
    cp "$ROOT/opt/edge-bench/installed.txt" "$stamp"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

setup_ssh() {
    local keys="$HERE/ssh" port
    mkdir -p "$keys" && chmod 700 "$keys"
    [[ -f "$keys/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N "" -C "edge-bench-board" -f "$keys/id_ed25519"
    [[ -f "$ROOT/etc/ssh/ssh_host_ed25519_key" ]] ||
        ssh-keygen -q -t ed25519 -N "" -C "$NAME" -f "$ROOT/etc/ssh/ssh_host_ed25519_key"
    [[ -f "$HERE/port" ]] || free_port > "$HERE/port"
    port="$(cat "$HERE/port")"
    local home="$ROOT/home/$BOARD_USER" ids
    ids="$(awk -F: -v u="$BOARD_USER" '$1 == u {print $3 ":" $4}' "$ROOT/etc/passwd")"
    mkdir -p "$home/.ssh"
    cp "$keys/id_ed25519.pub" "$home/.ssh/authorized_keys"
    chmod 700 "$home/.ssh" && chmod 600 "$home/.ssh/authorized_keys"
    chown -R "$ids" "$home/.ssh"
    # A key-only user: without PAM, sshd refuses an account whose password is locked ('!'), so it gets none ('*').
    sed -i "s/^$BOARD_USER:![^:]*:/$BOARD_USER:*:/" "$ROOT/etc/shadow"
    # Read before Debian's own settings (sshd keeps the first value it sees).
    cat > "$ROOT/etc/ssh/sshd_config.d/00-edge-bench.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/edge-bench-sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
MaxSessions 50
MaxStartups 50
# Every program a session starts runs on the same emulated CPU as the board's own processes.
SetEnv QEMU_CPU=$CPU
EOF
    echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$ROOT/etc/ssh/ssh_host_ed25519_key.pub")" > "$keys/known_hosts"
    cat > "$keys/ssh_config" <<EOF
Host $NAME
    HostName 127.0.0.1
    Port $port
    User $BOARD_USER
    IdentityFile $keys/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $keys/known_hosts
    StrictHostKeyChecking yes
    LogLevel ERROR
EOF
}

start_sshd() {
    if sshd_pid >/dev/null; then
        return
    fi
    in_board /usr/sbin/sshd -E /var/log/edge-bench-sshd.log || die "sshd did not start: see $ROOT/var/log/edge-bench-sshd.log"
    local deadline=$((SECONDS + 120))
    until ssh -F "$HERE/ssh/ssh_config" -o BatchMode=yes -o ConnectTimeout=10 "$NAME" true 2>/dev/null; do
        [[ $SECONDS -lt $deadline ]] || die "the board's sshd does not answer on port $(cat "$HERE/port"): see $ROOT/var/log/edge-bench-sshd.log"
        sleep 1
    done
}

write_target() {
    local threads
    threads="$(nproc)"
    cat > "$TARGET_FILE.part" <<EOF
# Written by scripts/board.sh up: the emulated arm64 board '$NAME' (a chroot under qemu-user on this machine).
description = "Emulated arm64 board (qemu-user, $CPU model) over SSH on 127.0.0.1: real aarch64 code path, emulator timings"
kind = "ssh"
threads = $threads
python = "$VENV/bin/python"
# Latency, energy and memory measured here are those of an emulator: reports show them labelled and keep
# them out of fits, Pareto fronts and recommendations.
emulated = true

[ssh]
host = "$NAME"
config_file = "$HERE/ssh/ssh_config"
connect_timeout_secs = 30

[measure]
# Enough to exercise the protocol (two rounds, so an interval); more would only measure qemu longer.
warmup_runs = 1
warmup_secs = 0.0
min_runs = 5
min_secs = 0.0
max_secs = 60.0
round_precision = 0.0
rounds_min = 2
rounds_max = 2
retakes = 0
timeout_secs = 900

[runtimes]
# The board has the executorch wheel's libraries and g++, not torch: the native runner is built on it.
executorch = "native"
EOF
    mv "$TARGET_FILE.part" "$TARGET_FILE"
}

# ---------------------------------------------------------------- commands

up() {
    need_root
    need_tools
    if [[ -n "$OWNER" && ! -d "$CACHE" ]]; then install -d -o "$OWNER" "$CACHE"; fi
    mkdir -p "$HERE"
    exec 8>"$HERE/.lock"  # one command at a time on this board
    flock 8
    local started=$SECONDS tarball
    exec 9>"$SHARED/.lock"  # binfmt_misc and the base tarball are shared by every board
    flock 9
    enable_binfmt
    tarball="$(base_tarball)"
    flock -u 9
    extract_root "$tarball" "$(basename "$tarball")"
    host_files
    mount_all
    install_packages
    setup_ssh
    start_sshd
    write_target
    [[ -z "$OWNER" ]] || chown -R "$OWNER" "$HERE/ssh" "$TARGET_FILE"
    local machine
    machine="$(ssh -F "$HERE/ssh/ssh_config" -o BatchMode=yes "$NAME" uname -m)"
    say "up in $((SECONDS - started)) s: $NAME ($machine, qemu $CPU) on 127.0.0.1:$(cat "$HERE/port")"
    echo "$TARGET_FILE"
}

down() {
    need_root
    mkdir -p "$HERE"
    exec 8>"$HERE/.lock"
    flock 8
    local pids
    pids="$(board_processes)"
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while [[ -n "$(board_processes)" && $SECONDS -lt $deadline ]]; do sleep 0.2; done
        pids="$(board_processes)"
        # shellcheck disable=SC2086
        [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
    fi
    unmount_all
    exec 9>"$SHARED/.lock"
    flock 9
    if ! other_boards_up; then
        if [[ -f "$SHARED/.binfmt-registered" ]]; then
            [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] && echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64
            rm -f "$SHARED/.binfmt-registered"
        fi
        if [[ -f "$SHARED/.binfmt-mounted" ]]; then
            umount /proc/sys/fs/binfmt_misc 2>/dev/null || true
            rm -f "$SHARED/.binfmt-mounted"
        fi
    fi
    if [[ "$PURGE" -eq 1 ]]; then
        rm -rf "$ROOT" "$HERE/cpuinfo"
        say "$NAME purged (its root fs); the shared caches in $SHARED stay"
    fi
    say "$NAME down"
}

status() {
    local state=1 pid
    echo "board $NAME in $HERE"
    if [[ -f "$ROOT/.edge-bench-board" ]]; then
        echo "  root fs: $(cat "$ROOT/.edge-bench-board")"
        if [[ -f "$ROOT/opt/edge-bench/installed.txt" ]]; then
            echo "  packages: $(tr '\n' ' ' < "$ROOT/opt/edge-bench/installed.txt")"
        fi
    else
        echo "  root fs: not built"
    fi
    if pid="$(sshd_pid)"; then
        echo "  sshd: running (pid $pid) on 127.0.0.1:$(cat "$HERE/port")"
        state=0
    else
        echo "  sshd: not running"
    fi
    echo "  mounts: $(grep -c " $ROOT/" /proc/mounts || true)"
    if [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
        echo "  binfmt_misc qemu-aarch64: $(head -1 /proc/sys/fs/binfmt_misc/qemu-aarch64)"
    else
        echo "  binfmt_misc qemu-aarch64: not registered"
    fi
    [[ -f "$TARGET_FILE" ]] && echo "  target file: $TARGET_FILE"
    return $state
}

case "$cmd" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) die "usage: $0 up [--with-torch] [--name NAME] | down [--purge] [--name NAME] | status [--name NAME]" ;;
esac

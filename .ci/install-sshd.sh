#!/bin/sh
# Installs the OpenSSH server and client that tests/sshd.py starts on 127.0.0.1 for the ssh tests.
# Nothing is enabled as a system service: the tests run their own sshd as the current user.
set -eu
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v scp >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends openssh-server openssh-client

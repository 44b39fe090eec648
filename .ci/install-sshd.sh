#!/bin/sh
# Installs the OpenSSH server and client that tests/sshd.py starts on 127.0.0.1 for the ssh tests: the
# tests run their own sshd, as the current user, on a port of their own.
#
# Debian's openssh-server package enables the system's ssh service and starts it. Neither is left
# behind: a policy-rc.d forbids starting any service while the package installs, and the service it
# enabled is disabled right after (systemd units and SysV links). A server that was already installed
# is left exactly as it was.
set -eu
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v scp >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

had_server=no
if dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q "install ok installed"; then
    had_server=yes
fi

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then  # containers often have one already: then it stays as it is
    printf '#!/bin/sh\n# No service starts while edge-bench installs its test tools.\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends openssh-server openssh-client

if [ "$had_server" = no ]; then
    if command -v systemctl >/dev/null 2>&1; then
        # Works without a running systemd too (it edits the unit links); also runs update-rc.d.
        $SUDO systemctl disable --quiet ssh.service 2>/dev/null || true
        $SUDO systemctl disable --quiet ssh.socket 2>/dev/null || true
        if [ -d /run/systemd/system ]; then
            $SUDO systemctl stop ssh.service ssh.socket 2>/dev/null || true
        fi
    fi
    if command -v update-rc.d >/dev/null 2>&1 && [ -e /etc/init.d/ssh ]; then
        $SUDO update-rc.d ssh disable >/dev/null 2>&1 || true
    fi
    echo "installed openssh-server for the ssh tests; Debian's ssh service is disabled and not running"
fi

#!/bin/sh
# scripts/install-test-peers.sh — installs the real programs the tests compare Ignis
# with (Debian packages), keeping their services from starting: a policy-rc.d that
# denies is in place while they install, so nothing else listens on 9090 afterwards.
set -eu

PKGS="prometheus prometheus-node-exporter prometheus-alertmanager victoria-metrics valgrind openssl"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-test-peers: all test peers are present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
    saved=$(mktemp)
    $SUDO cp -p "$policy" "$saved"
fi
printf '#!/bin/sh\n# installed by ignis scripts/install-test-peers.sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
$SUDO chmod 755 "$policy"
restore() {
    if [ -n "$saved" ]; then
        $SUDO cp -p "$saved" "$policy"
        rm -f "$saved"
    else
        $SUDO rm -f "$policy"
    fi
}
trap restore EXIT
echo "install-test-peers: installing$missing (their services kept from starting)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
# Where systemd runs, keep the units from starting at boot as well.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for u in prometheus prometheus-node-exporter prometheus-alertmanager victoria-metrics; do
        $SUDO systemctl disable --now "$u" >/dev/null 2>&1 || true
    done
fi

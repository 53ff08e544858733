#!/bin/sh
# scripts/install-deps.sh — installs the Debian packages Ignis builds with, skipping
# those already present. Installs no test peer (see install-test-peers.sh).
set -eu

PKGS="build-essential autoconf automake libtool pkg-config curl
libevent-dev libconfig-dev libcmocka-dev zlib1g-dev libpcre2-dev libcurl4-openssl-dev
libjansson-dev libyaml-dev libssl-dev libsnappy-dev libzstd-dev libxxhash-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all build dependencies are present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

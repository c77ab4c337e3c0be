#!/bin/sh
# Install Debian's chromium for the browser end-to-end tests, unless it is
# already there. Idempotent; needs root (or sudo) when it installs.
set -eu
if [ -x /usr/bin/chromium ]; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

#!/bin/sh
# Install Debian's redis-server for the tests of engines/redis, unless it
# is already there. The tests start their own servers; the service the
# package may start is stopped again. Idempotent; needs root (or sudo)
# when it installs.
set -eu
if command -v redis-server >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
# The package's own service, if it started one, is not what the tests use.
$SUDO service redis-server stop >/dev/null 2>&1 || true

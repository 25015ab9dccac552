#!/bin/sh
# The browser tests drive Debian's Chromium with CJK fonts (never a downloaded browser).
# Installs them with apt-get when missing; does nothing when they are there.
set -e
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto | grep -q CJK || missing="$missing fonts-noto-cjk"
[ -z "$missing" ] && exit 0
echo "installing$missing (apt-get)" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

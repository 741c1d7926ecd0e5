#!/usr/bin/env bash
# Make sure Debian's Chromium (for the end-to-end tests) and a CJK font (so Chinese labels
# render in screenshots) are installed. Never downloads a browser of its own. Used by `make test`.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }; else as_root() { sudo -n "$@"; }; fi

if [ ! -x /usr/bin/chromium ]; then
    echo "ensure-browser: installing chromium from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || echo "ensure-browser: apt-get update failed; trying the cached lists"
    as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$(dirname "$0")/ensure-font.sh"
echo "ensure-browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"

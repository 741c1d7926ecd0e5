#!/usr/bin/env bash
# Make sure Debian's Chromium (for the end-to-end tests) and a CJK font (so Chinese labels
# render in screenshots) are installed. Never downloads a browser of its own. Used by `make test`.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }; else as_root() { sudo -n "$@"; }; fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "ensure-browser: installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || echo "ensure-browser: apt-get update failed; trying the cached lists"
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "ensure-browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"

#!/usr/bin/env bash
# Make sure a CJK font is installed, so the console's and the maps' Chinese labels render in a
# local browser (and in the tests' screenshots) instead of empty boxes. Installs Debian's
# fonts-noto-cjk when it is missing. Used by `make run` and, through ensure-browser.sh, by
# `make test`; with --warn-only (make run) a machine without root just gets a warning.
set -euo pipefail

warn_only=false
[ "${1:-}" = "--warn-only" ] && warn_only=true

dpkg -s fonts-noto-cjk >/dev/null 2>&1 && exit 0
fc-list :lang=zh 2>/dev/null | grep -q . && exit 0

if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }; else as_root() { sudo -n "$@"; }; fi
echo "ensure-font: installing fonts-noto-cjk from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq >/dev/null 2>&1 || true
if ! as_root apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null 2>&1; then
    if $warn_only; then
        echo "ensure-font: warning: could not install fonts-noto-cjk (needs root);" \
            "Chinese labels may show as empty boxes until it is installed" >&2
        exit 0
    fi
    echo "ensure-font: could not install fonts-noto-cjk (needs root or sudo)" >&2
    exit 1
fi

#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot download a browser here).
# Install it when missing and we are root; otherwise say how.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "Chromium is missing: run 'sudo apt-get install -y --no-install-recommends chromium'" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium

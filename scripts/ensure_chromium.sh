#!/bin/sh
# The dashboard's browser tests drive a Chromium or Chrome already on the machine, never Playwright's own
# download: the one SHOWCASE_CHROMIUM names, else the first of NAMES on PATH (the same order as
# CHROMIUM_NAMES in tests/dashboard/test_browser.py). With none found, as root with apt-get, this installs
# Debian's chromium; otherwise it says what the tests look for and how to install one.
set -eu
NAMES="chromium chromium-browser google-chrome google-chrome-stable"

if [ -n "${SHOWCASE_CHROMIUM:-}" ]; then
    [ -f "$SHOWCASE_CHROMIUM" ] && exit 0
    echo "SHOWCASE_CHROMIUM names $SHOWCASE_CHROMIUM, which is not a file: the dashboard's browser tests will fail"
    exit 0
fi
for name in $NAMES; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
else
    echo "No Chromium or Chrome found (SHOWCASE_CHROMIUM, or one of: $NAMES on PATH);"
    echo "the dashboard's browser tests will fail until there is one, e.g.:"
    echo "  sudo apt-get update && sudo apt-get install -y chromium"
fi

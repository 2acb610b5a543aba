#!/usr/bin/env bash
# Installs Debian's Chromium (and CJK fonts, so screenshots show Chinese) for the console's browser
# tests, when missing.  Playwright drives this browser through its executable path; nothing is
# downloaded by Playwright itself (`playwright install` is never run).
set -uo pipefail
if [ -x /usr/bin/chromium ] && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "WARNING: /usr/bin/chromium is missing and this user cannot install it (apt-get install chromium" \
         "fonts-noto-cjk as root); the browser tests will be skipped"
    exit 0
  fi
else
  SUDO=""
fi
echo "==> installing Chromium and CJK fonts for the browser tests (apt-get)"
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk \
  >/dev/null || echo "WARNING: could not install chromium; the browser tests will be skipped"

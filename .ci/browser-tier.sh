#!/usr/bin/env bash
# The browser tier of CI: install headless Chromium (Debian's `chromium`), then open
# the HTML reports of real runs from file:// and check them as a person would
# (tests/report/test_report_browser.py: no console error, no network request, lanes
# drawn, violation and log links resolve). Screenshots of a negative control and a
# pass are kept in $ZCHAOS_CI_LOGS/browser (default reports/ci-logs/browser).
# Called by .ci/run; budget < 3 minutes once Chromium is installed.
#
# Environment:
#   ZCHAOS_CI_LOGS        where CI keeps logs and screenshots (default: reports/ci-logs)
#   SKIP_BROWSER_TIER=1   skip the whole tier (e.g. no root and no chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export PYTHONDONTWRITEBYTECODE=1
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || { echo "browser tier: $PY missing (run .ci/run first)" >&2; exit 2; }

if [[ "${SKIP_BROWSER_TIER:-0}" == 1 ]]; then
    echo "browser tier: skipped (SKIP_BROWSER_TIER=1)"
    exit 0
fi

if ! command -v chromium >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "browser tier: chromium missing and not root; install it or set SKIP_BROWSER_TIER=1" >&2
        exit 2
    fi
    echo "== browser tier: installing chromium (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
        || { apt-get update -q >/dev/null && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
chromium --version 2>/dev/null || true

export ZCHAOS_CI_LOGS="${ZCHAOS_CI_LOGS:-$ROOT/reports/ci-logs}"
mkdir -p "$ZCHAOS_CI_LOGS"
echo "== browser tier: pytest -m browser tests/report (screenshots -> $ZCHAOS_CI_LOGS/browser)"
"$PY" -m pytest -q -p no:cacheprovider -m browser -rs tests/report/test_report_browser.py
ls -1 "$ZCHAOS_CI_LOGS/browser"/*.png

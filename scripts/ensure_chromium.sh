#!/usr/bin/env bash
# Makes Debian's Chromium available for the browser tests; `make test` calls it first.
#
# Chromium present: nothing to do. Missing, as root with apt-get (CI, Binder-like images, a fresh
# container): installs it, and fails the test command if that fails, so CI never skips the
# browser tests silently. Missing otherwise: says how to install it, loudly, and goes on; pytest
# then reports the browser tests as skipped, with the same hint in a banner at the end.
# Never downloads a browser through Playwright (`playwright install` cannot work offline).
set -u
PACKAGES="chromium fonts-dejavu-core"

if [ -n "${CNNVIZ_CHROMIUM:-}" ]; then   # the tests use this binary and no other
    if [ -x "${CNNVIZ_CHROMIUM}" ]; then exit 0; fi
elif [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi

if [ -z "${CNNVIZ_CHROMIUM:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Chromium is missing: installing Debian's for the browser tests (apt-get install -y ${PACKAGES})"
    log=$(mktemp)
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if apt-get install -y -q ${PACKAGES} >"${log}" 2>&1 \
        || { apt-get update -q >>"${log}" 2>&1 && apt-get install -y -q ${PACKAGES} >>"${log}" 2>&1; }; then
        echo "Chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"
        rm -f "${log}"
        exit 0
    fi
    tail -n 20 "${log}" >&2
    echo "ERROR: apt-get could not install Chromium, which the browser tests need (log above)." >&2
    exit 1
fi

cat >&2 <<MESSAGE
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! BROWSER TESTS WILL BE SKIPPED: Chromium is not installed${CNNVIZ_CHROMIUM:+ at CNNVIZ_CHROMIUM=${CNNVIZ_CHROMIUM}},
!! and this shell does not install it (that needs root and apt-get). Install it, then run
!! the tests again:
!!     sudo apt-get install -y ${PACKAGES}
!! or point CNNVIZ_CHROMIUM at a Chromium binary.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
MESSAGE
exit 0

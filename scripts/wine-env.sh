#!/usr/bin/env bash
# Sourced by the suites that run Windows programs under Wine (scripts/test.sh windows-run,
# packages). Installs Debian's wine (64-bit only: our exes are x86_64) and mingw-w64 when missing,
# then exports a Wine prefix of the tests' own and a private Xvfb display for it.
#   kt_wine_ready || { echo "SKIPPED: $KT_WINE_WHY"; return 0; }
#   wine path/to/program.exe …
# Env it leaves: WINEPREFIX, WINEDEBUG, DISPLAY (a private Xvfb unless KT_WINE_DISPLAY is set),
# KT_WINE_DRIVE_C (the prefix's C: drive as a Linux path), KT_WINE_WHY (why not ready).

KT_WINE_PACKAGES=(wine wine64 gcc-mingw-w64-x86-64 xvfb x11-utils)  # x11-utils: xwininfo finds Wine's tray window

# 0 when Wine can run programs; otherwise 1 with the reason in KT_WINE_WHY.
kt_wine_ready() {
    local missing=() p
    for p in "${KT_WINE_PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || missing+=("$p")
    done
    if ((${#missing[@]})); then
        if [[ "$(id -u)" != 0 ]]; then
            KT_WINE_WHY="not root, so these stay missing: ${missing[*]}"
            return 1
        fi
        if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
               { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } \
            >/tmp/kt-wine-apt.log 2>&1; then
            KT_WINE_WHY="apt-get could not install ${missing[*]} (see /tmp/kt-wine-apt.log)"
            return 1
        fi
    fi
    export WINEPREFIX="${KT_WINEPREFIX:-/var/lib/kompira-tray-test/wine}"
    export WINEDEBUG="${WINEDEBUG:--all}"
    export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"   # no Mono/Gecko download prompts
    if [[ -n "${KT_WINE_DISPLAY:-}" ]]; then
        export DISPLAY="$KT_WINE_DISPLAY"
    elif [[ -z "${KT_WINE_XVFB_PID:-}" ]] || ! kill -0 "$KT_WINE_XVFB_PID" 2>/dev/null; then
        local display
        for display in $(seq 91 120); do
            [[ -e "/tmp/.X11-unix/X$display" || -e "/tmp/.X$display-lock" ]] && continue
            Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
            KT_WINE_XVFB_PID=$!
            export KT_WINE_XVFB_PID
            sleep 1
            if kill -0 "$KT_WINE_XVFB_PID" 2>/dev/null; then
                export DISPLAY=":$display"
                break
            fi
        done
        [[ -n "${DISPLAY:-}" ]] || { KT_WINE_WHY="no Xvfb display could be started"; return 1; }
    fi
    mkdir -p "$(dirname "$WINEPREFIX")"
    if [[ ! -f "$WINEPREFIX/system.reg" ]]; then
        if ! wineboot -i >/tmp/kt-wineboot.log 2>&1; then
            KT_WINE_WHY="wineboot could not create $WINEPREFIX (see /tmp/kt-wineboot.log)"
            return 1
        fi
        wineserver -w 2>/dev/null || true
    fi
    export KT_WINE_DRIVE_C="$WINEPREFIX/drive_c"
    kt_wine_bcryptprimitives || return 1
    return 0
}

# Every Rust program built for Windows imports ProcessPrng from bcryptprimitives.dll, which
# Debian's Wine 8.0 lacks (the programs end with status c0000135): put our stand-in
# (tests/windows_run/bcryptprimitives.c, built with mingw-w64) into the prefix once.
kt_wine_bcryptprimitives() {
    local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
    local src
    src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/windows_run"
    [[ -f "$dll" ]] && return 0
    if ! x86_64-w64-mingw32-gcc -shared -O2 -o "$dll" "$src/bcryptprimitives.c" "$src/bcryptprimitives.def" \
        -ladvapi32 >/tmp/kt-wine-bcrypt.log 2>&1; then
        KT_WINE_WHY="the bcryptprimitives.dll stand-in could not be built (see /tmp/kt-wine-bcrypt.log)"
        return 1
    fi
}

# Stops the prefix's programs and the private display (call at the end of a suite).
kt_wine_stop() {
    wineserver -k 2>/dev/null || true
    if [[ -n "${KT_WINE_XVFB_PID:-}" ]]; then
        kill "$KT_WINE_XVFB_PID" 2>/dev/null || true
        unset KT_WINE_XVFB_PID
    fi
}

#!/usr/bin/env bash
# Prepare this machine for Kompira Tray tests and demos, idempotently:
#   - Debian packages (installed only when missing; apt-get update at most once)
#   - a test PKI under $KOMPIRA_TEST_PKI (default /var/lib/kompira-tray-test/pki)
#   - RabbitMQ running with plain AMQP on 5672 and TLS on 5671 (rewritten and
#     restarted only when its config changes), user kompira/kompira on vhost /
#   - the kompira-testkit binary built, io_queue declared
#   - for the app's end-to-end suite (best effort: a piece that cannot be installed is
#     reported, and scripts/test.sh skips that suite saying why): Xvfb, dbus-daemon,
#     WebKitWebDriver, xdotool, ImageMagick, a Japanese font, the en_US and ja_JP UTF-8
#     locales (the window follows the desktop language), and tauri-driver (cargo install)
# Run it (`bash scripts/setup.sh`) or source it; when sourced it also leaves
# KOMPIRA_TEST_PKI, KOMPIRA_TEST_AMQP_URL and KOMPIRA_TESTKIT exported.
# Quiet when everything is already in place. Set KOMPIRA_SETUP_VERBOSE=1 to see each step.
set -euo pipefail

KT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KOMPIRA_TEST_PKI="${KOMPIRA_TEST_PKI:-/var/lib/kompira-tray-test/pki}"
export KOMPIRA_TEST_AMQP_URL="${KOMPIRA_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export KOMPIRA_TESTKIT="${CARGO_TARGET_DIR:-$KT_ROOT/target}/debug/kompira-testkit"  # cargo honours CARGO_TARGET_DIR; so do we

KT_RABBIT_CONF=/etc/rabbitmq/rabbitmq.conf
KT_RABBIT_WAIT_SECS="${KOMPIRA_RABBIT_WAIT_SECS:-90}"
KT_APT_PACKAGES=(rabbitmq-server libssl-dev pkg-config openssl hyperfine time
                 python3-venv curl ca-certificates procps
                 # the tray app (Tauri 2, WebKitGTK; ksni tray, so no appindicator)
                 libwebkit2gtk-4.1-dev librsvg2-dev libxdo-dev libsoup-3.0-dev
                 # a private session bus for the tray and keyring tests; a real Secret Service
                 dbus-daemon gnome-keyring)
# The app end to end: a virtual display, a private session bus, WebKit's WebDriver, window
# tools and screenshots of the whole screen, and a font for the Japanese screenshots.
KT_APT_E2E_PACKAGES=(webkit2gtk-driver xvfb dbus-x11 xdotool imagemagick fonts-ipafont-gothic locales)
KT_E2E_LOCALES=(en_US ja_JP)

kt_say() { printf 'setup: %s\n' "$*" >&2; }
kt_info() { if [[ "${KOMPIRA_SETUP_VERBOSE:-0}" == 1 ]]; then kt_say "$@"; fi; }
kt_die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

kt_need_root() {
    [[ "$(id -u)" == 0 ]] || kt_die "$1 needs root (run as root, e.g. with sudo)"
}

# --- Debian packages -------------------------------------------------------
kt_pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

kt_install_packages() {
    local missing=() p
    for p in "${KT_APT_PACKAGES[@]}"; do
        kt_pkg_installed "$p" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    kt_need_root "installing ${missing[*]}"
    kt_say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local log
    log="$(mktemp)"
    if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        kt_die "apt-get could not install: ${missing[*]}"
    fi
    rm -f "$log"
}

# Best effort: the end-to-end suite is skipped (with this reason) when these are missing.
kt_install_e2e_packages() {
    local missing=() p
    for p in "${KT_APT_E2E_PACKAGES[@]}"; do
        kt_pkg_installed "$p" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ "$(id -u)" != 0 ]]; then
        kt_say "WARNING: not root, so the app end-to-end packages stay missing: ${missing[*]}"
        return 0
    fi
    kt_say "installing Debian packages for the app end-to-end suite: ${missing[*]}"
    local log
    log="$(mktemp)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1 &&
       ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        tail -n 10 "$log" >&2
        kt_say "WARNING: could not install ${missing[*]}; the app end-to-end suite will be skipped"
    fi
    rm -f "$log"
}

# The suite runs the app on an English and on a Japanese desktop; GTK falls back to "C" (and the
# page to English) for a locale the C library does not have.
kt_ensure_locales() {
    local name
    for name in "${KT_E2E_LOCALES[@]}"; do
        locale -a 2>/dev/null | grep -qix "$name.utf-\?8" && continue
        if [[ "$(id -u)" != 0 ]] || ! command -v localedef >/dev/null 2>&1; then
            kt_say "WARNING: the $name.UTF-8 locale is missing (localedef as root makes it); the app's language test will fail"
            continue
        fi
        kt_say "generating the $name.UTF-8 locale"
        localedef -i "$name" -f UTF-8 "$name.UTF-8" ||
            kt_say "WARNING: localedef could not make $name.UTF-8; the app's language test will fail"
    done
}

# tauri-driver relays WebDriver to WebKitWebDriver and starts the app; best effort as above.
kt_ensure_tauri_driver() {
    command -v tauri-driver >/dev/null 2>&1 && return 0
    kt_say "installing tauri-driver (cargo install tauri-driver --locked, a few minutes)"
    local log
    log="$(mktemp)"
    if ! cargo install tauri-driver --locked >"$log" 2>&1; then
        tail -n 10 "$log" >&2
        kt_say "WARNING: could not install tauri-driver; the app end-to-end suite will be skipped"
    fi
    rm -f "$log"
}

# cargo-fuzz drives the fuzz targets in fuzz/ (scripts/test.sh fuzz); they also need the
# nightly toolchain. Best effort: without them only the fuzz suite is skipped.
kt_ensure_cargo_fuzz() {
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        if ! rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
            kt_say "WARNING: could not install the nightly toolchain; the fuzz suite will be skipped"
            return 0
        fi
    fi
    cargo fuzz --version >/dev/null 2>&1 && return 0
    kt_say "installing cargo-fuzz (cargo install cargo-fuzz --locked, a few minutes)"
    local log
    log="$(mktemp)"
    if ! cargo install cargo-fuzz --locked >"$log" 2>&1; then
        tail -n 10 "$log" >&2
        kt_say "WARNING: could not install cargo-fuzz; the fuzz suite will be skipped"
    fi
    rm -f "$log"
}

kt_check_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 ||
        kt_die "cargo not found: install the Rust toolchain with rustup (https://rustup.rs) and put ~/.cargo/bin on PATH"
}

# --- test PKI ---------------------------------------------------------------
KT_PKI_FILES=(ca.crt ca.key server.crt server.key client.crt client.key rogue-ca.crt)

kt_make_pki() {
    local dir="$KOMPIRA_TEST_PKI" f complete=1
    for f in "${KT_PKI_FILES[@]}"; do
        [[ -s "$dir/$f" ]] || complete=0
    done
    if ((complete)); then
        kt_info "test PKI present in $dir"
    else
        kt_say "generating test PKI in $dir"
        local tmp
        tmp="$(mktemp -d)"
        (
            cd "$tmp"
            local days=3650
            # The CA the broker and the client trust.
            openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
                -subj "/O=Kompira Tray tests/CN=Kompira Tray Test CA" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" \
                -keyout ca.key -out ca.crt
            # Server: its names deliberately do NOT match localhost/127.0.0.1;
            # the client checks the chain but not the host name.
            printf '%s\n' "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=serverAuth" \
                "subjectAltName=DNS:broker.kompira.invalid" \
                "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >server.ext
            openssl req -new -newkey rsa:2048 -nodes -sha256 \
                -subj "/O=Kompira Tray tests/CN=broker.kompira.invalid" \
                -keyout server.key -out server.csr
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days "$days" -sha256 -extfile server.ext -out server.crt
            # Client certificate for mutual TLS.
            printf '%s\n' "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=clientAuth" \
                "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >client.ext
            openssl req -new -newkey rsa:2048 -nodes -sha256 \
                -subj "/O=Kompira Tray tests/CN=kompira-tray-test-client" \
                -keyout client.key -out client.csr
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days "$days" -sha256 -extfile client.ext -out client.crt
            # A different CA that signed nothing we use (negative tests).
            openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
                -subj "/O=Somebody else/CN=Rogue Test CA" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" \
                -keyout rogue-ca.key -out rogue-ca.crt
            openssl verify -CAfile ca.crt server.crt client.crt
        ) >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log" >&2; kt_die "openssl could not create the test PKI"; }
        mkdir -p "$dir"
        for f in "${KT_PKI_FILES[@]}"; do
            cp "$tmp/$f" "$dir/$f.new" && mv -f "$dir/$f.new" "$dir/$f"
        done
        rm -rf "$tmp"
    fi
    # The broker runs as user rabbitmq: it must read the CA, its cert and key.
    local group=root
    getent group rabbitmq >/dev/null 2>&1 && group=rabbitmq
    local parent
    parent="$(dirname "$dir")"
    chmod 755 "$parent" "$dir" 2>/dev/null || true
    chgrp "$group" "$dir"/* 2>/dev/null || true
    chmod 644 "$dir"/*.crt
    chmod 640 "$dir"/*.key
}

# --- RabbitMQ ---------------------------------------------------------------
kt_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kt_rabbit_log_tail() {
    local f
    for f in /var/log/rabbitmq/startup_err /var/log/rabbitmq/kompira-setup-start.log \
             /var/log/rabbitmq/rabbit@*.log; do
        if [[ -s "$f" ]]; then
            printf -- '--- tail of %s ---\n' "$f" >&2
            tail -n 25 "$f" >&2
        fi
    done
}

kt_rabbit_conf_text() {
    cat <<CONF
# Written by Kompira Tray scripts/setup.sh: local test broker.
listeners.tcp.default = 5672
listeners.ssl.default = 5671
ssl_options.cacertfile = $KOMPIRA_TEST_PKI/ca.crt
ssl_options.certfile = $KOMPIRA_TEST_PKI/server.crt
ssl_options.keyfile = $KOMPIRA_TEST_PKI/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
CONF
}

# Returns 0 when the file was (re)written.
kt_write_rabbit_conf() {
    local want
    want="$(kt_rabbit_conf_text)"
    if [[ -f "$KT_RABBIT_CONF" && "$(cat "$KT_RABBIT_CONF")" == "$want" ]]; then
        return 1
    fi
    kt_need_root "writing $KT_RABBIT_CONF"
    mkdir -p "$(dirname "$KT_RABBIT_CONF")"
    printf '%s\n' "$want" >"$KT_RABBIT_CONF.new"
    chmod 644 "$KT_RABBIT_CONF.new"
    mv -f "$KT_RABBIT_CONF.new" "$KT_RABBIT_CONF"
    kt_say "wrote $KT_RABBIT_CONF"
    return 0
}

kt_wait_port() { # port secs what
    local i
    for ((i = 0; i < $2 * 4; i++)); do
        kt_port_open "$1" && return 0
        sleep 0.25
    done
    return 1
}

kt_rabbit_stop() {
    kt_say "stopping RabbitMQ to apply the new configuration"
    rabbitmqctl stop >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 120; i++)); do
        kt_port_open 5672 || return 0
        sleep 0.25
    done
    kt_die "RabbitMQ still answers on 5672 after 'rabbitmqctl stop'"
}

kt_rabbit_start() {
    kt_need_root "starting RabbitMQ"
    kt_say "starting RabbitMQ (rabbitmq-server -detached), waiting up to ${KT_RABBIT_WAIT_SECS}s"
    mkdir -p /var/log/rabbitmq
    rabbitmq-server -detached >/var/log/rabbitmq/kompira-setup-start.log 2>&1 || true
    if ! kt_wait_port 5672 "$KT_RABBIT_WAIT_SECS"; then
        kt_rabbit_log_tail
        kt_die "RabbitMQ did not answer on 127.0.0.1:5672 within ${KT_RABBIT_WAIT_SECS}s"
    fi
}

kt_ensure_rabbit() {
    local changed=0
    kt_write_rabbit_conf && changed=1
    if kt_port_open 5672; then
        if ((changed)); then
            kt_rabbit_stop
            kt_rabbit_start
        else
            kt_info "RabbitMQ already answers on 5672"
        fi
    else
        kt_rabbit_start
    fi
    if ! kt_wait_port 5671 30; then
        kt_rabbit_log_tail
        kt_die "RabbitMQ answers on 5672 but its TLS listener on 5671 does not (check $KT_RABBIT_CONF and the PKI permissions in $KOMPIRA_TEST_PKI)"
    fi
}

# --- testkit, user, queue ---------------------------------------------------
kt_build_testkit() {
    local log
    log="$(mktemp)"
    if ! (cd "$KT_ROOT" && cargo build --quiet -p kompira-testkit) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        kt_die "cargo build -p kompira-testkit failed"
    fi
    rm -f "$log"
    [[ -x "$KOMPIRA_TESTKIT" ]] || kt_die "built, but $KOMPIRA_TESTKIT is missing"
}

kt_ensure_kompira_user() {
    # A login that works and may declare io_queue proves user and permissions.
    if "$KOMPIRA_TESTKIT" --url "amqp://kompira:kompira@127.0.0.1:5672/%2f" declare-queue >/dev/null 2>&1; then
        kt_info "user kompira works"
        return 0
    fi
    kt_need_root "adding the RabbitMQ user kompira"
    kt_say "adding RabbitMQ user kompira (password kompira, full rights on vhost /)"
    if ! rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx kompira; then
        rabbitmqctl -q add_user kompira kompira >/dev/null ||
            kt_die "rabbitmqctl add_user kompira failed"
    else
        rabbitmqctl -q change_password kompira kompira >/dev/null ||
            kt_die "rabbitmqctl change_password kompira failed"
    fi
    rabbitmqctl -q set_permissions -p / kompira '.*' '.*' '.*' >/dev/null ||
        kt_die "rabbitmqctl set_permissions for kompira failed"
    "$KOMPIRA_TESTKIT" --url "amqp://kompira:kompira@127.0.0.1:5672/%2f" declare-queue ||
        kt_die "user kompira still cannot log in and declare io_queue"
}

kt_setup_main() {
    kt_install_packages
    kt_install_e2e_packages
    kt_ensure_locales
    kt_check_cargo
    kt_ensure_tauri_driver
    kt_ensure_cargo_fuzz
    kt_make_pki
    kt_ensure_rabbit
    kt_build_testkit
    kt_ensure_kompira_user
    "$KOMPIRA_TESTKIT" --url "$KOMPIRA_TEST_AMQP_URL" declare-queue ||
        kt_die "could not declare io_queue on $KOMPIRA_TEST_AMQP_URL"
    kt_info "ready: AMQP 127.0.0.1:5672, AMQPS 127.0.0.1:5671, PKI $KOMPIRA_TEST_PKI"
}

kt_setup_main

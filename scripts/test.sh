#!/usr/bin/env bash
# The one test command: prepares the machine (scripts/setup.sh), then runs
# every suite in KT_SUITES. Exits non-zero on the first failing suite.
#   bash scripts/test.sh            # all suites
#   bash scripts/test.sh cargo-test # only the named suites
# Env: KOMPIRA_TEST_THREADS (cargo test --test-threads, default: cargo's choice).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh   # exports KOMPIRA_TEST_PKI, KOMPIRA_TEST_AMQP_URL, KOMPIRA_TESTKIT

# --- suites: add a function suite_<name> and list <name> in KT_SUITES --------
# One style and no lint warnings, for the workspace and the fuzz crate's formatting (rustfmt.toml;
# `cargo fmt --all` fixes the first). First, because it is quick to fail and quick to fix.
suite_lint() {
    local component
    for component in rustfmt clippy; do
        if ! rustup component list --installed 2>/dev/null | grep -q "^$component" &&
            ! rustup component add "$component" >/dev/null 2>&1; then
            echo "lint: FAILED: the $component component is missing and 'rustup component add $component' failed" >&2
            return 1
        fi
    done
    cargo fmt --all -- --check &&
        (cd fuzz && cargo fmt -- --check) &&
        cargo clippy --workspace --all-targets -- -D warnings
}

suite_build() {
    cargo build --workspace --all-targets
}

# Includes the REST/event contract (tests/contract.rs) against kompira-sim. Set KOMPIRA_REAL_URL
# and KOMPIRA_REAL_TOKEN (and KOMPIRA_REAL_AMQP_URL if its broker is not
# amqp://kompira:kompira@127.0.0.1:5673/%2f) to run the same cases against a real Kompira too;
# without them its real half prints SKIPPED.
suite_cargo-test() {
    local args=()
    if [[ -n "${KOMPIRA_TEST_THREADS:-}" ]]; then
        args=(-- "--test-threads=$KOMPIRA_TEST_THREADS")
    fi
    cargo test --workspace "${args[@]}"
}

# Fault tests (tests/fault.rs): the broker stopped and started twice during a 10,000-event
# burst, the drainer's host killed with SIGKILL and restarted, the stand-in killed and restarted
# while the watcher watches. Each prints a `FAULT <name>: sent=… acked=… received=… distinct=…
# duplicates=… lost=…` line. Alone and one at a time: it stops the shared broker, which would
# break suites running beside it. Needs the workspace binaries (the build suite); selected with
# --workspace for the reason given at suite_app-e2e.
suite_fault() {
    cargo build --workspace --all-targets &&
        cargo test --workspace --test fault -- --test-threads=1 --nocapture
}

# Our Windows programs run under Wine (scripts/wine-env.sh: Debian's wine, a prefix and an Xvfb
# display of the tests' own): kompira_sendevt.exe, kompira.exe and kompira-tray-agent.exe are
# cross-built once and driven by tests/windows_run against RabbitMQ and the stand-in (cases in
# docs/windows.md); the IPC crate's tests run as Windows programs. The Tauri window is only
# checked: WebView2 cannot run under Wine. Skipped, with the reason, only where Wine, mingw-w64
# or the Rust target cannot be installed. Screenshots in target/test-artifacts/windows-run/.
suite_windows-run() {
    local target=x86_64-pc-windows-gnu
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target" &&
        ! rustup target add "$target" >/dev/null 2>&1; then
        echo "windows-run: SKIPPED: 'rustup target add $target' failed (no rustup, or the target cannot be downloaded here)" >&2
        return 0
    fi
    # shellcheck source=scripts/wine-env.sh
    source scripts/wine-env.sh
    if ! kt_wine_ready; then
        echo "windows-run: SKIPPED: Wine cannot run here: $KT_WINE_WHY" >&2
        return 0
    fi
    local bin="target/$target/release" artifacts="$PWD/target/test-artifacts/windows-run" status=0
    mkdir -p "$artifacts"
    # (kt_wine_ready put the bcryptprimitives.dll stand-in into the prefix: Wine 8.0 has none,
    # and every Rust program for Windows imports its ProcessPrng.)
    # Build once; then every check runs, so one failure does not hide another's result.
    if cargo check --target "$target" --workspace --lib --bins &&
        cargo build --release --target "$target" -p kompira-sendevt -p kompira-cli -p kompira-tray-agent &&
        cargo build --release --target "$target" -p kompira-tray-ipc --example ipc_call; then
        KOMPIRA_WINDOWS_BIN_DIR="$PWD/$bin" KOMPIRA_WINDOWS_ARTIFACTS="$artifacts" \
            cargo test --workspace --test windows_run -- --test-threads=1 --nocapture || status=1
        CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine cargo test --target "$target" -p kompira-tray-ipc || status=1
        if [[ -f tests/windows_run/popup_balloon.sh ]]; then
            bash tests/windows_run/popup_balloon.sh "$bin/kompira-tray-agent.exe" "$artifacts" || status=1
        fi
    else
        status=1
    fi
    kt_wine_stop
    return "$status"
}

# The packages people install (scripts/package.sh into dist/), tested by installing them: the
# .debs with apt-get on this machine and removed again (tests/packages/deb-install.sh), the
# .rpms read with rpm and installed into a scratch root (rpm-check.sh), the .msi under Wine with
# msiexec (msi-under-wine.sh). Prints each package's size. Needs root (apt-get install).
suite_packages() {
    local version
    version="$(awk '/^\[workspace\.package\]/ { inside = 1; next } /^\[/ { inside = 0 }
        inside && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)"
    bash scripts/package.sh all &&
        bash tests/packages/deb-install.sh "dist/kompira-tray_${version}_amd64.deb" "dist/kompira-tools_${version}_amd64.deb" &&
        bash tests/packages/rpm-check.sh "dist/kompira-tray-$version-1.x86_64.rpm" "dist/kompira-tools-$version-1.x86_64.rpm" &&
        bash tests/packages/msi-under-wine.sh "dist/kompira-tray_${version}_x64.msi"
}

# The tray app end to end (tests/app_e2e): the real app binary in a virtual desktop, driven
# through its window with WebDriver, RabbitMQ and the stand-in around it. Every test starts its
# own Xvfb display, private D-Bus session (dbus-daemon) and runtime directory (the agent's
# socket): each test's app hands over to nothing of another test's, and popups stay off a real desktop.
# Skipped, with the reason, where a piece could not be installed (scripts/setup.sh warned).
suite_app-e2e() {
    local tool missing=()
    for tool in Xvfb dbus-daemon WebKitWebDriver tauri-driver; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        echo "app-e2e: SKIPPED: not installed: ${missing[*]} (scripts/setup.sh could not install them; see its warnings)" >&2
        return 0
    fi
    # The suite launches the workspace's binaries: build them as the build suite does (a no-op
    # after it). `--workspace --test NAME`, not `-p kompira-e2e`: another package selection
    # unifies other features and rebuilds every dependency beside the first build, which doubled
    # target/ and ran the CI disk full.
    cargo build --workspace --all-targets &&
        cargo test --workspace --test app_e2e -- --test-threads=1
}

# The cargo-fuzz targets in fuzz/ (config parser, KEY=VAL parser, alert reader), each for
# KOMPIRA_FUZZ_SECS seconds (default 20), starting from fuzz/seeds (in git) and the corpus it
# grows in fuzz/corpus (not in git). A crash fails the suite and leaves its input in
# fuzz/artifacts/<target>/. Skipped, with the reason, without nightly or cargo-fuzz
# (scripts/setup.sh installs them when it can).
suite_fuzz() {
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        echo "fuzz: SKIPPED: no nightly toolchain (rustup toolchain install nightly)" >&2
        return 0
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "fuzz: SKIPPED: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
        return 0
    fi
    local target
    for target in config_ini key_values alert_reader; do
        mkdir -p "fuzz/corpus/$target"
        (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
            -max_total_time="${KOMPIRA_FUZZ_SECS:-20}" -rss_limit_mb=1024 -max_len=65536) || {
            echo "fuzz: $target found a crash: see fuzz/artifacts/$target/" >&2
            return 1
        }
    done
}

KT_SUITES=(lint build cargo-test fault windows-run packages app-e2e fuzz)
# -----------------------------------------------------------------------------

if (($# > 0)); then
    KT_SUITES=("$@")
fi
for suite in "${KT_SUITES[@]}"; do
    declare -F "suite_$suite" >/dev/null || { echo "test.sh: unknown suite '$suite' (known: $(declare -F | awk '/suite_/{sub("suite_","",$3); printf "%s ", $3}'))" >&2; exit 2; }
done

failed=()
for suite in "${KT_SUITES[@]}"; do
    echo "==> $suite" >&2
    start=$SECONDS
    if "suite_$suite"; then
        echo "==> $suite: ok ($((SECONDS - start)) s)" >&2
    else
        echo "==> $suite: FAILED ($((SECONDS - start)) s)" >&2
        failed+=("$suite")
        break   # later suites build on earlier ones
    fi
done
if ((${#failed[@]})); then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "test.sh: all suites passed: ${KT_SUITES[*]}" >&2

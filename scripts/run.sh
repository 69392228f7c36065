#!/usr/bin/env bash
# The one run command: sets up what is missing, builds and starts Kompira Tray.
#
# With a kompira.conf where the official tools look (or KOMPIRA_CONF naming one), the app uses
# it as it is. Without one, this starts a demo back end — the local RabbitMQ and the Kompira
# stand-in (kompira-sim, which consumes io_queue like the real server) — writes a demo
# kompira.conf that points the app at both, says so, and sends a demo alert once the app is up,
# so a popup shows within a minute. Its "Run restart_process" action runs a job flow on the
# stand-in.
# Without a display (a headless server) the app runs under Xvfb and a screenshot is saved.
# Env: KOMPIRA_TRAY_DEMO=1   use the demo back end even when a kompira.conf exists
#      KOMPIRA_RUN_SECONDS=N quit after N seconds (smoke runs); default: until Quit in the tray
# The command-line tools' demo (no window) is scripts/demo-cli.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh   # packages, broker up; exports KOMPIRA_TEST_AMQP_URL
# shellcheck source=scripts/demo-backend.sh
source scripts/demo-backend.sh

say() { printf 'run: %s\n' "$*" >&2; }
die() { printf 'run: ERROR: %s\n' "$*" >&2; exit 1; }

say "building the release binaries (the first build takes several minutes)"
build_log="$(mktemp)"
# The same package set as bench-app.sh: another selection would rebuild with other features.
if ! cargo build --release --workspace --bins >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2; rm -f "$build_log"
    die "the build failed (full log above)"
fi
rm -f "$build_log"
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"

scratch_start kompira-tray-run

# --- Which back end --------------------------------------------------------------------------
demo=0
if [[ "${KOMPIRA_TRAY_DEMO:-0}" == 1 ]]; then
    demo=1
elif files="$("$bin/kompira-tray" --config-files 2>"$WORKDIR/config.err")"; then
    say "using your kompira.conf: $(echo "$files" | paste -sd, -)"
else
    case $? in
        1) demo=1; say "$(sed 's/^kompira-tray: //' "$WORKDIR/config.err")" ;;
        *) cat "$WORKDIR/config.err" >&2; die "fix kompira.conf (or set KOMPIRA_TRAY_DEMO=1 to try the demo back end)" ;;
    esac
fi

if ((demo)); then
    demo_backend_start "$bin/kompira-sim" "$WORKDIR" || die "the demo back end did not start"
    PIDS+=("$DEMO_SIM_PID")
    url="$DEMO_URL"
    say "no kompira.conf of yours is used: the app talks to a DEMO back end —"
    say "  RabbitMQ on 127.0.0.1:5672 and the Kompira stand-in at $url"
    say "  (config: $KOMPIRA_CONF; put a kompira.conf in /opt/kompira or ~/.config/kompira to use your server)"
fi

# --- A display and a session bus, when the machine has none ---------------------------------
headless=0
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
    headless_display_start || die "cannot start a virtual display"
    PIDS+=("$XVFB_PID")
    headless=1
    say "no display here: the app runs under Xvfb on $DISPLAY (a screenshot is saved below)"
fi
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
    # A bus of our own, stopped on exit with everything else (dbus-run-session, stopped by a
    # signal, would leave its daemon behind).
    command -v dbus-launch >/dev/null 2>&1 || die "no D-Bus session and no dbus-launch (apt-get install dbus-x11)"
    eval "$(dbus-launch --sh-syntax)" || die "dbus-launch failed"
    PIDS+=("$DBUS_SESSION_BUS_PID")
fi

# --- The app ---------------------------------------------------------------------------------
# Two processes: the agent (tray, alerts, outbox) lives until Quit; the window comes and goes.
# The agent is started here, so it ends with this script (and with it the window); its socket
# is private to this run, so an agent already running on this desktop is left alone.
export KOMPIRA_TRAY_SOCKET="$WORKDIR/kompira-tray.sock"
say "starting Kompira Tray (the window opens; closing it keeps the app in the tray — Quit ends it)"
"$bin/kompira-tray-agent" --no-window 2> >(tee "$WORKDIR/app.log" >&2) &
app_pid=$!
PIDS+=("$app_pid")
for _ in $(seq 100); do
    grep -q "agent listening" "$WORKDIR/app.log" 2>/dev/null && break
    kill -0 "$app_pid" 2>/dev/null || die "the app exited before it was ready (log above)"
    sleep 0.1
done
"$bin/kompira-tray" 2> >(tee -a "$WORKDIR/app.log" >&2) &
PIDS+=($!)

if ((demo)); then
    # Once the app watches the Alert channel, an alert sent the way Zabbix would pops up.
    for _ in $(seq 300); do
        grep -q "watching for alerts" "$WORKDIR/app.log" 2>/dev/null && break
        kill -0 "$app_pid" 2>/dev/null || die "the app exited before it was ready (log above)"
        sleep 0.1
    done
    "$bin/kompira_sendevt" -c "$KOMPIRA_CONF" --logdir "$WORKDIR" hostname=web1 severity=High status=PROBLEM \
        "trigger_name=Demo: disk full on web1" "detail=/var is 97% full" >/dev/null
    say "sent a demo alert with kompira_sendevt: it shows as a popup and in the Alerts view"
fi

if ((headless)); then
    sleep 3
    shot="${CARGO_TARGET_DIR:-$PWD/target}/run-screenshot.png"
    if command -v import >/dev/null 2>&1 && import -window root "$shot" 2>/dev/null; then
        say "screenshot of the headless display: $shot"
    fi
fi

if [[ -n "${KOMPIRA_RUN_SECONDS:-}" ]]; then
    sleep "$KOMPIRA_RUN_SECONDS"
    kill -0 "$app_pid" 2>/dev/null || die "the app exited early (log above)"
    say "ran for $KOMPIRA_RUN_SECONDS s as asked; stopping"
    exit 0
fi
set +e
wait "$app_pid"

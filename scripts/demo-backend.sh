# Sourced by run.sh and bench-app.sh: a scratch directory cleaned up on exit, the Kompira stand-in
# against the local RabbitMQ with a kompira.conf pointing at both, and a headless display.
# Needs KOMPIRA_TEST_AMQP_URL (from setup.sh).

# Usage: scratch_start NAME — sets WORKDIR (a new temporary directory) and an empty PIDS array;
#   on exit every process in PIDS is stopped, newest first, and WORKDIR removed. Ctrl+C exits with 130.
scratch_start() {
    WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    PIDS=()
    trap scratch_cleanup EXIT
    trap 'exit 130' INT TERM
}
scratch_cleanup() {
    local i pid
    # Newest first, each awaited: the app ends before the bus, display and back end it uses.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid="${PIDS[i]}"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORKDIR"
}

# Usage: demo_backend_start SIM_BINARY WORKDIR
#   sets DEMO_SIM_PID, DEMO_URL, DEMO_TOKEN and exports KOMPIRA_CONF=WORKDIR/kompira.conf.
#   The caller kills DEMO_SIM_PID when done.
demo_backend_start() {
    local sim="$1" workdir="$2"
    DEMO_TOKEN="demo-$RANDOM$RANDOM"
    "$sim" --listen 127.0.0.1:0 --token "$DEMO_TOKEN" --amqp-url "$KOMPIRA_TEST_AMQP_URL" \
        >"$workdir/sim.out" 2>"$workdir/sim.err" &
    DEMO_SIM_PID=$!
    local _
    for _ in $(seq 100); do
        grep -q "listening on" "$workdir/sim.out" 2>/dev/null && break
        if ! kill -0 "$DEMO_SIM_PID" 2>/dev/null; then
            cat "$workdir/sim.err" >&2
            echo "kompira-sim did not start" >&2
            return 1
        fi
        sleep 0.1
    done
    DEMO_URL="$(sed -n 's/.*listening on //p' "$workdir/sim.out")"
    [[ -n "$DEMO_URL" ]] || { echo "kompira-sim did not report its address" >&2; return 1; }
    export KOMPIRA_CONF="$workdir/kompira.conf"
    cat >"$KOMPIRA_CONF" <<CONF
# Demo configuration: the local RabbitMQ and the Kompira stand-in (kompira-sim).
[amqp-connection]
server = 127.0.0.1

[event]
channel = /system/channels/Alert

[rest]
url = $DEMO_URL
token = $DEMO_TOKEN

[notify]
channels = /system/channels/Alert
# Alerts on this channel offer to run the job flow with their fields as parameters.
remedies =
    /system/channels/Alert  /root/restart_process
CONF
    chmod 600 "$KOMPIRA_CONF"
}

# Usage: headless_display_start — when there is no display, starts Xvfb on a free number,
# exports DISPLAY and sets XVFB_PID; returns 1 when Xvfb is missing. No-op with a display.
headless_display_start() {
    XVFB_PID=""
    [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]] || return 0
    command -v Xvfb >/dev/null 2>&1 || { echo "no display and no Xvfb (apt-get install xvfb)" >&2; return 1; }
    local display=99 _
    while [[ -e "/tmp/.X11-unix/X$display" || -e "/tmp/.X$display-lock" ]]; do display=$((display + 1)); done
    Xvfb ":$display" -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 &
    XVFB_PID=$!
    export DISPLAY=":$display"
    for _ in $(seq 50); do [[ -e "/tmp/.X11-unix/X$display" ]] && break; sleep 0.1; done
}

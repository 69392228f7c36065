#!/usr/bin/env bash
# A real alert under Wine pops up as a notification-area balloon: Wine has no WinRT, so the toast
# fails and the agent must fall back to Shell_NotifyIconW on its tray icon.
#
#   tests/windows_run/popup_balloon.sh AGENT_EXE ARTEFACT_DIR
#
# Starts kompira-sim (the REST stand-in, a Linux binary: $KOMPIRA_SIM, else target/{debug,release}
# or a cargo build), the agent exe under Wine with a kompira.conf pointing at it, sends an alert
# to /system/channels/Alert over the REST API, and checks the agent's log for the balloon line.
# Leaves agent.log, sim.log, kompira.conf and balloon.png (the Xvfb screen) in ARTEFACT_DIR.
# Uses the caller's Wine prefix and display when `kt_wine_ready` already ran (scripts/wine-env.sh),
# else makes them ($KT_WINEPREFIX) and stops the display it started. Exit 0 when the balloon was
# shown; otherwise 1 and one sentence on stderr saying what went wrong.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOKEN="balloon-check-token"
ALERT_CHANNEL="/system/channels/Alert"
START_SECONDS=90     # Wine's first start of a prefix, and the agent's first long poll
POPUP_SECONDS=60     # the alert's way to the popup and the toast's failure under Wine
BALLOON_DRAW_SECONDS=4  # Wine draws a balloon 2 s after it is asked for

fail() {
    echo "popup_balloon: $*" >&2
    exit 1
}

(($# == 2)) || fail "usage: $0 AGENT_EXE ARTEFACT_DIR"
AGENT_EXE="$(realpath -e "$1" 2>/dev/null)" || fail "there is no agent exe at $1"
OUT="$2"
mkdir -p "$OUT" || fail "cannot make the artefact directory $OUT"
OUT="$(realpath "$OUT")"
command -v curl >/dev/null || fail "curl is missing (it sends the alert)"

sim_pid="" agent_pid="" own_display=""
cleanup() {
    [[ -n "$agent_pid" ]] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
    [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
    if [[ -n "$own_display" ]]; then kt_wine_stop; fi
    return 0
}
trap cleanup EXIT

# shellcheck source=../../scripts/wine-env.sh
source "$REPO/scripts/wine-env.sh"
[[ -n "${KT_WINE_XVFB_PID:-}" || -n "${KT_WINE_DISPLAY:-}" ]] || own_display=yes
kt_wine_ready || fail "Wine cannot run the agent here: $KT_WINE_WHY"

# The stand-in, on a port of its own choosing; its first line says which.
sim="${KOMPIRA_SIM:-}"
if [[ -z "$sim" ]]; then
    for candidate in "$REPO/target/debug/kompira-sim" "$REPO/target/release/kompira-sim"; do
        [[ -x "$candidate" ]] && sim="$candidate" && break
    done
fi
if [[ -z "$sim" ]]; then
    (cd "$REPO" && cargo build -q -p kompira-sim) >"$OUT/sim-build.log" 2>&1 ||
        fail "kompira-sim could not be built (see $OUT/sim-build.log)"
    sim="$REPO/target/debug/kompira-sim"
fi
"$sim" --no-amqp --listen 127.0.0.1:0 --token "$TOKEN" >"$OUT/sim.out" 2>"$OUT/sim.log" &
sim_pid=$!
base_url=""
for _ in $(seq 100); do
    base_url="$(sed -n 's/^kompira-sim listening on //p' "$OUT/sim.out")"
    [[ -n "$base_url" ]] && break
    kill -0 "$sim_pid" 2>/dev/null || fail "kompira-sim ended at start (see $OUT/sim.log)"
    sleep 0.1
done
[[ -n "$base_url" ]] || fail "kompira-sim did not say where it listens within 10 s (see $OUT/sim.log)"

cat >"$OUT/kompira.conf" <<EOF
[rest]
url = $base_url
token = $TOKEN
timeout = 10
EOF

# The agent, on a pipe of its own so that another agent in the prefix does not answer for it.
conf_windows="$(winepath -w "$OUT/kompira.conf" 2>/dev/null)" || fail "winepath cannot name $OUT/kompira.conf for Windows"
KOMPIRA_CONF="$conf_windows" KOMPIRA_TRAY_SOCKET="\\\\.\\pipe\\kompira-tray-balloon-$$" RUST_LOG=info \
    wine "$AGENT_EXE" --no-window >"$OUT/agent.log" 2>&1 &
agent_pid=$!

wait_for_log() { # FILE TEXT SECONDS: 0 once FILE holds TEXT, 1 on time out, 2 if the agent ended
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$agent_pid" 2>/dev/null || return 2
        sleep 0.5
    done
    return 1
}
# The channel keeps the alert until the agent's first long poll takes it.
wait_for_log "$OUT/agent.log" "agent listening on" "$START_SECONDS"
case $? in
    1) fail "the agent did not start within $START_SECONDS s (see $OUT/agent.log)" ;;
    2) fail "the agent ended at start (see $OUT/agent.log)" ;;
esac

# A Zabbix-style alert, as kompira_sendevt's fields arrive in the channel; High, so it pops up.
status="$(curl -s -o "$OUT/send.out" -w '%{http_code}' -H "Authorization: Token $TOKEN" \
    -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -d '{"status": "PROBLEM", "severity": "4", "hostname": "web1", "trigger_name": "Disk full", "detail": "free space 2%"}' \
    "$base_url$ALERT_CHANNEL.send")"
[[ "$status" == 200 ]] || fail "the stand-in answered $status to the alert sent to $ALERT_CHANNEL.send (see $OUT/send.out)"

wait_for_log "$OUT/agent.log" "popup shown as" "$POPUP_SECONDS" || {
    not_shown="$(grep -m1 -o 'desktop notification not shown.*' "$OUT/agent.log")"
    [[ -n "$not_shown" ]] && fail "the popup was not shown: $not_shown"
    kill -0 "$agent_pid" 2>/dev/null || fail "the agent ended before it showed the alert (see $OUT/agent.log)"
    fail "the agent logged no popup within $POPUP_SECONDS s of the alert (see $OUT/agent.log)"
}
line="$(grep -m1 -o 'popup shown as.*' "$OUT/agent.log")"
[[ "$line" == "popup shown as a notification-area balloon (the toast failed: "* ]] ||
    fail "the popup did not take the balloon path under Wine: $line"

sleep "$BALLOON_DRAW_SECONDS"
import -window root "$OUT/balloon.png" 2>"$OUT/import.log" || echo "popup_balloon: no screenshot (see $OUT/import.log)" >&2
echo "popup_balloon: $line"
exit 0

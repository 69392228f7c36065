#!/usr/bin/env bash
# The command-line demo (headless, no window): prepares the local broker,
#  1. sends one Zabbix-like event with kompira_sendevt and shows exactly what arrived on
#     io_queue: properties, headers with their AMQP types, and the body;
#  2. starts the local Kompira stand-in (kompira-sim, consuming io_queue), sends another
#     event and shows it arrive as a desktop notification through the REST API
#     (kompira channel watch), then runs a job flow and follows it to DONE.
# Env: KOMPIRA_SENDEVT  sender to use instead of our release build
#                       (e.g. .bench/venv/bin/kompira_sendevt, the reference tool)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh   # broker up, testkit built: exports KOMPIRA_TESTKIT

if [[ -n "${KOMPIRA_SENDEVT:-}" ]]; then
    sender="$KOMPIRA_SENDEVT"
    [[ -x "$sender" ]] || sender="$(command -v "$sender" || true)"
    [[ -n "$sender" && -x "$sender" ]] || { echo "run.sh: KOMPIRA_SENDEVT=$KOMPIRA_SENDEVT is not an executable" >&2; exit 1; }
else
    log="$(mktemp)"
    if ! cargo build --quiet --release -p kompira-sendevt -p kompira-cli -p kompira-sim >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"
        echo "run.sh: building kompira_sendevt failed" >&2; exit 1
    fi
    rm -f "$log"
    sender="${CARGO_TARGET_DIR:-$PWD/target}/release/kompira_sendevt"
fi

logdir="$(mktemp -d "${TMPDIR:-/tmp}/kompira-run.XXXXXX")"
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
    rm -rf "$logdir"
}
trap cleanup EXIT

"$KOMPIRA_TESTKIT" purge

echo "== Sending an event with $sender"
cmd=("$sender" --logdir "$logdir" hostname=web1 severity=4 status=PROBLEM
     "trigger_name=Demo: event from Kompira Tray")
printf '   %q' "${cmd[@]}"; echo
set +e
"${cmd[@]}"
rc=$?
set -e
echo "   exit status: $rc"
if [[ -s "$logdir/kompira_sendevt.log" ]]; then
    echo "   its log ($logdir/kompira_sendevt.log):"
    sed 's/^/     /' "$logdir/kompira_sendevt.log"
fi

echo
echo "== What arrived on io_queue (kompira-testkit receive)"
if ! "$KOMPIRA_TESTKIT" receive --timeout-secs 10; then
    echo "run.sh: no event arrived on io_queue within 10 s (sender exit status $rc)." >&2
    echo "        If kompira_sendevt is still a stub, try KOMPIRA_SENDEVT=<the reference tool>." >&2
    exit 1
fi

cat <<'TXT'

How to read this:
  exchange ""/routing_key io_queue: the default exchange delivers straight to
      io_queue, the queue the Kompira server consumes.
  properties: delivery_mode 2 = persistent; correlation_id is a fresh uuid4;
      content_type application/json because the body came from KEY=VAL args.
  headers (each with its AMQP type): channel (LongString) names the Kompira
      channel the event lands in; site_id is an integer; timestamp is local time
      as text; ssl is Void on a plain connection (the TLS version on TLS).
  body_utf8: the event itself, a JSON object of strings.
TXT
if ((rc != 0)); then
    echo "run.sh: the event arrived but the sender exited with status $rc" >&2
    exit 1
fi

# --- 2. Through the Kompira stand-in to a desktop notification -----------------------------
kompira="${CARGO_TARGET_DIR:-$PWD/target}/release/kompira"
sim="${CARGO_TARGET_DIR:-$PWD/target}/release/kompira-sim"
if [[ ! -x "$kompira" || ! -x "$sim" ]]; then
    cargo build --quiet --release -p kompira-cli -p kompira-sim
fi
token="demo-$RANDOM$RANDOM"
"$sim" --listen 127.0.0.1:0 --token "$token" >"$logdir/sim.out" 2>"$logdir/sim.err" &
sim_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$logdir/sim.out" 2>/dev/null && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$logdir/sim.err" >&2; echo "run.sh: kompira-sim did not start" >&2; exit 1; }
    sleep 0.1
done
url="$(sed -n 's/.*listening on //p' "$logdir/sim.out")"
[[ -n "$url" ]] || { echo "run.sh: kompira-sim did not report its address" >&2; exit 1; }
conf="$logdir/kompira.conf"
printf '[rest]\nurl = %s\ntoken = %s\n' "$url" "$token" >"$conf"

echo
echo "== The local Kompira stand-in is at $url (consuming io_queue)"
echo "== Sending a second event; the stand-in appends it to /system/channels/Alert"
"$sender" --logdir "$logdir" hostname=db1 severity=5 status=PROBLEM \
    "trigger_name=Replication stopped" "detail=Slave IO thread is not running"
echo "== It arrives as a desktop notification would read (kompira channel watch):"
timeout 30 "$kompira" -c "$conf" channel watch --count 1
echo
echo "== Running a job flow and following it (kompira jobflow run --wait):"
timeout 60 "$kompira" -c "$conf" jobflow run /root/restart_process -p host=db1 --wait
echo
echo "Done. The tray app (bash scripts/run.sh) shows the same alerts as popups and runs job flows from them."

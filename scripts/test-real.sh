#!/usr/bin/env bash
# The checks that need the REAL Kompira 1.6.11 (proprietary, so never in CI): the contract suite
# against the stand-in and the real server, and the app end-to-end tests that have a real-server
# half. Needs the server set up once on this machine (docs/real-kompira.md).
#   bash scripts/test-real.sh
# Env: KOMPIRA_REAL_RUN (default /opt/kompira-run: where the set-up put start.sh and token.txt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
run_dir="${KOMPIRA_REAL_RUN:-/opt/kompira-run}"
if [[ ! -x "$run_dir/start.sh" || ! -s "$run_dir/token.txt" ]]; then
    echo "test-real: no real Kompira is set up here ($run_dir/start.sh, token.txt); see docs/real-kompira.md" >&2
    exit 2
fi
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
"$run_dir/start.sh" >/dev/null
export KOMPIRA_REAL_URL="${KOMPIRA_REAL_URL:-http://127.0.0.1:8080}"
KOMPIRA_REAL_TOKEN="$(cat "$run_dir/token.txt")"
export KOMPIRA_REAL_TOKEN
export KOMPIRA_REAL_AMQP_URL="${KOMPIRA_REAL_AMQP_URL:-amqp://kompira:kompira@127.0.0.1:5673/%2f}"
for _ in $(seq 60); do
    curl -fsS -o /dev/null -H 'Accept: application/json' -H "Authorization: Token $KOMPIRA_REAL_TOKEN" \
        "$KOMPIRA_REAL_URL/process?page_size=1" && break
    sleep 1
done
cargo build --workspace --all-targets
cargo test --workspace --test contract -- --nocapture
# The app tests with a real-server half: a job flow run from the form, a task answered from its popup.
cargo test --workspace --test app_e2e -- --test-threads=1 --nocapture a_job_flow_run_from_the_form a_task_pops_up

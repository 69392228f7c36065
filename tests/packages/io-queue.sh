# Sourced by the package checks that send an event with an installed kompira_sendevt.
# arrived MARKER: takes messages off io_queue (the local RabbitMQ, through the testkit) until the
# one carrying MARKER (older messages left by others come first), at most 50 of them; false when
# it did not come within 10 s of the last one. Needs KOMPIRA_TESTKIT and a scratch directory in
# $scratch.
arrived() {
    local n
    for n in $(seq 50); do
        "$KOMPIRA_TESTKIT" receive --timeout-secs 10 --count 1 >"$scratch/received.json" 2>&1 || return 1
        grep -q "$1" "$scratch/received.json" && return 0
    done
    return 1
}

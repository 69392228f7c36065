#!/usr/bin/env bash
# Benchmark our kompira_sendevt against the reference kompira_sendevt (PyPI)
# on the same local broker, in one run:
#   - time: hyperfine --warmup 3 --runs 50 (results in .bench/hyperfine.json)
#   - memory: peak RSS with GNU time -f %M, max over 10 runs
# Targets: our median <= 1/25 of the reference's, our peak RSS <= 1/3.
#   bash scripts/bench-sendevt.sh [--strict]   (--strict: exit 1 when a target is missed)
# Env: KOMPIRA_SENDEVT      our binary (default: release build of this workspace)
#      KOMPIRA_REF_VERSION  reference version from PyPI (default 2.0.0)
#      BENCH_RUNS / BENCH_RSS_RUNS  counts (default 50 / 10)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

strict=0
[[ "${1:-}" == --strict ]] && strict=1

bench_dir="$PWD/.bench"
venv="$bench_dir/venv"
ref_version="${KOMPIRA_REF_VERSION:-2.0.0}"
runs="${BENCH_RUNS:-50}"
rss_runs="${BENCH_RSS_RUNS:-10}"
mkdir -p "$bench_dir"

# shellcheck source=scripts/setup.sh
source scripts/setup.sh   # packages (hyperfine, time, python3-venv), broker, testkit

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }

# --- reference tool in a throwaway venv (reused when it has the right version) --
ref="$venv/bin/kompira_sendevt"
have_version() { "$venv/bin/python" -m pip show kompira-sendevt 2>/dev/null | awk '/^Version:/{print $2}'; }
if [[ ! -x "$ref" || "$(have_version)" != "$ref_version" ]]; then
    say "installing reference kompira-sendevt==$ref_version into $venv"
    rm -rf "$venv"
    # Debian's python3 (with python3-venv) is always there after setup; prefer it.
    py=/usr/bin/python3
    [[ -x "$py" ]] || py="$(command -v python3)"
    log="$bench_dir/venv-install.log"
    { "$py" -m venv "$venv" &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "kompira-sendevt==$ref_version"; } >"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "could not install kompira-sendevt==$ref_version from PyPI"; }
    [[ -x "$ref" ]] || die "installed, but $ref is missing"
fi

# --- our binary -------------------------------------------------------------
if [[ -n "${KOMPIRA_SENDEVT:-}" ]]; then
    ours="$KOMPIRA_SENDEVT"
    [[ "$ours" == /* ]] || ours="$PWD/$ours"
    [[ -x "$ours" ]] || die "KOMPIRA_SENDEVT=$KOMPIRA_SENDEVT is not an executable"
else
    log="$bench_dir/build.log"
    cargo build --quiet --release -p kompira-sendevt --bin kompira_sendevt >"$log" 2>&1 ||
        { cat "$log" >&2; die "cargo build --release kompira_sendevt failed"; }
    ours="${CARGO_TARGET_DIR:-$PWD/target}/release/kompira_sendevt"
fi

"$KOMPIRA_TESTKIT" declare-queue
"$KOMPIRA_TESTKIT" purge

work="$(mktemp -d "${TMPDIR:-/tmp}/kompira-bench.XXXXXX")"
cleanup() { "$KOMPIRA_TESTKIT" purge || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/log-ref" "$work/log-ours" "$work/cwd"
cd "$work/cwd"   # empty cwd: neither tool picks up a ./kompira.conf

event="hostname=web1 severity=4 status=PROBLEM trigger_name=bench-event"
ref_cmd="$ref --logdir $work/log-ref $event"
ours_cmd="$ours --logdir $work/log-ours $event"

# Each tool must really deliver before we time it.
for name in reference ours; do
    if [[ $name == reference ]]; then cmd=$ref_cmd; else cmd=$ours_cmd; fi
    # shellcheck disable=SC2086  # the command line is deliberately word-split
    $cmd >"$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; die "$name failed: $cmd"; }
    "$KOMPIRA_TESTKIT" receive --timeout-secs 5 >/dev/null ||
        die "$name exited 0 but no event arrived on io_queue"
done

say "timing both with hyperfine (warmup 3, runs $runs)"
hyperfine --style basic --shell=none --warmup 3 --runs "$runs" \
    --export-json "$bench_dir/hyperfine.json" \
    --command-name reference "$ref_cmd" \
    --command-name ours "$ours_cmd" >"$bench_dir/hyperfine.txt" 2>&1 ||
    { cat "$bench_dir/hyperfine.txt" >&2; die "hyperfine failed"; }

peak_rss() { # command words...
    local max=0 i kib
    for ((i = 0; i < rss_runs; i++)); do
        /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 || die "failed under /usr/bin/time: $*"
        kib="$(tail -n 1 "$work/rss")"
        ((kib > max)) && max=$kib
    done
    echo "$max"
}
say "measuring peak RSS (max of $rss_runs runs each)"
# shellcheck disable=SC2086
ref_rss="$(peak_rss $ref_cmd)"
# shellcheck disable=SC2086
ours_rss="$(peak_rss $ours_cmd)"

python3 - "$bench_dir/hyperfine.json" "$ref_rss" "$ours_rss" "$ref" "$ours" "$runs" \
    >"$bench_dir/summary.txt" <<'PY'
import json, sys
path, ref_rss, ours_rss, ref, ours, runs = sys.argv[1:]
res = {r["command"]: r for r in json.load(open(path))["results"]}
ref_rss, ours_rss = int(ref_rss), int(ours_rss)
r, o = res["reference"], res["ours"]
ms = lambda s: s * 1000.0
print(f"kompira_sendevt benchmark ({runs} runs, same local broker)")
print(f"  reference: {ref}")
print(f"  ours:      {ours}")
print()
print(f"{'':12}{'median ms':>12}{'mean ms':>12}{'stddev ms':>12}{'peak RSS KiB':>15}")
for name, x, rss in (("reference", r, ref_rss), ("ours", o, ours_rss)):
    print(f"{name:12}{ms(x['median']):12.2f}{ms(x['mean']):12.2f}{ms(x['stddev'] or 0):12.2f}{rss:15d}")
t_ratio = r["median"] / o["median"]
m_ratio = ref_rss / ours_rss
print(f"{'ratio ref/ours':16}{t_ratio:8.1f}x{r['mean'] / o['mean']:11.1f}x{'':12}{m_ratio:14.1f}x")
print()
t_ok, m_ok = t_ratio >= 25, m_ratio >= 3
print(f"time   target ours <= 1/25 of reference (ratio >= 25): {'PASS' if t_ok else 'FAIL'} ({t_ratio:.1f}x)")
print(f"memory target ours <= 1/3 of reference (ratio >= 3):   {'PASS' if m_ok else 'FAIL'} ({m_ratio:.1f}x)")
print(f"overall: {'PASS' if t_ok and m_ok else 'FAIL'}")
PY
cat "$bench_dir/summary.txt"
say "details: $bench_dir/hyperfine.json, $bench_dir/hyperfine.txt, $bench_dir/summary.txt"
if ((strict)) && ! grep -q '^overall: PASS' "$bench_dir/summary.txt"; then
    exit 1
fi

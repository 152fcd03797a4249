#!/usr/bin/env bash
# The full reliability suite: every tests/reliability_*.rs with PLUMBERY_FULL_SUITE=1 (many seeds),
# one summary line per group, then "N passed, N failed". Exit status 0 only when nothing failed.
#   scripts/reliability.sh            # full suite
#   scripts/reliability.sh --quick    # CI's quick slice (what `cargo test` runs)
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--quick" ]; then
    unset PLUMBERY_FULL_SUITE
else
    export PLUMBERY_FULL_SUITE=1
fi
groups=()
for f in tests/reliability_*.rs; do
    groups+=("$(basename "$f" .rs)")
done
if [ ${#groups[@]} -eq 0 ]; then
    echo "no tests/reliability_*.rs found" >&2
    exit 2
fi
targets=()
for g in "${groups[@]}"; do targets+=(--test "$g"); done
echo "building ${#groups[@]} group(s)..."
if ! cargo test --quiet --no-run "${targets[@]}" 2>&1 | tail -n 20; then
    echo "build failed" >&2
    exit 2
fi
logdir=$(mktemp -d -t plumbery-reliability.XXXXXX)
total_pass=0
total_fail=0
for g in "${groups[@]}"; do
    start=$(date +%s)
    cargo test --quiet --test "$g" >"$logdir/$g.log" 2>&1
    status=$?
    secs=$(( $(date +%s) - start ))
    pass=$(grep -Eo '[0-9]+ passed' "$logdir/$g.log" | awk '{s+=$1} END {print s+0}')
    fail=$(grep -Eo '[0-9]+ failed' "$logdir/$g.log" | awk '{s+=$1} END {print s+0}')
    if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1 # the binary itself failed (crash, timeout): count it
    fi
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    verdict=ok
    [ "$fail" -gt 0 ] && verdict="FAILED (log: $logdir/$g.log)"
    printf '%-28s %4d passed %4d failed %5ds  %s\n' "$g" "$pass" "$fail" "$secs" "$verdict"
done
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ] && rm -rf "$logdir"
[ "$total_fail" -eq 0 ]

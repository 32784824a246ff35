#!/usr/bin/env bash
# Runs every libFuzzer target of build-fuzz/ for SECONDS seconds each (two at a time), starting
# from the seed corpus in tests/fuzz/corpus/TARGET (never written to: new inputs go to
# BUILD/corpus/TARGET), and prints one line per target. Exits 1 if any target found an input that
# breaks a property or crashes; the input is kept in BUILD/artifacts/TARGET/ (copy it into
# tests/fuzz/regressions/TARGET/ once fixed: the test suite replays it from then on).
#   usage: tests/fuzz/run.sh BUILD SECONDS [TARGET...]
set -uo pipefail
build=$1
seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$src"/targets/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
jobs=$(nproc)
one() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "$src/corpus/$t" >"$build/fuzz-$t.log" 2>&1
  local rc=$?
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/fuzz-$t.log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$build/fuzz-$t.log" | tail -1 | awk '{print $2}')
  if [ $rc -eq 0 ]; then
    printf '%-11s %10s executions in %ss, coverage %s edges: OK\n' "$t" "${execs:-?}" "$seconds" "${cov:-?}"
  else
    printf '%-11s FAILED (exit %s); see %s\n' "$t" "$rc" "$build/fuzz-$t.log"
    grep -m1 -E 'property broken|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$build/fuzz-$t.log"
    ls "$build/artifacts/$t/"
    return 1
  fi
}
export -f one
export build seconds src
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'

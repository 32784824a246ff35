#!/usr/bin/env bash
# Runs every libFuzzer target of build-fuzz/ for SECONDS seconds each (two at a time), starting
# from the seed corpus in tests/fuzz/corpus/TARGET (never written to: new inputs go to
# BUILD/corpus/TARGET), and prints one line per target. With FUZZ_RUNS=N in the environment each
# target instead runs exactly N inputs from a fixed seed (FUZZ_SEED, default 1) and a fresh corpus:
# the same inputs every time, so a CI run that passed once passes again; the timed runs explore. Exits 1 if any target found an input that
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
  local t=$1 corpus="$build/corpus/$t" budget=(-max_total_time="$seconds")
  if [ -n "${FUZZ_RUNS:-}" ]; then
    corpus="$build/corpus-fixed/$t"
    rm -rf "$corpus"
    budget=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
  fi
  mkdir -p "$corpus" "$build/artifacts/$t"
  "$build/tests/fuzz/fuzz_$t" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$corpus" "$src/corpus/$t" >"$build/fuzz-$t.log" 2>&1
  local rc=$?
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/fuzz-$t.log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$build/fuzz-$t.log" | tail -1 | awk '{print $2}')
  if [ $rc -eq 0 ]; then
    printf '%-11s %10s executions, coverage %s edges: OK\n' "$t" "${execs:-?}" "${cov:-?}"
  else
    printf '%-11s FAILED (exit %s); see %s\n' "$t" "$rc" "$build/fuzz-$t.log"
    grep -m1 -E 'property broken|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$build/fuzz-$t.log"
    ls "$build/artifacts/$t/"
    return 1
  fi
}
export -f one
export build seconds src FUZZ_RUNS FUZZ_SEED
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'

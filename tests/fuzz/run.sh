#!/bin/sh
# tests/fuzz/run.sh FUZZ_BUILD SECONDS TARGET...: run each libFuzzer target
# for SECONDS (or FUZZ_RUNS executions, if set) from its committed seeds
# (tests/fuzz/corpus/TARGET, read only) and what earlier runs found
# (FUZZ_BUILD/corpus/TARGET, which grows), with tests/fuzz/TARGET.dict if
# there is one; an input too big to fuzz from (the pack target's whole
# bundled pack) runs through the target once first, and its failure fails
# the target. One line per target: executions, seconds, executions a
# second, coverage, crashes. Fails if any target crashed or a sanitizer
# reported (the input is in FUZZ_BUILD/artifacts/TARGET/, the log beside it).
set -u
build=$1; seconds=$2; shift 2
status=0
printf '%-12s %12s %8s %10s %7s %8s %s\n' target executions seconds "exec/s" edges crashes result
for t in "$@"; do
  bin="$build/fuzz_$t"
  seeds="tests/fuzz/corpus/$t"
  corpus="$build/corpus/$t"
  art="$build/artifacts/$t"
  log="$build/logs/$t.log"
  mkdir -p "$corpus" "$art" "$build/logs"
  [ -x "$bin" ] || { echo "fuzz: $bin is missing" >&2; status=1; continue; }
  dict=""; [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  # inputs up to 16 KiB (a long stream); a pack up to 8 KiB: a few models
  # carry every field (the bundled pack, 47 KB, is run once, whole, below)
  case $t in pack) maxlen=8192 ;; *) maxlen=16384 ;; esac
  # inputs too big to fuzz from, each run once through the target first
  case $t in pack) whole=scoring/baselines/bundled.json ;; *) whole= ;; esac
  limit="-max_total_time=$seconds"; [ -n "${FUZZ_RUNS:-}" ] && limit="-runs=$FUZZ_RUNS"
  before=$(ls "$art" | wc -l)
  t0=$(date +%s.%N)
  # leaks are reported too (ASan's LeakSanitizer at exit and per input)
  export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  : >"$log"
  rc=0
  [ -z "$whole" ] || "$bin" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/" $whole >>"$log" 2>&1 || rc=$?
  [ $rc -ne 0 ] ||
    "$bin" $limit $dict -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$art/" "$corpus" "$seeds" >>"$log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  edges=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  crashes=$(( $(ls "$art" | wc -l) - before ))
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b - a}')
  rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN{ if (s > 0) printf "%.0f", n / s; else print "-" }')
  result=ok
  if [ $rc -ne 0 ] || grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\|libFuzzer\)\|runtime error:' "$log"; then
    result="FAILED (exit $rc; $log)"; status=1
  fi
  printf '%-12s %12s %8s %10s %7s %8s %s\n' "$t" "${execs:--}" "$secs" "$rate" "${edges:--}" "$crashes" "$result"
  [ "$result" = ok ] || grep -m3 'ERROR:\|runtime error:\|SUMMARY' "$log" >&2
done
exit $status

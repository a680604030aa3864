#!/bin/sh
# Run each Criterion test binary; report every failure, fail if any failed.
# The closing line sums the Criterion tallies: "N passed, N failed".
failed=0; pass=0; fail=0; bad=""; times=""
# sanitizer builds: Criterion's own allocations are not ours to report
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
for t in "$@"; do
  t0=$(date +%s)
  out=$("$t" --jobs 2 2>&1); rc=$?
  times="$times$(( $(date +%s) - t0 )) $(basename "$t")
"
  printf '%s\n' "$out" | grep -v '^\[====\] Synthesis' || true
  s=$(printf '%s\n' "$out" | sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\2 \3 \4/p' | tail -1)
  set -- $s
  if [ -n "$s" ]; then pass=$((pass + $1)); fail=$((fail + $2 + $3)); fi
  if [ $rc -ne 0 ] || [ -z "$s" ]; then failed=1; bad="$bad $(basename "$t")"; fi
  shift $# 2>/dev/null
done
# the slowest binaries, to keep make check well under its half hour
printf '%s' "$times" | sort -rn | head -8 | awk '{ printf "slowest: %s %d s\n", $2, $1 }'
echo "tests: $pass passed, $fail failed"
[ $failed -eq 0 ] || { echo "failing test binaries:$bad" >&2; exit 1; }

#!/bin/sh
# Serve against the detection world's evaders, end to end: the real engine,
# monitor, ledger and database, runs a few seconds apart (simulated time
# runs 20 times faster, --time-scale 0.05), then each relay's verdict run
# after run (g genuine, s suspect, m misbehaving, i inconclusive, u
# unreachable), the run it first became suspect and how often it changed.
# What `assay-eval --serve-days` computes from resampled audits, here from
# serve itself; slow (the default: 80 runs of four relays, some 4 minutes).
# usage: bench/serve_evaders.sh [BUILD_DIR] [SECONDS] [RELAY...]
#   (no RELAY: budget-30pct budget-10pct evade-tests-mini honest)
set -u
build=${1:-build}
seconds=${2:-240}
shift $(($# < 2 ? $# : 2))
relays=${*:-budget-30pct budget-10pct evade-tests-mini honest}
dir=$(mktemp -d)
fpid=""
trap '[ -n "$fpid" ] && kill "$fpid" 2>/dev/null; [ -n "$fpid" ] && wait "$fpid" 2>/dev/null; rm -rf "$dir"' EXIT

"$build/assay-fixture" -c tests/data/detect/world.yaml --time-scale 0.05 \
  >"$dir/fixture.out" 2>"$dir/fixture.err" &
fpid=$!
for _ in $(seq 100); do grep -q '^listening official ' "$dir/fixture.out" && break; sleep 0.1; done
{
  echo 'title: "serve against evaders"'
  echo 'listen: 127.0.0.1:0'
  echo "database: $dir/assay.db"
  echo 'interval: 3s'
  echo 'timeout: 30s'
  echo 'time_scale: 0.05'
  echo 'relays:'
  for r in $relays; do
    url=$(awk -v r="$r" '$2==r{print $3}' "$dir/fixture.out")
    [ -n "$url" ] || { echo "serve_evaders: no relay '$r' in the world" >&2; exit 2; }
    echo "  - name: $r"
    echo "    base_url: \"$url\""
    echo "    models: [gpt-4o]"
  done
} >"$dir/assay.yaml"
ASSAY_BASELINE_DIR=fixtures/baselines timeout -s TERM "$seconds" \
  "$build/assay" serve -c "$dir/assay.yaml" >"$dir/serve.out" 2>"$dir/serve.err"
# "assay: RELAY MODEL: VERDICT (...)": one line a run
awk '$1=="assay:" && NF >= 4 && $3 ~ /:$/ {
       r = $2; v = substr($4, 1, 1); seq[r] = seq[r] v; n[r]++
       if (!(r in first) && (v == "s" || v == "m")) first[r] = n[r]
       if (r in last && last[r] != v) changes[r]++
       last[r] = v
     }
     END {
       for (r in seq)
         printf "%-18s %3d runs, first suspect: %s, changes: %d\n  %s\n", r, n[r],
                (r in first) ? "run " first[r] : "never", changes[r] + 0, seq[r]
     }' "$dir/serve.err"

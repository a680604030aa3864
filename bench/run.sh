#!/bin/sh
# make bench: run every benchmark script in bench/ against the given build.
# Each prints its own table; this fails if any of them fails.
build=${1:-build}
status=0
for b in bench/tokenizer.sh bench/fixture.sh bench/engine.sh bench/web.sh bench/serve_sim.py bench/store.sh bench/hub.sh; do
  [ -x "$b" ] || continue
  echo "== $b"
  "$b" "$build" || { echo "bench: $b failed" >&2; status=1; }
done
exit $status

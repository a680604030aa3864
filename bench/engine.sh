#!/bin/bash
# Probe-engine benchmark (issue 5), all on loopback against assay-fixture:
#  - throughput and CPU per probe at 1, 100, 1,000 and 10,000 concurrent
#    streamed probes (bench-fast: instant answers, so the cost is the client's,
#    and bench-timed: 200 ms TTFT + 50 tokens/s, so streams stay open)
#  - wrk on the same endpoint and body (the limit), and the official Node
#    `openai` SDK doing the same (what a user would write instead)
#  - the same with parsing off (bodies read and dropped), and a bare libcurl
#    client (bench/curl_floor.c): the floor that curl, libevent and the
#    kernel set, whatever the engine does on top
#  - parsing alone (no network): the adapter, SSE and JSON per probe, the
#    hot path's JSON parser's share of it (probes/chunk_json.h, simdjson), and
#    jansson on the same events (the parser before it)
#  - TTFT and tokens/s error at 1 and 1,000 concurrent, time scale 1, both
#    against the fixture's scheduled times and against the times its bytes
#    truly left (the fixture's --send-log), with a precise and a default base.
# The fixture runs on core 1, every client on core 0 ("one core each side").
# usage: bench/engine.sh BUILD_DIR
set -u
build=${1:-build}
dir=$(mktemp -d)
trap 'kill $fpid 2>/dev/null; wait $fpid 2>/dev/null; rm -rf "$dir"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 20000 ] || echo "bench: open-file limit $(ulimit -n) is low; 10,000 streams may fail" >&2

# one core each side: the fixture on core 1, the clients on core 0
fixcpu=""; [ "$(nproc)" -ge 2 ] && fixcpu="taskset -c 1"
# --send-log: the fixture logs when each text event truly left (bench only)
$fixcpu "$build/assay-fixture" -c bench/engine/world.yaml --send-log "$dir/sends.log" >"$dir/fixture.out" 2>"$dir/fixture.err" &
fpid=$!
for _ in $(seq 100); do grep -q '^listening official' "$dir/fixture.out" && break; sleep 0.1; done
base=$(awk '$2=="official"{print $3}' "$dir/fixture.out")
[ -n "$base" ] || { echo "bench: fixture did not start" >&2; cat "$dir/fixture.err" >&2; exit 1; }

if [ ! -d bench/engine/node/node_modules/openai ]; then
  (cd bench/engine/node && npm ci --no-audit --no-fund --silent) || echo "bench: npm ci failed; skipping the Node SDK" >&2
fi

field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); v=d.get(sys.argv[2]); print('-' if v is None else (f'{v:.3f}' if isinstance(v,float) else v))" "$1" "$2"; }

export BENCH_BODY='{"model":"bench-fast","messages":[{"role":"user","content":"[ref 00000000] Say something short."}],"max_tokens":16,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}'
TIMEFORMAT="%U %S"

printf '\nThroughput, streamed probes of 16 tokens (bench-fast), one core each side\n'
printf '%-12s %8s %10s %12s %16s\n' concurrency probes probes/s cpu_us/probe "MiB/1000 inflight"
for c in 1 100 1000 10000; do
  n=$((c * 4)); [ $n -lt 2000 ] && n=2000
  out=$(taskset -c 0 "$build/assay-bench-engine" "$base" bench-fast $c $n 2>&1 | tail -1)
  printf '%-12s %8s %10s %12s %16s\n' "$c" "$(field "$out" ok)" "$(field "$out" probes_per_s)" \
    "$(field "$out" cpu_us_per_probe)" "$(field "$out" mib_per_1000_inflight)"
done

printf '\nSame, parsing off (BENCH_PARSE=off: bodies read and dropped, no SSE, no JSON):\n'
printf 'what curl, libevent and the kernel cost alone; the rest of a probe is parsing\n'
printf '%-12s %8s %10s %12s\n' concurrency probes probes/s cpu_us/probe
for c in 100 1000; do
  n=$((c * 4)); [ $n -lt 2000 ] && n=2000
  out=$(BENCH_PARSE=off taskset -c 0 "$build/assay-bench-engine" "$base" bench-fast $c $n 2>&1 | tail -1)
  printf '%-12s %8s %10s %12s\n' "$c" "$(field "$out" ok)" "$(field "$out" probes_per_s)" "$(field "$out" cpu_us_per_probe)"
done

printf '\nBare libcurl (bench/curl_floor.c: curl multi on libevent, easy handles reused,\n'
printf 'bodies dropped; no observation, stamps or parsing): the least any libcurl client spends\n'
printf '%-12s %8s %10s %12s\n' concurrency requests req/s cpu_us/req
for c in 1 100 1000; do
  n=$((c * 4)); [ $n -lt 2000 ] && n=2000
  out=$(taskset -c 0 "$build/assay-bench-curl" "$base" $c $n 2>&1 | tail -1)
  printf '%-12s %8s %10s %12s\n' "$c" "$(field "$out" ok)" "$(field "$out" requests_per_s)" "$(field "$out" cpu_us_per_request)"
done

printf '\nParsing alone, no network (BENCH_PARSE=only: one bench-fast answer parsed as the\n'
printf 'engine does, one feed per event): all of it, the JSON parser alone (chunk_json:\n'
printf 'simdjson and our nodes), and jansson'"'"'s json_loadb() on the same events\n'
out=$(BENCH_PARSE=only taskset -c 0 "$build/assay-bench-engine" "$base" bench-fast 1 20000 2>&1 | tail -1)
mbs() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(f\"{d['json_bytes_per_probe']/d[sys.argv[2]]:.1f}\")" "$out" "$1"; }
printf '%-10s %12s %16s %14s %12s %16s %14s\n' events json_bytes "parse us/probe" "json us/probe" "json MB/s" "jansson us/probe" "jansson MB/s"
printf '%-10s %12s %16s %14s %12s %16s %14s\n' "$(field "$out" events_per_probe)" "$(field "$out" json_bytes_per_probe)" \
  "$(field "$out" parse_cpu_us_per_probe)" "$(field "$out" json_cpu_us_per_probe)" "$(mbs json_cpu_us_per_probe)" \
  "$(field "$out" jansson_cpu_us_per_probe)" "$(mbs jansson_cpu_us_per_probe)"

printf '\nOpen streams (bench-timed: 200 ms TTFT, 50 tokens/s, 16 tokens)\n'
printf '%-12s %8s %10s %12s %16s %12s\n' concurrency ok probes/s cpu_us/probe "MiB/1000 inflight" first_error
for c in 1000 10000; do
  out=$(taskset -c 0 "$build/assay-bench-engine" "$base" bench-timed $c $c 200 50 2>&1 | tail -1)
  printf '%-12s %8s %10s %12s %16s %12s\n' "$c" "$(field "$out" ok)" "$(field "$out" probes_per_s)" \
    "$(field "$out" cpu_us_per_probe)" "$(field "$out" mib_per_1000_inflight)" "$(field "$out" first_error)"
done

printf '\nwrk on the same endpoint and body (the limit: it reads bytes, parses nothing)\n'
printf '%-12s %10s %12s\n' connections req/s cpu_us/req
for c in 1 100 1000; do
  { time taskset -c 0 wrk -t1 -c$c -d5s -s bench/engine/post.lua "$base/chat/completions" >"$dir/wrk.out" 2>&1; } 2>"$dir/wrk.time"
  reqs=$(awk '/requests in/{print $1}' "$dir/wrk.out")
  rps=$(awk '/Requests\/sec/{print $2}' "$dir/wrk.out")
  cpu=$(awk -v n="$reqs" '{printf "%.2f", ($1+$2)*1e6/n}' "$dir/wrk.time")
  printf '%-12s %10s %12s\n' "$c" "$rps" "$cpu"
done

if [ -d bench/engine/node/node_modules/openai ]; then
  printf '\nNode openai SDK, same requests\n'
  printf '%-12s %10s %12s\n' concurrency req/s cpu_us/req
  for c in 1 100 1000; do
    n=$((c * 4)); [ $n -lt 2000 ] && n=2000
    out=$(taskset -c 0 node bench/engine/node/sdk.mjs "$base" bench-fast $c $n 2>&1 | tail -1)
    printf '%-12s %10s %12s\n' "$c" "$(field "$out" requests_per_s)" "$(field "$out" cpu_us_per_request)"
  done
fi

printf '\nTiming accuracy at time scale 1 (fixture injects 200 ms TTFT, 50 tokens/s)\n'
printf 'vs scheduled: against the times the fixture was told to send at (includes the\n'
printf '  fixture'"'"'s own lateness); vs sent: against the times its bytes truly left\n'
printf '  (--send-log, same monotonic clock): the engine'"'"'s own error, kernel included\n'
printf 'arrivals are stamped with the kernel'"'"'s receive time (SO_TIMESTAMPNS, peeked);\n'
printf '  where there is none: base default = event_base_new(), as the product: time of\n'
printf '  the read; precise = engine_base_new(): time the loop turn woke\n'
printf 'flagged: streams the engine itself marked timing_disturbed (its loop was late\n'
printf '  while chunks piled up; unflagged p99: TTFT error vs sent over the rest);\n'
printf '  the other errors are over all streams, flagged or not\n'
printf 'flag vs truth: of the flagged, how many had a chunk stamped more than 4 ms\n'
printf '  from its send, either way (the flag was needed) / of the unflagged, how many\n'
printf '  had (missed: 0 wanted)\n'
printf '%-20s %-8s %22s %22s %22s %22s %8s %14s %16s\n' concurrency base "ttft_err vs sched" "ttft_err vs sent" "tps_relerr vs sched" "tps_relerr vs sent" flagged "unflagged p99" "flag vs truth"
printf '%-20s %-8s %22s %22s %22s %22s %8s %14s %16s\n' "" "" "med / p99 ms" "med / p99 ms" "med / p99" "med / p99" "" "ms" "needed / missed"
# 1 at a time; 1,000 in flight in steady state (4,000 requests submitted
# evenly over 2 s: each lasts ~0.5 s); and 1,000 started in the same instant
for mode in "1 50 0" "1000 4000 2000" "1000 1000 0"; do
  for precise in 0 1; do
    set -- $mode
    label="$1"; [ "$3" != 0 ] && label="$1 (steady)"; [ "$1" = 1000 ] && [ "$3" = 0 ] && label="1000 (one burst)"
    out=$(BENCH_PRECISE=$precise BENCH_SEND_LOG="$dir/sends.log" taskset -c 0 "$build/assay-bench-engine" "$base" bench-timed $1 $2 200 50 $3 2>&1 | tail -1)
    [ "$(field "$out" true_matched)" = "$(field "$out" ok)" ] || echo "bench: only $(field "$out" true_matched) of $(field "$out" ok) streams found in the send log" >&2
    printf '%-20s %-8s %22s %22s %22s %22s %8s %14s %16s\n' "$label" "$([ $precise = 1 ] && echo precise || echo default)" \
      "$(field "$out" ttft_abs_err_ms_median) / $(field "$out" ttft_abs_err_ms_p99)" \
      "$(field "$out" true_ttft_abs_err_ms_median) / $(field "$out" true_ttft_abs_err_ms_p99)" \
      "$(field "$out" tps_rel_err_median) / $(field "$out" tps_rel_err_p99)" \
      "$(field "$out" true_tps_rel_err_median) / $(field "$out" true_tps_rel_err_p99)" \
      "$(field "$out" timing_disturbed)" "$(field "$out" true_ttft_abs_err_ms_p99_unflagged)" \
      "$(field "$out" flagged_off_4ms) / $(field "$out" unflagged_off_4ms)"
  done
done

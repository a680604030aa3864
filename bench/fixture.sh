#!/bin/sh
# Fixture benchmark: how many requests a second assay-fixture serves on
# loopback, and its CPU per request, so it is never the bottleneck of a
# benchmark. wrk drives it from its own core; the fixture runs on another
# with delays shrunk to nothing (--time-scale 1e-6), so this is pure cost:
# HTTP, JSON, the knowledge table, the tokenizer, rendering.
# usage: bench/fixture.sh BUILD_DIR   (needs wrk: make bench-deps)
set -u
build=${1:-build}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (make bench-deps installs it)" >&2; exit 1; }
dir=$(mktemp -d)
fpid=""
trap '[ -n "$fpid" ] && kill "$fpid" 2>/dev/null; [ -n "$fpid" ] && wait "$fpid" 2>/dev/null; rm -rf "$dir"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
ncpu=$(nproc)
pin_fixture=""; pin_wrk=""
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
  pin_fixture="taskset -c 0"; pin_wrk="taskset -c 1"
fi
duration=${FIXTURE_BENCH_SECONDS:-5}

$pin_fixture "$build/assay-fixture" -c fixtures/demo.yaml --time-scale 0.000001 \
  >"$dir/fixture.out" 2>"$dir/fixture.err" &
fpid=$!
for _ in $(seq 100); do grep -q '^listening vanishing-relay' "$dir/fixture.out" && break; sleep 0.1; done
official=$(awk '$2=="official"{print $3}' "$dir/fixture.out")
relay=$(awk '$2=="honest-relay"{print $3}' "$dir/fixture.out")
[ -n "$official" ] && [ -n "$relay" ] || { echo "bench: the fixture did not start" >&2; cat "$dir/fixture.err" >&2; exit 1; }

# CPU seconds (user + system) the fixture has used so far
cpu() { awk '{printf "%.4f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$fpid/stat"; }

post() { # name body
  cat >"$dir/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$2]]
LUA
}
post pong '{"model":"gpt-4o","messages":[{"role":"user","content":"[ref 0a1b2c3d] Reply with the single word: pong"}],"temperature":0}'
post filler '{"model":"gpt-4o","messages":[{"role":"user","content":"Tell me about lighthouses."}],"max_tokens":64}'
post stream '{"model":"gpt-4o","messages":[{"role":"user","content":"Tell me about lighthouses."}],"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}'
post qwen '{"model":"qwen3-32b","messages":[{"role":"user","content":"请介绍一下灯塔的历史。"}],"max_tokens":64}'
post claude '{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"Tell me about lighthouses."}]}'

run() { # label url [lua] [connections]
  c=${4:-64}
  before=$(cpu)
  if [ -n "${3:-}" ]; then
    $pin_wrk wrk -t1 -c"$c" -d"${duration}s" --latency -s "$dir/$3.lua" -H 'anthropic-version: 2023-06-01' "$2" >"$dir/wrk.out" 2>&1
  else
    $pin_wrk wrk -t1 -c"$c" -d"${duration}s" --latency "$2" >"$dir/wrk.out" 2>&1
  fi
  after=$(cpu)
  reqs=$(awk '/requests in/{print $1}' "$dir/wrk.out")
  rps=$(awk '/Requests\/sec/{printf "%.0f", $2}' "$dir/wrk.out")
  p50=$(awk '$1=="50%"{print $2}' "$dir/wrk.out")
  p99=$(awk '$1=="99%"{print $2}' "$dir/wrk.out")
  bad=$(awk '/Non-2xx/{print $4}' "$dir/wrk.out")
  us=$(awk -v a="$before" -v b="$after" -v n="${reqs:-0}" 'BEGIN{ if (n > 0) printf "%.1f", (b - a) * 1e6 / n; else print "-" }')
  printf '%-34s %6s %9s %11s %9s %9s %7s\n' "$1" "$c" "${rps:--}" "$us" "${p50:--}" "${p99:--}" "${bad:-0}"
  [ -n "$reqs" ] && [ "${bad:-0}" = 0 ] || status=1
}

status=0
printf 'assay-fixture on loopback, %s s per row, fixture on one core%s\n' "$duration" \
  "$([ -n "$pin_wrk" ] && echo ', wrk on another')"
printf '%-34s %6s %9s %11s %9s %9s %7s\n' request conns req/s cpu_us/req p50 p99 non-2xx
run "GET /v1/models" "$official/models"
run "chat, knowledge answer (pong)" "$official/chat/completions" pong
run "chat, 64 tokens of free text" "$official/chat/completions" filler
run "chat, 64 tokens streamed (SSE)" "$official/chat/completions" stream
run "chat, qwen3-32b, CJK prompt" "$official/chat/completions" qwen
run "messages, claude-sonnet-4" "$(echo "$official" | sed 's|/v1$||')/v1/messages" claude
run "chat via honest relay (pong)" "$relay/chat/completions" pong
run "chat, knowledge answer, 1 conn" "$official/chat/completions" pong 1
run "chat, knowledge answer, 1000 conns" "$official/chat/completions" pong 1000
exit $status

#!/bin/sh
# bench/hub.sh BUILD: the hub's pages at scale (issue 20's goal: "hub pages
# p99 under 10 ms at 100 connections with 10,000 relay-models, from
# memory"), on SQLite and on PostgreSQL (a private cluster, fsync off, as
# tests/pg_helpers.c starts one).
#
# 1. bench/hub_fill.c writes the database through the store API (serve's
#    store_save_run with its timeline, the agents' store_agent_save_run,
#    each PostgreSQL region as its own role under row-level security):
#    2,000 relays x 5 models, HUB_BENCH_DAYS days of serve's history (one
#    run a day, and one every 3 hours over the last 12), and one run of
#    every relay-model from each of 5 regions in the last two minutes.
# 2. `assay serve` is the hub on it (quorum 3 of 5 regions, agents'
#    interval 1 minute); its own relays point at a closed loopback port and
#    are audited once a day, so each of the 10,000 has one unreachable run
#    in the first 10 s; the bench waits for those and for the hub to have
#    read the agents' runs.
# 3. wrk, one thread, 100 connections, gzip asked as browsers do, for each
#    page a user hits: the status page /, the leaderboard, a relay page
#    (with its by-region view), the status API a page at a time
#    (/api/v1/relays-1.json) and whole (/api/v1/relays), one endpoint's
#    JSON (its regions), /metrics, a badge. Quiet first; then
#    again while the agents write at full rate (10,000 x 5 runs a minute,
#    hub_fill live), which the hub reads and folds as it serves, with 10
#    live viewers following the changes (/api/v1/events).
#
# One core each side (as bench/engine.sh): the server (assay serve, and
# nginx for the reference) on core 1, wrk on core 0, so the client does not
# take the server's time; the database server and the live agents run on
# the client's core too (on a real hub they are other machines: left to the
# kernel, PostgreSQL's backends took the hub's core while the agents wrote,
# and the pages' p99 measured that).
#
# Prints p50 / p99 per page and engine; exits 1 when a page's p99 is 10 ms
# or more, or a request failed. The goal is the pages' (what a browser, a
# badge or a status client asks for, many at a time): the whole status API
# (/api/v1/relays, tens of MB at 10,000) and /metrics (a Prometheus scrape,
# one at a time) are bulk downloads, measured the same way and printed, and
# not held to it. Environment: HUB_BENCH_DURATION (seconds
# per wrk run, default 5), HUB_BENCH_DAYS (default 1; 90 for the full 90-day
# bars), HUB_BENCH_RELAYS / HUB_BENCH_MODELS (default 2000 x 5),
# HUB_BENCH_ENGINES (default "sqlite postgres"), HUB_BENCH_VIEWERS (live
# viewers following /api/v1/events while the agents write, default 10).
set -u
build=${1:-build}
duration=${HUB_BENCH_DURATION:-5}
days=${HUB_BENCH_DAYS:-1}
relays=${HUB_BENCH_RELAYS:-2000}
models=${HUB_BENCH_MODELS:-5}
engines=${HUB_BENCH_ENGINES:-sqlite postgres}
viewers=${HUB_BENCH_VIEWERS:-10}
regions=5
fill="$build/bench/hub-fill"
gen="$build/bench/web-gen"
work=$(mktemp -d "${TMPDIR:-/tmp}/assay-bench-hub.XXXXXX")
serve_pid=""
live_pid=""
nginx_pid=""
pg_dir=""

stop_serve() {
  [ -n "$live_pid" ] && kill "$live_pid" 2>/dev/null && wait "$live_pid" 2>/dev/null
  live_pid=""
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  serve_pid=""
}
cleanup() {
  stop_serve
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  [ -n "$pg_dir" ] && "$fill" pg-stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

die() { echo "bench/hub: $*" >&2; exit 1; }

[ -x "$fill" ] || die "$fill is missing (make $fill)"
[ -x "$gen" ] || die "$gen is missing (make $gen)"
command -v wrk >/dev/null || die "wrk is not installed (make bench-deps installs it)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is not installed (make bench-deps installs it)"

# one core each side (see the top); one machine of one core: no pinning
srvcpu=""; clicpu=""; srvcores=$(nproc)
if [ "$(nproc)" -ge 2 ]; then srvcpu="taskset -c 1"; clicpu="taskset -c 0"; srvcores=1; fi

# wrk URL -> "requests_per_s p50_ms p99_ms errors"
ms() {
  awk '/us$/ {sub("us",""); print $1/1000; next}
       /ms$/ {sub("ms",""); print $1; next}
       /s$/  {sub("s",""); print $1*1000; next} {print 0}'
}
run_wrk() {
  out=$($clicpu wrk -t1 -c100 -d"${duration}s" --latency -H 'Accept-Encoding: gzip' "$1" 2>&1) ||
    { echo "0 0 0 1"; return; }
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}' | ms)
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}' | ms)
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}')
  [ -n "$errors" ] && echo "bench/hub: $1: $errors" >&2
  echo "$rps $p50 $p99 $([ -n "$errors" ] && echo 1 || echo 0)"
}

# The limit beside it, once: nginx serving the status page's bytes as a
# static file (gzip_static), on the same machine under the same load, on
# the server's core with one worker a core.
nginx_reference() {
  mkdir -p "$work/www" "$work/nginx"
  chmod 755 "$work" "$work/www"
  curl -sf "$1/" -o "$work/www/index.html"
  curl -sf -H 'Accept-Encoding: gzip' "$1/" -o "$work/www/index.html.gz"
  chmod 644 "$work/www/"*
  nport=$("$gen" --free-port)
  {
    echo "worker_processes $srvcores; pid $work/nginx/nginx.pid; daemon off;"
    echo "error_log $work/nginx/error.log warn; events { worker_connections 4096; }"
    echo "http { access_log off; sendfile on; keepalive_requests 1000000; gzip_static on;"
    echo "  default_type text/html; client_body_temp_path $work/nginx;"
    echo "  proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;"
    echo "  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;"
    echo "  server { listen 127.0.0.1:$nport; root $work/www; index index.html; } }"
  } >"$work/nginx/nginx.conf"
  $srvcpu "$NGINX" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
  nginx_pid=$!
  tries=0
  until curl -sf "http://127.0.0.1:$nport/" -o /dev/null; do
    tries=$((tries + 1)); [ $tries -le 100 ] || die "nginx did not start"
    sleep 0.1
  done
  set -- $(run_wrk "http://127.0.0.1:$nport/")
  echo "nginx quiet status $1 $2 $3 $4" >>"$results"
  echo "nginx: the status page's bytes: $1 requests/s, p50 $2 ms, p99 $3 ms"
  kill "$nginx_pid" 2>/dev/null
  wait "$nginx_pid" 2>/dev/null
}

status=0
results="$work/results"
: >"$results"
n=$((relays * models))
# what a live viewer costs the board itself (bench/events_bench.c)
"$build/assay-bench-events" $n 2000 $([ "$viewers" -gt 0 ] && echo "$viewers" || echo 10) || status=1
echo "== hub: $relays relays x $models models ($n relay-models), $regions regions, $days days of history"
for engine in $engines; do
  if [ "$engine" = postgres ]; then
    set -- $($clicpu "$fill" pg-start) || die "cannot start PostgreSQL"
    db=$1
    pg_dir=$2
    export ASSAY_TEST_PG_DIR="$pg_dir" # hub_fill's agents' addresses (tests/pg_helpers.c)
  else
    db="$work/hub.db"
  fi
  t0=$(date +%s)
  "$fill" fill "$db" --relays "$relays" --models "$models" --regions $regions --days "$days" ||
    die "$engine: hub_fill failed"
  echo "$engine: filled in $(( $(date +%s) - t0 )) s"
  dead=$("$gen" --free-port)
  port=$("$gen" --free-port)
  {
    echo "title: Assay hub benchmark"
    echo "listen: 127.0.0.1:$port"
    echo "database: $db"
    echo "interval: 1m"
    echo "timeout: 2s"
    echo "quorum: 3 of $regions regions"
    echo "relays:"
    "$fill" names --relays "$relays" --models "$models" --base-url "http://127.0.0.1:$dead/v1"
  } >"$work/hub.yaml"
  t0=$(date +%s%N)
  $srvcpu "$build/assay" serve -c "$work/hub.yaml" >"$work/serve-$engine.out" 2>"$work/serve-$engine.err" &
  serve_pid=$!
  tries=0
  until grep -q '^serving ' "$work/serve-$engine.out"; do
    kill -0 "$serve_pid" 2>/dev/null || { tail -5 "$work/serve-$engine.err" >&2; die "assay serve exited"; }
    tries=$((tries + 1)); [ $tries -le 6000 ] || die "assay serve did not start in 600 s"
    sleep 0.1
  done
  echo "$engine: assay serve loaded the history and listens after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  base="http://127.0.0.1:$port"
  # its own first runs (a closed port: unreachable), then the agents' runs
  # read: the last one written is the last relay-model's from the last region
  tries=0
  until [ "$(grep -c ': unreachable (' "$work/serve-$engine.err")" -ge "$n" ]; do
    kill -0 "$serve_pid" 2>/dev/null || die "assay serve exited"
    tries=$((tries + 1)); [ $tries -le 1800 ] || die "the hub's own first runs did not end"
    sleep 0.2
  done
  last_relay=$(printf 'relay-%04d.example' $((relays - 1)))
  last_key=$(curl -sf "$base/api/v1/relays" | tr '{' '\n' |
             sed -n "s/.*\"key\": *\"\\($last_relay[^\"]*\\)\".*/\\1/p" | tail -1)
  [ -n "$last_key" ] || die "no endpoint key for $last_relay"
  last_region=$(echo "eu us ap sa af" | cut -d' ' -f$regions)
  tries=0
  until curl -sf "$base/api/v1/endpoints/$last_key.json" | grep -q "\"region\": *\"$last_region\""; do
    tries=$((tries + 1)); [ $tries -le 1200 ] || die "the hub did not read the agents' runs"
    sleep 0.5
  done
  echo "$engine: first runs and agents' runs read after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$serve_pid/status")
  echo "$engine: assay serve resident memory $((rss / 1024)) MiB"
  mid_relay=$(printf 'relay-%04d.example' $((relays / 2)))
  mid_key=$(curl -sf "$base/api/v1/relays" | tr '{' '\n' |
            sed -n "s/.*\"key\": *\"\\($mid_relay[^\"]*\\)\".*/\\1/p" | head -1)
  pages="status=/ leaderboard=/leaderboard/ relay=/relays/$mid_relay.html"
  pages="$pages api-page=/api/v1/relays-1.json api-relays=/api/v1/relays"
  pages="$pages endpoint=/api/v1/endpoints/$mid_key.json"
  pages="$pages metrics=/metrics badge=/api/v1/endpoints/$mid_key/uptimes/24h/badge.svg"
  for p in $pages; do
    path=${p#*=}
    bytes=$(curl -sf "$base$path" | wc -c)
    gz=$(curl -sf -H 'Accept-Encoding: gzip' "$base$path" | wc -c)
    echo "$engine: ${p%%=*} $path: $bytes bytes ($gz gzip)"
  done
  [ -z "$nginx_pid" ] && nginx_reference "$base"
  for load in quiet live; do
    if [ $load = live ]; then
      secs=$(( (duration + 2) * 8 + 30 ))
      $clicpu "$fill" live "$db" --relays "$relays" --models "$models" --regions $regions \
        --seconds $secs >"$work/live.out" 2>"$work/live.err" &
      live_pid=$!
      # live viewers, each following the changes (GET /api/v1/events):
      # from the status page's own point (data-seq) as its script asks; a
      # board too big for one table has no live rows, and its followers are
      # API clients, which get every entry first, then the changes
      curl -sf -o "$work/page.html" "$base/" || die "the status page did not load"
      since=$(grep -o 'data-seq="[0-9]*"' "$work/page.html" | head -1 | tr -dc 0-9)
      events="$base/api/v1/events${since:+?since=$since}"
      viewer_pids=""
      for v in $(seq 1 "$viewers"); do
        $clicpu curl -sN --max-time "$secs" "$events" >"$work/viewer-$v.txt" 2>/dev/null &
        viewer_pids="$viewer_pids $!"
      done
      sleep 2
    fi
    for p in $pages; do
      set -- $(run_wrk "$base${p#*=}")
      echo "$engine $load ${p%%=*} $1 $2 $3 $4" >>"$results"
      echo "$engine: $load ${p%%=*}: $1 requests/s, p50 $2 ms, p99 $3 ms"
    done
    if [ $load = live ]; then
      kill "$live_pid"
      wait "$live_pid" || { cat "$work/live.err" >&2; status=1; }
      live_pid=""
      echo "$engine: $(cat "$work/live.out")"
      for v in $viewer_pids; do kill "$v" 2>/dev/null; wait "$v" 2>/dev/null; done
      got=$(cat "$work"/viewer-*.txt 2>/dev/null | grep -c '^event: entry')
      big=""; [ -n "$since" ] || big=" (each every entry first: the board is too big for live rows)"
      echo "$engine: $viewers live viewers got $got events in all$big"
      [ "$viewers" = 0 ] || [ "$got" -gt 0 ] || { echo "FAILED: $engine: the live viewers got no events"; status=1; }
    fi
  done
  stop_serve
  if [ "$engine" = postgres ]; then
    "$fill" pg-stop "$pg_dir"
    pg_dir=""
  fi
done

printf '%-9s %-6s %-12s %12s %9s %9s\n' engine load page "requests/s" "p50 ms" "p99 ms"
while read -r engine load page rps p50 p99 err; do
  printf '%-9s %-6s %-12s %12.0f %9.2f %9.2f\n' "$engine" "$load" "$page" "$rps" "$p50" "$p99"
  [ "$err" = 0 ] || { echo "FAILED: $engine $load $page: requests failed"; status=1; }
  [ "$engine" = nginx ] && continue
  case $page in api-relays | metrics) continue ;; esac # bulk: see the top
  awk "BEGIN {exit !($p99 < 10)}" ||
    { echo "GOAL MISSED: $engine $load $page p99 >= 10 ms"; status=1; }
done <"$results"
[ $status = 0 ] && echo "hub: every page p99 under 10 ms at 100 connections with $n relay-models"
exit $status

#!/bin/sh
# bench/web.sh BUILD: the web pages under load, next to nginx serving the
# same bytes as static files (the limit), all on loopback with free ports.
#
# 1. A database with a year of synthetic history for 1,000 relay-models
#    (200 relays x 5 models, one probe a minute each), as `assay serve`
#    leaves it with default retention (build/bench/web-gen).
# 2. Its size, and the 90-day uptime query (store_uptime) over every target.
# 3. `assay serve` on that database; the leaderboard and one relay page are
#    fetched once and copied for nginx; then wrk, 100 connections, for each
#    of the four. (wrk and nginx: make bench-deps, which make bench runs.)
#
# 4. Retention against a day's backlog (rows deleted in bounded steps).
#
# Goals: >= 0.5x nginx's requests/s, p99 < 10 ms, 90-day uptime query
# < 20 ms, database < 1 GB, no retention step of 100 ms or more. Prints a table; exits 1 if a goal is missed.
# Environment: BENCH_WEB_DURATION (seconds per wrk run, default 10),
# BENCH_WEB_RELAYS / BENCH_WEB_MODELS (default 200 x 5).
set -u
build=${1:-build}
duration=${BENCH_WEB_DURATION:-10}
relays=${BENCH_WEB_RELAYS:-200}
models=${BENCH_WEB_MODELS:-5}
gen="$build/bench/web-gen"
work=$(mktemp -d "${TMPDIR:-/tmp}/assay-bench-web.XXXXXX")
serve_pid=""
nginx_pid=""

cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

die() { echo "bench/web: $*" >&2; exit 1; }

[ -x "$gen" ] || die "$gen is missing (make $gen)"
command -v wrk >/dev/null || die "wrk is not installed (make bench-deps installs it)"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
  die "nginx is not installed (make bench-deps installs it)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== web: $relays relays x $models models, a year of history, one probe a minute"
t0=$(date +%s)
"$gen" "$work/assay.db" "$relays" "$models" --days 365 2>/dev/null || die "web-gen failed"
t1=$(date +%s)
db_bytes=$(( $(stat -c %s "$work/assay.db") + $(stat -c %s "$work/assay.db-wal" 2>/dev/null || echo 0) ))
db_mb=$(( db_bytes / 1048576 ))
echo "database: $db_mb MiB ($db_bytes bytes), generated in $((t1 - t0)) s"
query=$("$gen" --query "$work/assay.db") || die "uptime query failed"
q_mean=$(echo "$query" | sed -n 's/.*mean_ms=\([0-9.]*\).*/\1/p')
q_max=$(echo "$query" | sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p')
echo "90-day uptime query: mean $q_mean ms, max $q_max ms over $((relays * models)) targets"

# serve needs one relay to audit: a dead loopback port, audited once a day
dead=$("$gen" --free-port)
port=$("$gen" --free-port)
cat >"$work/assay.yaml" <<EOF
title: Assay benchmark
listen: 127.0.0.1:$port
database: $work/assay.db
interval: 24h
timeout: 2s
relays:
  - name: relay-000.example
    base_url: http://127.0.0.1:$dead/v1
    models: [gpt-4o]
EOF
t0=$(date +%s%N)
"$build/assay" serve -c "$work/assay.yaml" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
tries=0
until grep -q '^serving ' "$work/serve.out"; do
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; die "assay serve exited"; }
  tries=$((tries + 1)); [ $tries -le 600 ] || die "assay serve did not start"
  sleep 0.1
done
t1=$(date +%s%N)
echo "assay serve: loaded the history and listening in $(( (t1 - t0) / 1000000 )) ms"
base="http://127.0.0.1:$port"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$serve_pid/status")
echo "assay serve: resident memory $((rss / 1024)) MiB"

mkdir -p "$work/www/leaderboard" "$work/www/relays" "$work/nginx"
chmod 755 "$work" "$work/www" "$work/www/leaderboard" "$work/www/relays" # nginx workers
lb_path=/leaderboard/
relay_path=/relays/relay-100.example.html
sleep 1 # past the render cache's refresh interval after the first audit
curl -sf "$base$lb_path" -o "$work/www/leaderboard/index.html" || die "no leaderboard"
curl -sf "$base$relay_path" -o "$work/www$relay_path" || die "no relay page"
# the gzip encodings, byte for byte, for nginx's gzip_static
curl -sf -H 'Accept-Encoding: gzip' "$base$lb_path" -o "$work/www/leaderboard/index.html.gz"
curl -sf -H 'Accept-Encoding: gzip' "$base$relay_path" -o "$work/www$relay_path.gz"
chmod 644 "$work/www/leaderboard/"* "$work/www/relays/"*
lb_bytes=$(stat -c %s "$work/www/leaderboard/index.html")
relay_bytes=$(stat -c %s "$work/www$relay_path")
lb_gz=$(stat -c %s "$work/www/leaderboard/index.html.gz")
relay_gz=$(stat -c %s "$work/www$relay_path.gz")
echo "documents: leaderboard $lb_bytes bytes ($lb_gz gzip), relay page $relay_bytes bytes ($relay_gz gzip)"
# the first render of each, cold, over the whole board
cold=$(curl -s -o /dev/null -w '%{time_total}' "$base/leaderboard/all/ttft-rev.html")
echo "cold render of a leaderboard variant: $(awk "BEGIN {printf \"%.1f\", $cold * 1000}") ms"

nport=$("$gen" --free-port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=100;
  types { text/html html; }
  gzip_static on;
  default_type text/html;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nport;
    root $work/www;
    index index.html;
  }
}
EOF
"$NGINX" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
tries=0
until curl -sf "http://127.0.0.1:$nport$lb_path" -o /dev/null; do
  tries=$((tries + 1)); [ $tries -le 100 ] || die "nginx did not start: $(cat "$work/nginx/error.log")"
  sleep 0.1
done
curl -s "http://127.0.0.1:$nport$lb_path" -o "$work/nginx/check.html"
cmp -s "$work/www/leaderboard/index.html" "$work/nginx/check.html" || die "nginx serves other bytes"

# wrk URL [gzip] -> "requests_per_s p99_ms"
run_wrk() {
  if [ "${2:-}" = gzip ]; then
    out=$(wrk -t2 -c100 -d"${duration}s" --latency -H 'Accept-Encoding: gzip' "$1" 2>&1) ||
      { echo "0 0"; return; }
  else
    out=$(wrk -t2 -c100 -d"${duration}s" --latency "$1" 2>&1) || { echo "0 0"; return; }
  fi
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}')
  [ -n "$errors" ] && echo "bench/web: $1: $errors" >&2
  # p99 to milliseconds
  ms=$(echo "$p99" | awk '/us$/ {sub("us",""); print $1/1000; next}
                          /ms$/ {sub("ms",""); print $1; next}
                          /s$/  {sub("s",""); print $1*1000; next} {print 0}')
  echo "$rps $ms"
}

# Browsers ask for gzip, so the goals are judged on it; identity is shown
# beside it (the same bytes uncompressed, on both servers).
status=0
printf '%-12s %-9s %-8s %12s %10s %10s\n' page encoding server "requests/s" "p99 ms" "x nginx"
for enc in gzip identity; do
  for page in leaderboard relay; do
    if [ $page = leaderboard ]; then path=$lb_path; else path=$relay_path; fi
    set -- $(run_wrk "http://127.0.0.1:$nport$path" $enc)
    n_rps=$1; n_p99=$2
    set -- $(run_wrk "$base$path" $enc)
    a_rps=$1; a_p99=$2
    ratio=$(awk "BEGIN {printf \"%.2f\", ($n_rps > 0 ? $a_rps / $n_rps : 0)}")
    printf '%-12s %-9s %-8s %12.0f %10.2f %10s\n' $page $enc nginx "$n_rps" "$n_p99" ""
    printf '%-12s %-9s %-8s %12.0f %10.2f %10s\n' $page $enc assay "$a_rps" "$a_p99" "$ratio"
    [ $enc = gzip ] || continue
    awk "BEGIN {exit !($ratio >= 0.5)}" || { echo "GOAL MISSED: $page below 0.5x nginx"; status=1; }
    awk "BEGIN {exit !($a_p99 < 10)}" || { echo "GOAL MISSED: $page p99 >= 10 ms"; status=1; }
  done
done
# retention against a day's backlog, the serve process stopped: each step
# is what the event loop would wait for at most
kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
serve_pid=""
ret=$("$gen" --retention "$work/assay.db" 1) || die "retention failed"
echo "retention, a day's backlog: $(echo "$ret" | sed 's/retention //')"
r_max=$(echo "$ret" | sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p')
awk "BEGIN {exit !($r_max < 100)}" || { echo "GOAL MISSED: a retention step took >= 100 ms"; status=1; }
awk "BEGIN {exit !($q_max < 20)}" || { echo "GOAL MISSED: uptime query >= 20 ms"; status=1; }
[ "$db_bytes" -lt 1073741824 ] || { echo "GOAL MISSED: database >= 1 GB"; status=1; }
[ $status = 0 ] && echo "web: all goals met (judged on gzip responses, which browsers ask for; identity rows are for reference)"
exit $status

#!/usr/bin/env python3
"""A simulated 30-day `assay serve` run over 50 relay-models (issue 18).

The real binaries, time-scaled: assay-fixture serves bench/serve_sim/world.yaml
at --time-scale 0.05 (its delays 20 times shorter), and `assay serve` runs
with --clock-scale S --clock-start 2026-11-01, so its wall clock (the times it
stores, the UTC days its budgets count, retention's cut-offs, the pages) runs
S times as fast as real time: a simulated day takes SERVE_SIM_DAY_SECONDS real
seconds (default 10, S = 8640). Intervals and timeouts stay real time: every
relay-model is asked for a run every second (2.4 simulated hours), and the
budgets decide how many go.

25 relays of two models each (gpt-4o, gpt-4o-mini) over five fixture
endpoints (honest, slow, flaky, a 50% swap, one down 5 minutes in 20); each
relay has a budget of 8,000 tokens a day, five of them also $0.04 a day; the
board has 150,000 tokens a day (less than the relays' caps together, so it
binds too).

What it reads: every run's row as it is written (the database read-only,
polled every 0.25 s real: raw runs are kept a simulated day, 10 s real, so no
run is missed), and the database's size (file and WAL). What it prints, per
simulated day: runs, the tokens billed by the board and by the relay that
spent most against their caps, the most USD a capped relay spent, the
database's size. It fails (exit 1) when any budget was passed on any day,
or when the database is larger than the bound the README states:

    6 MiB + 32 KiB x (runs started in the last two days)
          + 4 KiB x relay-models x days served (at most 90)

(the default retention: raw runs and their observations are kept a day,
minute rollups two, hour rollups 90 days, day rollups 400; the 6 MiB hold
the schema, a full write-ahead log and the ledger).

usage: bench/serve_sim.py [BUILD_DIR]   (SERVE_SIM_DAYS, SERVE_SIM_DAY_SECONDS)
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
DAYS = int(os.environ.get("SERVE_SIM_DAYS", "30"))
DAY_SECONDS = float(os.environ.get("SERVE_SIM_DAY_SECONDS", "10"))
SCALE = 86400.0 / DAY_SECONDS
START_MS = 1793491200000  # 2026-11-01T00:00:00Z
DAY_MS = 86400000

N_RELAYS = 25
MODELS = ["gpt-4o", "gpt-4o-mini"]
RELAY_TOKENS = 8000
RELAY_USD = 0.04
USD_RELAYS = 5  # the first five relays also have a USD cap
BOARD_TOKENS = 150000
ENDPOINTS = ["honest", "honest-slow", "flaky", "swap", "down-at-times"]

# the README's bound (its "A simulated month" paragraph)
DB_FIXED_BYTES = 6 << 20            # schema, a full WAL (4 MiB), the ledger
DB_BYTES_PER_RUN = 32 << 10         # a run kept raw, with its observations
DB_BYTES_PER_TARGET_DAY = 4 << 10   # hour and day rollups of a relay-model-day


def start_fixture(tmp):
    out = open(os.path.join(tmp, "fixture.out"), "w+")
    err = open(os.path.join(tmp, "fixture.err"), "w")
    p = subprocess.Popen(
        [os.path.join(BUILD, "assay-fixture"), "-c", "bench/serve_sim/world.yaml",
         "--time-scale", "0.05"], stdout=out, stderr=err)
    urls = {}
    deadline = time.time() + 30
    while time.time() < deadline and len(urls) < len(ENDPOINTS):
        out.seek(0)
        for line in out.read().splitlines():
            f = line.split()
            if len(f) >= 3 and f[0] == "listening":
                urls[f[1]] = f[2]
        urls = {k: v for k, v in urls.items() if k in ENDPOINTS}
        time.sleep(0.1)
    if len(urls) < len(ENDPOINTS):
        p.kill()
        sys.exit("serve_sim: the fixture did not start (%s)" % os.path.join(tmp, "fixture.err"))
    return p, urls


def write_config(tmp, urls):
    lines = [
        "title: simulated month",
        "listen: 127.0.0.1:0",
        "database: %s" % os.path.join(tmp, "assay.db"),
        "interval: 1s",
        "timeout: 10s",
        "time_scale: 0.05",
        "budget: {tokens_per_day: %d}" % BOARD_TOKENS,
        "relays:",
    ]
    for i in range(N_RELAYS):
        usd = ", usd_per_day: %g" % RELAY_USD if i < USD_RELAYS else ""
        lines.append("  - {name: relay-%02d, base_url: '%s', models: [%s],"
                     " budget: {tokens_per_day: %d%s}}"
                     % (i, urls[ENDPOINTS[i % len(ENDPOINTS)]], ", ".join(MODELS),
                        RELAY_TOKENS, usd))
    path = os.path.join(tmp, "assay.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def db_bytes(db):
    n = 0
    for suffix in ("", "-wal"):
        try:
            n += os.stat(db + suffix).st_size
        except FileNotFoundError:
            pass
    return n


def main():
    tmp = tempfile.mkdtemp(prefix="assay-serve-sim-")
    fixture, urls = start_fixture(tmp)
    cfg = write_config(tmp, urls)
    db = os.path.join(tmp, "assay.db")
    log = open(os.path.join(tmp, "serve.log"), "w")
    serve = subprocess.Popen(
        [os.path.join(BUILD, "assay"), "serve", "-c", cfg, "--clock-scale", "%.6g" % SCALE,
         "--clock-start", "2026-11-01"], stdout=subprocess.PIPE, stderr=log, text=True)
    t0 = time.time()
    line = serve.stdout.readline()
    if not line.startswith("serving "):
        fixture.kill()
        sys.exit("serve_sim: serve did not start (%s)" % log.name)
    runs = {}  # id -> (relay, model, started_ms, tokens, usd)
    size_by_day = {}
    last_id = 0
    end_real = t0 + DAYS * DAY_SECONDS
    conn = None

    def poll():
        nonlocal last_id, conn
        if conn is None:
            try:
                conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
            except sqlite3.OperationalError:
                return
        try:
            rows = conn.execute(
                "SELECT r.id, t.relay, t.model, r.started_ms, r.tokens_spent,"
                " coalesce(r.cost_usd, 0) FROM runs r JOIN targets t ON t.id = r.target"
                " WHERE r.id > ? ORDER BY r.id", (last_id,)).fetchall()
        except sqlite3.OperationalError:
            return
        for r in rows:
            runs[r[0]] = r[1:]
            last_id = max(last_id, r[0])
        day = int((time.time() - t0) * SCALE * 1000) // DAY_MS
        size_by_day[day] = max(size_by_day.get(day, 0), db_bytes(db))

    while time.time() < end_real:
        poll()
        time.sleep(0.25)
    serve.send_signal(signal.SIGTERM)
    try:
        serve.wait(60)
    except subprocess.TimeoutExpired:
        serve.kill()
    poll()
    fixture.send_signal(signal.SIGTERM)
    fixture.wait(30)
    elapsed = time.time() - t0

    # per simulated day: the board's tokens, each relay's tokens and USD
    days = {}
    for relay, model, started, tokens, usd in runs.values():
        d = (started - START_MS) // DAY_MS
        if d < 0 or d >= DAYS:
            continue
        e = days.setdefault(d, {"runs": 0, "tokens": 0, "relay_tokens": {}, "relay_usd": {}})
        e["runs"] += 1
        e["tokens"] += tokens
        e["relay_tokens"][relay] = e["relay_tokens"].get(relay, 0) + tokens
        e["relay_usd"][relay] = e["relay_usd"].get(relay, 0.0) + usd
    usd_relays = {"relay-%02d" % i for i in range(USD_RELAYS)}
    over = []
    print("simulated %d days of `assay serve` (%d relays, %d relay-models) in %.0f s real:"
          " 1 simulated day = %.1f s (clock x%.0f); fixture at time scale 0.05"
          % (DAYS, N_RELAYS, N_RELAYS * len(MODELS), elapsed, DAY_SECONDS, SCALE))
    print("%4s %5s %17s %17s %15s %9s %9s" % ("day", "runs", "board tokens",
                                              "max relay tokens", "max relay USD",
                                              "DB MiB", "bound MiB"))
    worst_ratio = 0.0
    for d in range(DAYS):
        e = days.get(d, {"runs": 0, "tokens": 0, "relay_tokens": {}, "relay_usd": {}})
        mt = max(e["relay_tokens"].values(), default=0)
        mu = max((v for k, v in e["relay_usd"].items() if k in usd_relays), default=0.0)
        window = e["runs"] + (days.get(d - 1, {}).get("runs", 0))
        bound = (DB_FIXED_BYTES + DB_BYTES_PER_RUN * window +
                 DB_BYTES_PER_TARGET_DAY * N_RELAYS * len(MODELS) * min(d + 1, 90))
        size = size_by_day.get(d, 0)
        worst_ratio = max(worst_ratio, size / bound)
        print("%4d %5d %8d / %6d %8d / %6d %6.4f / %5.2f %9.2f %9.2f"
              % (d + 1, e["runs"], e["tokens"], BOARD_TOKENS, mt, RELAY_TOKENS, mu,
                 RELAY_USD, size / 1048576, bound / 1048576))
        if e["tokens"] > BOARD_TOKENS:
            over.append("day %d: the board spent %d tokens" % (d + 1, e["tokens"]))
        for relay, t in e["relay_tokens"].items():
            if t > RELAY_TOKENS:
                over.append("day %d: %s spent %d tokens" % (d + 1, relay, t))
        for relay, u in e["relay_usd"].items():
            if relay in usd_relays and u > RELAY_USD + 1e-9:
                over.append("day %d: %s spent $%.4f" % (d + 1, relay, u))
        if size > bound:
            over.append("day %d: the database is %d bytes, over its bound of %d"
                        % (d + 1, size, bound))
    total = sum(e["runs"] for e in days.values())
    print("runs: %d in %d days (%.1f a relay-model a day); budgets passed: %d; database at"
          " most %.0f%% of its bound; the largest %.2f MiB"
          % (total, DAYS, total / DAYS / (N_RELAYS * len(MODELS)), len(over),
             100 * worst_ratio, max(size_by_day.values(), default=0) / 1048576))
    for o in over:
        print("OVER: " + o)
    if total == 0:
        print("serve_sim: no run was stored (%s)" % log.name)
        return 1
    if over:
        print("serve_sim: kept in %s" % tmp)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

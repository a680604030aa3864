-- wrk script for bench/engine.sh: the same streamed chat request the engine sends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")

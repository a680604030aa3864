# cJSON parses what relays answer on the probe engine's hot path
# (probes/chunk_json.h); every other use of JSON is jansson's.
PKGS += libcjson
# Probe-engine benchmark binaries, used by bench/engine.sh: the engine driven
# against one endpoint (bench/engine_bench.c) and the bare-libcurl floor
# (bench/curl_floor.c).
BENCH_ENGINE := $(BUILD)/assay-bench-engine
BENCH_CURL := $(BUILD)/assay-bench-curl
$(BENCH_ENGINE): $(BUILD)/bench/engine_bench.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BENCH_CURL): $(BUILD)/bench/curl_floor.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
bench: $(BENCH_ENGINE) $(BENCH_CURL)

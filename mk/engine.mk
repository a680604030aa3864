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

# The Debian-packaged C JSON parsers on the engine's payloads
# (bench/json_parsers.c): bench only, with its own packages; the product
# links none of them.
BENCH_JSON := $(BUILD)/assay-bench-json
BENCH_JSON_DEB_PKGS := libyajl-dev libjson-c-dev libjsonparser-dev
.PHONY: bench-json-parsers
$(BUILD)/.bench-json-deps-ok: mk/engine.mk cli/deps.sh | $(BUILD)/.deps-ok
	@./cli/deps.sh $(BENCH_JSON_DEB_PKGS)
	@touch $@
$(BUILD)/bench/json_parsers.o $(BUILD)/bench/json_parsers_jsonc.o $(BUILD)/bench/json_parsers_udp.o: | $(BUILD)/.bench-json-deps-ok
$(BENCH_JSON): $(BUILD)/bench/json_parsers.o $(BUILD)/bench/json_parsers_jsonc.o \
               $(BUILD)/bench/json_parsers_udp.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs yajl json-c json-parser)
bench-json-parsers: $(BENCH_JSON)

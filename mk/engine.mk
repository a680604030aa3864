# simdjson parses what relays answer on the probe engine's hot path
# (probes/chunk_json.h); every other use of JSON is jansson's. simdjson is
# C++ with no C interface: probes/chunk_json.cc is the product's one C++
# file, compiled by $(CXX), and the C programs link the C++ runtime.
CXX       ?= g++
DEB_PKGS  += libsimdjson-dev
PKGS      += simdjson
CXXFLAGS  += -std=c++17 $(OPT) -Wall -Wextra -Wshadow -fno-strict-aliasing
ifneq ($(CI),)
CXXFLAGS  += -Werror
endif
ifneq ($(SANITIZER),)
CXXFLAGS  += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
endif
PKG_LIBS  += -lstdc++
$(BUILD)/%.o: %.cc | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@
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
BENCH_JSON_DEB_PKGS := libcjson-dev libyajl-dev libjson-c-dev libjsonparser-dev
.PHONY: bench-json-parsers
$(BUILD)/.bench-json-deps-ok: mk/engine.mk cli/deps.sh | $(BUILD)/.deps-ok
	@./cli/deps.sh $(BENCH_JSON_DEB_PKGS)
	@touch $@
$(BUILD)/bench/json_parsers.o $(BUILD)/bench/json_parsers_jsonc.o $(BUILD)/bench/json_parsers_udp.o: | $(BUILD)/.bench-json-deps-ok
$(BENCH_JSON): $(BUILD)/bench/json_parsers.o $(BUILD)/bench/json_parsers_jsonc.o \
               $(BUILD)/bench/json_parsers_udp.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs libcjson yajl json-c json-parser)
$(BUILD)/bench/json_parsers.o: PKG_CFLAGS += $(shell pkg-config --cflags libcjson)
bench-json-parsers: $(BENCH_JSON)

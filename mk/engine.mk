# Probe-engine benchmark binary (bench/engine_bench.c), used by bench/engine.sh.
BENCH_ENGINE := $(BUILD)/assay-bench-engine
$(BENCH_ENGINE): $(BUILD)/bench/engine_bench.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
bench: $(BENCH_ENGINE)

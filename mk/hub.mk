# The hub's pages at scale (issue 20; bench/hub.sh, bench/hub_fill.c): a
# database of 10,000 relay-models and 5 regions' agents written through
# the store API, `assay serve` as the hub on it, wrk against its pages, on
# SQLite and on PostgreSQL (a private cluster, as the tests start one).
HUB_FILL := $(BUILD)/bench/hub-fill
$(HUB_FILL): $(BUILD)/bench/hub_fill.o $(BUILD)/tests/pg_helpers.o $(BUILD)/libassay.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
bench: $(HUB_FILL)

# The hub's event loop when an epoch of its agents' ledger closes at scale
# (bench/hub_close.c): the longest hold and the total, on SQLite or PostgreSQL.
HUB_CLOSE := $(BUILD)/bench/hub-close
$(HUB_CLOSE): $(BUILD)/bench/hub_close.o $(BUILD)/tests/pg_helpers.o $(BUILD)/libassay.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
bench: $(HUB_CLOSE)

# What a live viewer of /api/v1/events costs the board (bench/events_bench.c).
BENCH_EVENTS := $(BUILD)/assay-bench-events
$(BENCH_EVENTS): $(BUILD)/bench/events_bench.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
bench: $(BENCH_EVENTS)

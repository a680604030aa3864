# PostgreSQL (issue 20): the store's tests run against both engines. Each
# tests/test_*_pg.c includes its SQLite twin with STORE_TEST_POSTGRES and
# links the helpers that start the binary's own cluster
# (tests/pg_helpers.c); so does test_pg_agents (roles, row-level security).
PG_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*_pg.c tests/test_pg_*.c))
$(PG_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/helpers.o \
    $(BUILD)/tests/pg_helpers.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

# The shared store at scale (bench/store_scale.c, bench/store.sh): agents'
# writes on PostgreSQL (a private cluster, as the tests start one) and on
# SQLite, the hub's fold, retention. `make bench` runs it.
STORE_SCALE := $(BUILD)/bench/store-scale
$(STORE_SCALE): $(BUILD)/bench/store_scale.o $(BUILD)/tests/pg_helpers.o $(BUILD)/libassay.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
bench: $(STORE_SCALE)

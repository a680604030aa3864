# PostgreSQL (issue 20): the store's tests run against both engines. Each
# tests/test_*_pg.c includes its SQLite twin with STORE_TEST_POSTGRES and
# links the helpers that start the binary's own cluster
# (tests/pg_helpers.c); so does test_pg_agents (roles, row-level security).
PG_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*_pg.c tests/test_pg_*.c))
$(PG_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/helpers.o \
    $(BUILD)/tests/pg_helpers.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

# Fixture world (fixtures/*.c -> build/assay-fixture): its data files are the
# model catalog and the worlds, fixtures/*.yaml, which the top Makefile
# already installs; the rules below are the fixture's own checks.

.PHONY: bench-fixture

# bench-fixture: the fixture's own requests/s and CPU per request (wrk).
bench-fixture: all
	@./bench/fixture.sh $(BUILD)

# tests/test_fixture_send.c tests the fixture's own plumbing, and
# tests/test_translate.c its translating relay's requests: they link the
# fixture's objects (all but its main) besides the library.
FIXTURE_UNIT_TESTS := $(addprefix $(BUILD)/tests/,test_fixture_send test_translate \
    test_fixture_timing test_fixture_relays)
$(FIXTURE_UNIT_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/helpers.o \
    $(filter-out $(BUILD)/fixtures/main.o,$(FIX_OBJ)) $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

# Tests that count as the fixture's simulated Claude tokenizer does
# (fixtures/simtok.c, claude-sim) link its object and its test helpers
# (tests/sim_helpers.c) besides the library.
SIMTOK_TESTS := $(addprefix $(BUILD)/tests/,test_simtok test_fixture test_fixture_sdk)
$(SIMTOK_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/helpers.o \
    $(BUILD)/tests/sim_helpers.o $(BUILD)/fixtures/simtok.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

# An endpoint with `tls:` serves https through libevent's OpenSSL
# bufferevent: the fixture (and the tests that link its objects) link
# libevent_openssl; the product does not. Deferred (=), not :=: on a
# fresh machine the deps step installs libevent-dev during this very make,
# after the makefiles were read.
FIXTURE_LIBS = $(shell pkg-config --libs libevent_openssl 2>/dev/null)
$(FIXTURE) $(FIXTURE_UNIT_TESTS): PKG_LIBS += $(FIXTURE_LIBS)

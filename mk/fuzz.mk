# Fuzz targets (issue 19): every tests/fuzz/fuzz_NAME.c is one libFuzzer
# binary, build-fuzz/fuzz_NAME, linked with the whole library built again
# by clang with ASan and UBSan (build-fuzz/, apart from build/). Each runs
# from its committed seeds, tests/fuzz/corpus/NAME/, with
# tests/fuzz/NAME.dict when there is one; what it finds grows
# build-fuzz/corpus/NAME/, crashes land in build-fuzz/artifacts/NAME/.
#
#   make fuzz                  every target, FUZZ_SECONDS each (default 600)
#   make fuzz FUZZ_TARGETS=sse just some
#   make fuzz-NAME             one (fuzz-eventstream, fuzz-adapter, ...)
#   make fuzz-build            build them only
#
# `make check` runs each for FUZZ_SMOKE_SECONDS (default 30): a crash or a
# sanitizer report fails it. clang comes in its own deps step (FUZZ_DEB_PKGS,
# after the main one), so the main build never waits on it.

FUZZ_CC        ?= clang-14
FUZZ_CXX       ?= clang++-14
FUZZ_DEB_PKGS  := clang-14 libclang-rt-14-dev
FUZZ_BUILD     := build-fuzz
FUZZ_SECONDS   ?= 600
FUZZ_SMOKE_SECONDS ?= 30
FUZZ_ALL       := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS   ?= $(FUZZ_ALL)
FUZZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                  -fno-omit-frame-pointer
FUZZ_CFLAGS    := -std=c11 -g -O1 $(WARN) -Wno-error -fno-strict-aliasing $(FUZZ_SAN)
FUZZ_LIB_OBJ   := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(LIB_CXX_SRC:%.cc=$(FUZZ_BUILD)/obj/%.o)
FUZZ_CXXFLAGS  := -std=c++17 -g -O1 -Wall -Wextra -fno-strict-aliasing $(FUZZ_SAN) \
                  -fno-sanitize=vptr
FUZZ_BIN       := $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-smoke $(FUZZ_ALL:%=fuzz-%)

$(FUZZ_BUILD)/.deps-ok: cli/deps.sh mk/fuzz.mk | $(BUILD)/.deps-ok
	@./cli/deps.sh $(FUZZ_DEB_PKGS)
	@mkdir -p $(FUZZ_BUILD) && touch $@

# the library: coverage for libFuzzer, not its main
$(FUZZ_BUILD)/obj/%.o: %.c | $(FUZZ_BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) \
	    -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: %.cc | $(FUZZ_BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) \
	    -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libassay.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libassay.a
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -MMD -MP \
	    -o $@ $< $(FUZZ_BUILD)/libassay.a $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(FUZZ_ALL:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	@./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $*

fuzz-smoke: $(FUZZ_BIN)
	@./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_ALL)

check: fuzz-smoke

# (make clean removes build-fuzz/ with every build-*)
$(FUZZ_BUILD)/obj/scoring/tokenizer.o: CPPFLAGS += -DASSAY_BUILD_VOCAB='"$(CURDIR)/$(BUILD)/vocab"'

-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/obj/*/*/*.d)

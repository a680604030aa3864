# Assay build. Everything is found with pkg-config; `make deps` installs what is
# missing on Debian 12. Binaries land in build/: build/assay, build/assay-fixture.
#
# Sources are discovered, not listed: every .c in base/ probes/ scoring/
# (and scoring/detectors/) storage/ web/ cli/ (but cli/main.c) goes into
# build/libassay.a; fixtures/*.c make
# assay-fixture; each tests/test_*.c is one Criterion binary. Extra rules for a
# part of the tree live in mk/*.mk, included at the end.

PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
DATADIR    = $(PREFIX)/share/assay

PKGS      := libcurl libevent sqlite3 libpcre2-8 libmicrohttpd jansson yaml-0.1 libcrypto libssl \
             libpq
DEB_PKGS  := build-essential pkg-config libcurl4-openssl-dev libevent-dev \
             libsqlite3-dev libpcre2-dev libmicrohttpd-dev libjansson-dev \
             libyaml-dev libcriterion-dev curl prometheus chromium zlib1g-dev libssl-dev \
             groff-base man-db systemd libpq-dev postgresql

CC        ?= cc
WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wwrite-strings
ifneq ($(CI),)
WARN      += -Werror
endif
OPT       ?= -O2 -g
CPPFLAGS  += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. \
             -DASSAY_SRCDIR='"$(CURDIR)"' -DASSAY_DATADIR='"$(DATADIR)"'
CFLAGS    += -std=c11 $(OPT) $(WARN) -fno-strict-aliasing
ifneq ($(SANITIZER),)
CFLAGS    += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=$(SANITIZER)
BUILD     := build-$(SANITIZER)
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levent_pthreads -lpthread -lm

LIB_SRC   := $(filter-out cli/main.c,$(wildcard base/*.c probes/*.c scoring/*.c scoring/detectors/*.c storage/*.c web/*.c cli/*.c))
# probes/chunk_json.cc: the one C++ file (mk/engine.mk compiles it)
LIB_CXX_SRC := $(wildcard probes/*.cc)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX_SRC:%.cc=$(BUILD)/%.o)
FIX_SRC   := $(wildcard fixtures/*.c)
FIX_OBJ   := $(FIX_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

ASSAY     := $(BUILD)/assay
FIXTURE   := $(BUILD)/assay-fixture

.PHONY: all deps check demo bench install clean format eval
all: deps-ok $(ASSAY) $(FIXTURE)

# deps: install missing Debian packages when root, else print the line and stop.
deps:
	@./cli/deps.sh $(DEB_PKGS)
# deps-ok: the cheap check every build runs first (a stamp keeps it quick).
deps-ok: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok: Makefile cli/deps.sh $(wildcard mk/*.mk)
	@./cli/deps.sh $(DEB_PKGS)
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/%.o: %.c | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libassay.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(ASSAY): $(BUILD)/cli/main.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(FIXTURE): $(FIX_OBJ) $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# tests/helpers.c (process control, HTTP GET) links into every test binary.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/helpers.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

# check: every Criterion binary, run from the top of the tree so tests find
# build/assay and the fixture worlds. Binaries run one after the other; any
# failure fails the target after all have run.
check: all $(TEST_BIN)
	@ASSAY_BUILD=$(BUILD) ./tests/run.sh $(TEST_BIN)

demo: all
	@./fixtures/demo.sh $(BUILD)

bench: all
	@./bench/run.sh $(BUILD)

MANDIR     = $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system

# install: the binaries, the data files, the man pages assay(1) and
# assay.yaml(5), and the systemd unit (dist/assay.service.in, with the
# installed binary's path).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)
	install -m 755 $(ASSAY) $(FIXTURE) $(DESTDIR)$(PREFIX)/bin/
	for f in $(DATA_FILES); do \
	  install -D -m 644 $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done
	install -D -m 644 man/assay.1 $(DESTDIR)$(MANDIR)/man1/assay.1
	install -D -m 644 man/assay.yaml.5 $(DESTDIR)$(MANDIR)/man5/assay.yaml.5
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|' dist/assay.service.in > $(DESTDIR)$(UNITDIR)/assay.service
	chmod 644 $(DESTDIR)$(UNITDIR)/assay.service

format:
	clang-format -i $(wildcard */*.c */*.h */*.cc tests/fuzz/*.c)

clean:
	rm -rf build build-*

# Data files installed under $(DATADIR) with their source-relative paths;
# mk/*.mk fragments append to DATA_FILES.
DATA_FILES := $(wildcard probes/catalog/*.yaml scoring/baselines/*.json fixtures/*.yaml)

-include mk/*.mk
# every object's header dependencies, whichever rule built it
-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d)

.SECONDARY:

# Web, storage and export (web/, storage/, cli/cmd_export.c): the synthetic
# history generator the web benchmark and browser test use, and the hooks
# that put them into `make check` and `make bench`.

# zlib: gzip encodings of cached documents (web/board.c).
PKG_CFLAGS += $(shell pkg-config --cflags zlib 2>/dev/null)
PKG_LIBS   += $(shell pkg-config --libs zlib 2>/dev/null)

WEB_GEN := $(BUILD)/bench/web-gen

$(WEB_GEN): $(BUILD)/bench/web/gen.o $(BUILD)/libassay.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# test_browser and bench/web.sh run the generator.
check: $(WEB_GEN)
bench: $(WEB_GEN)

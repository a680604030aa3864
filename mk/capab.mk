# tests/test_capab.c holds the product's attachments (probes/media.c) to the
# fixture's own decoder (fixtures/media_read.c): it links that one object
# besides the library.
$(BUILD)/tests/test_capab: $(BUILD)/tests/test_capab.o $(BUILD)/tests/helpers.o \
    $(BUILD)/fixtures/media_read.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

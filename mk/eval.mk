# make eval: the detection evaluation (bench/eval.c) over the detection world.
EVAL_BIN := $(BUILD)/assay-eval
$(EVAL_BIN): $(BUILD)/bench/eval.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
eval: all $(EVAL_BIN)
	ASSAY_BUILD=$(BUILD) $(EVAL_BIN) $(EVAL_ARGS)

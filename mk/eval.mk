# make eval: the detection evaluation (bench/eval.c) over the detection world,
# serve over its audits, then the power of serve's anytime-valid ledger (assay-eval --power, in
# process: bench/monitor_sim.c, also linked into tests/test_evalue).
EVAL_BIN := $(BUILD)/assay-eval
$(EVAL_BIN): $(BUILD)/bench/eval.o $(BUILD)/bench/monitor_sim.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/tests/test_evalue: $(BUILD)/tests/test_evalue.o $(BUILD)/tests/helpers.o \
    $(BUILD)/bench/monitor_sim.o $(BUILD)/libassay.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion
# --serve-days 1: also serve over each relay's audits, resampled (a day of
# 5-minute runs through the ledger); an honest relay it accuses fails too
eval: all $(EVAL_BIN)
	ASSAY_BUILD=$(BUILD) $(EVAL_BIN) --serve-days 1 $(EVAL_ARGS)
	ASSAY_BUILD=$(BUILD) $(EVAL_BIN) --power

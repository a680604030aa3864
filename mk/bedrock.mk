# fuzz-eventstream: probes/eventstream.c under libFuzzer, ASan and UBSan
# (clang). FUZZ_TIME seconds (default 60); the corpus grows in
# build-fuzz/eventstream-corpus from the seeds in tests/fuzz/eventstream-seeds
# (messages AWS's own encoder wrote, tests/aws/eventstream.mjs).
FUZZ_TIME ?= 60
.PHONY: fuzz-eventstream
fuzz-eventstream:
	@mkdir -p build-fuzz/eventstream-corpus
	clang -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. -DASSAY_SRCDIR='"$(CURDIR)"' -DASSAY_DATADIR='"$(DATADIR)"' \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o build-fuzz/fuzz_eventstream tests/fuzz/fuzz_eventstream.c \
	    probes/eventstream.c base/util.c -lz
	build-fuzz/fuzz_eventstream -max_total_time=$(FUZZ_TIME) build-fuzz/eventstream-corpus \
	    tests/fuzz/eventstream-seeds

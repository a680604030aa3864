# Fixture world (fixtures/*.c -> build/assay-fixture): its data files are the
# model catalog and the worlds, fixtures/*.yaml, which the top Makefile
# already installs; the rules below are the fixture's own checks.

.PHONY: bench-fixture

# bench-fixture: the fixture's own requests/s and CPU per request (wrk).
bench-fixture: all
	@./bench/fixture.sh $(BUILD)

# make bench sets itself up on a fresh clone: the Debian packages its
# scripts run (wrk drives bench/fixture.sh, bench/engine.sh and
# bench/web.sh; nginx is bench/web.sh's static-file limit; node and npm run
# the Node SDK and tokenizer references; python3 reads bench/engine.sh's
# JSON lines) through the deps step, after the main one, and the npm
# packages from their committed lockfiles (npm ci). `make check` and the
# plain build never wait on any of it. bench-deps alone installs them.
BENCH_DEB_PKGS := wrk nginx nodejs python3
BENCH_NPM_DIRS := bench/engine/node bench/tokenizer

.PHONY: bench-deps
bench-deps: $(BUILD)/.bench-deps-ok $(BENCH_NPM_DIRS:%=%/node_modules/.package-lock.json)

# Debian's nodejs comes without npm (a package of its own); NodeSource's
# has it built in and conflicts with Debian's npm, so npm is asked for only
# when there is none.
$(BUILD)/.bench-deps-ok: mk/bench.mk cli/deps.sh | $(BUILD)/.deps-ok
	@./cli/deps.sh $(BENCH_DEB_PKGS)
	@command -v npm >/dev/null || ./cli/deps.sh npm
	@touch $@

# npm ci writes node_modules/.package-lock.json: redone when the lockfile changes
%/node_modules/.package-lock.json: %/package-lock.json | $(BUILD)/.bench-deps-ok
	cd $* && npm ci --no-audit --no-fund --loglevel=error

bench: bench-deps

# gemma3's vocabulary (mk/tokenizer.mk) is generated with node: under make
# bench, after node is installed
ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(GEMMA3_TOK): | $(BUILD)/.bench-deps-ok
endif

/*
 * tokbench: time Assay's tokenizer on one file, for bench/tokenizer.sh.
 *
 *   tokbench NAME FILE [RUNS]
 *
 * Prints one JSON object: bytes, tokens, the best wall and CPU time of RUNS
 * counting passes (tokenizer_count: no ids kept), open time and peak RSS
 * (KiB) of this process, which holds the file, the mapped vocabulary and
 * nothing else. The best of several runs filters out other load.
 */
#include "base/util.h"
#include "scoring/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tokbench NAME FILE [RUNS]\n");
		return 2;
	}
	int runs = argc > 3 ? atoi(argv[3]) : 3;
	size_t len;
	char *text = read_file(argv[2], (size_t)1 << 31, &len);
	if (text == NULL) {
		fprintf(stderr, "tokbench: cannot read '%s'\n", argv[2]);
		return 2;
	}
	char err[256];
	int64_t t0 = now_us();
	struct tokenizer *t = tokenizer_open(argv[1], err, sizeof(err));
	int64_t open_us = now_us() - t0;
	if (t == NULL) {
		fprintf(stderr, "tokbench: %s\n", err);
		return 2;
	}
	long tokens = -1;
	int64_t best = INT64_MAX, best_cpu = INT64_MAX;
	struct rusage ru;
	for (int i = 0; i < (runs > 0 ? runs : 1); i++) {
		int64_t s = now_us(), c = cpu_us();
		tokens = tokenizer_count(t, text, len);
		int64_t d = now_us() - s, dc = cpu_us() - c;
		if (d < best)
			best = d;
		if (dc < best_cpu)
			best_cpu = dc;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"bytes\": %zu, \"tokens\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
	       "\"open_ms\": %.3f, \"max_rss_kb\": %ld}\n",
	       len, tokens, best / 1e6, best_cpu / 1e6, open_us / 1e3, ru.ru_maxrss);
	tokenizer_free(t);
	free(text);
	return tokens < 0;
}

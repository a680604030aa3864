/*
 * json_parsers: the Debian-packaged C JSON parsers, and the hot path's
 * module (probes/chunk_json.h, simdjson, C++), on the engine's own
 * payloads (issue 19: "if another Debian-packaged parser measures better on
 * the same payloads, say so with figures"). Bench only: built by
 * `make bench-json-parsers`, which installs libcjson-dev, libyajl-dev,
 * libjson-c-dev and libjsonparser-dev; the product links simdjson and jansson
 * alone.
 *
 * usage: assay-bench-json FILE ROUNDS   (FILE: one JSON document a line,
 * e.g. a stream's data lines; bench/engine.sh writes one)
 * Each parser parses every line, ROUNDS times, building its tree and
 * freeing it (what the adapter needs: random access to a few fields);
 * prints one line per parser: CPU ns per document and MB/s.
 */
#include <cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "base/util.h"
#include "probes/chunk_json.h"
#include "probes/json_arena.h"

#define MAX_DOCS 4096

static char *docs[MAX_DOCS];
static size_t lens[MAX_DOCS];
static size_t n_docs, total_bytes;

static int
run_jansson(const char *s, size_t n)
{
	json_t *j = json_loadb(s, n, 0, NULL);
	int ok = j != NULL;
	json_decref(j);
	return ok;
}

static _Alignas(16) unsigned char arena_mem[64 << 10];
static struct json_arena arena;

static int
run_jansson_arena(const char *s, size_t n)
{
	json_arena_begin(&arena);
	int ok = run_jansson(s, n);
	json_arena_end(&arena);
	return ok;
}

static int
run_chunk_json(const char *s, size_t n)
{
	struct chunk_json *j = chunk_json_parse(s, n, NULL);
	chunk_json_free(j);
	return j != NULL;
}

/* cJSON (the module's parser before simdjson) on malloc() */
static int
run_cjson(const char *s, size_t n)
{
	cJSON *c = cJSON_ParseWithLength(s, n);
	cJSON_Delete(c);
	return c != NULL;
}

static int
run_yajl(const char *s, size_t n)
{
	(void)n; /* yajl_tree_parse takes a NUL-terminated text */
	yajl_val v = yajl_tree_parse(s, NULL, 0);
	yajl_tree_free(v);
	return v != NULL;
}

/* json-c's names clash with jansson's: in bench/json_parsers_jsonc.c */
int run_json_c(const char *s, size_t n);

/* json-parser's too: in bench/json_parsers_udp.c */
int run_json_parser(const char *s, size_t n);

static const struct parser {
	const char *name;
	int (*run)(const char *, size_t);
} parsers[] = {
    {"jansson", run_jansson},
    {"jansson+arena", run_jansson_arena},
    {"chunk_json (simdjson)", run_chunk_json},
    {"cJSON, malloc", run_cjson},
    {"yajl tree", run_yajl},
    {"json-c", run_json_c},
    {"json-parser", run_json_parser},
};

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE ROUNDS\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (f == NULL) {
		fprintf(stderr, "cannot read '%s'\n", argv[1]);
		return 1;
	}
	char line[1 << 16];
	while (n_docs < MAX_DOCS && fgets(line, sizeof line, f) != NULL) {
		size_t n = strcspn(line, "\n");
		if (n == 0)
			continue;
		docs[n_docs] = xstrndup(line, n);
		lens[n_docs++] = n;
		total_bytes += n;
	}
	fclose(f);
	long rounds = atol(argv[2]);
	json_arena_init(&arena, arena_mem, sizeof arena_mem);
	printf("%zu documents, %zu bytes a round, %ld rounds\n", n_docs, total_bytes, rounds);
	printf("%-20s %12s %10s %6s\n", "parser", "ns/document", "MB/s", "ok");
	for (size_t p = 0; p < sizeof parsers / sizeof parsers[0]; p++) {
		size_t ok = 0;
		int64_t t0 = cpu_us();
		for (long r = 0; r < rounds; r++)
			for (size_t d = 0; d < n_docs; d++)
				ok += (size_t)parsers[p].run(docs[d], lens[d]);
		double us = (double)(cpu_us() - t0);
		double per_doc_ns = us * 1000.0 / ((double)rounds * (double)n_docs);
		double mbs = (double)total_bytes * (double)rounds / us;
		printf("%-20s %12.0f %10.1f %6s\n", parsers[p].name, per_doc_ns, mbs,
		       ok == (size_t)rounds * n_docs ? "all" : "SOME");
	}
	for (size_t d = 0; d < n_docs; d++)
		free(docs[d]);
	return 0;
}

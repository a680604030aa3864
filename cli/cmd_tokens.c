/*
 * cmd_tokens: `assay tokens`, count (or list the ids of) the tokens of files
 * or standard input with one of the exact tokenizers of scoring/tokenizer.h.
 *
 * Every input is read before anything is printed, so an unreadable file
 * gives one error line and no partial output.
 */
#include "cli/cmd_tokens.h"

#include "base/util.h"
#include "scoring/tokenizer.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest input file (the whole file is held in memory). */
#define TOKENS_FILE_CAP ((size_t)1 << 31)

static void
tokens_usage(FILE *f)
{
	fputs("usage: assay tokens -t NAME [--ids] [FILE...]\n"
	      "       assay tokens --list\n"
	      "\n"
	      "Print the token count of each FILE (standard input when none), one line\n"
	      "per input, as the named tokenizer counts it (no special tokens added).\n"
	      "\n"
	      "  -t, --tokenizer NAME  o200k_base, cl100k_base, qwen3, deepseek_v3,\n"
	      "                        o200k_harmony (gpt-oss) or gemma3\n"
	      "      --ids             print the token ids instead, space-separated\n"
	      "      --list            list the tokenizers\n"
	      "\n"
	      "Exit status: 0 ok, 1 an input is not valid UTF-8, 2 usage error,\n"
	      "unknown tokenizer or unreadable file.\n",
	      f);
}

struct input {
	const char *label;
	char *data;
	size_t len;
};

static int
tokens_print(const struct tokenizer *t, const struct input *in, int ids_mode, struct buf *out)
{
	if (!ids_mode) {
		long n = tokenizer_count(t, in->data, in->len);
		if (n < 0)
			return -1;
		buf_putf(out, "%ld\n", n);
		return 0;
	}
	uint32_t *ids;
	size_t n;
	if (tokenizer_encode(t, in->data, in->len, &ids, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf_putf(out, i ? " %" PRIu32 : "%" PRIu32, ids[i]);
	buf_puts(out, "\n");
	free(ids);
	return 0;
}

int
cmd_tokens(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tokenizer", required_argument, NULL, 't'},
	    {"ids", no_argument, NULL, 'i'},
	    {"list", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	int ids_mode = 0, list = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			name = optarg;
			break;
		case 'i':
			ids_mode = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'h':
			tokens_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "assay tokens: option '%s' needs a value or is unknown\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (list) {
		for (const char *const *p = tokenizer_list(); *p != NULL; p++)
			printf("%s\n", *p);
		return 0;
	}
	if (name == NULL) {
		fprintf(stderr, "assay tokens: -t NAME is required (see assay tokens --list)\n");
		return 2;
	}
	char err[512];
	struct tokenizer *t = tokenizer_open(name, err, sizeof(err));
	if (t == NULL) {
		fprintf(stderr, "assay tokens: %s\n", err);
		return 2;
	}

	size_t n_inputs = optind < argc ? (size_t)(argc - optind) : 1;
	struct input *inputs = xcalloc(n_inputs, sizeof(*inputs));
	int status = 0;
	for (size_t i = 0; i < n_inputs && status == 0; i++) {
		const char *path = optind < argc ? argv[optind + (int)i] : NULL;
		inputs[i].label = path ? path : "standard input";
		inputs[i].data =
		    read_file(path ? path : "/dev/stdin", TOKENS_FILE_CAP, &inputs[i].len);
		if (inputs[i].data == NULL) {
			fprintf(stderr, "assay tokens: cannot read '%s': %s\n", inputs[i].label,
			        strerror(errno));
			status = 2;
		}
	}
	struct buf out;
	buf_init(&out, 0);
	for (size_t i = 0; i < n_inputs && status == 0; i++) {
		if (tokens_print(t, &inputs[i], ids_mode, &out) != 0) {
			fprintf(stderr, "assay tokens: '%s' is not valid UTF-8\n", inputs[i].label);
			status = 1;
		}
	}
	if (status == 0 && out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
		status = 2;
	buf_release(&out);
	for (size_t i = 0; i < n_inputs; i++)
		free(inputs[i].data);
	free(inputs);
	tokenizer_free(t);
	return status;
}

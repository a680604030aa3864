/*
 * options: getopt_long driven by a table (cli/options.h).
 */
#include "cli/options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>

#define MAX_OPTIONS 15

int
cli_parse_options(const char *cmd, int argc, char **argv, const struct cli_option *opts,
                  void (*usage)(FILE *f), int *operand)
{
	/* getopt_long's table: each row's index as its value, then --help */
	struct option longopts[MAX_OPTIONS + 2];
	char shortopts[2 * MAX_OPTIONS + 1];
	size_t n = 0, k = 0;
	for (; opts[n].name != NULL && n < MAX_OPTIONS; n++) {
		int has_arg = opts[n].value != NULL ? required_argument : no_argument;
		longopts[n] = (struct option){opts[n].name, has_arg, NULL, (int)n};
		if (opts[n].short_name != 0) {
			shortopts[k++] = (char)opts[n].short_name;
			if (has_arg == required_argument)
				shortopts[k++] = ':';
		}
	}
	shortopts[k] = '\0';
	longopts[n] = (struct option){"help", no_argument, NULL, 'h' + 256};
	longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h' + 256) {
			usage(stdout);
			return 0;
		}
		size_t i = n;
		if (c >= 0 && (size_t)c < n)
			i = (size_t)c;
		else /* a short alias */
			for (size_t j = 0; j < n && i == n; j++)
				if (c != '?' && c != ':' && opts[j].short_name == c)
					i = j;
		if (i == n) {
			fprintf(stderr, "assay %s: unknown option or missing value: '%s'\n", cmd,
			        argv[optind - 1]);
			return 2;
		}
		if (opts[i].value != NULL)
			*opts[i].value = optarg;
		else
			*opts[i].flag = 1;
	}
	*operand = optind;
	return -1;
}

int
cli_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || !(v > lo) || !(v <= hi))
		return -1;
	*out = v;
	return 0;
}

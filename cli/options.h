/*
 * options: a subcommand's command line read from a table, the way `assay
 * export` and `assay serve` read theirs: long options (and a short alias
 * where the table gives one), --help, a value or a flag per row, one line
 * on stderr for anything else.
 */
#ifndef ASSAY_CLI_OPTIONS_H
#define ASSAY_CLI_OPTIONS_H

#include <stdio.h>

struct cli_option {
	const char *name;   /* without "--"; NULL ends the table */
	int short_name;     /* its one-letter alias (-c), or 0 */
	const char **value; /* an option with a value: where argv's string goes */
	int *flag;          /* or a flag: set to 1 */
};

/*
 * Read argv's options (argv[0] the subcommand) by the table opts, at most
 * 15 rows. -1 with *operand the index of the first argument that is not
 * an option: go on. Else the exit status to return: 0 after --help, its
 * usage(stdout) printed; 2 after "assay CMD: unknown option or missing
 * value: 'ARG'" on stderr.
 */
int cli_parse_options(const char *cmd, int argc, char **argv, const struct cli_option *opts,
                      void (*usage)(FILE *f), int *operand);

/*
 * s as a number, all of it, finite and within lo < value <= hi: 0 with it in
 * *out, else -1 (NaN, "3x", "" and out-of-range values are refused).
 */
int cli_number(const char *s, double lo, double hi, double *out);

#endif

/*
 * main: `assay SUBCOMMAND ...` dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_agent.h"
#include "cli/cmd_tokens.h"
#include "cli/commands.h"

#define ASSAY_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fputs("usage: assay COMMAND [ARGS]\n"
	      "\n"
	      "Assay tells whether an LLM API relay serves what it sells.\n"
	      "\n"
	      "commands:\n"
	      "  audit    audit one relay and model now, print a verdict with evidence\n"
	      "  serve    audit configured relays on a schedule and serve a status page\n"
	      "  agent    audit them from one region into a shared database (no pages)\n"
	      "  export   write the status pages, JSON and badges as static files\n"
	      "  baseline list, export, import or record official-model baselines\n"
	      "  tokens   count tokens with an official model family's tokenizer\n"
	      "  version  print the version\n"
	      "\n"
	      "Run 'assay COMMAND --help' for a command's options.\n",
	      f);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "agent") == 0)
		return cmd_agent(argc - 1, argv + 1);
	if (strcmp(cmd, "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(cmd, "baseline") == 0)
		return cmd_baseline(argc - 1, argv + 1);
	if (strcmp(cmd, "tokens") == 0)
		return cmd_tokens(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("assay %s\n", ASSAY_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "assay: unknown command '%s' (see assay --help)\n", cmd);
	return 2;
}

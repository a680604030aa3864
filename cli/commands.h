/*
 * commands: the subcommands of `assay`. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status:
 * 0 success, 2 usage or config error (see DESIGN.md for audit's others).
 */
#ifndef ASSAY_COMMANDS_H
#define ASSAY_COMMANDS_H

int cmd_audit(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif

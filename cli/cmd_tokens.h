/*
 * cmd_tokens: `assay tokens`, token counts with an official tokenizer.
 */
#ifndef ASSAY_CMD_TOKENS_H
#define ASSAY_CMD_TOKENS_H

/*
 * assay tokens -t NAME [--ids] [FILE...]   one line per input (stdin when no
 *                                          FILE): its token count, or its ids
 * assay tokens --list                      the tokenizer names, one a line
 * argv[0] is "tokens". Returns the exit status: 0 ok, 1 an input is not valid
 * UTF-8, 2 usage error, unknown tokenizer or unreadable file.
 */
int cmd_tokens(int argc, char **argv);

#endif

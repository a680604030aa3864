/*
 * board_test: the board's hook for tests/ only; the product never includes
 * it (tests/test_hooks.c checks), but web/site.c and web/board.c, which
 * define them (the documents are routed in site.c; the lock is board.c's).
 */
#ifndef ASSAY_BOARD_TEST_H
#define ASSAY_BOARD_TEST_H

#include "web/board.h"

/* The two documents every version of Assay served, rendered through the
 * board's cache as the server would (site_get of "/" and
 * "/api/v1/relays"); release with board_put(). */
enum board_page { PAGE_STATUS_HTML, PAGE_RELAYS_JSON, PAGE__COUNT };
struct blob *board_get(struct board *b, enum board_page page);

/* How many changes wait for the board's data lock now (web/board.c
 * defines it: a long render lets them in, board_view_breathe). */
int board_test_writers_waiting(struct board *b);

#endif

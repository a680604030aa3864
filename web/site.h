/*
 * site: the URL space, shared by the live server and `assay export`.
 *
 * Every document has one canonical path that is also its file name in a
 * static copy (pages link to each other relatively), so the live site and an
 * exported one are the same bytes. The live server also accepts query
 * parameters on /leaderboard/ (sort, order, model, page) and answers them
 * with a redirect to the canonical path.
 */
#ifndef ASSAY_SITE_H
#define ASSAY_SITE_H

#include <stddef.h>

struct board;
struct blob;

/* Query parameters the leaderboard understands (NULL when absent). */
struct site_query {
	const char *sort, *order, *model, *page;
};

enum site_status { SITE_OK = 200, SITE_REDIRECT = 302, SITE_NOT_FOUND = 404 };

struct site_response {
	enum site_status status;
	struct blob *blob;  /* SITE_OK: release with board_put() */
	char location[512]; /* SITE_REDIRECT: an absolute path */
};

/* Resolve path (with q, may be NULL) on board. */
void site_get(struct board *b, const char *path, const struct site_query *q,
              struct site_response *out);

/* Call cb with every canonical path of a static copy (each starts with
 * '/'), in no particular order. */
void site_each_path(struct board *b, void (*cb)(const char *path, void *arg), void *arg);

#endif

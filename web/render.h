/*
 * render: HTML and JSON documents from the board's entries.
 *
 * Every string that came from a relay or a config is escaped on output;
 * nothing here trusts its input. Pages carry no script.
 */
#ifndef ASSAY_RENDER_H
#define ASSAY_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/util.h"

struct board_entry {
	char *relay, *model, *api;
	char *verdict; /* NULL while pending */
	char *reason;
	json_t *findings; /* array, owned */
	int64_t interval_ms;
	int64_t last_run_ms;
	long runs, requests, ok_requests, tokens_spent;
	double ttft_ms, tokens_per_s;
};

/* Append s to b with HTML special characters escaped. */
void html_escape(struct buf *b, const char *s);

/* The status page; the caller frees it. */
char *render_status_html(const char *title, const struct board_entry *entries, size_t n,
                         int64_t now_ms, size_t *len);
/* /api/v1/relays; the caller frees it. */
char *render_relays_json(const struct board_entry *entries, size_t n, int64_t now_ms,
                         size_t *len);

/* The stylesheet served at /assets/style.css (static). */
extern const char render_stylesheet[];

#endif

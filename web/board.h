/*
 * board: the in-memory status of every relay and model that the pages show.
 *
 * The event-loop thread records runs; the web threads read. Every change
 * re-renders the pages once into immutable, reference-counted blobs, so a
 * request costs one lock, one reference and a write: no query, no render.
 */
#ifndef ASSAY_BOARD_H
#define ASSAY_BOARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct board;

/* An immutable rendered document. */
struct blob {
	char *data;
	size_t len;
	const char *content_type;
	int refs; /* guarded by the board's lock */
	struct board *board;
};

enum board_page { PAGE_STATUS_HTML, PAGE_RELAYS_JSON, PAGE__COUNT };

struct board *board_new(const char *title);
void board_free(struct board *b);

/* Make a relay and model known before its first run ("pending"). */
void board_declare(struct board *b, const char *relay, const char *model, const char *api,
                   int64_t interval_ms);
/*
 * Record a run's outcome. findings is borrowed (copied). requests/ok add to
 * the running counts; ttft_ms/tokens_per_s < 0 leave the previous values.
 */
struct board_run {
	const char *relay, *model, *verdict, *reason;
	json_t *findings;
	int64_t at_ms;
	long runs; /* usually 1; more when loading history */
	long requests, ok_requests;
	long tokens_spent;
	double ttft_ms, tokens_per_s;
};
void board_record(struct board *b, const struct board_run *run);

/* A reference to a page; release it with board_put(). */
struct blob *board_get(struct board *b, enum board_page page);
void board_put(struct blob *blob);

#endif

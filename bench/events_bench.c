/*
 * events_bench: what a live viewer of GET /api/v1/events costs the board
 * (web/board.c board_events) on a board of many entries: ENTRIES entries,
 * CHANGES changes one after another, each followed by VIEWERS streams
 * asking for what changed since their last event, as web/events.c's
 * streams do. Prints CPU microseconds per change per viewer, with every
 * viewer sharing the change's event and with one viewer alone (who renders
 * each event itself).
 *
 * usage: assay-bench-events [ENTRIES [CHANGES [VIEWERS]]]  (default 10000 2000 10)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/util.h"
#include "web/board.h"

static double
cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
run(int entries, int changes, int viewers)
{
	struct board *b = board_new("bench");
	char relay[32];
	for (int i = 0; i < entries; i++) {
		snprintf(relay, sizeof relay, "relay-%06d", i);
		board_declare(b, relay, "m", "openai", 60000);
	}
	uint64_t *since = xcalloc((size_t)viewers, sizeof *since);
	for (int v = 0; v < viewers; v++)
		since[v] = board_seq(b);
	struct buf ev;
	buf_init(&ev, 0);
	double t0 = cpu_s(), spent = 0;
	for (int k = 0; k < changes; k++) {
		snprintf(relay, sizeof relay, "relay-%06d", (int)(((long)k * 7919) % entries));
		struct board_run r = {.relay = relay,
		                      .model = "m",
		                      .verdict = "genuine",
		                      .at_ms = wall_ms(),
		                      .runs = 1,
		                      .requests = 1,
		                      .ok_requests = 1,
		                      .ttft_ms = -1,
		                      .tokens_per_s = -1};
		double c0 = cpu_s();
		board_record(b, &r);
		spent -= cpu_s() - c0; /* the change itself is not the viewers' */
		for (int v = 0; v < viewers; v++) {
			buf_reset(&ev);
			since[v] = board_events(b, since[v], 32, &ev);
		}
	}
	spent += cpu_s() - t0;
	buf_release(&ev);
	free(since);
	board_free(b);
	return spent * 1e6 / changes / viewers;
}

int
main(int argc, char **argv)
{
	int entries = argc > 1 ? atoi(argv[1]) : 10000;
	int changes = argc > 2 ? atoi(argv[2]) : 2000;
	int viewers = argc > 3 ? atoi(argv[3]) : 10;
	if (entries < 1 || changes < 1 || viewers < 1) {
		fprintf(stderr, "usage: assay-bench-events [ENTRIES [CHANGES [VIEWERS]]]\n");
		return 2;
	}
	printf("events: %d entries, %d changes: %.1f us CPU a change a viewer with %d viewers, "
	       "%.1f with one\n",
	       entries, changes, run(entries, changes, viewers), viewers, run(entries, changes, 1));
	return 0;
}

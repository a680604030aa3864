/*
 * events: the streams of GET /api/v1/events (web/events.h), in a list under
 * one mutex.
 *
 * Lock order: the events mutex, then the board's lock (board_events and
 * board_seq take it inside); the board never takes ours. The ticker calls
 * MHD_resume_connection only after dropping the mutex: a stream it picked
 * is marked resumed under the mutex first, and a suspended connection is
 * not processed (so not freed) by libmicrohttpd until it is resumed. The
 * response's free callback takes no lock (some libmicrohttpd versions free
 * responses under their own cleanup mutex, which MHD_suspend_connection
 * takes too): it marks the stream closed, and the ticker unlinks and frees
 * it (and gives its place back) at its next tick.
 */
#include "web/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "web/board.h"

struct stream {
	struct events *ev;
	struct MHD_Connection *conn;
	uint64_t seq; /* the last change sent */
	struct buf pending;
	size_t off;
	int64_t started_ms, wrote_ms;
	int suspended;
	atomic_int closed; /* libmicrohttpd is done with it: the ticker frees it */
	struct stream *next;
};

struct events {
	struct board *board;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct stream *streams;
	unsigned n;
	int stopping;
	pthread_t ticker;
	int ticking;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is s due a wake-up (under the mutex)? */
static int
due(const struct events *ev, const struct stream *s, uint64_t seq, int64_t now)
{
	return ev->stopping || seq != s->seq || now - s->wrote_ms >= EVENTS_KEEPALIVE_MS ||
	       now - s->started_ms >= EVENTS_MAX_STREAM_MS;
}

static void
stream_release(struct stream *s)
{
	buf_release(&s->pending);
	free(s);
}

/* Unlink and free the closed streams (under the mutex). */
static void
reap_locked(struct events *ev)
{
	for (struct stream **p = &ev->streams; *p != NULL;) {
		struct stream *s = *p;
		if (atomic_load(&s->closed)) {
			*p = s->next;
			ev->n--;
			stream_release(s);
		} else {
			p = &s->next;
		}
	}
}

static void *
ticker_main(void *arg)
{
	struct events *ev = arg;
	pthread_mutex_lock(&ev->mu);
	while (!ev->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += EVENTS_TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&ev->cv, &ev->mu, &until);
		if (ev->stopping)
			break;
		reap_locked(ev);
		uint64_t seq = board_seq(ev->board);
		int64_t now = mono_ms();
		struct MHD_Connection *wake[EVENTS_MAX_CLIENTS];
		unsigned n = 0;
		for (struct stream *s = ev->streams; s != NULL; s = s->next)
			if (s->suspended && n < EVENTS_MAX_CLIENTS && due(ev, s, seq, now)) {
				s->suspended = 0;
				wake[n++] = s->conn;
			}
		pthread_mutex_unlock(&ev->mu);
		for (unsigned i = 0; i < n; i++)
			MHD_resume_connection(wake[i]);
		pthread_mutex_lock(&ev->mu);
	}
	pthread_mutex_unlock(&ev->mu);
	return NULL;
}

struct events *
events_new(struct board *board)
{
	struct events *ev = xcalloc(1, sizeof *ev);
	ev->board = board;
	pthread_mutex_init(&ev->mu, NULL);
	pthread_cond_init(&ev->cv, NULL);
	ev->ticking = pthread_create(&ev->ticker, NULL, ticker_main, ev) == 0;
	if (!ev->ticking)
		fatal(70, "cannot start the events thread: %s", strerror(errno));
	return ev;
}

void
events_stop(struct events *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->mu);
	ev->stopping = 1;
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->mu);
	if (ev->ticking)
		pthread_join(ev->ticker, NULL);
	ev->ticking = 0;
	/* every stream ends at its next write */
	pthread_mutex_lock(&ev->mu);
	struct MHD_Connection *wake[EVENTS_MAX_CLIENTS];
	unsigned n = 0;
	for (struct stream *s = ev->streams; s != NULL; s = s->next)
		if (s->suspended && n < EVENTS_MAX_CLIENTS) {
			s->suspended = 0;
			wake[n++] = s->conn;
		}
	pthread_mutex_unlock(&ev->mu);
	for (unsigned i = 0; i < n; i++)
		MHD_resume_connection(wake[i]);
}

void
events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	events_stop(ev);
	pthread_mutex_lock(&ev->mu);
	reap_locked(ev); /* after MHD_stop_daemon, every stream is closed */
	for (struct stream *s = ev->streams, *next; s != NULL; s = next) {
		next = s->next; /* none should be left; never leak one */
		stream_release(s);
	}
	ev->streams = NULL;
	pthread_mutex_unlock(&ev->mu);
	pthread_mutex_destroy(&ev->mu);
	pthread_cond_destroy(&ev->cv);
	free(ev);
}

unsigned
events_clients(struct events *ev)
{
	pthread_mutex_lock(&ev->mu);
	unsigned n = ev->n;
	pthread_mutex_unlock(&ev->mu);
	return n;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct stream *s = cls;
	struct events *ev = s->ev;
	pthread_mutex_lock(&ev->mu);
	int64_t now = mono_ms();
	if (s->off == s->pending.len) {
		s->pending.len = 0;
		s->off = 0;
		if (ev->stopping || now - s->started_ms >= EVENTS_MAX_STREAM_MS) {
			pthread_mutex_unlock(&ev->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		s->seq = board_events(ev->board, s->seq, EVENTS_BATCH, &s->pending);
		if (s->pending.len == 0 && now - s->wrote_ms >= EVENTS_KEEPALIVE_MS)
			buf_puts(&s->pending, ": keep-alive\n\n");
		if (s->pending.len == 0) {
			s->suspended = 1;
			MHD_suspend_connection(s->conn);
			pthread_mutex_unlock(&ev->mu);
			return 0;
		}
	}
	size_t n = s->pending.len - s->off;
	if (n > max)
		n = max;
	memcpy(out, s->pending.data + s->off, n);
	s->off += n;
	s->wrote_ms = now;
	pthread_mutex_unlock(&ev->mu);
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *s = cls;
	atomic_store(&s->closed, 1); /* no lock here: see the top of this file */
}

static void
add_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
}

enum MHD_Result
events_respond(struct events *ev, struct MHD_Connection *c, const char *since)
{
	pthread_mutex_lock(&ev->mu);
	int full = ev->n >= EVENTS_MAX_CLIENTS || ev->stopping;
	if (!full)
		ev->n++; /* its place, taken now: given back when reaped */
	pthread_mutex_unlock(&ev->mu);
	if (full) {
		static const char busy[] = "too many event streams; try again later\n";
		struct MHD_Response *r = MHD_create_response_from_buffer(
		    sizeof busy - 1, (void *)busy, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
		MHD_add_response_header(r, "Retry-After", "30");
		add_headers(r);
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
		MHD_destroy_response(r);
		return ret;
	}
	struct stream *s = xcalloc(1, sizeof *s);
	s->ev = ev;
	s->conn = c;
	buf_init(&s->pending, 0);
	atomic_init(&s->closed, 0);
	char *end = NULL;
	unsigned long long id = since ? strtoull(since, &end, 10) : 0;
	s->seq = since && end != since && *end == '\0' ? (uint64_t)id : 0;
	s->started_ms = s->wrote_ms = mono_ms();
	buf_putf(&s->pending, "retry: %d\n\n", EVENTS_RETRY_MS);
	struct MHD_Response *r =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
	if (r == NULL) {
		buf_release(&s->pending);
		free(s);
		pthread_mutex_lock(&ev->mu);
		ev->n--;
		pthread_mutex_unlock(&ev->mu);
		return MHD_NO;
	}
	pthread_mutex_lock(&ev->mu);
	s->next = ev->streams;
	ev->streams = s;
	pthread_mutex_unlock(&ev->mu);
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* nginx: do not buffer */
	add_headers(r);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

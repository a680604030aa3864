/*
 * Web events: GET /api/v1/events as Server-Sent Events (the HTML standard's
 * format: event/id/data lines, a blank line after each event, comments
 * starting with ':'): the retry line first, an "entry" event for each entry
 * that changes with the entry's JSON on one data line (hostile relay text
 * stays JSON-escaped), Last-Event-ID resumes after the change it names,
 * keep-alive comments on a quiet stream, at most EVENTS_MAX_CLIENTS streams
 * (then 503), and a server with open streams stops at once. Raw sockets,
 * so the test sees the bytes as a browser would.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "web/board.h"
#include "web/events.h"
#include "web/server.h"

static const char hostile[] = "</script><script>alert(1)</script>\n\ndata: forged";

static void
record(struct board *b, const char *relay, const char *verdict, const char *reason)
{
	struct board_run run = {.relay = relay,
	                        .model = "gpt-4o",
	                        .verdict = verdict,
	                        .reason = reason,
	                        .at_ms = wall_ms(),
	                        .runs = 1,
	                        .requests = 4,
	                        .ok_requests = 4,
	                        .ttft_ms = 300,
	                        .tokens_per_s = 50};
	board_record(b, &run);
}

struct stream {
	int fd;
	struct buf in;
};

static void
stream_open(struct stream *s, int port, const char *extra)
{
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	char req[512];
	int n = snprintf(req, sizeof req,
	                 "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                 "Accept: text/event-stream\r\n%s\r\n",
	                 extra ? extra : "");
	cr_assert_eq(write(s->fd, req, (size_t)n), n);
	buf_init(&s->in, 0);
}

static void
stream_close(struct stream *s)
{
	close(s->fd);
	buf_release(&s->in);
}

/* Read until what is in s->in contains want, for at most ms. */
static int
stream_wait(struct stream *s, const char *want, int ms)
{
	int64_t until = wall_ms() + ms;
	while (s->in.data == NULL || strstr(s->in.data, want) == NULL) {
		int64_t left = until - wall_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		char chunk[4096];
		ssize_t n = read(s->fd, chunk, sizeof chunk);
		if (n <= 0)
			return 0;
		cr_assert_eq(buf_add(&s->in, chunk, (size_t)n), 0);
	}
	return 1;
}

/* The data line of the first "entry" event after the text at from, as
 * JSON (NULL if none). */
static json_t *
event_data(const char *from, const char **next)
{
	const char *e = strstr(from, "event: entry\n");
	if (e == NULL)
		return NULL;
	const char *d = strstr(e, "\ndata: ");
	cr_assert_not_null(d);
	d += strlen("\ndata: ");
	const char *end = strstr(d, "\n\n");
	cr_assert_not_null(end, "an event without its blank line");
	cr_assert_null(memchr(d, '\n', (size_t)(end - d)), "the data spans lines");
	if (next)
		*next = end;
	return json_loadb(d, (size_t)(end - d), 0, NULL);
}

Test(web_events, a_change_is_an_event_with_the_entry, .timeout = 30)
{
	struct board *b = board_new("t");
	record(b, "quiet", "genuine", "ok");
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	struct stream s;
	char since[64];
	snprintf(since, sizeof since, "Last-Event-ID: %llu\r\n", (unsigned long long)board_seq(b));
	stream_open(&s, web_port(w), since);
	cr_assert(stream_wait(&s, "retry: 5000\n\n", 5000), "no retry line: %s", s.in.data);
	cr_expect(str_contains_nocase(s.in.data, "content-type: text/event-stream"));
	cr_expect(str_contains_nocase(s.in.data, "cache-control: no-cache"));
	cr_expect_null(strstr(s.in.data, "event: entry"), "an event before any change");
	record(b, "loud", "misbehaving", hostile);
	cr_assert(stream_wait(&s, "\n\n", 0) && stream_wait(&s, "event: entry\n", 5000),
	          "no event within 5 s of the change");
	cr_assert(stream_wait(&s, "}\n\n", 5000));
	const char *next;
	json_t *j = event_data(s.in.data, &next);
	cr_assert_not_null(j, "the data is not JSON: %s", s.in.data);
	cr_expect_str_eq(json_string_value(json_object_get(j, "key")), "loud_gpt-4o");
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	cr_expect_str_eq(json_string_value(json_object_get(j, "reason")), hostile);
	cr_expect_not_null(json_object_get(j, "time_up"));
	cr_expect_not_null(json_object_get(j, "percentiles"));
	json_decref(j);
	/* the relay's "\n\ndata: forged" is not an event of its own */
	cr_expect_null(strstr(s.in.data, "\ndata: forged"));
	/* the quiet entry did not change: no event for it */
	cr_expect_null(strstr(s.in.data, "quiet_gpt-4o"));
	stream_close(&s);
	web_stop(w);
	board_free(b);
}

Test(web_events, last_event_id_resumes_after_the_change_it_names, .timeout = 30)
{
	struct board *b = board_new("t");
	record(b, "a", "genuine", "ok");
	uint64_t after_a = board_seq(b);
	record(b, "b", "genuine", "ok");
	record(b, "c", "suspect", "hmm");
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	struct stream s;
	char hdr[64];
	snprintf(hdr, sizeof hdr, "Last-Event-ID: %llu\r\n", (unsigned long long)after_a);
	stream_open(&s, web_port(w), hdr);
	cr_assert(stream_wait(&s, "c_gpt-4o", 5000), "%s", s.in.data);
	cr_assert(stream_wait(&s, "}\n\n", 5000));
	cr_expect_null(strstr(s.in.data, "\"a_gpt-4o\""), "a was sent again");
	const char *bp = strstr(s.in.data, "\"b_gpt-4o\""), *cp = strstr(s.in.data, "\"c_gpt-4o\"");
	cr_expect(bp != NULL && cp != NULL && bp < cp, "b then c, in change order");
	char id[64];
	snprintf(id, sizeof id, "id: %llu\n", (unsigned long long)board_seq(b));
	cr_expect_not_null(strstr(s.in.data, id), "the last event's id is the board's count");
	stream_close(&s);
	/* no Last-Event-ID: every entry, as a snapshot */
	stream_open(&s, web_port(w), NULL);
	cr_assert(stream_wait(&s, "c_gpt-4o", 5000));
	cr_expect_not_null(strstr(s.in.data, "\"a_gpt-4o\""));
	stream_close(&s);
	web_stop(w);
	board_free(b);
}

Test(web_events, a_quiet_stream_gets_keep_alive_comments, .timeout = 40)
{
	struct board *b = board_new("t");
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	struct stream s;
	stream_open(&s, web_port(w), NULL);
	cr_assert(stream_wait(&s, "retry: ", 5000));
	int64_t t0 = wall_ms();
	cr_assert(stream_wait(&s, "\n: keep-alive\n\n", EVENTS_KEEPALIVE_MS + 5000),
	          "no keep-alive comment: %s", s.in.data);
	cr_expect_geq(wall_ms() - t0, EVENTS_KEEPALIVE_MS - 1000, "keep-alive too early");
	stream_close(&s);
	web_stop(w);
	board_free(b);
}

Test(web_events, streams_are_bounded_and_stop_with_the_server, .timeout = 60)
{
	struct board *b = board_new("t");
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	static struct stream s[EVENTS_MAX_CLIENTS + 1];
	for (int i = 0; i < EVENTS_MAX_CLIENTS; i++) {
		stream_open(&s[i], web_port(w), NULL);
		cr_assert(stream_wait(&s[i], "retry: ", 5000), "stream %d did not open", i);
	}
	stream_open(&s[EVENTS_MAX_CLIENTS], web_port(w), NULL);
	cr_assert(stream_wait(&s[EVENTS_MAX_CLIENTS], "\r\n\r\n", 5000));
	cr_expect_eq(strncmp(s[EVENTS_MAX_CLIENTS].in.data, "HTTP/1.1 503", 12), 0, "%s",
	             s[EVENTS_MAX_CLIENTS].in.data);
	cr_expect(str_contains_nocase(s[EVENTS_MAX_CLIENTS].in.data, "retry-after: 30"));
	stream_close(&s[EVENTS_MAX_CLIENTS]);
	/* one closes: a new one fits again (its place is given back) */
	stream_close(&s[0]);
	int opened = 0;
	for (int tries = 0; tries < 50 && !opened; tries++) {
		stream_open(&s[0], web_port(w), NULL);
		opened = stream_wait(&s[0], "retry: ", 2000);
		if (!opened) {
			stream_close(&s[0]);
			usleep(100 * 1000);
		}
	}
	cr_expect(opened, "the closed stream's place was not given back");
	/* a change reaches every stream */
	record(b, "x", "genuine", "ok");
	for (int i = 0; i < EVENTS_MAX_CLIENTS; i++)
		cr_expect(stream_wait(&s[i], "x_gpt-4o", 5000), "stream %d missed the change", i);
	int64_t t0 = wall_ms();
	web_stop(w); /* with every stream suspended or open */
	cr_expect_lt(wall_ms() - t0, 5000, "stopping took %lld ms", (long long)(wall_ms() - t0));
	for (int i = 0; i < EVENTS_MAX_CLIENTS; i++)
		stream_close(&s[i]);
	board_free(b);
}

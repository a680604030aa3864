/*
 * curl_floor: the least a libcurl client can spend on the engine's probe.
 * curl multi on a libevent loop, as the engine drives it (socket and timer
 * callbacks), one reused easy handle per slot, bodies read and dropped; no
 * observation, no stamps, no SSE, no JSON. What it costs per request is the
 * floor that libcurl, libevent and the kernel set for the probe engine,
 * whatever the engine does on top; bench/engine.sh prints it next to wrk's.
 *
 * usage: assay-bench-curl URL CONCURRENCY REQUESTS   (body: $BENCH_BODY)
 * Prints one JSON object on stdout.
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"

struct flo {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	long started, done, failed, want;
};

static size_t
drop_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

static void
start(struct flo *f, CURL *easy)
{
	f->started++;
	curl_multi_add_handle(f->multi, easy);
}

/* Finished transfers: reuse the easy handle for the next request. */
static void
reap(struct flo *f)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		long code = 0;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		if (m->data.result != CURLE_OK || code != 200)
			f->failed++;
		f->done++;
		curl_multi_remove_handle(f->multi, easy);
		if (f->started < f->want)
			start(f, easy);
		else
			curl_easy_cleanup(easy);
	}
	if (f->done == f->want)
		event_base_loopbreak(f->base);
}

static void
socket_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flo *f = arg;
	int running, flags = 0;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, flags, &running);
	reap(f);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct flo *f = arg;
	int running;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(f);
}

static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	(void)multi;
	struct flo *f = arg;
	if (timeout_ms < 0) {
		evtimer_del(f->timer);
		return 0;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	evtimer_add(f->timer, &tv);
	return 0;
}

static int
multi_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	(void)easy;
	struct flo *f = arg;
	struct event *ev = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL) {
			event_free(ev);
			curl_multi_assign(f->multi, s, NULL);
		}
		return 0;
	}
	short kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ev == NULL) {
		ev = event_new(f->base, s, kind, socket_ready_cb, f);
		curl_multi_assign(f->multi, s, ev);
	} else {
		event_del(ev);
		event_assign(ev, f->base, s, kind, socket_ready_cb, f);
	}
	event_add(ev, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *body = getenv("BENCH_BODY");
	if (argc != 4 || body == NULL) {
		fprintf(stderr, "usage: %s URL CONCURRENCY REQUESTS (with BENCH_BODY set)\n",
		        argv[0]);
		return 2;
	}
	long conc = atol(argv[2]);
	struct flo f = {.want = atol(argv[3])};
	if (conc < 1 || f.want < 1) {
		fprintf(stderr, "curl_floor: CONCURRENCY and REQUESTS must be positive\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	f.base = event_base_new();
	f.multi = curl_multi_init();
	f.timer = evtimer_new(f.base, timeout_cb, &f);
	curl_multi_setopt(f.multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(f.multi, CURLMOPT_SOCKETDATA, &f);
	curl_multi_setopt(f.multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(f.multi, CURLMOPT_TIMERDATA, &f);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	char *url = xasprintf("%s/chat/completions", argv[1]);
	double cpu0 = (double)cpu_us() / 1e6;
	int64_t t0 = now_us();
	for (long i = 0; i < conc && i < f.want; i++) {
		CURL *easy = curl_easy_init();
		curl_easy_setopt(easy, CURLOPT_URL, url);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, drop_cb);
		/* as the engine: without it libcurl sets and restores SIGPIPE's
		 * handler around every call (four rt_sigaction a request), which
		 * no client on the floor would pay */
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
		start(&f, easy);
	}
	event_base_dispatch(f.base);
	double wall = (now_us() - t0) / 1e6;
	double cpu = (double)cpu_us() / 1e6 - cpu0;
	json_t *j =
	    json_pack("{sI sI sI sf sf}", "concurrency", (json_int_t)conc, "requests",
	              (json_int_t)f.want, "ok", (json_int_t)(f.done - f.failed), "requests_per_s",
	              (double)f.done / wall, "cpu_us_per_request", cpu * 1e6 / (double)f.done);
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
	event_free(f.timer);
	curl_multi_cleanup(f.multi);
	event_base_free(f.base);
	curl_slist_free_all(headers);
	free(url);
	curl_global_cleanup();
	return f.failed == 0 && f.done == f.want ? 0 : 1;
}

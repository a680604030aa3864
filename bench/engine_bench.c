/*
 * engine_bench: drive the probe engine against one endpoint and report what
 * it cost: probes per second, CPU microseconds per probe, peak RSS, and the
 * error of measured TTFT and tokens/s against the fixture's fixed timings.
 *
 * usage: assay-bench-engine URL MODEL CONCURRENCY REQUESTS [TTFT_MS TPS [RAMP_MS]]
 * RAMP_MS spreads the submissions evenly over that time (steady state)
 * instead of starting them all in the same instant (a burst).
 * Prints one JSON object on stdout.
 *
 * With BENCH_SEND_LOG=FILE (the fixture's --send-log), the timing errors are
 * also reported against the true send times the fixture logged, next to the
 * errors against the times it was told to send at (scheduled): the first
 * include the fixture's own lateness, the second do not.
 *
 * With BENCH_PARSE=off in the environment the engine reads and drops the
 * response bodies (engine_options.bench_discard_bodies): the cost of curl,
 * libevent and the kernel alone; a probe then counts as done on HTTP 200.
 *
 * With BENCH_PARSE=only the bench fetches one streamed answer, then only
 * parses it, REQUESTS times, as the engine would (one feed per SSE event, as
 * each arrives in its own read): the cost of the adapter, SSE and JSON per
 * probe, without the network; and, apart, of the hot path's JSON parser
 * alone (probes/chunk_json.h, simdjson) on the same events, and of jansson's
 * json_loadb() (with the arena allocator the engine used before it) for
 * comparison.
 */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/util.h"
#include "probes/adapter.h"
#include "probes/chunk_json.h"
#include "probes/engine.h"
#include "probes/engine_test.h"
#include "probes/json_arena.h"
#include <curl/curl.h>

struct bench {
	struct event_base *base;
	long done, ok, want;
	long disturbed;      /* ok streams whose timing the engine itself doubted */
	double *ttft_err_ms; /* measured - injected */
	double *tps_err;     /* measured / injected - 1 */
	long n_ttft, n_tps;
	double ttft_ms, tps;
	char first_error[256];
	int parse_off;
	/* for the errors against true send times: per ok stream, its request
	 * id and the monotonic arrival of its first and last text chunk */
	struct arrival {
		char *request_id;
		int64_t first_us, last_us;
		int64_t *chunk_us; /* every text chunk's monotonic arrival */
		size_t n;
		int disturbed;
	} * arrivals;
	long n_arrivals;
};

static void
done_cb(struct observation *o, void *arg)
{
	struct bench *b = arg;
	b->done++;
	if (b->parse_off && o->http_status == 200) {
		b->ok++;
	} else if (observation_ok(o)) {
		b->ok++;
		b->disturbed += o->timing_disturbed != 0;
		if (b->ttft_ms >= 0 && o->ttft_us >= 0)
			b->ttft_err_ms[b->n_ttft++] = o->ttft_us / 1000.0 - b->ttft_ms;
		if (b->arrivals != NULL && o->request_id != NULL && o->n_chunks >= 1) {
			struct arrival *a = &b->arrivals[b->n_arrivals++];
			a->request_id = xstrdup(o->request_id);
			a->first_us = o->start_mono_us + o->chunk_us[0];
			a->last_us = o->start_mono_us + o->chunk_us[o->n_chunks - 1];
			a->n = o->n_chunks;
			a->chunk_us = xcalloc(o->n_chunks, sizeof *a->chunk_us);
			for (size_t k = 0; k < o->n_chunks; k++)
				a->chunk_us[k] = o->start_mono_us + o->chunk_us[k];
			a->disturbed = o->timing_disturbed;
		}
		if (b->tps > 0 && o->n_chunks >= 3) {
			/* chunks after the first arrive 1/tps apart */
			double span = (o->chunk_us[o->n_chunks - 1] - o->chunk_us[0]) / 1e6;
			if (span > 0)
				b->tps_err[b->n_tps++] =
				    ((double)(o->n_chunks - 1) / span) / b->tps - 1;
		}
	} else if (b->first_error[0] == '\0') {
		snprintf(b->first_error, sizeof b->first_error, "%s: %s",
		         error_class_name(o->error), o->error_detail ? o->error_detail : "");
	}
	observation_release(o);
	free(o);
	if (b->done == b->want)
		event_base_loopbreak(b->base);
}

static int
cmp(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;
	return (a > c) - (a < c);
}

static double
quantile(double *v, long n, double q)
{
	if (n == 0)
		return -1;
	qsort(v, (size_t)n, sizeof *v, cmp);
	long k = (long)(q * (double)(n - 1) + 0.5);
	return v[k];
}

static double
quantile_abs(double *v, long n, double q)
{
	for (long i = 0; i < n; i++)
		v[i] = v[i] < 0 ? -v[i] : v[i];
	return quantile(v, n, q);
}

static void
set_quantile(json_t *out, const char *key, double v)
{
	json_object_set_new(out, key, json_real(v));
}

/*
 * Errors against the true send times in the fixture's log ("ID INDEX US"
 * lines; US 0 when the fixture could not write at once): TTFT error is the first text chunk's
 * arrival minus its send; the tokens/s error compares the arrival rate with the send rate. Streams
 * not in the log are skipped; how many matched is reported.
 */
static void
true_errors(struct bench *b, const char *path, json_t *out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "bench: cannot read the send log '%s'\n", path);
		return;
	}
	json_t *sends = json_object(); /* id -> [send us by index] */
	char id[128];
	long long idx, us;
	while (fscanf(f, "%127s %lld %lld", id, &idx, &us) == 3) {
		/* a fixture started again with the same seed repeats its request
		 * ids: a new index 0 starts the id over, the newest stream wins */
		json_t *list = json_object_get(sends, id);
		if (list == NULL || idx == 0) {
			list = json_array();
			json_object_set_new(sends, id, list);
		}
		if (idx == (long long)json_array_size(list))
			json_array_append_new(list, json_integer(us));
	}
	fclose(f);
	double *ttft = xcalloc((size_t)b->n_arrivals + 1, sizeof *ttft);
	double *tps = xcalloc((size_t)b->n_arrivals + 1, sizeof *tps);
	double *ttft_kept = xcalloc((size_t)b->n_arrivals + 1, sizeof *ttft_kept);
	long n_ttft = 0, n_tps = 0, n_kept = 0;
	/* the flag against the truth: a stream whose worst chunk arrival error
	 * (stamp minus send, either way) is over 4 ms (the engine's threshold,
	 * probes/arrival.c) had its timing off; flagged or not */
	long off_flagged = 0, off_unflagged = 0, ok_flagged = 0, ok_unflagged = 0;
	for (long i = 0; i < b->n_arrivals; i++) {
		struct arrival *a = &b->arrivals[i];
		json_t *list = json_object_get(sends, a->request_id);
		if (json_array_size(list) < a->n)
			continue;
		int64_t worst = 0, early = 0;
		size_t worst_k = 0;
		int known = 1;
		for (size_t k = 0; k < a->n; k++) {
			int64_t sk = json_integer_value(json_array_get(list, k));
			if (sk <= 0) {
				known = 0;
				break;
			}
			int64_t err = a->chunk_us[k] - sk;
			if (err > worst) {
				worst = err;
				worst_k = k;
			}
			if (-err > early)
				early = -err;
		}
		if (known) {
			/* either way: a stamp after the send (read late, or a later
			 * segment's stamp), or before it (an earlier segment's) */
			int off = worst > 4000 || early > 4000;
			if (a->disturbed)
				off ? off_flagged++ : ok_flagged++;
			else
				off ? off_unflagged++ : ok_unflagged++;
			if (off && !a->disturbed && off_unflagged <= 5)
				fprintf(
				    stderr,
				    "bench: unflagged stream %s: chunk %zu of %zu stamped %.3f ms "
				    "after its send (the earliest %.3f ms before)\n",
				    a->request_id, worst_k, a->n, worst / 1000.0, early / 1000.0);
		}
		int64_t s0 = json_integer_value(json_array_get(list, 0));
		int64_t sn = json_integer_value(json_array_get(list, a->n - 1));
		if (s0 <= 0 || sn <= 0)
			continue; /* the fixture could not say when they left */
		ttft[n_ttft++] = (double)(a->first_us - s0) / 1000.0;
		if (!a->disturbed)
			ttft_kept[n_kept++] = ttft[n_ttft - 1];
		if (a->n >= 3 && sn > s0 && a->last_us > a->first_us)
			tps[n_tps++] = (double)(sn - s0) / (double)(a->last_us - a->first_us) - 1;
	}
	json_object_set_new(out, "true_matched", json_integer(n_ttft));
	json_object_set_new(out, "flagged_off_4ms", json_integer(off_flagged));
	json_object_set_new(out, "flagged_within_4ms", json_integer(ok_flagged));
	json_object_set_new(out, "unflagged_off_4ms", json_integer(off_unflagged));
	json_object_set_new(out, "unflagged_within_4ms", json_integer(ok_unflagged));
	/* signed: arrival stamps may precede the fixture's stamp, which it takes
	 * after write() returned; then absolute (quantile_abs folds the signs,
	 * so the signed ones come first) */
	set_quantile(out, "true_ttft_err_ms_signed_p01", quantile(ttft, n_ttft, 0.01));
	set_quantile(out, "true_ttft_err_ms_signed_median", quantile(ttft, n_ttft, 0.5));
	set_quantile(out, "true_ttft_err_ms_signed_p99", quantile(ttft, n_ttft, 0.99));
	set_quantile(out, "true_ttft_abs_err_ms_median", quantile_abs(ttft, n_ttft, 0.5));
	set_quantile(out, "true_ttft_abs_err_ms_p99", quantile_abs(ttft, n_ttft, 0.99));
	/* the streams whose timing the engine vouched for */
	set_quantile(out, "true_ttft_abs_err_ms_p99_unflagged",
	             quantile_abs(ttft_kept, n_kept, 0.99));
	set_quantile(out, "true_tps_rel_err_median", quantile_abs(tps, n_tps, 0.5));
	set_quantile(out, "true_tps_rel_err_p99", quantile_abs(tps, n_tps, 0.99));
	free(ttft);
	free(tps);
	free(ttft_kept);
	json_decref(sends);
}

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;
	/* sscanf on the VmRSS line only: the sampling is the bench's own
	 * cost, counted in the engine's CPU */
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static size_t
keep_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return buf_add(arg, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

/* The data of an answer's JSON events ([DONE] is not JSON), for timing
 * jansson alone. */
struct payloads {
	char *data[4096];
	size_t len[4096];
	size_t n;
};

static int
keep_payload_cb(const char *event, const char *data, size_t len, void *arg)
{
	(void)event;
	struct payloads *pl = arg;
	if (pl->n < 4096 && !(len == 6 && memcmp(data, "[DONE]", 6) == 0)) {
		pl->data[pl->n] = xstrndup(data, len);
		pl->len[pl->n++] = len;
	}
	return 0;
}

/*
 * BENCH_PARSE=only: fetch one answer to body from url, then parse it n
 * times; prints one JSON object. Returns the exit status.
 */
static int
parse_only(const char *url, const char *body, long n)
{
	struct buf raw = {0};
	buf_init(&raw, 1 << 20);
	CURL *easy = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &raw);
	CURLcode rc = curl_easy_perform(easy);
	curl_easy_cleanup(easy);
	curl_slist_free_all(h);
	if (rc != CURLE_OK || raw.len == 0) {
		fprintf(stderr, "bench: cannot fetch an answer to parse: %s\n",
		        curl_easy_strerror(rc));
		return 1;
	}
	/* the events, as separate reads: split after each blank line */
	size_t starts[4096], n_ev = 0;
	for (size_t i = 0; i < raw.len && n_ev < 4096;) {
		starts[n_ev++] = i;
		const char *end = strstr(raw.data + i, "\n\n");
		i = end ? (size_t)(end - raw.data) + 2 : raw.len;
	}
	long ok = 0;
	double cpu0 = (double)cpu_us() / 1e6;
	for (long k = 0; k < n; k++) {
		struct observation o;
		observation_init(&o);
		struct adapter_parse p;
		adapter_parse_init(&p, API_OPENAI, &o, 1, 0, 1 << 20);
		for (size_t e = 0; e < n_ev; e++) {
			size_t to = e + 1 < n_ev ? starts[e + 1] : raw.len;
			adapter_parse_feed(&p, 200, raw.data + starts[e], to - starts[e],
			                   (int64_t)e);
		}
		adapter_parse_finish(&p, 200);
		ok += observation_ok(&o);
		adapter_parse_release(&p);
		observation_release(&o);
	}
	double adapter_cpu = (double)cpu_us() / 1e6 - cpu0;
	/* jansson alone on the same events' data (split by our SSE parser,
	 * untimed), in the engine's arena */
	struct payloads pl = {0};
	struct sse_parser sp;
	sse_init(&sp, 1 << 16, 1 << 20, keep_payload_cb, &pl);
	if (sse_feed(&sp, raw.data, raw.len) != 0 || sse_finish(&sp) != 0)
		fprintf(stderr, "bench: the answer is not a clean event stream\n");
	sse_release(&sp);
	static unsigned char mem[64 << 10] __attribute__((aligned(16)));
	struct json_arena arena;
	json_arena_init(&arena, mem, sizeof mem);
	size_t json_bytes = 0, n_json = 0;
	cpu0 = (double)cpu_us() / 1e6;
	for (long k = 0; k < n; k++) {
		for (size_t e = 0; e < pl.n; e++) {
			json_arena_begin(&arena);
			json_t *j = json_loadb(pl.data[e], pl.len[e], 0, NULL);
			if (j != NULL && k == 0) {
				json_bytes += pl.len[e];
				n_json++;
			}
			json_decref(j);
			json_arena_end(&arena);
		}
	}
	double json_cpu = (double)cpu_us() / 1e6 - cpu0;
	/* the hot path's parser alone on the same events */
	size_t n_chunk = 0;
	cpu0 = (double)cpu_us() / 1e6;
	for (long k = 0; k < n; k++) {
		for (size_t e = 0; e < pl.n; e++) {
			struct chunk_json *c = chunk_json_parse(pl.data[e], pl.len[e], NULL);
			n_chunk += c != NULL;
			chunk_json_free(c);
		}
	}
	double chunk_cpu = (double)cpu_us() / 1e6 - cpu0;
	if (n_chunk != (size_t)n * n_json)
		fprintf(stderr, "bench: chunk_json refused %zu events jansson took\n",
		        (size_t)n * n_json - n_chunk);
	json_t *j = json_pack(
	    "{sI sI sI sI sI sf sf sf}", "requests", (json_int_t)n, "ok", (json_int_t)ok,
	    "events_per_probe", (json_int_t)n_ev, "json_events_per_probe", (json_int_t)n_json,
	    "json_bytes_per_probe", (json_int_t)json_bytes, "parse_cpu_us_per_probe",
	    adapter_cpu * 1e6 / (double)n, "json_cpu_us_per_probe", chunk_cpu * 1e6 / (double)n,
	    "jansson_cpu_us_per_probe", json_cpu * 1e6 / (double)n);
	json_dumpf(j, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
	for (size_t e = 0; e < pl.n; e++)
		free(pl.data[e]);
	buf_release(&raw);
	return ok == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc != 5 && argc != 7 && argc != 8) {
		fprintf(stderr,
		        "usage: %s URL MODEL CONCURRENCY REQUESTS [TTFT_MS TPS [RAMP_MS]]\n",
		        argv[0]);
		return 2;
	}
	long conc = atol(argv[3]), total = atol(argv[4]);
	struct bench b = {.want = total, .ttft_ms = -1, .tps = -1};
	int64_t ramp_us = 0;
	if (argc >= 7) {
		b.ttft_ms = atof(argv[5]);
		b.tps = atof(argv[6]);
	}
	if (argc == 8)
		ramp_us = (int64_t)(atof(argv[7]) * 1000);
	b.ttft_err_ms = xcalloc((size_t)total, sizeof *b.ttft_err_ms);
	b.tps_err = xcalloc((size_t)total, sizeof *b.tps_err);
	const char *send_log = getenv("BENCH_SEND_LOG");
	if (send_log != NULL && b.ttft_ms >= 0)
		b.arrivals = xcalloc((size_t)total, sizeof *b.arrivals);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* a default base, as the product's; BENCH_PRECISE=1: engine_base_new()
	 * and engine_options.precise_base */
	const char *precise = getenv("BENCH_PRECISE");
	int precise_base = precise != NULL && strcmp(precise, "1") == 0;
	b.base = precise_base ? engine_base_new() : event_base_new();
	const char *parse = getenv("BENCH_PARSE");
	b.parse_off = parse != NULL && strcmp(parse, "off") == 0;
	/* every request the same short streamed chat, as the parse-only run
	 * posts it too */
	struct probe_message m[] = {{"user", "[ref 00000000] Say something short."}};
	struct probe_call call = {.model = argv[2],
	                          .messages = m,
	                          .n_messages = 1,
	                          .max_tokens = 16,
	                          .temperature = 0,
	                          .seed = -1,
	                          .stream = 1};
	char *url = adapter_url(API_OPENAI, argv[1]);
	char *body = adapter_body(API_OPENAI, &call, NULL);
	if (parse != NULL && strcmp(parse, "only") == 0) {
		int rc = parse_only(url, body, total);
		free(url);
		free(body);
		return rc;
	}
	struct engine_options eo = {.max_in_flight = (size_t)conc,
	                            .bench_discard_bodies = b.parse_off,
	                            .precise_base = precise_base};
	struct engine *e = engine_new(b.base, &eo);
	struct engine_request req = {
	    .api = API_OPENAI, .url = url, .body = body, .stream = 1, .timeout_us = 120000000};
	long rss0 = rss_kib();
	double cpu0 = (double)cpu_us() / 1e6;
	int64_t t0 = now_us();
	long submitted = 0;
	if (ramp_us == 0) {
		for (; submitted < total; submitted++)
			engine_submit(e, &req, done_cb, &b);
	}
	long rss_peak = 0;
	/* sample RSS while the loop runs; with a ramp, submit on schedule */
	while (b.done < b.want) {
		if (submitted < total) {
			long due =
			    (long)((double)(now_us() - t0) / (double)ramp_us * (double)total) + 1;
			for (; submitted < total && submitted < due; submitted++)
				engine_submit(e, &req, done_cb, &b);
		}
		struct timeval tick = {0, submitted < total ? 1000 : 50000};
		event_base_loopexit(b.base, &tick);
		event_base_dispatch(b.base);
		long r = rss_kib();
		if (r > rss_peak)
			rss_peak = r;
	}
	double wall = (now_us() - t0) / 1e6;
	double cpu = (double)cpu_us() / 1e6 - cpu0;
	engine_free(e);
	event_base_free(b.base);

	json_t *j = json_object();
	json_object_set_new(j, "concurrency", json_integer(conc));
	json_object_set_new(j, "requests", json_integer(total));
	json_object_set_new(j, "ok", json_integer(b.ok));
	json_object_set_new(j, "timing_disturbed", json_integer(b.disturbed));
	json_object_set_new(j, "parse", json_string(b.parse_off ? "off" : "on"));
	json_object_set_new(j, "precise_base", json_boolean(precise_base));
	json_object_set_new(j, "wall_s", json_real(wall));
	json_object_set_new(j, "probes_per_s", json_real((double)total / wall));
	json_object_set_new(j, "cpu_us_per_probe", json_real(cpu * 1e6 / (double)total));
	json_object_set_new(j, "rss_growth_mib", json_real((rss_peak - rss0) / 1024.0));
	json_object_set_new(j, "mib_per_1000_inflight",
	                    json_real((rss_peak - rss0) / 1024.0 * 1000.0 / (double)conc));
	if (b.ttft_ms >= 0) {
		set_quantile(j, "ttft_abs_err_ms_median",
		             quantile_abs(b.ttft_err_ms, b.n_ttft, 0.5));
		set_quantile(j, "ttft_abs_err_ms_p99", quantile_abs(b.ttft_err_ms, b.n_ttft, 0.99));
		set_quantile(j, "tps_rel_err_median", quantile_abs(b.tps_err, b.n_tps, 0.5));
		set_quantile(j, "tps_rel_err_p99", quantile_abs(b.tps_err, b.n_tps, 0.99));
	}
	if (b.arrivals != NULL)
		true_errors(&b, send_log, j);
	if (b.first_error[0])
		json_object_set_new(j, "first_error", json_string(b.first_error));
	char *s = json_dumps(j, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(j);
	free(url);
	free(body);
	free(b.ttft_err_ms);
	free(b.tps_err);
	for (long i = 0; i < b.n_arrivals; i++) {
		free(b.arrivals[i].request_id);
		free(b.arrivals[i].chunk_us);
	}
	free(b.arrivals);
	return b.ok == total ? 0 : 1;
}

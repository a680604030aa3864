/*
 * availability: failures counted by class, each class said in its own words.
 *
 * Each failed request is sorted into one way of ending (its error class,
 * with a timeout split by whether any response byte had come). Every way
 * that occurred becomes one clause of the unavailable finding, and its
 * numbers come from those requests alone: durations from their own
 * total_us and last_byte_us, statuses from their http_status, reasons from
 * their error_detail. Clauses keep a fixed order, the requests never sent
 * last, since they follow from the others.
 */
#include "scoring/detectors/availability.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detector.h"
#include "scoring/stats.h"

/* How a request ended, as the sentences tell it. */
enum ending {
	END_DNS,
	END_CONNECT,
	END_TLS,
	END_SILENT,     /* timeout: not one response byte */
	END_UNFINISHED, /* timeout: the response was still coming */
	END_IDLE,
	END_AUTH,
	END_QUOTA,
	END_NO_MODEL,
	END_NOT_FOUND,
	END_HTTP,
	END_UPSTREAM,
	END_MALFORMED,
	END_TOO_LARGE,
	END_NETWORK,
	END_ABORTED,
	END_NO_RESULT, /* the run holds no observation for it */
	END_NOT_SENT,
	END__COUNT
};

/* Different details (not-sent reasons, ...) named apart in a sentence; the
 * rest are summed. */
#define MAX_REASONS 4

/* The ending of a failed request other than a rate limit; -1 for those. */
static int
ending_of(const struct observation *o)
{
	if (o == NULL)
		return END_NO_RESULT;
	switch (o->error) {
	case ERR_NONE:
		/* not ok, yet no error: a status outside 2xx left unclassified */
		return END_HTTP;
	case ERR_RATE_LIMITED:
		return -1;
	case ERR_DNS:
		return END_DNS;
	case ERR_CONNECT:
		return END_CONNECT;
	case ERR_TLS:
		return END_TLS;
	case ERR_TIMEOUT:
		return o->last_byte_us >= 0 ? END_UNFINISHED : END_SILENT;
	case ERR_IDLE:
		return END_IDLE;
	case ERR_AUTH:
		return END_AUTH;
	case ERR_QUOTA:
		return END_QUOTA;
	case ERR_NO_MODEL:
		return END_NO_MODEL;
	case ERR_NOT_FOUND:
		return END_NOT_FOUND;
	case ERR_HTTP:
		return END_HTTP;
	case ERR_UPSTREAM:
		return END_UPSTREAM;
	case ERR_MALFORMED:
		return END_MALFORMED;
	case ERR_TOO_LARGE:
		return END_TOO_LARGE;
	case ERR_ABORTED:
		return END_ABORTED;
	case ERR_NOT_SENT:
		return END_NOT_SENT;
	case ERR_NETWORK:
	default:
		return END_NETWORK;
	}
}

/* The observations (some NULL for END_NO_RESULT) of the failed requests
 * that ended as e; out holds n_items. */
static size_t
collect(const struct audit_run *run, int e, const struct observation **out)
{
	size_t n = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if ((o == NULL || !observation_ok(o)) && ending_of(o) == e)
			out[n++] = o;
	}
	return n;
}

/* How long a request waited: its total_us, or its deadline when the loop
 * noticed that late (what it was given is what the relay had). */
static int64_t
waited(const struct observation *o)
{
	if (o->timeout_us >= 0 && o->total_us > o->timeout_us)
		return o->timeout_us;
	return o->total_us;
}

/* "60 s", or "their 2 s to 60 s" when they differ; the values are each
 * request's wait (silence 0) or its time since the last byte until then
 * (silence 1). Empty when none is known. */
static void
durations(const struct observation *const *os, size_t n, int silence, char *out, size_t cap)
{
	int64_t lo = -1, hi = -1;
	for (size_t i = 0; i < n; i++) {
		int64_t v = waited(os[i]);
		if (silence)
			v = os[i]->last_byte_us >= 0 && v >= os[i]->last_byte_us
			        ? v - os[i]->last_byte_us
			        : -1;
		if (v < 0)
			continue;
		if (lo < 0 || v < lo)
			lo = v;
		if (v > hi)
			hi = v;
	}
	out[0] = '\0';
	if (lo < 0)
		return;
	char a[32], b[32];
	observation_duration_text(lo, a, sizeof a);
	observation_duration_text(hi, b, sizeof b);
	if (strcmp(a, b) == 0)
		snprintf(out, cap, "%s", a);
	else
		snprintf(out, cap, "their %s to %s", a, b);
}

/* "HTTP 401", or "HTTP 401 (2) and 403 (1)": the statuses of os, each with
 * its count when there are several; status 200 left out when skip_ok. */
static void
statuses(struct buf *b, const struct observation *const *os, size_t n, int skip_ok)
{
	int seen[32];
	int count[32];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int s = os[i]->http_status;
		if (skip_ok && s >= 200 && s < 300)
			continue;
		size_t j;
		for (j = 0; j < k && seen[j] != s; j++)
			;
		if (j == k) {
			if (k == 32)
				continue;
			seen[k] = s;
			count[k++] = 0;
		}
		count[j]++;
	}
	for (size_t i = 1; i < k; i++) /* in order of status */
		for (size_t j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
			int t = seen[j], c = count[j];
			seen[j] = seen[j - 1];
			count[j] = count[j - 1];
			seen[j - 1] = t;
			count[j - 1] = c;
		}
	buf_puts(b, "HTTP ");
	for (size_t i = 0; i < k; i++) {
		if (i > 0)
			buf_puts(b, i + 1 == k ? " and " : ", ");
		buf_putf(b, "%d", seen[i]);
		if (k > 1)
			buf_putf(b, " (%d)", count[i]);
	}
}

/*
 * The details of os, grouped: the one they share ("detail"), or each with
 * its count ("20 because detail, 4 because other", or with sep ": " and
 * "; " between groups), at most MAX_REASONS named.
 */
static void
detail_groups(struct buf *b, const struct observation *const *os, size_t n, const char *by,
              const char *sep)
{
	const char *detail[MAX_REASONS];
	size_t count[MAX_REASONS], k = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		const char *d =
		    os[i]->error_detail ? os[i]->error_detail : "no reason was recorded";
		size_t j;
		for (j = 0; j < k && strcmp(detail[j], d) != 0; j++)
			;
		if (j < k)
			count[j]++;
		else if (k < MAX_REASONS) {
			detail[k] = d;
			count[k++] = 1;
		} else
			other++;
	}
	if (k == 1 && other == 0) {
		buf_puts(b, detail[0]);
		return;
	}
	for (size_t i = 0; i < k; i++)
		buf_putf(b, "%s%zu%s%s", i ? sep : "", count[i], by, detail[i]);
	if (other > 0)
		buf_putf(b, "%s%zu%sother reasons", sep, other, by);
}

/* " (detail)" or " (24: one; 3: other)": what went wrong, in the words the
 * engine and the parser recorded for each request. */
static void
shared_detail(struct buf *b, const struct observation *const *os, size_t n)
{
	buf_puts(b, " (");
	detail_groups(b, os, n, ": ", "; ");
	buf_puts(b, ")");
}

/* The clause's words after its count, for requests os that ended as e. */
/* What the statuses of requests refused outright say, by how they ended
 * (END_NO_MODEL names the model). */
static const char *const refused_because[END__COUNT] = {
    [END_AUTH] = ": the relay rejected the API key",
    [END_QUOTA] = " saying the account's credit or quota is used up",
    [END_NOT_FOUND] = ": there is no API at the relay's URL",
    [END_HTTP] = ": the relay rejected the request",
};

static void
predicate(struct buf *b, int e, const struct observation *const *os, size_t n,
          const struct audit_run *run)
{
	char d[80];
	switch (e) {
	case END_DNS:
		buf_puts(b, "could not find the relay's host name (DNS)");
		break;
	case END_CONNECT:
		buf_puts(b, "could not connect to the relay");
		break;
	case END_TLS:
		buf_puts(b, "failed the TLS handshake with the relay");
		break;
	case END_SILENT:
		durations(os, n, 0, d, sizeof d);
		buf_putf(b, "got no response within %s", d[0] ? d : "their deadline");
		break;
	case END_UNFINISHED:
		durations(os, n, 0, d, sizeof d);
		buf_putf(b, "had started to answer but did not finish within %s",
		         d[0] ? d : "their deadline");
		break;
	case END_IDLE:
		durations(os, n, 1, d, sizeof d);
		buf_puts(b, "started to answer and then stalled");
		if (d[0])
			buf_putf(b, " (no byte for %s%s)",
			         strncmp(d, "their ", 6) ? "the last " : "", d);
		break;
	case END_AUTH:
	case END_QUOTA:
	case END_NO_MODEL:
	case END_NOT_FOUND:
	case END_HTTP:
		/* the statuses, then what they say */
		buf_puts(b, "got ");
		statuses(b, os, n, 0);
		if (e == END_NO_MODEL)
			buf_putf(b, ": the relay does not offer %s",
			         run->target.model ? run->target.model : "the model");
		else
			buf_puts(b, refused_because[e]);
		break;
	case END_UPSTREAM: {
		size_t in_ok = 0;
		for (size_t i = 0; i < n; i++)
			in_ok += os[i]->http_status >= 200 && os[i]->http_status < 300;
		if (in_ok < n) {
			buf_puts(b, "got a server error (");
			statuses(b, os, n, 1);
			if (in_ok > 0)
				buf_putf(b, "; %zu an error inside an HTTP 200 answer", in_ok);
			buf_puts(b, ")");
		} else
			buf_puts(b, "got an error inside an HTTP 200 answer");
		break;
	}
	case END_MALFORMED:
		buf_puts(b, "got an answer that breaks the API's format");
		shared_detail(b, os, n);
		break;
	case END_TOO_LARGE:
		buf_puts(b, "got more than Assay accepts");
		shared_detail(b, os, n);
		break;
	case END_NETWORK:
		buf_puts(b, "lost the connection");
		shared_detail(b, os, n);
		break;
	case END_ABORTED:
		buf_puts(b, "ended when Assay shut down, not because of the relay");
		break;
	case END_NO_RESULT:
		buf_puts(b, "have no result recorded");
		break;
	case END_NOT_SENT:
		buf_puts(b, n == 1 ? "was not sent: " : "were not sent: ");
		detail_groups(b, os, n, " because ", ", ");
		break;
	}
}

/* The real 429s: how many, and the longest wait they asked for. */
static void
rate_limited_finding(const struct audit_run *run, struct assessment *a, int limited,
                     const char *expected, const char *observed)
{
	long wait_s = -1;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && o->error == ERR_RATE_LIMITED && o->retry_after_s > wait_s)
			wait_s = o->retry_after_s;
	}
	char load[64] = "", wait[80] = "";
	if (run->parallel > 0)
		snprintf(load, sizeof load, " (at most %zu at once)", run->parallel);
	if (wait_s >= 0) {
		char d[32];
		observation_duration_text((int64_t)wait_s * 1000000, d, sizeof d);
		snprintf(wait, sizeof wait, ", asking to wait up to %s (Retry-After)", d);
	}
	assessment_add(a, CLASS_RATE_LIMITED, 1.0, expected, observed, "", NULL,
	               "The relay refused %d of %d requests with 429 (rate limited) under an "
	               "audit's light load%s%s.",
	               limited, a->requests, load, wait);
}

void
detect_availability(const struct audit_run *run, struct assessment *a)
{
	int counts[ERR__COUNT] = {0};
	double ttft[256], tps[256];
	size_t n_ttft = 0, n_tps = 0;
	int no_result = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (run->items[i].not_needed)
			continue; /* the run stopped early: never asked, no failure */
		a->requests++;
		if (o == NULL) {
			no_result++;
			continue;
		}
		if (observation_ok(o)) {
			a->ok_requests++;
			if (o->streamed && o->ttft_us >= 0 && n_ttft < 256)
				ttft[n_ttft++] = o->ttft_us / 1000.0;
			if (o->streamed && o->completion_tokens > 1 && o->n_chunks >= 2 &&
			    n_tps < 256) {
				double span = (o->chunk_us[o->n_chunks - 1] - o->chunk_us[0]) / 1e6;
				double rate = span > 0 ? (o->completion_tokens - 1) / span : 0;
				/* a burst (faked stream) has no speed worth showing */
				if (span > 0 && rate < 10000)
					tps[n_tps++] = rate;
			}
		} else {
			counts[(unsigned)o->error < ERR__COUNT ? o->error : ERR_NETWORK]++;
		}
	}
	if (n_ttft > 0)
		a->ttft_ms = stats_median(ttft, n_ttft);
	if (n_tps > 0)
		a->tokens_per_s = stats_median(tps, n_tps);
	int failed = a->requests - a->ok_requests;
	if (failed == 0)
		return;
	char expected[64];
	snprintf(expected, sizeof expected, "%d of %d requests succeed", a->requests, a->requests);
	struct buf obs;
	buf_init(&obs, 0);
	buf_putf(&obs, "%d failed:", failed);
	int listed = 0;
	for (int e = 1; e < ERR__COUNT; e++)
		if (counts[e])
			buf_putf(&obs, "%s %s %d", listed++ ? "," : "", error_class_name(e),
			         counts[e]);
	if (no_result)
		buf_putf(&obs, "%s no result %d", listed ? "," : "", no_result);
	if (counts[ERR_RATE_LIMITED] > 0)
		rate_limited_finding(run, a, counts[ERR_RATE_LIMITED], expected, obs.data);

	/* one clause per ending that occurred, its count and its own words */
	const struct observation **os = xcalloc(run->n_items, sizeof *os);
	struct buf s;
	buf_init(&s, 0);
	int said = 0, clauses = 0, total = failed - counts[ERR_RATE_LIMITED];
	for (int e = 0; e < END__COUNT; e++) {
		size_t n = collect(run, e, os);
		if (n == 0)
			continue;
		if (clauses == 0)
			buf_putf(&s, "%zu of %d requests ", n, a->requests);
		else if (said + (int)n == a->requests) /* the last clause covers the rest */
			buf_putf(&s, "; the other %zu ", n);
		else
			buf_putf(&s, "; %zu ", n);
		predicate(&s, e, os, n, run);
		said += (int)n;
		clauses++;
	}
	free(os);
	if (clauses > 0)
		assessment_add(a, CLASS_UNAVAILABLE, (double)total / a->requests, expected,
		               obs.data, "", NULL, "%s.", s.data);
	buf_release(&s);
	buf_release(&obs);
}

static void
run_availability(struct detect_ctx *c)
{
	detect_availability(c->run, c->a);
}

const struct detector detector_availability = {
    .name = "availability",
    .probes = NULL,
    .classes = CLASS_BIT(CLASS_RATE_LIMITED) | CLASS_BIT(CLASS_UNAVAILABLE),
    .needs_claimed = 0,
    .run = run_availability,
};

/*
 * gen: a database with synthetic history for the web benchmark and the
 * browser test, and a timer for the 90-day uptime query.
 *
 *   gen DB RELAYS MODELS [--days N] [--interval-s S] [--hostile] [--seed N]
 *   gen --query DB       time store_uptime() over 90 days for every target
 *   gen --retention DB D step retention as if D days had passed; print the
 *                        steps' durations
 *   gen --free-port      print a free loopback port
 *
 * The history is what `assay serve` would leave after DAYS of probing every
 * relay-model once per interval, with retention at its defaults: day
 * rollups for all DAYS, hour rollups for 90 days, minute rollups for 2 days,
 * raw runs (one health request each) for the last day, verdict segments and
 * incidents. The schema comes from store_open(), so it is always current;
 * rows are inserted with plain SQL for speed.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/observation.h"
#include "storage/store.h"

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double
uniform(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static double
gauss(void)
{
	double u = uniform() + 1e-12, v = uniform();
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Failures among n requests at failure probability q (normal approximation). */
static long
failures(long n, double q)
{
	if (q <= 0)
		return 0;
	double mean = n * q, sd = sqrt(n * q * (1 - q));
	long f = (long)floor(mean + sd * gauss() + uniform());
	return f < 0 ? 0 : f > n ? n : f;
}

static void
check(int rc, sqlite3 *db, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "gen: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static const char *const models[] = {
    "gpt-4o",  "gpt-4o-mini", "claude-sonnet-4",  "qwen3-32b",      "deepseek-v3",
    "gpt-4.1", "o3-mini",     "claude-haiku-3.5", "gemini-2.5-pro", "llama-3.3-70b"};
static const int error_pick[] = {ERR_TIMEOUT, ERR_UPSTREAM, ERR_RATE_LIMITED, ERR_UPSTREAM,
                                 ERR_TIMEOUT, ERR_CONNECT,  ERR_QUOTA,        ERR_AUTH};

struct profile {
	double fail;         /* failure probability */
	double ttft, tps;    /* means */
	const char *verdict; /* current */
	const char *reason, *findings;
};

static void
profile_make(struct profile *p, int hostile, int index)
{
	double u = uniform();
	p->fail = u < 0.6 ? 0.001 * uniform() : u < 0.9 ? 0.01 * uniform() : 0.08 * uniform();
	p->ttft = 250 + 1500 * uniform() * uniform();
	p->tps = 25 + 120 * uniform();
	double v = uniform();
	if (v < 0.7) {
		p->verdict = "genuine";
		p->reason = "the tokenizer fingerprint and every check match the claimed model";
		p->findings = "[]";
	} else if (v < 0.8) {
		p->verdict = "inconclusive";
		p->reason = "too few answers to compare with the baseline";
		p->findings = "[]";
	} else if (v < 0.9) {
		p->verdict = "suspect";
		p->reason = "possible usage_inflation (confidence 0.870), not yet certain";
		p->findings =
		    "[{\"class\":\"usage_inflation\",\"confidence\":0.87,\"evidence\":"
		    "{\"expected\":\"completion_tokens 31\",\"observed\":\"completion_tokens "
		    "38\",\"summary\":\"the relay bills 23% more output tokens than were "
		    "produced\",\"probe\":\"recount\"}}]";
	} else {
		p->verdict = "misbehaving";
		p->reason = "substitution (confidence 0.999)";
		p->findings =
		    "[{\"class\":\"substitution\",\"confidence\":0.999,\"evidence\":"
		    "{\"expected\":\"prompt_tokens 1017 (o200k_base)\",\"observed\":"
		    "\"prompt_tokens 1342 (qwen3)\",\"summary\":\"the tokenizer fingerprint "
		    "is qwen3's, not gpt-4o's\",\"probe\":\"tokfp\"},\"served_model\":"
		    "\"qwen3-32b\"}]";
	}
	if (hostile && index == 0) {
		p->verdict = "misbehaving";
		p->reason = "<script>alert('reason')</script>";
		p->findings = "[{\"class\":\"substitution\",\"confidence\":0.999,\"evidence\":"
		              "{\"expected\":\"<img src=x onerror=alert(1)>\",\"observed\":"
		              "\"</td></tr><script>alert(2)</script>\",\"summary\":\"<b>bold</b> & "
		              "\\\"quoted\\\"\",\"probe\":\"<i>p</i>\"}}]";
	}
}

static int64_t
insert_target(sqlite3 *db, const char *relay, const char *model)
{
	sqlite3_stmt *st;
	check(sqlite3_prepare_v2(db, "INSERT INTO targets(relay, model, api) VALUES (?,?,?)", -1,
	                         &st, NULL),
	      db, "prepare");
	sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, strstr(model, "claude") ? "anthropic" : "openai", -1,
	                  SQLITE_STATIC);
	check(sqlite3_step(st), db, "insert target");
	sqlite3_finalize(st);
	return sqlite3_last_insert_rowid(db);
}

static sqlite3_stmt *rollup[3], *errs, *run_st, *obs_st, *seg_st, *inc_st;

static void
prepare_all(sqlite3 *db)
{
	static const char *const tables[3] = {"rollup_minute", "rollup_hour", "rollup_day"};
	for (int i = 0; i < 3; i++) {
		char *sql = xasprintf("INSERT INTO %s(target, bucket, runs, requests, ok, tokens, "
		                      "ttft_n, ttft_sum, ttft_sq, tps_n, tps_sum, tps_sq) VALUES "
		                      "(?,?,?,?,?,?,?,?,?,?,?,?)",
		                      tables[i]);
		check(sqlite3_prepare_v2(db, sql, -1, &rollup[i], NULL), db, "prepare rollup");
		free(sql);
	}
	check(
	    sqlite3_prepare_v2(db, "INSERT INTO rollup_errors VALUES (?,?,?,?,?)", -1, &errs, NULL),
	    db, "prepare errors");
	check(
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO runs(target, started_ms, finished_ms, verdict, reason,"
	                       " tokens_spent, requests, ok_requests, ttft_ms, tokens_per_s,"
	                       " findings) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
	                       -1, &run_st, NULL),
	    db, "prepare runs");
	check(
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO observations(run_id, probe, sample, started_ms,"
	                       " http_status, error_class, error_detail, ttfb_us, ttft_us,"
	                       " total_us, chunks, prompt_tokens, completion_tokens, total_tokens,"
	                       " model_reported, response_id, finish_reason, text)"
	                       " VALUES (?,'health',0,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                       -1, &obs_st, NULL),
	    db, "prepare observations");
	check(sqlite3_prepare_v2(db,
	                         "INSERT INTO verdicts(target, first_ms, last_ms, runs, verdict,"
	                         " classes, reason, findings) VALUES (?,?,?,?,?,?,?,?)",
	                         -1, &seg_st, NULL),
	      db, "prepare verdicts");
	check(
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO incidents(target, kind, opened_ms, resolved_ms, cause,"
	                       " detail, failed_runs) VALUES (?,?,?,?,?,?,?)",
	                       -1, &inc_st, NULL),
	    db, "prepare incidents");
}

/* One rollup row and its error rows. */
static void
put_bucket(sqlite3 *db, int res, int64_t target, int64_t bucket, long runs, long fails,
           const struct profile *p)
{
	sqlite3_stmt *st = rollup[res];
	long ok = runs - fails;
	double tt = 0, tq = 0, ps = 0, pq = 0;
	/* sums of per-run medians: mean * n, with a little spread */
	for (int k = 0; k < 2; k++) {
		double m = (k == 0 ? p->ttft : p->tps) * (1 + 0.08 * gauss());
		double sd = m * 0.15;
		double s = m * ok, q = ok * (m * m + sd * sd);
		if (k == 0) {
			tt = s;
			tq = q;
		} else {
			ps = s;
			pq = q;
		}
	}
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, target);
	sqlite3_bind_int64(st, 2, bucket);
	sqlite3_bind_int64(st, 3, runs);
	sqlite3_bind_int64(st, 4, runs);
	sqlite3_bind_int64(st, 5, ok);
	sqlite3_bind_int64(st, 6, runs * 14);
	sqlite3_bind_int64(st, 7, ok);
	sqlite3_bind_double(st, 8, round(tt));
	sqlite3_bind_double(st, 9, round(tq));
	sqlite3_bind_int64(st, 10, ok);
	sqlite3_bind_double(st, 11, round(ps));
	sqlite3_bind_double(st, 12, round(pq));
	check(sqlite3_step(st), db, "insert rollup");
	if (fails > 0) {
		/* at most two classes a bucket */
		int a = error_pick[rng() % 8], b = error_pick[rng() % 8];
		long fa = b == a ? fails : (fails + 1) / 2, fb = fails - fa;
		int cls[2] = {a, b};
		long n[2] = {fa, fb};
		for (int i = 0; i < 2; i++) {
			if (n[i] == 0)
				continue;
			sqlite3_reset(errs);
			sqlite3_bind_int(errs, 1, res);
			sqlite3_bind_int64(errs, 2, target);
			sqlite3_bind_int64(errs, 3, bucket);
			sqlite3_bind_text(errs, 4, error_class_name((enum error_class)cls[i]), -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(errs, 5, n[i]);
			check(sqlite3_step(errs), db, "insert error");
		}
	}
}

static void
put_run(sqlite3 *db, int64_t target, int64_t at_ms, int ok, const struct profile *p,
        const char *model, int hostile)
{
	double ttft = p->ttft * (1 + 0.15 * gauss()), tps = p->tps * (1 + 0.1 * gauss());
	if (ttft < 20)
		ttft = 20;
	if (tps < 1)
		tps = 1;
	sqlite3_reset(run_st);
	sqlite3_bind_int64(run_st, 1, target);
	sqlite3_bind_int64(run_st, 2, at_ms);
	sqlite3_bind_int64(run_st, 3, at_ms + (int64_t)ttft + 200);
	sqlite3_bind_text(run_st, 4, ok ? p->verdict : "unreachable", -1, SQLITE_STATIC);
	sqlite3_bind_text(run_st, 5, ok ? p->reason : "no request of 1 succeeded", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_int(run_st, 6, ok ? 14 : 0);
	sqlite3_bind_int(run_st, 7, 1);
	sqlite3_bind_int(run_st, 8, ok);
	if (ok) {
		sqlite3_bind_double(run_st, 9, round(ttft));
		sqlite3_bind_double(run_st, 10, round(tps));
	} else {
		sqlite3_bind_null(run_st, 9);
		sqlite3_bind_null(run_st, 10);
	}
	sqlite3_bind_text(run_st, 11, ok ? p->findings : "[]", -1, SQLITE_STATIC);
	check(sqlite3_step(run_st), db, "insert run");
	int64_t run_id = sqlite3_last_insert_rowid(db);
	sqlite3_reset(obs_st);
	int i = 1;
	sqlite3_bind_int64(obs_st, i++, run_id);
	sqlite3_bind_int64(obs_st, i++, at_ms);
	sqlite3_bind_int(obs_st, i++, ok ? 200 : 503);
	sqlite3_bind_text(obs_st, i++, ok ? "none" : "upstream", -1, SQLITE_STATIC);
	if (ok)
		sqlite3_bind_null(obs_st, i++);
	else
		sqlite3_bind_text(obs_st, i++,
		                  hostile ? "HTTP 503: <script>alert('detail')</script>"
		                          : "HTTP 503: upstream unavailable",
		                  -1, SQLITE_STATIC);
	sqlite3_bind_int64(obs_st, i++, (int64_t)(ttft * 800));
	if (ok)
		sqlite3_bind_int64(obs_st, i++, (int64_t)(ttft * 1000));
	else
		sqlite3_bind_null(obs_st, i++);
	sqlite3_bind_int64(obs_st, i++, (int64_t)(ttft * 1000) + 180000);
	sqlite3_bind_int(obs_st, i++, ok ? 3 : 0);
	sqlite3_bind_int(obs_st, i++, 12);
	sqlite3_bind_int(obs_st, i++, ok ? 2 : 0);
	sqlite3_bind_int(obs_st, i++, ok ? 14 : 12);
	sqlite3_bind_text(obs_st, i++, model, -1, SQLITE_STATIC);
	char id[40];
	snprintf(id, sizeof id, "chatcmpl-%016llx", (unsigned long long)rng());
	sqlite3_bind_text(obs_st, i++, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(obs_st, i++, ok ? "stop" : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_text(obs_st, i++, ok ? "pong" : NULL, -1, SQLITE_STATIC);
	check(sqlite3_step(obs_st), db, "insert observation");
}

static void
put_history(sqlite3 *db, int64_t target, int64_t now, int days, const struct profile *p,
            long runs_per_day, int hostile)
{
	/* three segments: inconclusive at first, then genuine, then the current verdict */
	int64_t start = now - (int64_t)days * 86400000;
	int64_t cut1 = start + 86400000LL, cut2 = start + (now - start) / 2;
	const char *vs[3] = {"inconclusive", "genuine", p->verdict};
	const char *rs[3] = {"too few answers to compare with the baseline",
	                     "the tokenizer fingerprint and every check match the claimed model",
	                     p->reason};
	const char *fs[3] = {"[]", "[]", p->findings};
	int64_t a[3] = {start, cut1, cut2}, z[3] = {cut1 - 60000, cut2 - 60000, now};
	for (int i = 0; i < 3; i++) {
		sqlite3_reset(seg_st);
		sqlite3_bind_int64(seg_st, 1, target);
		sqlite3_bind_int64(seg_st, 2, a[i]);
		sqlite3_bind_int64(seg_st, 3, z[i]);
		sqlite3_bind_int64(seg_st, 4, (z[i] - a[i]) / 86400000 * runs_per_day + 1);
		sqlite3_bind_text(seg_st, 5, vs[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(seg_st, 6, strcmp(fs[i], "[]") == 0 ? "" : "x", -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(seg_st, 7, rs[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(seg_st, 8, fs[i], -1, SQLITE_STATIC);
		check(sqlite3_step(seg_st), db, "insert segment");
	}
	int n = p->fail > 0.01 ? 4 : (int)(rng() % 2);
	for (int i = 0; i < n; i++) {
		int64_t opened = start + (int64_t)(uniform() * (double)(now - start - 7200000));
		int64_t len = 180000 + (int64_t)(uniform() * 5400000);
		int open = hostile && i == n - 1;
		sqlite3_reset(inc_st);
		sqlite3_bind_int64(inc_st, 1, target);
		sqlite3_bind_text(inc_st, 2, "outage", -1, SQLITE_STATIC);
		sqlite3_bind_int64(inc_st, 3, open ? now - 1800000 : opened);
		if (open)
			sqlite3_bind_null(inc_st, 4);
		else
			sqlite3_bind_int64(inc_st, 4, opened + len);
		sqlite3_bind_text(inc_st, 5,
		                  error_class_name((enum error_class)error_pick[rng() % 8]), -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(inc_st, 6,
		                  hostile ? "HTTP 503: <script>alert('incident')</script>"
		                          : "HTTP 503: upstream unavailable",
		                  -1, SQLITE_STATIC);
		sqlite3_bind_int64(inc_st, 7, len / 60000);
		check(sqlite3_step(inc_st), db, "insert incident");
	}
}

static int
query_mode(const char *path)
{
	char err[512];
	struct store *s = store_open(path, 1, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "gen: %s\n", err);
		return 1;
	}
	sqlite3 *db;
	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT relay, model FROM targets ORDER BY id", -1, &st, NULL);
	double worst = 0, total = 0;
	long n = 0;
	int64_t since = wall_ms() - 90LL * 86400000;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long req, ok;
		int64_t t0 = now_us();
		if (store_uptime(s, (const char *)sqlite3_column_text(st, 0),
		                 (const char *)sqlite3_column_text(st, 1), since, &req, &ok) != 0) {
			fprintf(stderr, "gen: store_uptime failed\n");
			return 1;
		}
		double ms = (double)(now_us() - t0) / 1000.0;
		worst = ms > worst ? ms : worst;
		total += ms;
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	store_close(s);
	printf("uptime90 queries=%ld mean_ms=%.3f max_ms=%.3f\n", n, n ? total / n : 0, worst);
	return 0;
}

/*
 * Retention against a backlog: as if serve came back after `days_ahead`
 * days away, step until nothing is due; print the steps' durations (the
 * event loop would be blocked that long at most, per step).
 */
static int
retention_mode(const char *path, int days_ahead)
{
	char err[512];
	struct store *s = store_open(path, 0, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "gen: %s\n", err);
		return 1;
	}
	struct store_retention r;
	store_retention_default(&r);
	int64_t now = wall_ms() + (int64_t)days_ahead * 86400000;
	long steps = 0, rows = 0, n;
	double worst = 0, total = 0;
	int64_t t_start = now_us();
	do {
		int64_t t0 = now_us();
		n = store_retention_step(s, &r, now,
		                         getenv("GEN_BUDGET") ? atol(getenv("GEN_BUDGET")) : 500);
		double ms = (double)(now_us() - t0) / 1000.0;
		if (n < 0) {
			fprintf(stderr, "gen: retention step failed\n");
			store_close(s);
			return 1;
		}
		worst = ms > worst ? ms : worst;
		if (ms > 50 && getenv("GEN_VERBOSE"))
			fprintf(stderr, "step %ld: %.1f ms, %ld rows\n", steps, ms, n);
		total += ms;
		rows += n;
		steps++;
	} while (n > 0 && now_us() - t_start < 120LL * 1000000);
	store_close(s);
	printf("retention steps=%ld rows=%ld mean_ms=%.3f max_ms=%.3f\n", steps, rows,
	       steps ? total / steps : 0, worst);
	return 0;
}

/* Print a loopback TCP port that is free now (for servers that cannot
 * report the port they bound, like nginx). */
static int
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		return 1;
	close(fd);
	printf("%d\n", ntohs(sa.sin_port));
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
		return free_port();
	if (argc == 3 && strcmp(argv[1], "--query") == 0)
		return query_mode(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--retention") == 0)
		return retention_mode(argv[2], atoi(argv[3]));
	if (argc < 4) {
		fputs("usage: gen DB RELAYS MODELS [--days N] [--interval-s S] [--hostile] [--seed "
		      "N]\n"
		      "       gen --query DB\n",
		      stderr);
		return 2;
	}
	const char *path = argv[1];
	int relays = atoi(argv[2]), per = atoi(argv[3]), days = 365, interval = 60, hostile = 0;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
			days = atoi(argv[++i]);
		else if (strcmp(argv[i], "--interval-s") == 0 && i + 1 < argc)
			interval = atoi(argv[++i]);
		else if (strcmp(argv[i], "--hostile") == 0)
			hostile = 1;
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			rng_state ^= (uint64_t)atoll(argv[++i]) * 0x9E3779B97F4A7C15ULL;
	}
	if (per > (int)(sizeof models / sizeof models[0]))
		per = (int)(sizeof models / sizeof models[0]);
	char err[512];
	struct store *s = store_open(path, 0, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "gen: %s\n", err);
		return 1;
	}
	store_close(s);
	sqlite3 *db;
	check(sqlite3_open(path, &db), db, "open");
	check(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; BEGIN", NULL,
	                   NULL, NULL),
	      db, "begin");
	prepare_all(db);
	int64_t now = wall_ms();
	long per_minute_runs = 60 / interval > 0 ? 60 / interval : 1;
	long runs_per_hour = 3600 / interval, runs_per_day = 86400 / interval;
	struct store_retention r;
	store_retention_default(&r);
	int hour_days = (int)(r.hour_ms / 86400000) < days ? (int)(r.hour_ms / 86400000) : days;
	int64_t minute_span = r.minute_ms / 60000, raw_span = r.raw_ms / 1000 / interval;
	for (int ri = 0; ri < relays; ri++) {
		char relay[64];
		if (hostile && ri == 0)
			snprintf(relay, sizeof relay, "<script>alert('relay')</script>");
		else
			snprintf(relay, sizeof relay, "relay-%03d.example", ri);
		for (int mi = 0; mi < per; mi++) {
			const char *model = models[mi];
			char hostile_model[64];
			if (hostile && ri == 0 && mi == 1) {
				snprintf(hostile_model, sizeof hostile_model,
				         "<img src=x onerror=alert(1)>");
				model = hostile_model;
			}
			int64_t target = insert_target(db, relay, model);
			struct profile p;
			profile_make(&p, hostile, ri * per + mi);
			int64_t today = now / 86400000, hour = now / 3600000, minute = now / 60000;
			for (int64_t d = today - days + 1; d <= today; d++) {
				/* a bad day now and then */
				double q = uniform() < 0.03 ? p.fail * 20 + 0.02 : p.fail;
				long runs = d == today ? (now % 86400000) / 1000 / interval + 1
				                       : runs_per_day;
				put_bucket(db, 2, target, d, runs, failures(runs, q > 1 ? 1 : q),
				           &p);
			}
			for (int64_t h = hour - (int64_t)hour_days * 24 + 1; h <= hour; h++)
				put_bucket(db, 1, target, h, runs_per_hour,
				           failures(runs_per_hour, p.fail), &p);
			for (int64_t m = minute - minute_span + 1; m <= minute; m++)
				put_bucket(db, 0, target, m, per_minute_runs,
				           failures(per_minute_runs, p.fail), &p);
			for (int64_t k = raw_span - 1; k >= 0; k--)
				put_run(db, target, now - k * interval * 1000, uniform() >= p.fail,
				        &p, model, hostile);
			put_history(db, target, now, days, &p, runs_per_day, hostile);
		}
		if (ri % 50 == 49) {
			check(sqlite3_exec(db, "COMMIT; BEGIN", NULL, NULL, NULL), db, "commit");
			fprintf(stderr, "gen: %d/%d relays\n", ri + 1, relays);
		}
	}
	check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(rollup[i]);
	sqlite3_finalize(errs);
	sqlite3_finalize(run_st);
	sqlite3_finalize(obs_st);
	sqlite3_finalize(seg_st);
	sqlite3_finalize(inc_st);
	check(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), db, "ckpt");
	sqlite3_close(db);
	return 0;
}

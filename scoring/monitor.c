/*
 * monitor: a queue in, a queue out, one worker between them.
 *
 *   loop: monitor_submit() --(in, locked)--> worker: score, pool, fold
 *   worker --(out, locked) + event_active()--> loop: deliver_cb() -> done
 *
 * The worker owns the scorer and the ledger; the loop never touches them
 * after monitor_new() but through monitor_ledger() before the first run.
 */
#include "scoring/monitor.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"

struct job {
	struct audit_run *run;
	struct monitor_result *result;
	struct job *next;
};

struct monitor {
	struct event_base *base;
	struct event *deliver_ev;
	monitor_done_cb done;
	void *arg;
	const struct baseline_pack *pack;
	struct scorer *scorer;
	struct ledger *ledger;
	pthread_t worker;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *in_head, *in_tail;   /* runs to score, oldest first */
	struct job *out_head, *out_tail; /* results to deliver, oldest first */
	size_t pending;                  /* submitted, not delivered */
	int stopping;
};

static void
push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static struct job *
pop(struct job **head, struct job **tail)
{
	struct job *j = *head;
	if (j != NULL) {
		*head = j->next;
		if (*head == NULL)
			*tail = NULL;
	}
	return j;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* The entry's strings are the ledger's: the result keeps its own copies. */
static void
entry_copy(struct ledger_entry *e)
{
	for (size_t i = 0; i < e->n_shown; i++) {
		struct ledger_shown *s = &e->shown[i];
		s->expected = dup_or_null(s->expected);
		s->observed = dup_or_null(s->observed);
		s->summary = dup_or_null(s->summary);
		s->probe = dup_or_null(s->probe);
		s->served = dup_or_null(s->served);
	}
}

/*
 * The style probe's answers pooled in batches: a batch holds the answers of
 * POOL_RUNS runs (or as many as the pool keeps), is tested against the
 * official model's recorded ones, then emptied. Batches are disjoint, so
 * their tests are independent and each feeds the ledger's e-process
 * (scoring/ledger.h) like any run's finding; re-testing an overlapping pool
 * after every run would be the fixed-sample repetition that inflates false
 * positives.
 */
#define POOL_RUNS 8

static void
pool_answers(struct monitor *m, const struct audit_run *run, const struct baseline_model *claimed,
             struct assessment *a)
{
	const char *texts[64], *pool[64];
	size_t n = audit_texts(run, STYLE_PROBE, texts, 64);
	ledger_add_answers(m->ledger, run->target.relay, run->target.model, run->started_ms, texts,
	                   n);
	int runs = 0;
	size_t np =
	    ledger_answers(m->ledger, run->target.relay, run->target.model, pool, 64, &runs);
	if (runs < POOL_RUNS && np < 64)
		return; /* the batch is not full yet */
	struct style_test t;
	if (claimed != NULL && scorer_style_test(m->scorer, claimed, pool, np, &t) == 0) {
		assessment_tested(a, 1);
		scorer_add_style_finding(claimed, &t, runs, a);
		assessment_decide(a);
	}
	ledger_clear_answers(m->ledger, run->target.relay, run->target.model);
}

/* The worker's part: everything CPU-heavy. */
static struct monitor_result *
score(struct monitor *m, struct audit_run *run)
{
	struct monitor_result *r = xcalloc(1, sizeof *r);
	r->run = run;
	r->claimed = scorer_claimed(m->scorer, run->target.model, run->target.api);
	assessment_init(&r->a);
	scorer_assess(m->scorer, run, r->claimed, &r->a);
	pool_answers(m, run, r->claimed, &r->a);
	/* the verdict shown is the ledger's: evidence adds up across runs */
	ledger_fold(m->ledger, run->target.relay, run->target.model, run->started_ms, &r->a,
	            &r->entry);
	entry_copy(&r->entry);
	return r;
}

static void *
worker_main(void *arg)
{
	struct monitor *m = arg;
	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct job *j = pop(&m->in_head, &m->in_tail);
		if (j == NULL) {
			if (m->stopping)
				break;
			pthread_cond_wait(&m->wake, &m->lock);
			continue;
		}
		pthread_mutex_unlock(&m->lock);
		j->result = score(m, j->run);
		pthread_mutex_lock(&m->lock);
		push(&m->out_head, &m->out_tail, j);
		if (!m->stopping)
			event_active(m->deliver_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* On the loop: hand every finished result to the callback, in order. */
static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct monitor *m = arg;
	for (;;) {
		pthread_mutex_lock(&m->lock);
		struct job *j = pop(&m->out_head, &m->out_tail);
		pthread_mutex_unlock(&m->lock);
		if (j == NULL)
			return;
		m->pending--;
		struct monitor_result *r = j->result;
		free(j);
		m->done(r, m->arg);
	}
}

/* What monitor_new() made, freed (the worker is not running). */
static void
monitor_destroy(struct monitor *m)
{
	if (m->deliver_ev != NULL)
		event_free(m->deliver_ev);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	scorer_free(m->scorer);
	ledger_free(m->ledger);
	free(m);
}

struct monitor *
monitor_new(struct event_base *base, const struct monitor_config *c, monitor_done_cb done,
            void *arg)
{
	struct monitor *m = xcalloc(1, sizeof *m);
	m->base = base;
	m->done = done;
	m->arg = arg;
	m->pack = c->pack;
	m->scorer = scorer_new(c->pack);
	scorer_set_time_scale(m->scorer, c->time_scale);
	m->ledger = ledger_new(c->window_ms);
	if (c->budget_share > 0)
		ledger_set_budget_share(m->ledger, c->budget_share);
	m->deliver_ev = event_new(base, -1, 0, deliver_cb, m);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	if (m->deliver_ev == NULL || pthread_create(&m->worker, NULL, worker_main, m) != 0) {
		monitor_destroy(m);
		return NULL;
	}
	return m;
}

struct ledger *
monitor_ledger(struct monitor *m)
{
	return m->ledger;
}

void
monitor_submit(struct monitor *m, struct audit_run *run)
{
	struct job *j = xcalloc(1, sizeof *j);
	j->run = run;
	pthread_mutex_lock(&m->lock);
	push(&m->in_head, &m->in_tail, j);
	m->pending++;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

size_t
monitor_pending(const struct monitor *m)
{
	return m->pending;
}

void
monitor_free(struct monitor *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->worker, NULL);
	/* what the worker finished is delivered, so it can still be kept */
	deliver_cb(-1, 0, m);
	monitor_destroy(m);
}

void
monitor_result_free(struct monitor_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->entry.n_shown; i++) {
		struct ledger_shown *s = &r->entry.shown[i];
		free((char *)s->expected);
		free((char *)s->observed);
		free((char *)s->summary);
		free((char *)s->probe);
		free((char *)s->served);
	}
	assessment_release(&r->a);
	audit_run_free(r->run);
	free(r);
}

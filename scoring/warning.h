/*
 * warning: early warning for a relay and model in serve (issue 18): signs
 * that come before an outage or an exit, told while the relay still
 * answers. A relay is "at risk" while any of these holds over its recent
 * runs (WARN_RECENT of them, against the WARN_BASELINE before):
 *
 *   failing more: the recent runs' success share is under 90% and at least
 *     15 points under the baseline's (which had at least WARN_RECENT runs)
 *   slowing: the recent median time to first token is over twice the
 *     baseline's (both measured on at least 3 runs)
 *   running dry: requests refused for quota or balance (upstream credit
 *     running out), or for the key (auth), in the recent runs
 *   model list shrinking: the relay's list names fewer than 70% of the
 *     most it named in the baseline, or no longer names the model audited
 *   certificate: its TLS certificate expires within 7 days, or was
 *     replaced while the one before it had more than 30 days left (a
 *     renewal comes near the end; a new certificate long before it is a
 *     new server, host or operator behind the name)
 *   domain: its TLS certificate is for other names than before (a move to
 *     another domain or host, a shared or CDN certificate), renewal or not
 *   price: the price the relay declares (config price:) is not what it
 *     was (a relay that raises its price, or cuts it to draw deposits)
 *
 * The last three hold while a run of the other certificate or price is in
 * the window (WARN_RECENT + WARN_BASELINE runs), then clear.
 *
 * Runs that never reached the relay (nothing sent) say nothing. A run with
 * no successful request at all is the outage's (scoring/timeline.h), not a
 * warning's: it enters the history but the share rule needs answers.
 */
#ifndef ASSAY_WARNING_H
#define ASSAY_WARNING_H

#include <stddef.h>
#include <stdint.h>

#define WARN_RECENT 6
#define WARN_BASELINE 24

/* What one run showed, for the warning. */
struct warn_run {
	int requests, ok;     /* sent, and succeeded */
	int quota, auth;      /* refused for quota/balance, for the key */
	double ttft_ms;       /* median, < 0 unknown */
	long listed;          /* models the relay's list named; < 0 not asked */
	int listed_has_model; /* ... the audited model among them */
	int64_t cert_left_s;  /* the certificate's time left; INT64_MAX none */
	char cert_sha256[17]; /* its fingerprint (probes/observation.h); "" none */
	char cert_names[96];  /* the names it is for (probes/observation.h); "" none */
	char price[64];       /* the declared price, as words ("$50/$200 per Mtok");
	                       * "" none */
};

struct warn_state {
	struct warn_run runs[WARN_RECENT + WARN_BASELINE]; /* oldest first */
	size_t n;
	int at_risk;
};

void warn_init(struct warn_state *w);
/* Fold in a run; the reasons it is at risk now into text (n bytes, "" when
 * none). 1 when it became at risk with this run, -1 when it stopped being,
 * 0 when nothing changed. */
int warn_update(struct warn_state *w, const struct warn_run *r, char *text, size_t n);

#endif

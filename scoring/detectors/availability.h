/*
 * availability: what the relay did with an audit's requests, as findings a
 * buyer reads, and the run's speed medians.
 *
 * Every number in a sentence is counted from the run's observations: "N of
 * M requests" are the N that ended in that class, out of all M the run
 * planned; requests that were never sent are said to be not sent (with
 * what held them), never refused. Findings:
 *   rate_limited  real 429 responses (a 429 saying the credit is gone is
 *                 quota, not this), with the Retry-After asked for
 *   unavailable   every other failure, one sentence listing each class
 *                 that occurred in its own words
 */
#ifndef ASSAY_AVAILABILITY_H
#define ASSAY_AVAILABILITY_H

#include "probes/audit.h"
#include "scoring/verdict.h"

/*
 * Count run's requests into a (requests, ok_requests), set the medians of
 * its successful streams (ttft_ms, tokens_per_s; left as they are when no
 * stream answered) and add the availability findings. Reads only run.
 */
void detect_availability(const struct audit_run *run, struct assessment *a);

#endif
